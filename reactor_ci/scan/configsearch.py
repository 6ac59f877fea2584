"""Where a scan's config file may be: stats and a substring test, stdlib only (no ``re``, no ``enum``).

The search rule of :mod:`reactor_ci.scan.config` (which reads, validates and
caches the file), kept apart so the pre-commit batch's fast start
(:mod:`reactor_ci.scan.quick`) can ask "may a config apply?" for a few ``stat``
calls, without importing what reading one needs.
"""

from __future__ import annotations

import os

__all__ = ["CONFIG_NAME", "MAX_BYTES", "PYPROJECT", "is_file", "may_apply", "mentions_us", "scan_root", "search_dirs"]

CONFIG_NAME = ".reactor-ci.toml"
PYPROJECT = "pyproject.toml"
MAX_BYTES = 1024 * 1024  # a config file is small: never read a huge or endless file whole


def is_file(path: str) -> bool:
    try:
        import stat

        return stat.S_ISREG(os.stat(path).st_mode)
    except OSError:
        return False


def mentions_us(path: str) -> bool:
    """Cheap pre-check before parsing a pyproject.toml: most never mention reactor-ci."""
    try:
        with open(path, "rb") as fh:
            return b"reactor-ci" in fh.read(MAX_BYTES)
    except OSError:
        return False


def scan_root(paths: list[str]) -> str:
    """Where the config search starts: a single named directory (or a file's), else the cwd."""
    if len(paths) == 1 and paths[0] != "-":
        path = paths[0]
        return path if os.path.isdir(path) else (os.path.dirname(path) or os.curdir)
    return os.curdir


def search_dirs(start: str) -> list[str]:
    """The directories :func:`reactor_ci.scan.config.find_config` looks in, nearest first."""
    here = os.path.abspath(start)
    candidates: list[str] = []
    while True:
        candidates.append(here)
        if os.path.lexists(os.path.join(here, ".git")):
            break
        parent = os.path.dirname(here)
        if parent == here:  # the file-system root: not in a repository, so only the scan root counts
            return candidates[:1]
        here = parent
    return candidates


def may_apply(start: str) -> bool:
    """Might a config file apply to a scan rooted at ``start``?  Stats and a substring test, no TOML.

    True for any ``.reactor-ci.toml`` entry and any ``pyproject.toml`` that mentions
    reactor-ci (even one :func:`reactor_ci.scan.config.find_config` would pass over): the pre-commit batch's
    fast start (reactor_ci.scan.quick) leaves every such scan to the full path.
    """
    for directory in search_dirs(start):
        if os.path.lexists(os.path.join(directory, CONFIG_NAME)):
            return True
        pyproject = os.path.join(directory, PYPROJECT)
        if os.path.lexists(pyproject) and (not is_file(pyproject) or mentions_us(pyproject)):
            return True
    return False
