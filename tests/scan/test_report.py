"""Reporters: the advice fits the finding (rule, history, --verify) in every format; hostile names stay inert."""

from __future__ import annotations

import json
import os
import re
from pathlib import Path

import pytest

from reactor_ci.ci import github as gh
from reactor_ci.logsafe import line as log_line
from reactor_ci.scan import report
from reactor_ci.scan.finding import VERIFIED_STATES, Finding
from reactor_ci.scan.rules import HISTORY_FIX, RULES, VERIFIED_NOTES, Rule, remediation, rule_by_id
from tests.scan_helpers import fake_key, git, init_repo, run_cli

# What each rule's advice must say (issue 10 item 3), in the words a user searches for.
MUST_SAY = {
    "reactor-partner-key": ["revoke", "Reactor Dashboard", "CI secret", "registry pushes"],
    "reactor-app-key": ["revoke", "JWTs already minted", "expires_at", "6 h"],
    "stripe-restricted-key": ["roll", "Stripe Dashboard"],
    "reactor-credentials-file": ["reactor-ci logout", "delete the file", "revoke the partner key"],
    "docker-config-reactor-auth": ["docker logout", "revoke the partner key"],
}
HOSTILE = [
    "e\n::warning file=x::INJECTED\n.txt",
    "##vso[task.setvariable variable=X]1.env",
    "section_start:1:x\r\x1b[0K.env",
    "--- buildkite group.env",
    "dir with space é/tab\there.env",
    '100%25 "q".env',
]


@pytest.fixture(autouse=True)
def _outside_git(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Render from a directory no work tree contains: annotation paths stay as given."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("GIT_CEILING_DIRECTORIES", str(tmp_path.parent))


def _finding(rule_id: str, path: str = "a.env", **kw: str) -> Finding:
    rule = rule_by_id(rule_id)
    assert rule is not None
    return Finding(rule_id, rule.description, path, 1, 5, fake_key("rk_" if "app" in rule_id else "rp_"), **kw)


def test_every_rule_has_its_own_advice() -> None:
    assert set(MUST_SAY) == {r.id for r in RULES}
    fixes = [r.fix for r in RULES]
    assert len(set(fixes)) == len(fixes)
    for rule in RULES:
        for words in MUST_SAY[rule.id]:
            assert words in rule.fix, (rule.id, words)
    assert "Reactor Dashboard now" not in remediation("stripe-restricted-key")
    assert "revoke" not in remediation("stripe-restricted-key").split(":")[0].lower()


def test_history_and_verify_notes_are_added() -> None:
    plain = remediation("reactor-partner-key")
    history = remediation("reactor-partner-key", history=True)
    assert history.startswith(plain[:-1]) and "rewriting history" in history and "un-leak" in history
    live = remediation("reactor-partner-key", verified="live")
    assert live.startswith("VERIFIED LIVE") and "revoke it now" in live
    for state in VERIFIED_STATES:
        assert VERIFIED_NOTES[state].split(":")[0][1:] in remediation("reactor-app-key", verified=state)
    assert HISTORY_FIX[1:30] in remediation("stripe-restricted-key", history=True)


def test_rule_table_rejects_bad_severity_and_has_no_dead_fields() -> None:
    with pytest.raises(ValueError, match="severity"):
        Rule(id="x", description="x", regex="x", keywords=("x",), validator="key_body", severity="huge", fix="f")
    assert not hasattr(RULES[0], "default_enabled")
    assert {r.verify for r in RULES} == {"partner", "app", None}
    assert rule_by_id("stripe-restricted-key").verify is None  # type: ignore[union-attr]


@pytest.mark.parametrize("rule_id", sorted(MUST_SAY))
def test_advice_reaches_text_json_sarif_and_github(rule_id: str) -> None:
    plain = _finding(rule_id)
    old = _finding(rule_id, "b.env", commit="c0ffee" * 6 + "abcd")
    live = _finding(rule_id, "c.env", verified="live")
    findings = [plain, old, live]
    text = report.to_text(findings)
    fixes = "\n".join(report.remediation_lines(findings))
    doc = json.loads(report.to_json(findings, [], 3))
    sarif = json.loads(report.to_sarif(findings))
    annotations = report.github_annotations(findings).splitlines()
    for i, f in enumerate(findings):
        advice = remediation(rule_id, history=bool(f.commit), verified=f.verified)
        assert log_line(advice) in fixes
        assert doc["findings"][i]["remediation"] == advice
        assert doc["findings"][i]["severity"] == rule_by_id(rule_id).severity  # type: ignore[union-attr]
        assert advice in sarif["runs"][0]["results"][i]["message"]["text"]
        assert gh.escape_data(advice) in annotations[i]
    assert doc["findings"][2]["verified"] == "live"
    assert "[verified: live, revoke it now]" in text and "VERIFIED LIVE" in fixes
    assert len(text.splitlines()) == len(findings)
    assert sarif["runs"][0]["results"][2]["properties"]["verified"] == "live"
    assert "LIVE key" in annotations[2]
    for f in findings:
        for blob in (text, fixes, json.dumps(doc), json.dumps(sarif), "\n".join(annotations)):
            assert f.secret not in blob and f.secret[3:] not in blob


def test_fix_lines_are_deduplicated() -> None:
    findings = [_finding("reactor-partner-key", f"f{i}.env") for i in range(5)]
    findings.append(_finding("reactor-partner-key", "old.env", commit="a" * 40))
    assert len(report.to_text(findings).splitlines()) == 6
    assert report.remediation_lines(findings) == [
        f"fix [reactor-partner-key]: {remediation('reactor-partner-key')}",
        f"fix [reactor-partner-key, git history]: {remediation('reactor-partner-key', history=True)}",
    ]
    assert report.to_text([]) == ""


def test_one_github_escaping() -> None:
    # report.py keeps no copy of the GitHub escaping functions (issue 11 item 4).
    source = Path(report.__file__).read_text()
    assert "def _escape" not in source and 'replace("%", "%25")' not in source
    f = Finding("reactor-partner-key", "desc 100%\nnext", "dir,a:b.py", 3, 4, fake_key())
    (out,) = report.github_annotations([f]).splitlines()
    assert out.startswith(
        f"::error file={gh.escape_property('dir,a:b.py')},line=3,col=4,title={gh.escape_property('reactor-ci: reactor-partner-key')}::"
    )
    assert "desc 100%25%0Anext" in out


def _no_command_line(text: str) -> None:
    """No line of ``text`` can start a GitHub/Azure/TeamCity/GitLab/Buildkite command."""
    for ln in text.split("\n"):
        assert not re.match(r"\s*(::|---|\+\+\+|~~~)", ln), ln
        assert "##vso[" not in ln and "##[" not in ln and "\r" not in ln and "\x1b" not in ln


def test_hostile_names_in_text_and_github_formats() -> None:
    findings = [_finding("reactor-partner-key", name) for name in HOSTILE]
    text = report.to_text(findings)
    _no_command_line(text)
    assert len(text.splitlines()) == len(HOSTILE)  # one line per finding
    annotations = report.github_annotations(findings)
    lines = annotations.splitlines()
    assert len(lines) == len(HOSTILE)
    for ln, name in zip(lines, HOSTILE):
        # logsafe.line() first, then GitHub's property escaping.
        assert ln.startswith("::error file=") and f"file={gh.escape_property(log_line(name))}," in ln
    _no_command_line(annotations.replace("::error file=", "").replace("::", ""))
    doc = json.loads(report.to_json(findings, [], len(findings)))
    assert [f["path"] for f in doc["findings"]] == HOSTILE  # JSON keeps the exact name


def test_github_annotations_neutralise_esc_and_vso_but_keep_ordinary_paths() -> None:
    """A raw ESC or `##vso[` from a file name (or a commit) never reaches the log as such;
    an ordinary path is the real path in file=, only GitHub-escaped."""
    hostile = "a\x1b[31mred##vso[task.setvariable variable=X]1.env"
    ordinary = ["src/settings.py", "dir with space é/a,b:c.env", "100%.env", "deploy/ci.env"]
    findings = [_finding("reactor-partner-key", hostile, commit="dead##vso[x]\x1bbeef")]
    findings += [_finding("reactor-partner-key", name) for name in ordinary]
    out = report.github_annotations(findings)
    lines = out.splitlines()
    assert len(lines) == 1 + len(ordinary)
    assert "\x1b" not in out and "##vso[" not in out and "\r" not in out
    assert lines[0].startswith("::error file=a\\x1b[31mred#\\#vso[task.setvariable variable=X]1.env,")
    assert "(added in commit dead#\\#vso[x]" in lines[0]
    for ln, name in zip(lines[1:], ordinary):
        assert ln.startswith(f"::error file={gh.escape_property(name)},line=1,col=5,"), ln
    assert lines[2].startswith("::error file=dir with space é/a%2Cb%3Ac.env,")


def test_cli_github_format_with_esc_and_vso_names(tmp_path: Path) -> None:
    root = tmp_path / "tree"
    root.mkdir()
    names = ["esc\x1b[2Jclear.env", "x##vso[task.complete result=Succeeded]y.env", "plain.env"]
    for name in names:
        (root / name).write_text(f"k = '{fake_key()}'\n")
    proc = run_cli(["--format", "github", "."], cwd=str(root))
    assert proc.returncode == 1, proc.stderr
    lines = proc.stdout.splitlines()
    assert len(lines) == 3 and all(ln.startswith("::error file=") for ln in lines)
    assert "\x1b" not in proc.stdout and "##vso[" not in proc.stdout
    assert any(ln.startswith("::error file=plain.env,") for ln in lines)
    assert any(ln.startswith("::error file=esc\\x1b[2Jclear.env,") for ln in lines)


def test_cli_hostile_names_every_format(tmp_path: Path) -> None:
    root = tmp_path / "tree"
    names = [n for n in HOSTILE if "\r" not in n] + ["quote's.env"]
    keys = {}
    for name in names:
        p = root / name
        p.parent.mkdir(parents=True, exist_ok=True)
        keys[name] = fake_key()
        p.write_text(f"k = '{keys[name]}'\n")
    outs = {}
    for fmt in ("text", "json", "sarif", "github"):
        proc = run_cli(["--format", fmt, "."], cwd=str(root), env={"GITHUB_ACTIONS": "true"})
        assert proc.returncode == 1, proc.stderr
        outs[fmt] = proc
        for key in keys.values():
            assert key not in proc.stdout + proc.stderr
    # Our own annotations are built by the GitHub provider (its escaping); every other line is inert.
    _no_command_line("\n".join(ln for ln in outs["text"].stdout.splitlines() if not ln.startswith("::error file=")))
    _no_command_line(outs["text"].stderr)
    found = sorted(f["path"] for f in json.loads(outs["json"].stdout)["findings"])
    assert found == sorted(names)
    # In GitHub Actions the text format adds annotations on stdout: one line each, all ours.
    annotations = [ln for ln in outs["text"].stdout.splitlines() if ln.startswith("::")]
    assert len(annotations) == len(names) and all(ln.startswith("::error file=") for ln in annotations)
    assert len([ln for ln in outs["github"].stdout.splitlines() if ln]) == len(names)
    # Every format prints the fixes on stderr, one line per distinct advice.
    for proc in outs.values():
        assert proc.stderr.count("  fix [reactor-partner-key]: Revoke") == 1


def test_cli_stripe_only_never_says_reactor_dashboard(tmp_path: Path) -> None:
    (tmp_path / "pay.py").write_text(f"STRIPE = '{'rk_live_' + fake_key('', 30)}'\n")
    proc = run_cli(["pay.py"], cwd=str(tmp_path))
    assert proc.returncode == 1
    assert "fix [stripe-restricted-key]: Roll the key in the Stripe Dashboard" in proc.stderr
    assert "Reactor Dashboard first" not in proc.stdout + proc.stderr
    assert "revoke a leaked key in the Reactor Dashboard" not in proc.stdout + proc.stderr


def test_cli_history_advice_in_text_and_json(tmp_path: Path) -> None:
    repo = init_repo(str(tmp_path / "repo"))
    key = fake_key("rk_")
    Path(repo, "app.py").write_text(f"KEY = '{key}'\n")
    git(repo, "add", ".")
    git(repo, "commit", "-qm", "leak")
    Path(repo, "app.py").write_text("KEY = os.environ['KEY']\n")
    git(repo, "commit", "-qam", "fix")
    text = run_cli(["--all-history"], cwd=repo)
    assert text.returncode == 1
    assert "fix [reactor-app-key, git history]:" in text.stderr and "rewriting history" in text.stderr
    doc = json.loads(run_cli(["--all-history", "--format", "json"], cwd=repo).stdout)
    assert doc["findings"][0]["remediation"] == remediation("reactor-app-key", history=True)
    assert key not in text.stdout + text.stderr and os.path.exists(os.path.join(repo, "app.py"))
