"""The detect-secrets plugin with real detect-secrets: scan, baseline round-trip, hook, audit."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from tests.parts import require_tool
from tests.repo import REPO_ROOT
from tests.scan_helpers import fake_key, git, init_repo

PLUGIN = os.path.join(REPO_ROOT, "hooks", "reactor_detect_secrets.py")

pytestmark = pytest.mark.real("detect-secrets")


@pytest.fixture
def repo(tmp_path: os.PathLike[str]) -> str:
    require_tool("git")
    require_tool("detect-secrets", "pip install 'reactor-ci[scan]'")
    require_tool("detect-secrets-hook", "pip install 'reactor-ci[scan]'")
    return init_repo(os.path.join(str(tmp_path), "r"))


def run(args: list[str], cwd: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(args, cwd=cwd, capture_output=True, text=True, timeout=300)


def _write(repo: str, rel: str, text: str) -> None:
    with open(os.path.join(repo, rel), "w", encoding="utf-8") as fh:
        fh.write(text)


def _reactor_results(baseline: dict[str, object]) -> list[tuple[str, int]]:
    results = baseline["results"]
    assert isinstance(results, dict)
    return sorted(
        (path, item["line_number"])
        for path, items in results.items()
        for item in items
        if item["type"] == "Reactor API Key"
    )


def test_scan_finds_planted_keys_not_lookalikes(repo: str) -> None:
    k1, k2 = fake_key("rp_"), fake_key("rk_")
    _write(repo, "config.yaml", f"partner_key: {k1}\napp:\n  key: '{k2}'\n")
    _write(
        repo,
        "lookalikes.c",
        "rp_filter = 1;\nstruct rp_info *rp_info;\nrk_aiq_uapi_sysctl_init(ctx);\n"
        "key = rk_your_key_here;\nmark_as_read_and_notify_all_subscribers();\n",
    )
    proc = run(["detect-secrets", "scan", "--plugin", PLUGIN, "config.yaml", "lookalikes.c"], repo)
    assert proc.returncode == 0, proc.stderr
    doc = json.loads(proc.stdout)
    assert _reactor_results(doc) == [("config.yaml", 1), ("config.yaml", 3)]
    plugins = {p["name"]: p for p in doc["plugins_used"]}
    assert plugins["ReactorKeyDetector"]["path"] == f"file://{PLUGIN}"


def test_baseline_round_trip_hook_and_audit(repo: str) -> None:
    known = fake_key("rp_")
    _write(repo, "settings.py", f"import os\nKEY = '{known}'\n")
    git(repo, "add", ".")
    proc = run(["detect-secrets", "scan", "--plugin", PLUGIN, "settings.py"], repo)
    assert proc.returncode == 0, proc.stderr
    _write(repo, ".secrets.baseline", proc.stdout)
    git(repo, "add", ".secrets.baseline")
    baseline = json.loads(proc.stdout)
    assert _reactor_results(baseline) == [("settings.py", 2)]

    # Re-scanning with the baseline keeps it (round trip: same results).
    proc = run(["detect-secrets", "scan", "--baseline", ".secrets.baseline", "settings.py"], repo)
    assert proc.returncode == 0, proc.stderr
    with open(os.path.join(repo, ".secrets.baseline"), encoding="utf-8") as fh:
        rescanned = json.load(fh)
    assert rescanned["results"] == baseline["results"]
    assert rescanned["plugins_used"] == baseline["plugins_used"]
    git(repo, "add", ".secrets.baseline")

    hook = ["detect-secrets-hook", "--plugin", PLUGIN, "--baseline", ".secrets.baseline"]
    assert run([*hook, "settings.py"], repo).returncode == 0  # known secret: accepted

    new = fake_key("rk_")
    _write(repo, "client.py", f"APP_KEY = '{new}'\n")
    git(repo, "add", "client.py")
    proc = run([*hook, "settings.py", "client.py"], repo)
    assert proc.returncode == 1
    assert "Reactor API Key" in proc.stdout and "client.py:1" in proc.stdout

    # Our wrapper (what the reactor-ci-detect-secrets pre-commit hook runs) agrees.
    wrapper = [sys.executable, "-m", "reactor_ci.scan.detect_secrets_hook", "--baseline", ".secrets.baseline"]
    assert run([*wrapper, "settings.py"], repo).returncode == 0
    assert run([*wrapper, "client.py"], repo).returncode == 1

    # audit --report reads the baseline (loading the plugin from its recorded path); plain
    # `detect-secrets audit` trips over custom plugins (Yelp/detect-secrets#611), our wrapper does not.
    audit = [sys.executable, "-m", "reactor_ci.scan.detect_secrets_audit"]
    proc = run([*audit, "--report", ".secrets.baseline"], repo)
    assert proc.returncode == 0, proc.stderr
    report = json.loads(proc.stdout)
    assert any("Reactor API Key" in item["types"] and item["filename"] == "settings.py" for item in report["results"])


def test_plugin_agrees_with_scanner_except_documented_filters(repo: str) -> None:
    from reactor_ci.scan import engine

    keys = [fake_key("rp_"), fake_key("rk_"), "rp_" + "0123456789abcdef"[::-1] * 3, fake_key("rk_", 48)]
    lines = [f"k{i} = '{k}'" for i, k in enumerate(keys)]
    lines.append(f'client = Reactor(api_key="{fake_key("rk_")}")')  # is_indirect_reference hides it
    _write(repo, "mixed.py", "\n".join(lines) + "\n")
    with open(os.path.join(repo, "mixed.py"), "rb") as fh:
        ours = engine.scan_bytes(fh.read(), "mixed.py", engine.compile_rules())
    proc = run(["detect-secrets", "scan", "--plugin", PLUGIN, "mixed.py"], repo)
    theirs = _reactor_results(json.loads(proc.stdout))
    assert [("mixed.py", f.line) for f in ours] == [*theirs, ("mixed.py", 5)]


def test_baseline_from_another_machine(repo: str) -> None:
    """A baseline records the plugin's absolute path; elsewhere our wrappers use the installed copy."""
    known = fake_key("rp_")
    _write(repo, "settings.py", f"KEY = '{known}'\n")
    proc = run(["detect-secrets", "scan", "--plugin", PLUGIN, "settings.py"], repo)
    moved = proc.stdout.replace(f"file://{PLUGIN}", "file:///home/alice/src/app/hooks/reactor_detect_secrets.py")
    assert moved != proc.stdout
    _write(repo, ".secrets.baseline", moved)
    git(repo, "add", ".")
    # Plain detect-secrets-hook cannot load the recorded path...
    assert run(["detect-secrets-hook", "--baseline", ".secrets.baseline", "settings.py"], repo).returncode != 0
    # ...the wrapper the pre-commit hook runs can.
    wrapper = [sys.executable, "-m", "reactor_ci.scan.detect_secrets_hook", "--baseline", ".secrets.baseline"]
    ok = run([*wrapper, "settings.py"], repo)
    assert ok.returncode == 0, ok.stdout + ok.stderr
    _write(repo, "new.py", f"K = '{fake_key('rk_')}'\n")
    git(repo, "add", "new.py")
    blocked = run([*wrapper, "settings.py", "new.py"], repo)
    assert blocked.returncode == 1 and "Reactor API Key" in blocked.stdout
    report = run([sys.executable, "-m", "reactor_ci.scan.detect_secrets_audit", "--report", ".secrets.baseline"], repo)
    assert report.returncode == 0, report.stderr
    assert "Reactor API Key" in report.stdout
