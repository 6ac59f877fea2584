"""The repository's root, for tests that run its scripts, read its docs or build its wheel: defined once."""

from __future__ import annotations

from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
