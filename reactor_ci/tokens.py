"""``reactor-ci token``: exchange an app key (``rk_``) for a short-lived JWT, as narrow as asked.

The options are reactor-sdk 1.13 ``fetch_jwt``'s: ``--model`` (repeatable)
scopes the token to sessions on those models, ``--session`` (repeatable)
binds it to open sessions, ``--max-sessions`` and ``--max-session-duration``
constrain a scoped token. Every rule is :mod:`reactor_ci.scope`'s, checked
before the key is even read; the request is :mod:`reactor_ci.api`'s.
"""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING

from reactor_ci import flows
from reactor_ci.errors import ExitCode
from reactor_ci.keys import ENV_VAR, KeyKind

if TYPE_CHECKING:
    from reactor_ci.ci import Provider

__all__ = ["add_commands", "cmd_token"]


def cmd_token(args: argparse.Namespace) -> int:
    from reactor_ci.scope import check_scope

    provider: Provider = args.provider
    flows.check_lifetime(args.expires_after, "--expires-after")
    scope = check_scope(args.model, args.session, args.max_sessions, args.max_session_duration)
    key = flows.read_key(provider, stdin=args.api_key_stdin, expect=KeyKind.APP)
    emit = "json" if args.json else "print" if args.print else "none"
    flows.mint_token(provider, key, args.expires_after, emit=emit, scope=scope)
    return int(ExitCode.OK)


def add_commands(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add ``token`` to the top-level subparsers."""
    p = sub.add_parser(
        "token",
        help="exchange an app key (rk_) for a short-lived JWT, scoped to models or sessions",
        description="Mint a JWT for a client you do not control (a front end, a test harness, a deploy): give "
        "--model (or --session) so that a leak is worth a handful of sessions, not everything the key can reach.",
    )
    p.add_argument("--expires-after", type=int, metavar="SECONDS", help="lifetime asked for (ceiling 6 h)")
    p.add_argument(
        "--model",
        action="append",
        metavar="OWNER/MODEL",
        help="scope the token to sessions on this model (repeatable)",
    )
    p.add_argument(
        "--session",
        action="append",
        metavar="ID",
        help="bind the token to this open session of the key's user (repeatable)",
    )
    p.add_argument(
        "--max-sessions",
        metavar="N",
        help="a scoped token may hold at most N sessions in all, bound ones included (N >= 1)",
    )
    p.add_argument(
        "--max-session-duration",
        metavar="SECONDS",
        help="end every session the scoped token creates after this long (1-86400; never clamped)",
    )
    p.add_argument("--api-key-stdin", action="store_true", help=f"read the key from standard input, not ${ENV_VAR}")
    out = p.add_mutually_exclusive_group()
    out.add_argument(
        "--json", action="store_true", help='print {"jwt", "expires_at"} and the scope the JWT states, if any'
    )
    out.add_argument("--print", action="store_true", help="print the raw JWT on standard output")
    p.set_defaults(func=cmd_token)
