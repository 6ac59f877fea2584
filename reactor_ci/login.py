"""``reactor-ci login``: validate a partner key and store registry credentials.

The work is :func:`reactor_ci.flows.login` (shared with ``auth``); this module is
the command: its arguments, and nothing the ``status`` path would pay for
(flows, the key rules and the API load when the command runs).
"""

from __future__ import annotations

TYPE_CHECKING = False  # typing costs milliseconds at start; mypy reads this as True
if TYPE_CHECKING:
    import argparse

    from reactor_ci.ci import Provider

__all__ = ["add_commands", "login"]


def login(provider: Provider, *, api_key_stdin: bool, docker_login: bool) -> int:
    """Log in with the partner key from ``$REACTOR_API_KEY`` (or stdin); 0, or a ReactorCIError."""
    from reactor_ci import flows
    from reactor_ci.keys import KeyKind

    key = flows.read_key(provider, stdin=api_key_stdin, expect=KeyKind.PARTNER)
    flows.login(provider, key, docker_login=docker_login)
    return 0


def _cmd(args: argparse.Namespace) -> int:
    return login(args.provider, api_key_stdin=bool(args.api_key_stdin), docker_login=bool(args.docker_login))


def add_commands(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add ``login`` to the top-level subparsers."""
    import argparse

    from reactor_ci.keys import ENV_VAR

    p = sub.add_parser("login", help="validate a partner key and store registry credentials")
    p.add_argument("--api-key-stdin", action="store_true", help=f"read the key from standard input, not ${ENV_VAR}")
    p.add_argument(
        "--docker-login",
        action=argparse.BooleanOptionalAction,
        default=False,
        help="also register the Docker credential helper for the Reactor registry",
    )
    p.set_defaults(func=_cmd)
