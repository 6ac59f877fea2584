"""Numeric settings from the environment: ONE reader, one rule, one error.

Every numeric ``REACTOR_CI_*`` variable is declared here with its default and
its bounds. A value that is not a finite number inside the bounds (``nan``,
``inf``, ``-1``, ``ten``) is bad input: :func:`get` raises a
:class:`~reactor_ci.errors.UsageError` (exit 2) naming the variable and the
range, never silently falling back to the default (a typo in a timeout must
not quietly become "wait forever" or "never retry").

Imports only :mod:`os`: the credential helper's fast path reads
``REACTOR_CI_MIN_TOKEN_LIFETIME`` with :func:`peek`, which returns ``None``
for a bad value so the slow path raises the same error as every command
(tests/adversarial/test_env.py proves both agree for any value).
"""

from __future__ import annotations

import os

HTTP_TIMEOUT = "REACTOR_CI_HTTP_TIMEOUT"
RETRY_ATTEMPTS = "REACTOR_CI_RETRY_ATTEMPTS"
RETRY_MAX_SECONDS = "REACTOR_CI_RETRY_MAX_SECONDS"
MIN_TOKEN_LIFETIME = "REACTOR_CI_MIN_TOKEN_LIFETIME"
LOCK_TIMEOUT = "REACTOR_CI_LOCK_TIMEOUT"
HELPER_DEADLINE = "REACTOR_CI_HELPER_DEADLINE"
PROGRESS_INTERVAL = "REACTOR_CI_PROGRESS_INTERVAL"

_DAY = 86400.0

# name -> (default, minimum, maximum, integer, what it is). The minimum is
# inclusive; the maximum bounds every wait a setting can cause, so no value a
# user can type turns into an unbounded hang.
SPECS: dict[str, tuple[float, float, float, bool, str]] = {
    HTTP_TIMEOUT: (15.0, 0.1, 600.0, False, "the total seconds one HTTP exchange may take"),
    RETRY_ATTEMPTS: (5.0, 1.0, 20.0, True, "how many times an API call is tried"),
    RETRY_MAX_SECONDS: (60.0, 0.0, 3600.0, False, "the seconds an API call may spend retrying"),
    MIN_TOKEN_LIFETIME: (3600.0, 0.0, 30 * _DAY, False, "the seconds a registry token must still live"),
    LOCK_TIMEOUT: (60.0, 0.0, 3600.0, False, "the seconds to wait for the refresh lock"),
    HELPER_DEADLINE: (30.0, 1.0, 3600.0, False, "the seconds the credential helper may take for one get"),
    PROGRESS_INTERVAL: (10.0, 0.1, 3600.0, False, "the seconds between push progress lines"),
}


class SettingError(ValueError):
    """A bad value; :func:`get` turns it into a UsageError (exit 2)."""

    def __init__(self, name: str, message: str, fix: str) -> None:
        super().__init__(message)
        self.name = name
        self.message = message
        self.fix = fix


def _check(name: str, raw: str) -> float:
    default, low, high, integer, what = SPECS[name]
    kind = "a whole number" if integer else "a number of seconds"
    shown = raw if len(raw) <= 40 else raw[:40] + "…"
    fix = f"set {name} to {kind} from {low:g} to {high:g} ({what}; default {default:g}), or unset it."
    try:
        value = float(raw)
    except ValueError:
        raise SettingError(name, f"{name}={shown!r} is not {kind}", fix) from None
    if value != value or value in (float("inf"), float("-inf")):  # nan, inf (no `math`: fast path)
        raise SettingError(name, f"{name}={shown!r} is not a finite number", fix)
    if not low <= value <= high:
        raise SettingError(name, f"{name}={shown!r} is out of range ({low:g} to {high:g})", fix)
    if integer and value != int(value):
        raise SettingError(name, f"{name}={shown!r} is not a whole number", fix)
    return value


def parse(name: str, env: dict[str, str] | None = None) -> float:
    """The value of ``name`` (its default when unset or blank); :class:`SettingError` when bad."""
    environ = os.environ if env is None else env
    raw = environ.get(name, "").strip()
    if not raw:
        return SPECS[name][0]
    return _check(name, raw)


def get(name: str, env: dict[str, str] | None = None) -> float:
    """The value of ``name``; a UsageError (exit 2) naming the variable when bad."""
    try:
        return parse(name, env)
    except SettingError as exc:
        from reactor_ci.errors import UsageError

        raise UsageError(exc.message, exc.fix, code="bad_setting") from None


def peek(name: str, env: dict[str, str] | None = None) -> float | None:
    """The value of ``name``, or ``None`` when bad: for the helper's fast path, which defers."""
    try:
        return parse(name, env)
    except SettingError:
        return None


def check_all(env: dict[str, str] | None = None) -> None:
    """Raise the UsageError of the first bad setting: commands call it up front."""
    for name in SPECS:
        get(name, env)


# -- registry hosts ----------------------------------------------------------
# A Reactor registry token must never reach a registry Reactor does not run
# (9.2): a hostile or hijacked API answer, credentials file or Docker config
# could otherwise name ghcr.io and collect it. Hosts under REACTOR_DOMAIN are
# Reactor's; anything else (staging) must be listed explicitly in
# REGISTRY_HOSTS. One pairing rule serves the emulator without configuration:
# a LOOPBACK registry is accepted when REACTOR_API_URL is itself loopback --
# the key already goes to that local server, and no remote answer can ever
# point the token at a loopback port (nor a local one at a remote host).
REGISTRY_HOSTS = "REACTOR_CI_REGISTRY_HOSTS"
REACTOR_DOMAIN = "reactor.inc"
_HOST_CHARS = frozenset("abcdefghijklmnopqrstuvwxyz0123456789.-")
_PATH_CHARS = frozenset("abcdefghijklmnopqrstuvwxyz0123456789._-/")
_MAX_REGISTRY = 255


def registry_host_ok(host: str) -> bool:
    """``host`` or ``host:port``, lower case DNS name or IPv4 (or ``[v6]``), a sane port."""
    if not host or len(host) > _MAX_REGISTRY:
        return False
    name, port = host, ""
    if host.startswith("["):
        end = host.find("]")
        if end < 0:
            return False
        name, rest = host[1:end], host[end + 1 :]
        if rest and not rest.startswith(":"):
            return False
        port = rest[1:]
        if not name or not all(c in "0123456789abcdef:." for c in name):
            return False
    else:
        if host.count(":") > 1:
            return False
        if ":" in host:
            name, port = host.split(":", 1)
        if not name or not all(c in _HOST_CHARS for c in name) or name.startswith((".", "-")) or ".." in name:
            return False
    if ":" in host[host.rfind("]") + 1 :] and not port:
        return False
    return not port or (port.isdigit() and port.isascii() and 0 < int(port) < 65536 and len(port) <= 5)


def split_registry(registry: str) -> tuple[str, str] | None:
    """``host[:port][/namespace]`` -> (host, namespace), lower-cased; None when malformed."""
    value = registry.strip().lower()
    if not value or len(value) > _MAX_REGISTRY or "://" in value:
        return None
    host, _, path = value.partition("/")
    path = path.strip("/")
    if not registry_host_ok(host) or not all(c in _PATH_CHARS for c in path) or "//" in path:
        return None
    return host, path


def same_registry_host(a: str, b: str) -> bool:
    """True when two registry answers are well-formed and name the same host (9.2: they must agree)."""
    first, second = split_registry(a), split_registry(b)
    return first is not None and second is not None and first[0] == second[0]


def allowed_registry_hosts(env: dict[str, str] | None = None) -> tuple[str, ...]:
    """The explicit allow-list: ``REACTOR_CI_REGISTRY_HOSTS`` (comma-separated ``host[:port]``)."""
    environ = os.environ if env is None else env
    raw = environ.get(REGISTRY_HOSTS, "")
    return tuple(h.strip().lower() for h in raw.split(",") if h.strip())


def check_registry_hosts(env: dict[str, str] | None = None) -> None:
    """A UsageError (exit 2) naming a malformed ``REACTOR_CI_REGISTRY_HOSTS`` entry (``https://x``, a path)."""
    bad = [h for h in allowed_registry_hosts(env) if not registry_host_ok(h)]
    if bad:
        from reactor_ci.errors import UsageError

        raise UsageError(
            f"{REGISTRY_HOSTS} holds {bad[0][:60]!r}, which is not a host[:port]",
            f"list registry hosts as host[:port], comma-separated, without scheme or path "
            f"(e.g. {REGISTRY_HOSTS}=staging.example.com:5000,127.0.0.1:5000).",
            code="bad_setting",
        )


def registry_allowed(host: str, env: dict[str, str] | None = None) -> bool:
    """True for a host under ``*.reactor.inc`` (any port), listed in ``REACTOR_CI_REGISTRY_HOSTS``,
    or on loopback while ``REACTOR_API_URL`` is loopback too (the emulator)."""
    host = host.strip().lower()
    if not registry_host_ok(host):
        return False
    if host in allowed_registry_hosts(env):
        return True
    name = host[1 : host.find("]")] if host.startswith("[") else host.rsplit(":", 1)[0]
    if name.endswith("." + REACTOR_DOMAIN):
        return True
    return name_is_loopback(name) and _api_is_loopback(env)


# -- loopback: ONE parser for login, the helper (both paths) and the emulator --------
def host_is_loopback(authority: str) -> bool:
    """``localhost``, 127.0.0.0/8 or ::1 -- as ``host``, ``host:port`` or ``[v6]:port``.

    The authority must first be a well-formed ``host[:port]`` (:func:`registry_host_ok`):
    ``[::1].evil.com`` and ``127.0.0.1:8443.evil.com`` are names under evil.com,
    and a prefix or substring test would call them loopback. The address itself
    is judged by :mod:`ipaddress` (imported here only: the fast paths reach this
    line only for a loopback-looking registry, i.e. the emulator).
    """
    authority = authority.strip().lower()
    if not registry_host_ok(authority):
        return False
    name = authority[1 : authority.find("]")] if authority.startswith("[") else authority.rsplit(":", 1)[0]
    if name == "localhost":
        return True
    import ipaddress

    try:
        return ipaddress.ip_address(name).is_loopback
    except ValueError:
        return False


def url_is_loopback(url: str) -> bool:
    """True when ``url`` is http(s) to a loopback host, by its parsed authority (no credentials)."""
    from urllib.parse import urlsplit

    try:
        parts = urlsplit(url.strip())
        parts.port  # noqa: B018 - raises ValueError on a bad port
    except ValueError:
        return False
    if parts.scheme.lower() not in ("http", "https") or "@" in parts.netloc or "\\" in url:
        return False
    return host_is_loopback(parts.netloc)


def name_is_loopback(name: str) -> bool:
    """A bare host name (no port, no brackets: what ``urlsplit().hostname`` gives) that is loopback."""
    return host_is_loopback(f"[{name}]" if ":" in name else name)


def _api_is_loopback(env: dict[str, str] | None) -> bool:
    """``REACTOR_API_URL`` names a loopback host (the emulator)."""
    environ = os.environ if env is None else env
    return url_is_loopback(environ.get("REACTOR_API_URL", ""))
