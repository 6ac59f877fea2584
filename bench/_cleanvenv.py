"""A clean venv with reactor-ci installed from its built wheel, as a user has it.

Benchmarks measure there, not in the development venv: an editable install and
setuptools' ``distutils-precedence.pth`` add start-up hooks to EVERY interpreter
start in the dev venv, which inflates the ``python -c pass`` anchor and makes
every ratio look better than a user will see.

    from _cleanvenv import clean_venv
    with clean_venv(extras="") as venv:
        venv.python, venv.bin / "reactor-ci"
"""

from __future__ import annotations

import contextlib
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


@dataclass(frozen=True)
class Venv:
    root: Path

    @property
    def bin(self) -> Path:
        return self.root / "bin"

    @property
    def python(self) -> Path:
        return self.bin / "python"

    def pth_files(self) -> list[str]:
        return sorted(p.name for p in self.root.glob("lib/python*/site-packages/*.pth"))


def build_wheel(out: Path, repo: Path = REPO) -> Path:
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w", str(out), str(repo)],
        check=True,
        stdout=subprocess.DEVNULL,
    )
    wheels = sorted(out.glob("reactor_ci-*.whl"))
    if not wheels:
        raise SystemExit("no reactor_ci wheel was built")
    return wheels[-1]


@contextlib.contextmanager
def clean_venv(extras: str = "", *, base_python: str | None = None, repo: Path = REPO) -> Iterator[Venv]:
    """A throwaway venv (no system site-packages, no dev hooks) with ``repo``'s wheel installed."""
    tmp = Path(tempfile.mkdtemp(prefix="bench-venv-"))
    try:
        wheel = build_wheel(tmp / "dist", repo)
        venv = Venv(tmp / "venv")
        python = base_python or _base_interpreter()
        # No pip or setuptools inside: setuptools' distutils-precedence.pth would
        # run at every start. The outer pip installs into it (pip >= 22.3).
        subprocess.run([python, "-m", "venv", "--without-pip", str(venv.root)], check=True)
        spec = f"{wheel}[{extras}]" if extras else str(wheel)
        subprocess.run(
            [
                sys.executable,
                "-m",
                "pip",
                "--python",
                str(venv.python),
                "install",
                "-q",
                "--disable-pip-version-check",
                spec,
            ],
            check=True,
            stdout=subprocess.DEVNULL,
        )
        yield venv
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def _base_interpreter() -> str:
    """The interpreter the dev venv was made from (so both venvs run the same Python)."""
    return str(Path(getattr(sys, "_base_executable", sys.executable)))
