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

Every rule of the file (fields, registry host, lifetime, the refresh rule, the
Docker user name) is :mod:`reactor_ci.fastread`'s, the full store's too;
tests/docker/test_fastpath_equivalence.py proves with Hypothesis over arbitrary
files and arbitrary stdin that a fast answer is the full path's answer.
Imports: :mod:`reactor_ci.fastread` (os, stat, and settings: os) -- nothing else.
"""

from __future__ import annotations

from reactor_ci import fastread

__all__ = ["OTHER_HOST", "SERVE", "SLOW", "decide", "fast_get"]

SERVE = "serve"
OTHER_HOST = "other-host"
SLOW = "slow"


def decide(data: object, server: str, now: float) -> tuple[str, dict[str, str] | None, float]:
    """(SERVE, answer, left) / (OTHER_HOST, None, 0) / (SLOW, None, 0) for the parsed file ``data``.

    In the full path's order: a file it would refuse (bad fields, a foreign or malformed
    registry, an odd time, a bad setting) is SLOW, so the full path refuses it with the fix;
    only then the host, then the refresh rule.
    """
    assessed = fastread.assess(data, now)
    if assessed is None or not isinstance(data, dict):
        return SLOW, None, 0.0
    host, left, due = assessed
    if server != host:
        return OTHER_HOST, None, 0.0
    if due:
        return SLOW, None, 0.0
    return SERVE, {"Username": fastread.docker_username(data), "Secret": data["registry_token"]}, left


def fast_get(server: str, now: float) -> tuple[str, dict[str, str] | None, float, object]:
    """Decide from the file at :func:`fastread.credentials_path`; SLOW for anything unusual.

    The fourth item is the file as read (None when it was not read or not private): the
    full path takes it instead of reading the file again.
    """
    path = fastread.credentials_path()
    data = fastread.read_private(path) if path is not None else None
    if data is None:
        return SLOW, None, 0.0, None
    return (*decide(data, server, now), data)
