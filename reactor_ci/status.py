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

__all__ = ["add_commands", "status"]


def status(provider: Provider, *, as_json: bool, now: float | None = None) -> int:
    """Print the status; 0 while the token lives, 3 (auth) when it expired, AuthError when missing."""
    import json
    import time

    from reactor_ci import console, paths, redact
    from reactor_ci.credentials import CredentialsStore
    from reactor_ci.errors import AuthError, ExitCode
    from reactor_ci.session import Session
    from reactor_ci.timeutil import format_time, human_duration

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
        document = {
            "partner_id": creds.partner_id,
            "registry": creds.registry,
            "registry_token_expiry": when,
            "expires_in_seconds": int(left),
            "state": state,
            "credentials_path": str(store.path),
        }
        console.out(json.dumps(document, indent=2))
    else:
        console.info(f"Organisation:  {creds.partner_id}")
        console.info(f"Registry:      {creds.registry}")
        console.info(f"API key:       {redact.redact(creds.api_key)}")
        if state == "expired":
            console.info(f"Token:         EXPIRED at {when} ({human_duration(-left)} ago)")
        else:
            console.info(f"Token:         {state}, expires {when} (in {human_duration(left)})")
        console.info(f"Credentials:   {store.path}")
    if state != "expired":
        return ExitCode.OK
    if not as_json:
        console.error(
            "the registry token has expired: the credential helper and `reactor-ci push` refresh it on "
            "their own; to refresh it now run `reactor-ci docker-login --refresh` (or `reactor-ci login` again)."
        )
    return ExitCode.AUTH


def _cmd(args: argparse.Namespace) -> int:
    return status(args.provider, as_json=bool(args.json))


def add_commands(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add ``status`` to the top-level subparsers."""
    p = sub.add_parser("status", help="show the stored credentials and the token's time left")
    p.add_argument("--json", action="store_true", help="print a JSON object")
    p.set_defaults(func=_cmd)
