"""Shared helpers for the scan tests (no tests here): fake keys, running the real CLI, git, hiding an extra."""

from __future__ import annotations

import os
import random
import string
import subprocess
import sys

import pytest

ALNUM = string.ascii_letters + string.digits
_rng = random.Random(424242)


def fake_key(prefix: str = "rp_", n: int = 32, alphabet: str = ALNUM, rng: random.Random | None = None) -> str:
    """A key-shaped random string (the emulator's shape by default). Never a real key.

    ``rng``: a test's own generator, so its keys do not depend on which tests ran before.
    """
    rng = _rng if rng is None else rng
    while True:
        body = "".join(rng.choice(alphabet) for _ in range(n))
        if any(c.isdigit() for c in body):
            return prefix + body


def run_cli(
    args: list[str], cwd: str, env: dict[str, str] | None = None, stdin: str | None = None
) -> subprocess.CompletedProcess[str]:
    """Run ``python -m reactor_ci.scan.cli`` as a real process."""
    full_env = dict(os.environ)
    full_env.pop("GITHUB_ACTIONS", None)
    full_env.update(env or {})
    return subprocess.run(
        [sys.executable, "-m", "reactor_ci.scan.cli", *args],
        cwd=cwd,
        env=full_env,
        input=stdin,
        capture_output=True,
        text=True,
        encoding="utf-8",
        timeout=120,
    )


def git(cwd: str, *args: str) -> str:
    return subprocess.run(["git", *args], cwd=cwd, check=True, capture_output=True, text=True, timeout=60).stdout


def init_repo(path: str) -> str:
    os.makedirs(path, exist_ok=True)
    git(path, "init", "-q", "-b", "main")
    git(path, "config", "user.email", "test@example.com")
    git(path, "config", "user.name", "Test")
    git(path, "config", "commit.gpgsign", "false")
    return path


def without_module(monkeypatch: pytest.MonkeyPatch, module: str) -> None:
    """Make ``module`` (an optional extra's wheel) unimportable for this test, as in a plain install."""
    import builtins

    real_import = builtins.__import__

    def blocked(name: str, *args: object, **kwargs: object) -> object:
        if name == module or name.startswith(module + "."):
            raise ImportError(name)
        return real_import(name, *args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(builtins, "__import__", blocked)
