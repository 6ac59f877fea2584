"""``reactor-ci status [--json]``: the stored credentials and the token's time left (the full path).

The common valid case is answered before this module loads, by
:mod:`reactor_ci.status_fast` (byte-identical output, tests/test_status_fast.py);
everything else -- a warning to print, an expired or missing token, a CI that
masks -- is answered here.
"""

from __future__ import annotations

TYPE_CHECKING = False  # typing costs milliseconds at start; mypy reads this as True
if TYPE_CHECKING:
    import argparse

    from reactor_ci.ci import Provider

__all__ = ["add_commands", "document", "lines", "status"]


def status(provider: Provider, *, as_json: bool, now: float | None = None) -> int:
    """Print the status; 0 while the token lives, 3 (auth) when it expired, AuthError when missing."""
    import json
    import time

    from reactor_ci import console, paths
    from reactor_ci.credentials import CredentialsStore
    from reactor_ci.errors import AuthError, ExitCode
    from reactor_ci.session import Session
    from reactor_ci.timeutil import format_time

    store = CredentialsStore(paths.credentials_path(provider))
    creds = store.load()
    for message in store.warnings:
        console.warn(message)
    if creds is None:
        if as_json:
            console.out(json.dumps({"state": "missing", "credentials_path": str(store.path)}))
        raise AuthError(
            f"no Reactor credentials at {store.path}",
            "run `reactor-ci login` with REACTOR_API_KEY set to a partner key (rp_…).",
            code="no_credentials",
        )
    now = time.time() if now is None else now
    left = creds.seconds_left(now)
    state = Session(store).state(creds, now)
    when = format_time(creds.registry_token_expiry)
    if as_json:
        console.out(
            json.dumps(document(creds.partner_id, creds.registry, when, left, state, str(store.path)), indent=2)
        )
    else:
        for line in lines(creds.partner_id, creds.registry, creds.api_key, when, left, state, str(store.path)):
            console.info(line)
    if state != "expired":
        return ExitCode.OK
    if not as_json:
        console.error(
            "the registry token has expired: the credential helper and `reactor-ci push` refresh it on "
            "their own; to refresh it now run `reactor-ci docker-login --refresh` (or `reactor-ci login` again)."
        )
    return ExitCode.AUTH


# The report's two forms, one home: the full path above and status's fast path (import-light) print them.
def document(partner_id: str, registry: str, when: str, left: float, state: str, path: str) -> dict[str, str | int]:
    """The ``--json`` document (``json.dumps(..., indent=2)``)."""
    return {
        "partner_id": partner_id,
        "registry": registry,
        "registry_token_expiry": when,
        "expires_in_seconds": int(left),
        "state": state,
        "credentials_path": path,
    }


def lines(partner_id: str, registry: str, api_key: str, when: str, left: float, state: str, path: str) -> list[str]:
    """The human report, one line each (before console's scrub and escaping)."""
    from reactor_ci.redact import redact
    from reactor_ci.timeutil import human_duration

    expired = state == "expired"
    token = (
        f"EXPIRED at {when} ({human_duration(-left)} ago)"
        if expired
        else f"{state}, expires {when} (in {human_duration(left)})"
    )
    return [
        f"Organisation:  {partner_id}",
        f"Registry:      {registry}",
        f"API key:       {redact(api_key)}",
        f"Token:         {token}",
        f"Credentials:   {path}",
    ]


def _cmd(args: argparse.Namespace) -> int:
    return status(args.provider, as_json=bool(args.json))


def add_commands(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add ``status`` to the top-level subparsers."""
    p = sub.add_parser("status", help="show the stored credentials and the token's time left")
    p.add_argument("--json", action="store_true", help="print a JSON object")
    p.set_defaults(func=_cmd)
