"""Argument parsing only: every command calls the modules that do the work.

Exit codes are the same for every command (see :mod:`reactor_ci.errors`).
Import-light on purpose: ``reactor-ci status`` must start about as fast as the
interpreter itself. :func:`main` first offers the arguments to
:mod:`reactor_ci.status_fast` (stdlib only, byte-identical output, or "not
mine"); everything else -- argparse, the store, the console -- is imported by
:func:`_import_full_path` only when that declines, and httpx, docker and
detect-secrets load only in the commands that use them.
"""

from __future__ import annotations

import os
import sys
import time

from reactor_ci import __version__

# `typing` costs milliseconds at every start (it imports re); mypy reads this name as true.
TYPE_CHECKING = False
if TYPE_CHECKING:
    import argparse
    import importlib
    import json
    from collections.abc import Sequence

    from reactor_ci import console, flows, paths, redact
    from reactor_ci.argparsing import SafeArgumentParser
    from reactor_ci.ci import Provider
    from reactor_ci.credentials import CredentialsStore
    from reactor_ci.errors import AuthError, ExitCode, ReactorCIError
    from reactor_ci.keys import ENV_VAR, KeyKind
    from reactor_ci.timeutil import format_time, human_duration


def _import_full_path() -> None:
    """The imports of everything below main's fast path, bound as this module's globals.

    The common ``status`` is answered by :mod:`reactor_ci.status_fast` before
    any of these load (argparse, dataclasses, pathlib, tempfile, re: ~4x a bare
    interpreter's start-up); the list mirrors the ``TYPE_CHECKING`` block above.
    """
    global argparse, importlib, json, console, flows, paths, redact, SafeArgumentParser
    global CredentialsStore, format_time, human_duration, AuthError, ExitCode, ReactorCIError, ENV_VAR, KeyKind
    import argparse
    import importlib
    import json

    from reactor_ci import console, flows, paths, redact
    from reactor_ci.argparsing import SafeArgumentParser
    from reactor_ci.credentials import CredentialsStore
    from reactor_ci.errors import AuthError, ExitCode, ReactorCIError
    from reactor_ci.keys import ENV_VAR, KeyKind
    from reactor_ci.timeutil import format_time, human_duration


#: Modules that add their own commands with ``add_commands(sub)``; each keeps
#: its heavy imports inside the command functions. One line per adapter.
ADAPTERS: tuple[str, ...] = (
    "reactor_ci.auth",
    "reactor_ci.docker.cli",
    "reactor_ci.doctor",
    "reactor_ci.emulator.cli",
    "reactor_ci.scan.cli",
)


# -- commands ----------------------------------------------------------------------
def cmd_login(args: argparse.Namespace) -> int:
    provider: Provider = args.provider
    key = flows.read_key(provider, stdin=args.api_key_stdin, expect=KeyKind.PARTNER)
    flows.login(provider, key, docker_login=bool(args.docker_login))
    return ExitCode.OK


def cmd_status(args: argparse.Namespace) -> int:
    from reactor_ci.session import Session

    store = CredentialsStore(paths.credentials_path(args.provider))
    session = Session(store)
    creds = store.load()
    for message in store.warnings:
        console.warn(message)
    if creds is None:
        if args.json:
            console.out(json.dumps({"state": "missing", "credentials_path": str(store.path)}))
        raise AuthError(
            f"no Reactor credentials at {store.path}",
            "run `reactor-ci login` with REACTOR_API_KEY set to a partner key (rp_…).",
            code="no_credentials",
        )
    now = time.time()
    left = creds.seconds_left(now)
    state = session.state(creds, now)
    if args.json:
        console.out(
            json.dumps(
                {
                    "partner_id": creds.partner_id,
                    "registry": creds.registry,
                    "registry_token_expiry": format_time(creds.registry_token_expiry),
                    "expires_in_seconds": int(left),
                    "state": state,
                    "credentials_path": str(store.path),
                },
                indent=2,
            )
        )
    else:
        console.info(f"Organisation:  {creds.partner_id}")
        console.info(f"Registry:      {creds.registry}")
        console.info(f"API key:       {redact.redact(creds.api_key)}")
        when = format_time(creds.registry_token_expiry)
        if state == "expired":
            console.info(f"Token:         EXPIRED at {when} ({human_duration(-left)} ago)")
        else:
            console.info(f"Token:         {state}, expires {when} (in {human_duration(left)})")
        console.info(f"Credentials:   {store.path}")
    if state == "expired":
        if not args.json:
            console.error(
                "the registry token has expired: the credential helper and `reactor-ci push` refresh it on "
                "their own; to refresh it now run `reactor-ci docker-login --refresh` (or `reactor-ci login` again)."
            )
        return ExitCode.AUTH
    return ExitCode.OK


def cmd_token(args: argparse.Namespace) -> int:
    provider: Provider = args.provider
    flows.check_lifetime(args.expires_after, "--expires-after")
    key = flows.read_key(provider, stdin=args.api_key_stdin, expect=KeyKind.APP)
    emit = "json" if args.json else "print" if args.print else "none"
    flows.mint_token(provider, key, args.expires_after, emit=emit)
    return ExitCode.OK


def cmd_logout(args: argparse.Namespace) -> int:
    store = CredentialsStore(paths.credentials_path(args.provider))
    host = None
    try:
        creds = store.load()
        host = creds.registry_host if creds else None
    except ReactorCIError:
        creds = None  # a damaged file is still removed below: it may hold a secret
    from reactor_ci.docker.cli import docker_logout

    docker_logout(host)
    removed = store.delete()
    console.info(f"Removed {store.path}." if removed else f"Nothing to remove at {store.path}.")
    return ExitCode.OK


def cmd_demo(args: argparse.Namespace) -> int:
    from reactor_ci.demo import run_demo

    return run_demo(with_registry=args.with_registry, keep=args.keep)


# -- parser ------------------------------------------------------------------------
def build_parser(command: str | None = None) -> argparse.ArgumentParser:
    """The full parser; given the ``command`` about to run, only what that command needs."""
    _import_full_path()
    parser = SafeArgumentParser(
        prog="reactor-ci",
        description="Reactor for CI/CD: registry login that never goes stale, JWTs, masking, leak scanning.",
        epilog=f"The key is read from ${ENV_VAR} (never from the command line). Exit codes: 0 ok, 1 failure or "
        "findings, 2 bad input, 3 authentication, 4 API unreachable, 5 Docker.",
    )
    parser.add_argument("--version", action="version", version=f"reactor-ci {__version__}")
    parser.add_argument("-q", "--quiet", action="store_true", help="print only warnings, errors and requested output")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    sub.required = True

    p = sub.add_parser("login", help="validate a partner key and store registry credentials")
    p.add_argument("--api-key-stdin", action="store_true", help=f"read the key from standard input, not ${ENV_VAR}")
    p.add_argument(
        "--docker-login",
        action=argparse.BooleanOptionalAction,
        default=False,
        help="also register the Docker credential helper for the Reactor registry",
    )
    p.set_defaults(func=cmd_login)

    p = sub.add_parser("status", help="show the stored credentials and the token's time left")
    p.add_argument("--json", action="store_true", help="print a JSON object")
    p.set_defaults(func=cmd_status)

    p = sub.add_parser("token", help="exchange an app key (rk_) for a short-lived JWT")
    p.add_argument("--expires-after", type=int, metavar="SECONDS", help="lifetime asked for (ceiling 6 h)")
    p.add_argument("--api-key-stdin", action="store_true", help=f"read the key from standard input, not ${ENV_VAR}")
    out = p.add_mutually_exclusive_group()
    out.add_argument("--json", action="store_true", help='print {"jwt": ..., "expires_at": ...}')
    out.add_argument("--print", action="store_true", help="print the raw JWT on standard output")
    p.set_defaults(func=cmd_token)

    p = sub.add_parser("logout", help="remove what reactor-ci stored (idempotent)")
    p.set_defaults(func=cmd_logout)

    p = sub.add_parser("demo", help="run the whole flow against a local emulator in a temporary home")
    p.add_argument("--with-registry", action="store_true", help="also start a real registry and push an image")
    p.add_argument("--keep", action="store_true", help="keep the temporary home and print its path")
    p.set_defaults(func=cmd_demo)

    # `status` runs in every job: when the command asked for is built in, the
    # adapters (scanner, emulator, docker, auth) are not even imported.
    if command is None or command not in sub.choices:
        for name in ADAPTERS:
            importlib.import_module(name).add_commands(sub)
    # `-q` also after the command (`reactor-ci login -q`), as users type it. SUPPRESS: a sub-command that
    # does not see it leaves the top-level value alone; one with its own -q (scan) keeps it.
    for command_parser in sub.choices.values():
        if "-q" not in command_parser._option_string_actions:
            command_parser.add_argument(
                "-q", "--quiet", action="store_true", default=argparse.SUPPRESS, help="same as reactor-ci -q"
            )
    return parser


def _command_in(argv: Sequence[str]) -> str | None:
    """The command word: the first argument that is not an option (top-level options take no value)."""
    return next((arg for arg in argv if not arg.startswith("-")), None)


def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    from reactor_ci import status_fast

    answered = status_fast.run(argv)  # the common `status`, stdlib only; None: anything else
    if answered is not None:
        return answered
    _import_full_path()  # idempotent: build_parser calls it too (tests build parsers alone)
    try:
        from reactor_ci import ci

        provider = ci.detect()
        # Mask before anything can print: every secret registered from now on
        # (keys, tokens, derived forms) is masked in the CI log at once.
        ci.install_masking(provider)
        console.set_provider(provider if provider.name != "local" else None)
        parser = build_parser(_command_in(argv))
        args = parser.parse_args(argv)
        console.set_quiet(bool(args.quiet))
        if args.command != "logout":
            # Every numeric setting is checked at the job's FIRST command, not
            # where it is used: a typo must not surface after a two-hour build.
            # logout is exempt: it is the cleanup that must always run.
            from reactor_ci import settings

            settings.check_all()
        args.provider = provider
        return int(args.func(args))
    except ReactorCIError as exc:
        console.error(f"{exc.message}" + (f"\n  fix: {exc.fix}" if exc.fix else ""))
        return int(exc.exit_code)
    except KeyboardInterrupt:
        console.error("interrupted")
        return 130
    except BrokenPipeError:
        return int(ExitCode.FAILURE)
    except Exception as exc:  # a bug: still never leak a secret through the traceback
        if os.environ.get("REACTOR_CI_DEBUG"):
            import traceback

            print(redact.scrub(traceback.format_exc()), file=sys.stderr)
        console.error(f"internal error ({exc.__class__.__name__}): {redact.scrub(str(exc))[:500]}")
        return int(ExitCode.FAILURE)


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())
