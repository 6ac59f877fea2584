"""Every entry point ends in the one error boundary (reactor_ci/errorboundary.py)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from reactor_ci import console, errorboundary, redact
from reactor_ci.errors import AuthError, DockerError, NetworkError, UsageError

BIN = Path(sys.executable).parent


@pytest.fixture(autouse=True)
def _no_ci_annotations() -> None:
    # console's provider is process-wide; an earlier test may have left a CI's annotator set.
    console.set_provider(None)
    console.set_quiet(False)


CANARY = "rp_boundarycanary_0123456789abcdef"


@pytest.mark.parametrize(
    ("exc", "code"),
    [(UsageError("u", "f"), 2), (AuthError("a"), 3), (NetworkError("n"), 4), (DockerError("d"), 5)],
)
def test_a_reactor_ci_error_exits_with_its_class_code(
    exc: Exception, code: int, capsys: pytest.CaptureFixture[str]
) -> None:
    def fail() -> int:
        raise exc

    assert errorboundary.guard(fail) == code
    err = capsys.readouterr().err
    assert "error:" in err and "Traceback" not in err


def test_anything_else_is_an_internal_error_without_a_traceback(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.delenv("REACTOR_CI_DEBUG", raising=False)
    redact.register(CANARY)

    def bug() -> int:
        raise KeyError(f"oops {CANARY}")

    assert errorboundary.guard(bug) == 1
    err = capsys.readouterr().err
    assert "internal error (KeyError), please report it" in err
    assert "Traceback" not in err and CANARY not in err
    monkeypatch.setenv("REACTOR_CI_DEBUG", "1")
    assert errorboundary.guard(bug) == 1
    err = capsys.readouterr().err
    assert "Traceback" in err and CANARY not in err  # asked for, and still scrubbed


def test_interrupt_and_a_closed_pipe(capsys: pytest.CaptureFixture[str]) -> None:
    def interrupted() -> int:
        raise KeyboardInterrupt

    assert errorboundary.guard(interrupted) == 130
    assert "Traceback" not in capsys.readouterr().err


def _run(cmd: list[str], tmp_path: Path, **env: str) -> subprocess.CompletedProcess[str]:
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("REACTOR_", "GITHUB_", "GITLAB_"))}
    clean.update(HOME=str(tmp_path), REACTOR_CREDENTIALS=str(tmp_path / "creds"), **env)
    return subprocess.run(
        cmd, cwd=tmp_path, input="registry.reactor.inc", capture_output=True, text=True, env=clean, check=False
    )


@pytest.mark.parametrize(
    "cmd",
    [
        [str(BIN / "reactor-ci-scan"), "a.txt"],
        [str(BIN / "reactor-ci"), "status"],
        [str(BIN / "reactor-ci"), "scan", "a.txt"],
        [sys.executable, "-m", "reactor_ci.scan", "a.txt"],
        [sys.executable, "-m", "reactor_ci.emulator", "--help"],
    ],
)
def test_an_unknown_provider_is_bad_input_at_every_entry(cmd: list[str], tmp_path: Path) -> None:
    (tmp_path / "a.txt").write_text("nothing here\n")
    proc = _run(cmd, tmp_path, REACTOR_CI_PROVIDER="bogus")
    if any("emulator" in part for part in cmd):
        # The emulator does not detect a CI: it runs; what matters is that it ends in the boundary.
        assert proc.returncode == 0, proc.stderr
        return
    assert proc.returncode == 2, proc.stdout + proc.stderr
    assert "REACTOR_CI_PROVIDER" in proc.stderr and "fix:" in proc.stderr
    assert "Traceback" not in proc.stdout + proc.stderr


def test_the_helper_keeps_its_protocol_behind_the_boundary(tmp_path: Path) -> None:
    proc = _run([str(BIN / "docker-credential-reactor"), "get"], tmp_path, REACTOR_CI_PROVIDER="bogus")
    assert proc.returncode == 1
    assert proc.stdout.strip() == "credentials not found in native keychain"
    assert "Traceback" not in proc.stderr


def test_every_entry_point_is_guarded() -> None:
    """The four entry points' code names the boundary (a new entry point must too)."""
    import reactor_ci

    package = Path(reactor_ci.__file__).parent
    for relative in ("cli.py", "docker/helper.py", "scan/__main__.py", "emulator/__main__.py"):
        assert "errorboundary import guard" in (package / relative).read_text(), relative
    pyproject = (package.parent / "pyproject.toml").read_text()
    assert 'reactor-ci-scan = "reactor_ci.scan.__main__:main"' in pyproject
    bootstrap = (package.parent / "bundle" / "bootstrap.py").read_text()  # the action's own launchers
    assert '"reactor-ci-scan": "reactor_ci.scan.__main__:main"' in bootstrap
