"""Validators: the last check on a regex match, named by :attr:`Rule.validator`.

Each takes the match and the rule's ``params`` and says whether it is a
secret.  They run only on regex matches (rare), so their imports
(:mod:`reactor_ci.scan.shape`, base64) are deferred to the first call.
"""

from __future__ import annotations

TYPE_CHECKING = False  # typing costs ~3 ms to import; mypy treats this name as True
if TYPE_CHECKING:
    import re
    from collections.abc import Callable, Sequence
    from typing import Any

    Validator = Callable[[re.Match[bytes], dict[str, Any]], bool]

__all__ = ["VALIDATORS", "host_matches"]


def _text(m: re.Match[bytes], group: str) -> str:
    return m.group(group).decode("ascii", "replace")


def _key_body(m: re.Match[bytes], params: dict[str, Any]) -> bool:
    from reactor_ci.scan.shape import key_body_problem

    return key_body_problem(_text(m, "body"), **params) is None


def _stripe_body(m: re.Match[bytes], params: dict[str, Any]) -> bool:
    from reactor_ci.scan.shape import placeholder_reason

    body = _text(m, "body")
    return (
        len(body) >= int(params.get("min_len", 10))
        and len(set(body)) >= int(params.get("min_distinct", 6))
        and placeholder_reason(body) is None
    )


def _opaque_value(m: re.Match[bytes], params: dict[str, Any]) -> bool:
    from reactor_ci.scan.shape import placeholder_reason

    value = _text(m, "secret")
    if value[:1] in ("<", "$", "{", "%") or value.startswith(("***", "REDACTED")):
        return False
    return (
        len(value) >= int(params.get("min_len", 8))
        and len(set(value)) >= int(params.get("min_distinct", 6))
        and placeholder_reason(value) is None
    )


def host_matches(host: str, patterns: Sequence[str]) -> bool:
    """Is ``host`` (a Docker ``auths`` key: a host, ``host:port`` or a URL) one of ``patterns``?

    A pattern starting with ``.`` matches every subdomain (``.reactor.inc``).
    """
    host = host.lower()
    if "://" in host:
        host = host.split("://", 1)[1]
    host = host.split("/", 1)[0]
    hostname = host.rsplit(":", 1)[0] if host.count(":") == 1 else host
    return any(hostname == p or (p.startswith(".") and hostname.endswith(p)) for p in patterns)


def _docker_auth(m: re.Match[bytes], params: dict[str, Any]) -> bool:
    import base64
    import binascii

    from reactor_ci.scan.shape import key_body_problem

    try:
        decoded = base64.b64decode(m.group("secret"), validate=True).decode("utf-8", "replace")
    except (binascii.Error, ValueError):
        return False
    _user, sep, password = decoded.partition(":")
    if not sep or not password:
        return False
    if host_matches(_text(m, "host"), params.get("hosts", ())):
        return True
    # Any registry whose password is a Reactor key is a Reactor login too.
    return password.startswith(("rp_", "rk_")) and key_body_problem(password[3:]) is None


VALIDATORS: dict[str, Validator] = {
    "key_body": _key_body,
    "stripe_body": _stripe_body,
    "opaque_value": _opaque_value,
    "docker_auth": _docker_auth,
}
