"""The credential helper's cached ``get``: stdlib-only reading and the refresh decision.

``get`` with a fresh cached token is >99% of helper calls, and Docker pays its
start-up on every push, pull and BuildKit auth callback. Importing
:mod:`reactor_ci.credentials` + :mod:`reactor_ci.session` (dataclasses,
datetime, pathlib, tempfile, typing) triples a bare interpreter's start-up in
a clean venv, so this module reads the file with the C JSON scanner alone and
answers ONLY when the token is clearly fresh by the session's rule, for an
allowed registry host, from a private regular file. Anything else (expiring,
odd mode, symlink, loose directory, other time format, bad setting, no HOME)
returns ``"slow"``: the full path decides, refreshes and reports.

The constants below MIRROR the session's; tests/test_docker_units.py proves
with Hypothesis that :func:`decide` never serves what ``Session.needs_refresh``
would refresh, and that :func:`epoch` agrees with :func:`timeutil.parse_time`.
Imports: os, stat, and :mod:`reactor_ci.settings` (os + math) -- nothing else.
"""

from __future__ import annotations

import os
import stat

from reactor_ci import settings

# Mirrors reactor_ci.credentials.DEFAULT_TOKEN_LIFETIME (used when the file does
# not say when its token was issued) and the MAX_FILE_BYTES bound.
DEFAULT_TOKEN_LIFETIME = 12 * 3600.0
MAX_FILE_BYTES = 256 * 1024
CREDENTIALS_ENV = "REACTOR_CREDENTIALS"
REQUIRED = ("api_key", "partner_id", "registry", "registry_token", "registry_token_expiry")

SERVE = "serve"
OTHER_HOST = "other-host"
SLOW = "slow"


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
    value, end = scan(stripped, 0)
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


def decide(data: object, server: str, now: float) -> tuple[str, dict[str, str] | None, float]:
    """(SERVE, answer, left) / (OTHER_HOST, None, 0) / (SLOW, None, 0) for the parsed file ``data``."""
    if not isinstance(data, dict) or not all(isinstance(data.get(k), str) and data.get(k) for k in REQUIRED):
        return SLOW, None, 0.0
    host = str(data["registry"]).split("/", 1)[0].lower()
    if server != host:
        return OTHER_HOST, None, 0.0
    if not settings.registry_allowed(host):
        return SLOW, None, 0.0  # the full path refuses it, with the fix
    expiry = epoch(data["registry_token_expiry"])
    minimum = settings.peek(settings.MIN_TOKEN_LIFETIME)
    if expiry is None or minimum is None:
        return SLOW, None, 0.0
    lifetime = DEFAULT_TOKEN_LIFETIME
    issued_raw = data.get("registry_token_issued_at")
    if issued_raw:
        issued = epoch(issued_raw)
        if issued is None:
            return SLOW, None, 0.0
        if expiry - issued > 0:
            lifetime = expiry - issued
    left = expiry - now
    if left < max(lifetime / 2, minimum):
        return SLOW, None, 0.0
    username = data.get("registry_username")
    user = username if isinstance(username, str) and username and username.isprintable() else str(data["partner_id"])
    return SERVE, {"Username": user, "Secret": str(data["registry_token"])}, left


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


def fast_get(server: str, now: float) -> tuple[str, dict[str, str] | None, float]:
    """Decide from the file at :func:`credentials_path`, or SLOW for anything unusual."""
    path = credentials_path()
    if path is None:
        return SLOW, None, 0.0
    try:
        # A directory others can write (even through a symlink) is the full path's to refuse.
        if os.stat(os.path.dirname(path) or ".").st_mode & 0o022:
            return SLOW, None, 0.0
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK)
        try:
            info = os.fstat(fd)
            # Non-regular files and loose modes are the full path's to refuse/fix.
            if not stat.S_ISREG(info.st_mode) or info.st_mode & 0o077:
                return SLOW, None, 0.0
            raw = os.read(fd, MAX_FILE_BYTES + 1)
        finally:
            os.close(fd)
        if len(raw) > MAX_FILE_BYTES:
            return SLOW, None, 0.0
        data = loads(raw.decode("utf-8"))
    except (OSError, ValueError, StopIteration, RecursionError):
        return SLOW, None, 0.0
    return decide(data, server, now)
