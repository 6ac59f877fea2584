"""THE rules of the credentials file, and its stdlib-only reading for the hot paths.

One home for what a credentials file must hold and what it means, called by the
full store (:mod:`reactor_ci.credentials`), :class:`~reactor_ci.session.Session`,
the helper's cached ``get`` (:mod:`reactor_ci.docker.fastpath`) and ``status``'s
fast path (:mod:`reactor_ci.status_fast`):

* :func:`field_problem` -- which required fields are missing or implausible, as
  the reason the store prints;
* :func:`registry_host` -- the registry host a file names (None when malformed);
* :func:`username` / :func:`docker_username` -- the Docker user name it serves;
* :func:`lifetime` and :func:`refresh_due` -- the refresh rule
  ``left < max(lifetime / 2, minimum)`` (after the ECR credential helper);
* :func:`assess` -- all of the above for a parsed file, as both fast paths ask it;
  :func:`token_state` -- what ``status`` calls the result;
* :func:`read_bounded` -- THE safe reader of a file someone else may have planted
  (every reader in the package uses it; :mod:`reactor_ci.fsutil` re-exports it).

The credential helper's cached ``get`` (:mod:`reactor_ci.docker.fastpath`) and
``reactor-ci status`` (:mod:`reactor_ci.status_fast`) run on every push and in
every CI job. The full path (:mod:`reactor_ci.credentials`: dataclasses,
datetime, pathlib, tempfile, typing; :mod:`json`: re) triples a bare
interpreter's start-up in a clean venv, so these readers use os, stat and the
C JSON scanner alone, and answer ``None`` ("the full path decides") for
anything unusual: an odd mode, a symlink, a loose directory, a big file, bad
JSON, no HOME.

Imports: os, stat and :mod:`reactor_ci.settings` (os) -- nothing else
(tests/test_status_fast.py and tests/docker/test_units.py check).
"""

from __future__ import annotations

import os
import stat

from reactor_ci import settings

# The credentials file's shape, defined ONCE for the store (reactor_ci.credentials)
# and the fast readers (the helper's cached get, status), so they cannot drift.
CREDENTIALS_ENV = "REACTOR_CREDENTIALS"
#: The directory under a CI's job temp dir that holds reactor-ci's job-scoped files
#: (:mod:`reactor_ci.paths`: ``<job temp>/reactor-ci/credentials``).
JOB_DIR = "reactor-ci"
#: Where the file lives without $REACTOR_CREDENTIALS: the official CLI's place.
DEFAULT_PATH = "~/.reactor/credentials"
REQUIRED = ("api_key", "partner_id", "registry", "registry_token", "registry_token_expiry")
# Fields reactor-ci adds; the official CLI may drop them, and everything works without.
USERNAME = "registry_username"
ISSUED_AT = "registry_token_issued_at"
# A real file is ~500 bytes; bound what we read and parse from a file others may write.
MAX_FILE_BYTES = 256 * 1024
MAX_FIELD = 4096
# The documented 12 h lifetime; used only when the file does not say when its
# token was issued (files written by the official CLI).
DEFAULT_TOKEN_LIFETIME = 12 * 3600.0


# -- the rules -------------------------------------------------------------------------------


def field_problem(data: object) -> str | None:
    """Why ``data`` is not a credentials record, worded to follow the file's name; None when it is.

    Every required field must be a non-empty string of at most :data:`MAX_FIELD` characters.
    """
    if not isinstance(data, dict):
        return " does not hold a JSON object"
    missing = [k for k in REQUIRED if not isinstance(data.get(k), str) or not data.get(k)]
    if missing:
        return f" lacks {', '.join(missing)}"
    oversized = [k for k in REQUIRED if len(data[k]) > MAX_FIELD]
    if oversized:
        return f": {', '.join(oversized)} is implausibly long"
    return None


def registry_host(registry: str) -> str | None:
    """The lower-cased ``host[:port]`` of a ``registry`` field; None when it is no registry name."""
    parts = settings.split_registry(registry)
    return None if parts is None else parts[0]


def username(value: object) -> str | None:
    """The ``registry_username`` field when usable (a printable string within bounds), else None."""
    if isinstance(value, str) and value and len(value) <= MAX_FIELD and value.isprintable():
        return value
    return None


def docker_username(data: dict[str, object]) -> str:
    """The user name Docker sends with the token: the registry's own, else the partner id."""
    return username(data.get(USERNAME)) or str(data["partner_id"])


def lifetime(expiry: float, issued: float | None) -> float:
    """The token's whole lifetime in seconds: expiry - issued when known and positive, else 12 h."""
    if issued is not None and expiry - issued > 0:
        return expiry - issued
    return DEFAULT_TOKEN_LIFETIME


def refresh_due(left: float, whole: float, minimum: float) -> bool:
    """THE refresh rule: less than half the lifetime, or less than the minimum, remains.

    A push must START with ample life left: the Docker engine does not retry a 401 mid-push.
    """
    return left < max(whole / 2, minimum)


def token_state(left: float, due: bool) -> str:
    """THE words ``status`` and the doctor report: ``expired`` (none left), ``expiring`` (a refresh is due), ``valid``."""
    return "expired" if left <= 0 else "expiring" if due else "valid"


def assess(data: object, now: float, env: dict[str, str] | None = None) -> tuple[str, float, bool] | None:
    """(registry host, seconds left, refresh due) for a file the store loads as it is: its fields,
    an allowed registry, times :func:`epoch` reads, a valid minimum lifetime. None: the full path
    decides (it refuses the file, or reads what these rules leave to it). Both fast paths ask here."""
    if field_problem(data) is not None or not isinstance(data, dict):
        return None
    host = registry_host(data["registry"])
    if host is None or not settings.registry_allowed(host, env):
        return None  # the full path refuses it, with the fix
    expiry = epoch(data["registry_token_expiry"])
    issued = epoch(data[ISSUED_AT]) if data.get(ISSUED_AT) else None
    minimum = settings.peek(settings.MIN_TOKEN_LIFETIME, env)
    if expiry is None or minimum is None or (issued is None and data.get(ISSUED_AT)):
        return None
    return host, expiry - now, refresh_due(expiry - now, lifetime(expiry, issued), minimum)


# -- reading ---------------------------------------------------------------------------------


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


def dumps(value: dict[str, str] | dict[str, str | int], indent: int | None = None) -> str:
    """``json.dumps(value, indent=indent)`` of a flat ``{str: str | int}`` through the C string
    encoder (no :mod:`re`)."""
    try:
        from _json import encode_basestring_ascii as quote
    except ImportError:  # pragma: no cover
        import json

        return json.dumps(value, indent=indent)
    items = [f"{quote(k)}: {v if isinstance(v, int) else quote(v)}" for k, v in value.items()]
    if indent is None:
        return "{" + ", ".join(items) + "}"
    return "{\n" + ",\n".join(" " * indent + item for item in items) + "\n}" if items else "{}"


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


def expand_home(path: str, env: dict[str, str] | None = None) -> str | None:
    """``~/x`` -> ``$HOME/x`` only with a HOME that is an existing absolute directory (the store's
    rule, :func:`reactor_ci.fsutil.home_dir`); None for ``~user`` or without one (the full path explains)."""
    if not path.startswith("~"):
        return path
    if path != "~" and not path.startswith("~/"):
        return None
    home = (os.environ if env is None else env).get("HOME", "").strip()
    if not home or not os.path.isabs(home) or not os.path.isdir(home):
        return None  # never the passwd fallback (/root): the full path explains
    return os.path.join(home, path[2:])


def credentials_path(env: dict[str, str] | None = None, job_temp: str | None = None) -> str | None:
    """``$REACTOR_CREDENTIALS``, else ``<job_temp>/reactor-ci/credentials`` given the temp dir a CI
    deletes after the job, else ``$HOME/.reactor/credentials`` (:func:`reactor_ci.paths.credentials_path`'s
    order); None without a usable HOME."""
    configured = (os.environ if env is None else env).get(CREDENTIALS_ENV, "").strip()
    if job_temp and not configured:
        return f"{job_temp}/{JOB_DIR}/credentials"
    return expand_home(configured or DEFAULT_PATH, env)


class UnsafeFile(Exception):
    """A user-controlled path that is not a small regular file; ``reason`` says what it is instead."""

    def __init__(self, path: str | os.PathLike[str], reason: str) -> None:
        super().__init__(f"{os.fspath(path)} {reason}")
        self.reason = reason


def read_bounded(
    path: str | os.PathLike[str], limit: int, *, follow_symlinks: bool = True, private: bool = False
) -> bytes:
    """The bytes of ``path``, read the ONE safe way for a file someone else may have planted
    (every reader: the store, the config and baseline readers through :mod:`reactor_ci.fsutil`,
    and both fast paths through :func:`read_private`; it lives here, on os and stat alone, so the
    fast paths need not import fsutil's tempfile and pathlib).

    Opened non-blocking (a FIFO must not hang us), it must be a regular file
    (not /dev/zero, a socket, a directory), ``private`` (mode 0600 or tighter) when asked, and at
    most ``limit`` bytes are read (a huge file must not exhaust memory). :class:`FileNotFoundError`
    and other :class:`OSError` propagate; :class:`UnsafeFile` names the problem.
    """
    flags = os.O_RDONLY | os.O_NONBLOCK | getattr(os, "O_CLOEXEC", 0)
    if not follow_symlinks:
        flags |= os.O_NOFOLLOW
    fd = os.open(path, flags)
    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):
            raise UnsafeFile(path, "is not a regular file")
        if private and info.st_mode & 0o077:
            raise UnsafeFile(path, f"is readable by other users (mode {stat.S_IMODE(info.st_mode):o})")
        if info.st_size > limit:
            raise UnsafeFile(path, f"is larger than {limit // 1024} kB")
        chunks: list[bytes] = []
        size = 0
        while size <= limit:
            chunk = os.read(fd, limit + 1 - size)
            if not chunk:
                break
            chunks.append(chunk)
            size += len(chunk)
        if size > limit:  # it grew while we read it
            raise UnsafeFile(path, f"is larger than {limit // 1024} kB")
        return b"".join(chunks)
    finally:
        os.close(fd)


def read_private(path: str) -> object | None:
    """The parsed JSON of ``path`` when it is a private regular file (mode 0600 or tighter, not a
    symlink, at most :data:`MAX_FILE_BYTES`) in a directory others cannot write; else None."""
    try:
        # A directory others can write (even through a symlink) is the full path's to refuse.
        if os.stat(os.path.dirname(path) or ".").st_mode & 0o022:
            return None
        # Non-regular files, loose modes and big files are the full path's to refuse/fix.
        raw = read_bounded(path, MAX_FILE_BYTES, follow_symlinks=False, private=True)
        return loads(raw.decode("utf-8"))
    except (OSError, UnsafeFile, ValueError, StopIteration, RecursionError):
        return None
