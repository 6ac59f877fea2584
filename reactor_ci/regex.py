"""Regular expressions for the scanner's hot paths, without the cost of importing ``re`` each run.

A pre-commit batch that holds a key must run the rules' regexes, and
``import re`` alone costs 1.6x the bare interpreter's whole start-up (it loads
``enum``, ``functools`` and the pattern parser and compiler, all in Python);
compiling the ~40 patterns of the finding path costs as much again.  The
regex ENGINE (``_sre``) is C and costs nothing to load.  So :func:`compile`
keeps, per interpreter build, what ``re``'s own compiler handed the engine for
each pattern, and builds the pattern from that next time: the same engine, the
same compiled program, ``re`` never loaded.

- A pattern not in the cache is compiled by ``re`` as usual (the first run
  after an install or an interpreter upgrade); what ``re``'s compiler passes
  to ``_sre.compile`` is captured at that moment (not re-derived: whatever
  this Python's compiler does, the cache holds its exact output), checked, and
  written to the cache when the process exits.
- The cache file is :mod:`reactor_ci.cache`'s (this user's, writable by no
  one else; ``REACTOR_CI_NO_CACHE=1`` turns it off), named after the
  interpreter's build and the engine's version (``_sre.MAGIC``), and the
  engine validates every program it is given: a stale, corrupt or foreign
  entry raises, and the pattern is compiled by ``re`` instead.  Any problem is
  a miss, never an error and never a different match.
- Only patterns this package writes go through here (bounded: at most
  :data:`MAX_ENTRIES` patterns of at most :data:`MAX_PATTERN` characters are
  kept); a user's patterns (a repo config's allowlists) use ``re``.

tests/test_regex.py proves that a pattern built from the cache matches exactly
as ``re.compile`` does (Hypothesis over every pattern the package caches), that
a tampered cache falls back, and that the pre-commit batch with a finding
loads no ``re``.
"""

from __future__ import annotations

import _sre
import sys

TYPE_CHECKING = False  # typing costs ~3 ms to import; mypy treats this name as True
if TYPE_CHECKING:
    import re
    from typing import AnyStr

    # What re's compiler passes to _sre.compile after the pattern: flags, program, groups, names.
    Entry = tuple[int, list[int], int, dict[str, int], tuple[str | None, ...]]
    Key = tuple[str | bytes, int]

__all__ = ["IGNORECASE", "MAX_ENTRIES", "MAX_PATTERN", "compile", "escape"]

IGNORECASE = 2  # re.IGNORECASE's value (re._constants.SRE_FLAG_IGNORECASE): flags without importing re
MAX_ENTRIES = 512
MAX_PATTERN = 4096
_MAX_BYTES = 4 * 1024 * 1024
# One file per interpreter build and engine version: a program compiled by another Python is never offered.
_NAME = f"regex-{sys.implementation.cache_tag}-{_sre.MAGIC}-{sys.hexversion:x}.marshal"
_FORMAT = (1, sys.version, _sre.MAGIC, _sre.CODESIZE)

_table: dict[Key, Entry] | None = None
_fresh: dict[Key, Entry] = {}


def compile(pattern: AnyStr, flags: int = 0) -> re.Pattern[AnyStr]:
    """``re.compile(pattern, flags)``, built from the cache when this interpreter compiled it before."""
    key = (pattern, flags)
    entry = _cached().get(key)
    if entry is not None:
        try:
            return _sre.compile(pattern, *entry)  # type: ignore[no-any-return]
        except Exception:
            _cached().pop(key, None)
    return _compile_and_keep(pattern, flags)


def _cached() -> dict[Key, Entry]:
    global _table
    if _table is None:
        _table = {}
        from reactor_ci import cache

        loaded = cache.load(_NAME, _MAX_BYTES)
        if isinstance(loaded, tuple) and len(loaded) == 2 and loaded[0] == _FORMAT and isinstance(loaded[1], dict):
            _table = loaded[1]
    return _table


def _compile_and_keep(pattern: AnyStr, flags: int) -> re.Pattern[AnyStr]:
    import re
    from re import _compiler  # type: ignore[attr-defined]

    if len(pattern) > MAX_PATTERN or len(_cached()) + len(_fresh) >= MAX_ENTRIES:
        return re.compile(pattern, flags)
    # Capture what re's compiler hands the engine (re.compile's own cache would skip the compiler).
    captured: list[tuple[object, ...]] = []
    engine = _compiler._sre

    class _Spy:
        def __getattr__(self, name: str) -> object:
            return getattr(engine, name)

        @staticmethod
        def compile(*args: object) -> object:
            captured.append(args)
            return engine.compile(*args)

    _compiler._sre = _Spy()
    try:
        compiled: re.Pattern[AnyStr] = _compiler.compile(pattern, flags)
    except Exception:
        return re.compile(pattern, flags)  # raises re.error as usual for a bad pattern
    finally:
        _compiler._sre = engine
    entry = _plain(captured[-1][1:]) if len(captured) == 1 else None
    if entry is not None and _same(pattern, entry, compiled):
        _keep((pattern, flags), entry)
    return compiled


def _plain(args: tuple[object, ...]) -> Entry | None:
    """The engine's arguments as builtin types (marshal refuses re's int subclasses), or None if unexpected."""
    try:
        flags, code, groups, groupindex, indexgroup = args
        return (
            int(flags),  # type: ignore[call-overload]
            [int(c) for c in code],  # type: ignore[attr-defined]
            int(groups),  # type: ignore[call-overload]
            {str(k): int(v) for k, v in dict(groupindex).items()},  # type: ignore[call-overload]
            tuple(None if g is None else str(g) for g in indexgroup),  # type: ignore[attr-defined]
        )
    except (TypeError, ValueError):
        return None


def _same(pattern: str | bytes, entry: Entry, compiled: re.Pattern[AnyStr]) -> bool:
    """Does the engine rebuild, from ``entry``, the pattern ``re`` compiled (flags, groups, names)?"""
    try:
        rebuilt = _sre.compile(pattern, *entry)
    except Exception:
        return False
    return bool(
        rebuilt.flags == compiled.flags
        and rebuilt.groups == compiled.groups
        and rebuilt.groupindex == compiled.groupindex
        and rebuilt == compiled  # the engine compares pattern, flags and program
    )


def _keep(key: Key, entry: Entry) -> None:
    if not _fresh:
        import atexit

        atexit.register(_save)
    _fresh[key] = entry


def _save() -> None:
    """Write the cache with what this process compiled (at exit: once, off the scan's path)."""
    if not _fresh:
        return
    from reactor_ci import cache

    merged = {**_cached(), **_fresh}
    if len(merged) <= MAX_ENTRIES:
        cache.store(_NAME, (_FORMAT, merged))


_SPECIAL = frozenset("()[]{}?*+-|^$\\.&~# \t\n\r\v\f")  # the characters re.escape escapes


def escape(pattern: AnyStr) -> AnyStr:
    """``re.escape(pattern)``, byte for byte, without importing ``re``."""
    if isinstance(pattern, str):
        return "".join("\\" + c if c in _SPECIAL else c for c in pattern)
    text = str(pattern, "latin-1")
    return "".join("\\" + c if c in _SPECIAL else c for c in text).encode("latin-1")
