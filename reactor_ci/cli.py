"""Argument parsing only: every command calls the modules that do the work.

Exit codes are the same for every command (see :mod:`reactor_ci.errors`).
Import-light on purpose: ``reactor-ci status`` must start about as fast as the
interpreter itself, so httpx, docker and detect-secrets load only on the paths
that use them.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from reactor_ci import __version__, console, redact
from reactor_ci.credentials import (
    ENV_PATH,
    Credentials,
    CredentialsStore,
    default_path,
    format_time,
    from_epoch,
    human_duration,
)
from reactor_ci.errors import AuthError, ExitCode, ReactorCIError, UsageError
from reactor_ci.keys import ENV_VAR, ApiKey, KeyKind, key_from_env, parse_key

JOB_DIR = "reactor-ci"


# -- shared helpers ------------------------------------------------------------------
def _provider() -> Any:
    from reactor_ci import ci

    return ci.detect()


def _read_key(args: argparse.Namespace, kind: KeyKind) -> ApiKey:
    if getattr(args, "api_key_stdin", False):
        if sys.stdin is None or sys.stdin.closed:
            raise UsageError("--api-key-stdin was given but there is no standard input", "pipe the key in.")
        return parse_key(sys.stdin.read(), expect=kind, source="standard input")
    return key_from_env(expect=kind)


def credentials_path(provider: Any, *, export: bool = False) -> Path:
    """``$REACTOR_CREDENTIALS``, else job-scoped in a CI with a job temp dir, else ~/.reactor.

    Job-scoped credentials vanish with the job, so nothing secret outlives it on
    a self-hosted runner; later steps find the file through the exported env.
    """
    if os.environ.get(ENV_PATH, "").strip():
        return default_path()
    job_tmp = provider.job_temp_dir() if provider is not None else None
    if job_tmp is None:
        return default_path()
    path = Path(job_tmp) / JOB_DIR / "credentials"
    if export:
        provider.set_env(ENV_PATH, str(path))
        os.environ[ENV_PATH] = str(path)
    return path


def _report_store_warnings(store: CredentialsStore) -> None:
    for message in store.warnings:
        console.warn(message)
    store.warnings.clear()


def _warn_git(store: CredentialsStore) -> None:
    tree = store.git_worktree()
    if tree is not None:
        console.warn(
            f"the credentials file {store.path} lies inside the git work tree {tree}: "
            "make sure it is ignored and never committed (`reactor-ci scan` catches it)."
        )


# -- commands ----------------------------------------------------------------------
def cmd_login(args: argparse.Namespace) -> int:
    from reactor_ci.session import Session

    provider = args.provider
    key = _read_key(args, KeyKind.PARTNER)
    store = CredentialsStore(credentials_path(provider, export=True))
    session = Session(store, warn=console.warn)
    creds = session.login(key)
    _report_store_warnings(store)
    _warn_git(store)
    left = creds.seconds_left()
    console.info(
        f"Logged in to Reactor as {creds.partner_id}: registry {creds.registry}, "
        f"token valid until {format_time(creds.registry_token_expiry)} ({human_duration(left)}); "
        f"credentials in {store.path}"
    )
    provider.set_output("partner-id", creds.partner_id)
    provider.set_output("registry", creds.registry)
    provider.set_output("registry-token-expiry", format_time(creds.registry_token_expiry))
    if args.docker_login:
        from reactor_ci.docker.cli import docker_login

        docker_login(static=False, creds=creds, provider=provider)
    provider.add_summary(_summary(creds, docker=bool(args.docker_login)))
    return ExitCode.OK


def _summary(creds: Credentials, *, docker: bool) -> str:
    rows = [
        ("Organisation", creds.partner_id),
        ("Registry", creds.registry),
        ("Registry token expiry", f"{format_time(creds.registry_token_expiry)} (refreshed automatically)"),
        ("Docker", "credential helper registered" if docker else "not configured"),
    ]
    table = "\n".join(f"| {k} | `{v}` |" for k, v in rows)
    return f"### Reactor login\n\n| | |\n| --- | --- |\n{table}\n"


def cmd_status(args: argparse.Namespace) -> int:
    from reactor_ci.session import Session

    store = CredentialsStore(credentials_path(args.provider))
    session = Session(store)
    creds = store.load()
    _report_store_warnings(store)
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
                "the registry token has expired: run `reactor-ci docker-login` (the credential helper "
                "refreshes it on the next push) or `reactor-ci login` again."
            )
        return ExitCode.AUTH
    return ExitCode.OK


def cmd_token(args: argparse.Namespace) -> int:
    from reactor_ci.api import APP_TOKEN_CEILING, ReactorAPI

    provider = args.provider
    expires_after: int | None = args.expires_after
    if expires_after is not None and expires_after <= 0:
        raise UsageError(
            f"--expires-after must be a positive number of seconds, not {expires_after}",
            f"omit it for the full {APP_TOKEN_CEILING // 3600} h, or give e.g. --expires-after 900.",
        )
    key = _read_key(args, KeyKind.APP)
    asked_at = time.time()
    with ReactorAPI() as api:
        token = api.create_app_token(key, expires_after)
    lifetime = token.expires_at - asked_at
    if expires_after is not None and token.expires_at < asked_at + expires_after - 60:
        console.warn(
            f"asked for a {expires_after}s token but the server granted {int(lifetime)}s "
            f"(the lifetime ceiling is {APP_TOKEN_CEILING // 3600} h; longer requests are silently clamped)",
            title="JWT lifetime clamped",
        )
    provider.set_output("jwt", token.jwt)
    provider.set_output("jwt-expires-at", str(token.expires_at))
    expiry = format_time(from_epoch(token.expires_at))
    provider.add_summary(
        f"### Reactor app token\n\nA JWT valid until `{expiry}` ({human_duration(lifetime)}) is in the step output `jwt`.\n"
    )
    console.info(f"Minted a JWT valid until {expiry} ({human_duration(lifetime)}).")
    if args.json:
        console.out_secret(json.dumps({"jwt": token.jwt, "expires_at": token.expires_at}))
    elif args.print:
        console.out_secret(token.jwt)
    elif provider.name != "github":
        console.info("Use --print (raw JWT) or --json to write the JWT to standard output.")
    return ExitCode.OK


def cmd_logout(args: argparse.Namespace) -> int:
    store = CredentialsStore(credentials_path(args.provider))
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
def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
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

    # Adapters add their own commands; each keeps its heavy imports inside the command.
    from reactor_ci import doctor
    from reactor_ci.docker import cli as docker_cli
    from reactor_ci.emulator import cli as emulator_cli
    from reactor_ci.scan import cli as scan_cli

    for adapter in (docker_cli, emulator_cli, scan_cli):
        adapter.add_commands(sub)
    doctor.add_commands(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    provider = None
    try:
        provider = _provider()
        from reactor_ci import ci

        # Mask before anything can print: every secret registered from now on
        # (keys, tokens, derived forms) is masked in the CI log at once.
        ci.install_masking(provider)
        console.set_provider(provider if provider.name != "local" else None)
        parser = build_parser()
        args = parser.parse_args(argv)
        console.set_quiet(bool(args.quiet))
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
