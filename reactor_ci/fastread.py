"""Stdlib-only reading of the credentials file, for the hot paths' fast answers.

The credential helper's cached ``get`` (:mod:`reactor_ci.docker.fastpath`) and
``reactor-ci status`` (:mod:`reactor_ci.status_fast`) run on every push and in
every CI job. The full path (:mod:`reactor_ci.credentials`: dataclasses,
datetime, pathlib, tempfile, typing; :mod:`json`: re) triples a bare
interpreter's start-up in a clean venv, so these readers use os, stat and the
C JSON scanner alone, and answer ``None`` ("the full path decides") for
anything unusual: an odd mode, a symlink, a loose directory, a big file, bad
JSON, no HOME.

Imports: os, stat -- nothing else (tests/test_status_fast.py checks).
"""

from __future__ import annotations

import os
import stat

# The credentials file's shape, defined ONCE for the store (reactor_ci.credentials)
# and the fast readers (the helper's cached get, status), so they cannot drift.
CREDENTIALS_ENV = "REACTOR_CREDENTIALS"
REQUIRED = ("api_key", "partner_id", "registry", "registry_token", "registry_token_expiry")
# A real file is ~500 bytes; bound what we read and parse from a file others may write.
MAX_FILE_BYTES = 256 * 1024
MAX_FIELD = 4096
# The documented 12 h lifetime; used only when the file does not say when its
# token was issued (files written by the official CLI).
DEFAULT_TOKEN_LIFETIME = 12 * 3600.0


def loads(text: str) -> object:
    """``json.loads`` without importing :mod:`json`, whose decoder imports :mod:`re`
    (+ enum, functools: ~8 ms, more than half a bare interpreter's start-up).

    It drives the very C scanner ``json.loads`` uses (``_json.make_scanner``);
    on an interpreter without it (PyPy), it is plain ``json.loads``. Raises
    ValueError/StopIteration/RecursionError on bad input, like the scanner.
    """
    try:
        from _json import make_scanner
    except ImportError:  # pragma: no cover - CPython always has it
        import json

        return json.loads(text)
    scan = make_scanner(_ScanContext())  # type: ignore[arg-type]  # duck-typed, as JSONDecoder does
    stripped = text.strip(" \t\n\r")
    try:
        value, end = scan(stripped, 0)
    except SystemError:
        # CPython's scanner reports a syntax error as json.decoder.JSONDecodeError, which it
        # looks up in sys.modules only: without :mod:`json` imported, a SystemError. Bad input.
        raise ValueError("not JSON") from None
    if end != len(stripped):
        raise ValueError("extra data after the JSON value")
    return value


def _no_constant(name: str) -> object:
    raise ValueError(f"{name} is not JSON")


class _ScanContext:
    # The attributes json.decoder.JSONDecoder hands the C scanner, with strict
    # parsing and no NaN/Infinity (json.loads would accept those; we refuse).
    strict = True
    object_hook = None
    object_pairs_hook = None
    parse_float = float
    parse_int = int
    parse_constant = staticmethod(_no_constant)


def dumps(value: dict[str, str]) -> str:
    """``json.dumps`` of a flat ``{str: str}`` through the C string encoder (no :mod:`re`)."""
    try:
        from _json import encode_basestring_ascii as quote
    except ImportError:  # pragma: no cover
        import json

        return json.dumps(value)
    return "{" + ", ".join(f"{quote(k)}: {quote(v)}" for k, v in value.items()) + "}"


def epoch(value: object) -> float | None:
    """``YYYY-MM-DDTHH:MM:SSZ`` (or ``+00:00``) -> epoch seconds; None for any other shape."""
    if not isinstance(value, str):
        return None
    text = value.strip()
    if text.endswith("+00:00"):
        text = text[:-6] + "Z"
    if len(text) != 20 or text[19] not in "Zz" or text[4] != "-" or text[7] != "-" or text[10] not in "Tt":
        return None
    if text[13] != ":" or text[16] != ":":
        return None
    parts = (text[0:4], text[5:7], text[8:10], text[11:13], text[14:16], text[17:19])
    if not all(p.isdigit() and p.isascii() for p in parts):
        return None
    year, month, day, hour, minute, second = (int(p) for p in parts)
    if not (1970 <= year < 3000 and 1 <= month <= 12 and 1 <= day <= _days_in(year, month)):
        return None  # outside timeutil's window, or not a real date: the full path decides
    if not (hour < 24 and minute < 60 and second < 60):
        return None
    # Days since 1970-01-01 for the proleptic Gregorian calendar (H. Hinnant's days_from_civil).
    y = year - (month <= 2)
    era = y // 400
    yoe = y - era * 400
    doy = (153 * (month + (-3 if month > 2 else 9)) + 2) // 5 + day - 1
    doe = yoe * 365 + yoe // 4 - yoe // 100 + doy
    days = era * 146097 + doe - 719468
    return float(days * 86400 + hour * 3600 + minute * 60 + second)


def _days_in(year: int, month: int) -> int:
    if month == 2:
        return 29 if year % 4 == 0 and (year % 100 != 0 or year % 400 == 0) else 28
    return 30 if month in (4, 6, 9, 11) else 31


def expand_home(path: str) -> str | None:
    """``~/x`` -> ``$HOME/x`` only with a usable HOME; None for ``~user`` or without HOME (the slow path decides)."""
    if not path.startswith("~"):
        return path
    if path != "~" and not path.startswith("~/"):
        return None
    home = os.environ.get("HOME", "").strip()
    if not home or not os.path.isabs(home):
        return None  # never the passwd fallback (/root): the full path explains
    return os.path.join(home, path[2:])


def credentials_path() -> str | None:
    """``$REACTOR_CREDENTIALS`` or ``$HOME/.reactor/credentials``; None without a usable HOME."""
    configured = os.environ.get(CREDENTIALS_ENV, "").strip()
    return expand_home(configured or "~/.reactor/credentials")


def read_private(path: str) -> object | None:
    """The parsed JSON of ``path`` when it is a private regular file (mode 0600 or tighter, not a
    symlink, at most :data:`MAX_FILE_BYTES`) in a directory others cannot write; else None."""
    try:
        # A directory others can write (even through a symlink) is the full path's to refuse.
        if os.stat(os.path.dirname(path) or ".").st_mode & 0o022:
            return None
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK)
        try:
            info = os.fstat(fd)
            # Non-regular files and loose modes are the full path's to refuse/fix.
            if not stat.S_ISREG(info.st_mode) or info.st_mode & 0o077:
                return None
            raw = os.read(fd, MAX_FILE_BYTES + 1)
        finally:
            os.close(fd)
        if len(raw) > MAX_FILE_BYTES:
            return None
        return loads(raw.decode("utf-8"))
    except (OSError, ValueError, StopIteration, RecursionError):
        return None
