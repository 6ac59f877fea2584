"""One `.reactor-ci.toml`, one result (issue 21): the CLI (paths, --staged, history), the pre-commit
hooks (real pre-commit, `try-repo`), the pre-push hook and the detect-secrets plugin all read it."""

from __future__ import annotations

import json
import os
import re
import subprocess
from pathlib import Path

import pytest

from tests.parts import require_tool
from tests.repo import REPO_ROOT
from tests.scan.test_precommit import try_repo
from tests.scan_helpers import fake_key, git, init_repo, run_cli

pytestmark = pytest.mark.real("pre-commit + detect-secrets")

CONFIG = '[scan]\nexclude-paths = ["tests/fixtures/"]\nallow-stopwords = ["dummy"]\n'
EXPECTED = {("src/app.py", 2)}


@pytest.fixture(scope="module")
def pc_home(tmp_path_factory: pytest.TempPathFactory) -> str:
    require_tool("git")
    require_tool("pre-commit", "pip install pre-commit")
    return str(tmp_path_factory.mktemp("pre-commit-home"))


def planted(root: Path) -> tuple[str, dict[str, str]]:
    repo = init_repo(str(root / "r"))
    keys = {"real": fake_key("rp_"), "fixture": fake_key("rk_"), "dummy": "rk_dummy" + fake_key("", 24)}
    files = {
        "src/app.py": f'import os\nKEY = "{keys["real"]}"\n',
        "tests/fixtures/ci.env": f"REACTOR_API_KEY={keys['fixture']}\n",
        "example.env": f"REACTOR_API_KEY={keys['dummy']}\n",
        ".reactor-ci.toml": CONFIG,
    }
    for rel, text in files.items():
        os.makedirs(os.path.dirname(os.path.join(repo, rel)) or repo, exist_ok=True)
        Path(repo, rel).write_text(text)
    return repo, keys


def reported(text: str) -> set[tuple[str, int]]:
    """``[commit:]path:line:col: rule`` lines of the text report."""
    found = re.findall(r"^(?:[0-9a-f]{12}:)?([^\s:]+):(\d+):\d+: [a-z-]+: ", text, flags=re.MULTILINE)
    return {(path, int(line)) for path, line in found}


def test_cli_hooks_and_plugin_agree(pc_home: str, tmp_path: Path) -> None:
    repo, keys = planted(tmp_path)
    cli = json.loads(run_cli(["--format", "json", "."], cwd=repo).stdout)["findings"]
    assert {(f["path"].removeprefix("./"), f["line"]) for f in cli} == EXPECTED
    git(repo, "add", "-A")
    staged = run_cli(["--staged"], cwd=repo)
    assert reported(staged.stdout) == EXPECTED and "2 findings allowlisted by .reactor-ci.toml" in staged.stderr

    # pre-commit's key hook on the staged files, as `git commit` runs it.
    proc = try_repo(pc_home, repo, "reactor-ci-scan")
    assert proc.returncode == 1, proc.stdout + proc.stderr
    assert reported(proc.stdout + proc.stderr) == EXPECTED, proc.stdout + proc.stderr

    # The pre-push hook over the pushed commits (history mode).
    base_file = Path(repo, "README.md")
    git(repo, "reset", "-q")
    base_file.write_text("hi\n")
    git(repo, "add", "README.md")
    git(repo, "commit", "-qm", "init")
    base = git(repo, "rev-parse", "HEAD").strip()
    git(repo, "add", "-A")
    git(repo, "commit", "-qm", "keys")
    head = git(repo, "rev-parse", "HEAD").strip()
    proc = try_repo(
        pc_home, repo, "reactor-ci-scan-history", "--hook-stage", "pre-push", "--from-ref", base, "--to-ref", head
    )
    assert proc.returncode == 1, proc.stdout + proc.stderr
    assert reported(proc.stdout + proc.stderr) == EXPECTED, proc.stdout + proc.stderr
    history = run_cli(["--since", base], cwd=repo)
    assert reported(history.stdout) == EXPECTED

    # The detect-secrets plugin: the same config applies; without it, it reports all three.
    ds = require_tool("detect-secrets", "pip install 'reactor-ci[scan]'")
    plugin = str(REPO_ROOT / "hooks" / "reactor_detect_secrets.py")

    def plugin_findings() -> set[tuple[str, int]]:
        proc = subprocess.run(
            [ds, "scan", "--all-files", "--plugin", plugin, "."], cwd=repo, capture_output=True, text=True, timeout=300
        )
        doc = json.loads(proc.stdout)
        return {
            (path, item["line_number"])
            for path, items in doc["results"].items()
            for item in items
            if item["type"] == "Reactor API Key"
        }

    assert plugin_findings() == EXPECTED
    os.remove(os.path.join(repo, ".reactor-ci.toml"))
    assert plugin_findings() == {*EXPECTED, ("tests/fixtures/ci.env", 1), ("example.env", 1)}
    for out in (cli, staged.stdout, staged.stderr):
        assert keys["real"] not in str(out)


def test_a_bad_config_stops_the_plugin_with_file_line_and_no_traceback(tmp_path: Path) -> None:
    ds = require_tool("detect-secrets", "pip install 'reactor-ci[scan]'")
    repo, _ = planted(tmp_path)
    Path(repo, ".reactor-ci.toml").write_text('[scan]\ndisable-rules = ["reactor-partner"]\n')
    plugin = str(REPO_ROOT / "hooks" / "reactor_detect_secrets.py")
    proc = subprocess.run(
        [ds, "scan", "--all-files", "--plugin", plugin, "."], cwd=repo, capture_output=True, text=True, timeout=300
    )
    assert proc.returncode == 2, proc.stdout + proc.stderr
    assert ".reactor-ci.toml:2: disable-rules: unknown rule 'reactor-partner'" in proc.stderr
    assert "Traceback" not in proc.stderr
