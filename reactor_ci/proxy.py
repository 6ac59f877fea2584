"""Proxy settings: parsed ONCE, here, for every HTTP call reactor-ci makes.

httpx parses ``HTTPS_PROXY`` with a URL parser: a password holding an
unencoded ``/``, ``#`` or ``?`` (common: people paste them as they are) makes
it fail with ``InvalidURL: Invalid port: '<part of the password>'`` -- a crash
that prints the password. So reactor-ci reads the variables itself: the
userinfo is everything before the LAST ``@`` of the authority, the host must
be a well-formed ``host[:port]``, the password is registered as a secret the
moment it is read, and only :attr:`ProxySetting.display` (no userinfo) is ever
shown. A malformed setting is a :class:`UsageError` (exit 2) naming the
variable. SOCKS is refused the same way: reactor-ci ships no SOCKS client.

NO_PROXY follows httpx's rules (what reactor-ci followed when httpx read the
variables); plain http (loopback only) never goes through a proxy at all, which
:mod:`reactor_ci.api` decides before asking here.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING

from reactor_ci import redact, settings
from reactor_ci.errors import UsageError

if TYPE_CHECKING:
    import httpx

__all__ = ["ProxySetting", "bypassed", "choose", "for_url", "parse", "transport"]

_SUPPORTED = ("http", "https")
_SOCKS = ("socks4", "socks4a", "socks5", "socks5h")
_DEFAULT_PORT = {"http": 80, "https": 443}


@dataclass(frozen=True)
class ProxySetting:
    variable: str
    scheme: str
    host: str  # as in a URL: brackets around IPv6
    port: int
    username: str
    password: str

    @property
    def display(self) -> str:
        """The proxy URL without user:password: the only form reactor-ci prints."""
        return f"{self.scheme}://{self.host}:{self.port}"

    @property
    def auth(self) -> tuple[str, str] | None:
        return (self.username, self.password) if self.username or self.password else None


def _bad(variable: str, what: str) -> UsageError:
    # Never the value: it may hold a password.
    return UsageError(
        f"{variable} {what}",
        f"set {variable} to http://HOST:PORT (credentials as http://USER:PASSWORD@HOST:PORT), "
        "or unset it for a direct connection.",
        code="bad_proxy",
    )


def parse(variable: str, value: str) -> ProxySetting:
    """``value`` of the proxy variable ``variable``; :class:`UsageError` (exit 2) when unusable."""
    from urllib.parse import unquote

    text = value.strip()
    scheme, sep, rest = text.partition("://")
    if not sep:  # like curl and httpx: no scheme means http
        scheme, rest = "http", text
    scheme = scheme.lower()
    if scheme in _SOCKS:
        raise UsageError(
            f"{variable} names a {scheme} proxy: SOCKS proxies are not supported",
            f"point {variable} at an HTTP proxy (http://HOST:PORT), or add the Reactor API host to NO_PROXY.",
            code="socks_unsupported",
        )
    if scheme not in _SUPPORTED:
        raise _bad(variable, "is not an http:// or https:// proxy URL")
    userinfo, at, hostpart = rest.rpartition("@")
    if not at:
        userinfo = ""
    username, _, password = userinfo.partition(":")
    username, password = unquote(username), unquote(password)
    redact.register(password)
    hostpart = hostpart.split("/", 1)[0].lower()
    if not settings.registry_host_ok(hostpart):
        raise _bad(variable, "does not name a valid proxy host[:port]")
    if hostpart.startswith("["):
        host, _, port_text = hostpart.partition("]")
        host += "]"
        port_text = port_text[1:]
    else:
        host, _, port_text = hostpart.partition(":")
    port = int(port_text) if port_text else _DEFAULT_PORT[scheme]
    return ProxySetting(variable, scheme, host, port, username, password)


def choose(url: str, env: Mapping[str, str] | None = None) -> tuple[str, str] | None:
    """``(variable, value)`` of the proxy setting a request to ``url`` would use, unparsed; None: direct.

    Never raises, whatever ``url`` holds (the doctor shows its verdict on any input).
    """
    from urllib.parse import urlsplit

    environ = os.environ if env is None else env
    try:
        parts = urlsplit(url)
    except ValueError:
        return None
    scheme = parts.scheme or "https"
    for name in (f"{scheme}_proxy", f"{scheme.upper()}_PROXY", "all_proxy", "ALL_PROXY"):
        value = environ.get(name, "").strip()
        if value:
            try:
                port = parts.port
            except ValueError:
                port = None
            port = port or _DEFAULT_PORT.get(scheme, 443)
            if bypassed(parts.hostname or "", port, environ, scheme):
                return None
            return name, value
    return None


def for_url(url: str, env: Mapping[str, str] | None = None) -> ProxySetting | None:
    """The proxy a request to ``url`` goes through (None: direct), parsed; UsageError when malformed."""
    chosen = choose(url, env)
    return None if chosen is None else parse(*chosen)


def transport(url: str, env: Mapping[str, str] | None = None, **options: object) -> httpx.HTTPTransport:
    """An httpx transport for ``url`` with the proxy parsed here (never httpx's own reading).

    Give it to ``httpx.Client(transport=...)``.
    ``trust_env`` stays on for the CA bundle (``SSL_CERT_FILE``/``SSL_CERT_DIR``);
    the proxy variables are not read by httpx because the client is given this
    transport (httpx reads them only for a client without one).
    """
    from urllib.parse import urlsplit

    import httpx

    # Plain http is loopback-only and must never reach a proxy, which would read
    # the key in clear (9.8); https goes through one as a CONNECT tunnel.
    https = urlsplit(url).scheme == "https"
    setting = for_url(url, env) if https else None
    chosen = None if setting is None else httpx.Proxy(setting.display, auth=setting.auth)
    if not https:
        # No TLS on a plain-http client (no redirects are followed), so skip loading the CA bundle
        # (~40 ms per process). The context given instead trusts nothing: any TLS would fail closed.
        import ssl

        options.setdefault("verify", ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT))
    return httpx.HTTPTransport(trust_env=True, proxy=chosen, **options)  # type: ignore[arg-type]


def bypassed(host: str, port: int | None, env: Mapping[str, str], scheme: str = "https") -> bool:
    """Whether ``NO_PROXY`` exempts ``host``, with httpx's rules (what every reactor-ci call follows).

    ``*`` exempts everything; ``example.com`` the host and its subdomains;
    ``.example.com`` subdomains only; an IP address or ``localhost`` exactly;
    ``host:port`` and ``scheme://host`` narrow further. (urllib's matcher
    differs on ``.example.com``, so it is not used.)
    """
    no_proxy = (env.get("no_proxy") or env.get("NO_PROXY") or "").strip()
    host = host.lower().strip("[]")
    if not no_proxy or not host:
        return False
    for raw in no_proxy.split(","):
        entry = raw.strip().lower()
        if entry == "*":
            return True
        if not entry:
            continue
        entry_scheme = ""
        if "://" in entry:
            entry_scheme, entry = entry.split("://", 1)
            if entry_scheme not in ("all", scheme):
                continue
        name, entry_port = _host_port(entry.split("/", 1)[0])
        if entry_port is not None and entry_port != port:
            continue
        if name in ("", "*") or name == host:
            return True
        if entry_scheme or _is_ip(name) or name == "localhost":
            continue  # exact names only
        if name.startswith(".") and host.endswith(name):
            return True
        if not name.startswith(".") and host.endswith("." + name):
            return True
    return False


def _host_port(text: str) -> tuple[str, int | None]:
    if text.startswith("["):  # [v6]:port
        name, _, rest = text[1:].partition("]")
        port = rest[1:] if rest.startswith(":") else ""
    elif text.count(":") == 1:
        name, _, port = text.partition(":")
    else:
        name, port = text, ""
    return name, int(port) if port.isascii() and port.isdigit() else None


def _is_ip(name: str) -> bool:
    import ipaddress

    try:
        ipaddress.ip_address(name)
    except ValueError:
        return False
    return True
