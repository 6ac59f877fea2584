"""Real parts a test needs: skip on a laptop without them, FAIL under CI.

CI=true means the part must be there (.ci/run installs it); a missing part is
then a failure with the reason, never a silent skip.
"""

from __future__ import annotations

import os
import shutil

import pytest


def under_ci() -> bool:
    return os.environ.get("CI", "").lower() in ("1", "true", "yes")


def missing(reason: str) -> None:
    """Skip locally, fail under CI, with ``reason`` printed either way."""
    if under_ci():
        pytest.fail(f"required real part missing under CI: {reason}", pytrace=False)
    pytest.skip(reason)


def require_tool(name: str, hint: str = "") -> str:
    """Return the absolute path of executable ``name`` or skip/fail."""
    path = shutil.which(name)
    if path is None:
        missing(f"{name} not found on PATH{': ' + hint if hint else ''}")
        raise AssertionError("unreachable")
    return path
