"""This user's cache of derived data: ONE trust rule for every file under ``$XDG_CACHE_HOME/reactor-ci``.

What is cached is always derivable again (a validated scan config, compiled
regular expressions), so any problem with a cache file is a miss, never an
error.  A cache file is trusted only when this user owns it and no one else
may write it, it is a regular file (never followed through a symlink), and it
is no bigger than its caller's bound; it is written atomically (a parallel
pre-commit batch reads the old entry or the new one).  ``marshal`` stores it:
builtin, no import cost on the paths that read it.  ``REACTOR_CI_NO_CACHE=1``
turns every cache off.

Stdlib only, imports nothing at start-up beyond ``os``: the pre-commit batch reads it.
"""

from __future__ import annotations

import os

TYPE_CHECKING = False  # mypy reads this name as True
if TYPE_CHECKING:
    from typing import Any

__all__ = ["OFF_VAR", "load", "path", "store"]

OFF_VAR = "REACTOR_CI_NO_CACHE"
_NOFOLLOW = getattr(os, "O_NOFOLLOW", 0)


def path(name: str) -> str:
    """Where the cache file ``name`` lives: ``$XDG_CACHE_HOME/reactor-ci/NAME`` (default ``~/.cache``)."""
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return os.path.join(base, "reactor-ci", name)


def load(name: str, max_bytes: int) -> object | None:
    """The object stored as ``name``, or None (off, missing, not trusted, too big or unreadable)."""
    if os.environ.get(OFF_VAR):
        return None
    try:
        fd = os.open(path(name), os.O_RDONLY | _NOFOLLOW | getattr(os, "O_NONBLOCK", 0))
    except OSError:
        return None
    try:
        st = os.fstat(fd)
        if not _trusted(st) or st.st_size > max_bytes:
            return None
        data = os.read(fd, max_bytes + 1)
    except OSError:
        return None
    finally:
        os.close(fd)
    if len(data) > max_bytes:
        return None
    import marshal

    try:
        loaded: object = marshal.loads(data)  # noqa: S302 - this user's own file, owner and mode checked above
        return loaded
    except (EOFError, ValueError, TypeError):
        return None


def _trusted(st: os.stat_result) -> bool:
    import stat

    getuid = getattr(os, "getuid", None)
    owner_ok = getuid is None or st.st_uid == getuid()
    return stat.S_ISREG(st.st_mode) and owner_ok and not st.st_mode & 0o022


def _make_dirs(directory: str) -> None:
    """``…/.cache/reactor-ci`` (0700), creating at most the cache base and ours: never a missing home."""
    base = os.path.dirname(directory)
    if not os.path.isdir(base):
        if not os.path.isdir(os.path.dirname(base)):  # no home (HOME unset or wrong): no cache, no new home
            raise FileNotFoundError(base)
        os.mkdir(base, 0o700)
    if not os.path.isdir(directory):
        os.mkdir(directory, 0o700)


def store(name: str, value: Any) -> None:
    """Replace the cache file ``name`` with ``value`` (mode 0600, directory 0700); any failure is ignored."""
    if os.environ.get(OFF_VAR):
        return
    import marshal

    target = path(name)
    tmp = f"{target}.{os.getpid()}.tmp"
    try:
        blob = marshal.dumps(value)
        _make_dirs(os.path.dirname(target))
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | _NOFOLLOW, 0o600)
        with open(fd, "wb") as fh:
            fh.write(blob)
        os.replace(tmp, target)
    except (OSError, ValueError):
        import contextlib

        with contextlib.suppress(OSError):
            os.unlink(tmp)
