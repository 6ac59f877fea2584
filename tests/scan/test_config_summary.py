"""--step-summary (issue 21): findings per rule and file, redacted, hostile names inert, allowlisted count."""

from __future__ import annotations

from pathlib import Path

from hypothesis import given, settings
from hypothesis import strategies as st

from reactor_ci.scan.finding import Finding
from reactor_ci.scan.stepsummary import MAX_ROWS, markdown
from tests.leaks import assert_no_secret
from tests.scan_helpers import fake_key, run_cli


def test_summary_appends_per_rule_and_per_file_tables(tmp_path: Path) -> None:
    keys = [fake_key("rp_"), fake_key("rk_"), fake_key("rk_")]
    (tmp_path / "a.env").write_text(f"A={keys[0]}\nB={keys[1]}\n")
    (tmp_path / "skip.env").write_text(f"C={keys[2]}\n")
    (tmp_path / ".reactor-ci.toml").write_text('[scan]\nexclude-paths = ["skip.env"]\n')
    summary = tmp_path / "summary.md"
    summary.write_text("earlier step\n")
    proc = run_cli(["--step-summary", str(summary), "--exit-zero", "."], cwd=str(tmp_path))
    assert proc.returncode == 0, proc.stderr
    text = summary.read_text()
    assert text.startswith("earlier step\n### reactor-ci scan: 2 findings in ")
    assert "1 finding allowlisted by .reactor-ci.toml" in text
    assert "| reactor-app-key | 1 |\n| reactor-partner-key | 1 |" in text
    assert f"| a.env | 1 | reactor-partner-key | rp&#95;…{keys[0][-4:]} |" in text
    assert_no_secret([text], keys)
    proc = run_cli(["--step-summary", str(tmp_path / "no" / "dir.md"), "."], cwd=str(tmp_path))
    assert proc.returncode == 2 and "pass --step-summary a writable file" in proc.stderr


@settings(max_examples=300, deadline=None)
@given(st.text(min_size=1, max_size=60))
def test_any_file_name_stays_inside_its_table_cell(name: str) -> None:
    f = Finding("reactor-app-key", "d", name, 1, 1, fake_key("rk_"))
    text = markdown([f], 1)
    row = [line for line in text.splitlines() if line.startswith("| ") and "reactor-app-key | rk" in line]
    assert len(row) == 1, text  # one row: no line break escaped the cell
    assert row[0].count("|") == 5  # no pipe from the name
    assert "<" not in row[0] and ">" not in row[0] and "](" not in row[0] and "`" not in row[0]


def test_long_lists_are_capped() -> None:
    fs = [Finding("reactor-app-key", "d", f"f{i:04}", 1, 1, fake_key("rk_")) for i in range(MAX_ROWS + 5)]
    text = markdown(fs, len(fs))
    assert text.count("| reactor-app-key | rk") == MAX_ROWS and "5 more (see the SARIF report)" in text
