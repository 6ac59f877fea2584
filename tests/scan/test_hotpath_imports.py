"""The pre-commit batch's imports, clean and with a finding: stdlib-light, no CI package off CI.

tests/scan/test_engine.py guards the clean batch against the heavy third-party
and stdlib modules; this extends the guard to the whole ``reactor-ci-scan``
entry (the error boundary included) and to the finding path (the text report,
the remediation lines, the GitHub-annotation check).
"""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from reactor_ci.citables import MARKERS, OVERRIDE_VAR
from tests.repo import REPO_ROOT
from tests.scan_helpers import fake_key

REPO = str(REPO_ROOT)
# Never on the batch's path: each costs milliseconds per commit (the CI package loads
# typing, pathlib, urllib.parse and ipaddress; json/hashlib only for the formats that need them).
HEAVY = (
    "reactor_ci.ci",
    "pathlib",
    "typing",
    "json",
    "hashlib",
    "dataclasses",
    "urllib",
    "ipaddress",
    "subprocess",
    "tarfile",
    "zipfile",
    "httpx",
)
# Loaded only once a keyword or an encoded form hits (a clean batch never needs them).
ON_A_HIT = ("binascii", "base64", "reactor_ci.redact", "reactor_ci.scan.shape", "reactor_ci.logsafe")
PROBE = (
    "import sys\n"
    "from reactor_ci.scan.__main__ import main\n"
    "code = main(sys.argv[1:])\n"
    f"heavy = sorted(m for m in sys.modules if m in {HEAVY!r} or m.split('.')[0] in {HEAVY!r})\n"
    "sys.__stdout__.write('HEAVY:' + ','.join(heavy) + '\\n')\n"
    f"hit = sorted(m for m in sys.modules if m in {ON_A_HIT!r})\n"
    "sys.__stdout__.write('HIT:' + ','.join(hit) + '\\n')\n"
    "sys.exit(code)\n"
)


def _env() -> dict[str, str]:
    """This machine's environment minus every CI marker: a developer's commit, not a CI job."""
    drop = {OVERRIDE_VAR, *(variable for variable, _ in MARKERS.values())}
    env = {k: v for k, v in os.environ.items() if k not in drop}
    env["PYTHONPATH"] = REPO
    return env


def _batch(tmp_path: os.PathLike[str], with_key: bool) -> tuple[int, str, str, str]:
    root = str(tmp_path)
    names = []
    for i in range(10):
        name = f"m{i}.py"
        body = "def f(x):\n    return x\n" * 50
        if with_key and i == 9:
            body += f'TOKEN = "{fake_key()}"\n'
        with open(os.path.join(root, name), "w") as fh:
            fh.write(body)
        names.append(name)
    proc = subprocess.run(
        [sys.executable, "-S", "-c", PROBE, "--quiet", *names],
        cwd=root,
        capture_output=True,
        text=True,
        env=_env(),
    )
    heavy = next((line[6:] for line in proc.stdout.splitlines() if line.startswith("HEAVY:")), None)
    assert heavy is not None, proc.stdout + proc.stderr
    hit = next((line[4:] for line in proc.stdout.splitlines() if line.startswith("HIT:")), "")
    return proc.returncode, heavy, hit, proc.stdout + proc.stderr


@pytest.mark.parametrize("with_key", [False, True], ids=["clean", "one-finding"])
def test_batch_imports_stay_light(tmp_path: os.PathLike[str], with_key: bool) -> None:
    code, heavy, hit, out = _batch(tmp_path, with_key)
    assert code == (1 if with_key else 0), out
    assert heavy == "", out
    if not with_key:
        assert hit == "", out
    if with_key:
        assert "reactor-partner-key" in out  # the finding path ran: the report and the fix lines


def test_a_bad_provider_is_still_refused_up_front(tmp_path: os.PathLike[str]) -> None:
    """The boundary's REACTOR_CI_PROVIDER check is skipped only when the variable is unset."""
    root = str(tmp_path)
    with open(os.path.join(root, "a.py"), "w") as fh:
        fh.write("x = 1\n")
    env = {**_env(), OVERRIDE_VAR: "bogus"}
    proc = subprocess.run(
        [sys.executable, "-m", "reactor_ci.scan", "a.py"], cwd=root, capture_output=True, text=True, env=env
    )
    assert proc.returncode == 2, proc.stdout + proc.stderr
    assert OVERRIDE_VAR in proc.stderr


def test_annotations_still_follow_the_ci_rule(tmp_path: os.PathLike[str]) -> None:
    """With GITHUB_ACTIONS=true a finding still gets its ::error annotation (the CI package loads then)."""
    root = str(tmp_path)
    with open(os.path.join(root, "a.py"), "w") as fh:
        fh.write(f'x = "{fake_key()}"\n')
    env = {**_env(), "GITHUB_ACTIONS": "true"}
    proc = subprocess.run(
        [sys.executable, "-m", "reactor_ci.scan", "-q", "a.py"], cwd=root, capture_output=True, text=True, env=env
    )
    assert proc.returncode == 1
    assert "::error file=a.py,line=1" in proc.stdout
    env[OVERRIDE_VAR] = "local"  # the override wins over the marker: no annotation
    proc = subprocess.run(
        [sys.executable, "-m", "reactor_ci.scan", "-q", "a.py"], cwd=root, capture_output=True, text=True, env=env
    )
    assert proc.returncode == 1
    assert "::error" not in proc.stdout
