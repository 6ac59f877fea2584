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

The file's shape (required fields, default lifetime) is :mod:`reactor_ci.fastread`'s,
shared with the full store; :func:`decide` MIRRORS the session's refresh rule, and
tests/test_docker_units.py proves with Hypothesis that it never serves what
``Session.needs_refresh`` would refresh, and that :func:`fastread.epoch` agrees
with :func:`timeutil.parse_time`.
Imports: :mod:`reactor_ci.fastread` (os, stat) and :mod:`reactor_ci.settings` (os) -- nothing else.
"""

from __future__ import annotations

from reactor_ci import settings
from reactor_ci.fastread import DEFAULT_TOKEN_LIFETIME, REQUIRED, credentials_path, epoch, read_private

__all__ = ["OTHER_HOST", "SERVE", "SLOW", "decide", "fast_get"]

SERVE = "serve"
OTHER_HOST = "other-host"
SLOW = "slow"


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


def fast_get(server: str, now: float) -> tuple[str, dict[str, str] | None, float]:
    """Decide from the file at :func:`credentials_path`, or SLOW for anything unusual."""
    path = credentials_path()
    data = read_private(path) if path is not None else None
    if data is None:
        return SLOW, None, 0.0
    return decide(data, server, now)
