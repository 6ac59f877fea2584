"""``reactor-ci logout``: remove what reactor-ci stored, the secret first.

The credentials file holds the partner key and the registry token, so it is
removed FIRST, before anything that can fail (a Docker config that is a FIFO,
unreadable, or corrupt). Whatever fails after that is reported with its exit
class; the secret is gone either way. Idempotent: a second run finds nothing.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import argparse

__all__ = ["add_commands", "cmd_logout"]


def cmd_logout(args: argparse.Namespace) -> int:
    from reactor_ci import console, paths
    from reactor_ci.credentials import CredentialsStore
    from reactor_ci.errors import ExitCode, ReactorCIError

    store = CredentialsStore(paths.credentials_path(args.provider))
    host = None
    try:
        creds = store.load()
        host = creds.registry_host if creds else None
    except ReactorCIError:
        pass  # a damaged file is still removed below: it may hold a secret
    removed = store.delete()
    console.info(f"Removed {store.path}." if removed else f"Nothing to remove at {store.path}.")
    from reactor_ci.docker.cli import docker_logout

    try:
        docker_logout(host)
    except ReactorCIError as exc:
        console.error(f"{exc.message}" + (f"\n  fix: {exc.fix}" if exc.fix else ""))
        return int(exc.exit_code)
    return int(ExitCode.OK)


def add_commands(sub: Any) -> None:
    p = sub.add_parser("logout", help="remove what reactor-ci stored (idempotent)")
    p.set_defaults(func=cmd_logout)
