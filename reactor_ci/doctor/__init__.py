"""``reactor-ci doctor``: why is my push denied, why does my login fail?

Runs every check in causal order (the credentials, the way to the API, the
clock, the key, then the Docker side) and prints each as ok, warn or fail with
the fix. Read-only: the doctor changes no file and mints nothing but a 60 s
JWT for an app-key probe.

Exit code: 0 when nothing failed (warnings allowed), else the class of the
FIRST failure: 2 local configuration (file mode, a corrupt file, a bad URL, a
skewed clock), 3 authentication (no credentials, a dead key), 4 network (proxy,
API), 5 Docker (helper, config.json, daemon). docs/doctor.md has the table.
"""

from __future__ import annotations

import argparse
import json
import math
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

from reactor_ci import console
from reactor_ci.errors import ExitCode, UsageError

if TYPE_CHECKING:
    # Only for annotations: `reactor-ci status` imports this package (the
    # parser registers `doctor`), and must not pay for the checks' imports.
    from reactor_ci.doctor.model import Context, Result

__all__ = ["CHECKS", "add_commands", "exit_code", "run_checks"]

Check = Callable[["Context"], "list[Result]"]


def _checks(ctx: Context | None = None) -> list[Check]:
    from reactor_ci.doctor import creds, dockercheck, network

    checks: list[Check] = [
        creds.check_credentials,
        network.check_proxy,
        network.check_api,  # also the clock, from the same answer
        network.check_key,
        dockercheck.check_helper,
        dockercheck.check_docker_config,
        dockercheck.check_daemon,
    ]
    if ctx is None or ctx.frontend is None:
        return checks
    # Run by a front end right after its login failed: leave out what cannot be the cause. The front end
    # puts the helper on PATH itself (for the job's later steps), and the login never talks to the daemon.
    left_out: set[Check] = {dockercheck.check_helper, dockercheck.check_daemon}
    if not ctx.credentials_path.exists():
        # No credentials and so no Docker entry: that only restates that the login did not finish.
        left_out |= {creds.check_credentials, dockercheck.check_docker_config}
    return [check for check in checks if check not in left_out]


CHECKS = ("credentials", "proxy", "api", "clock", "key", "helper", "docker-config", "docker-daemon")


def run_checks(ctx: Context, checks: Sequence[Check] | None = None) -> list[Result]:
    results: list[Result] = []
    for check in checks if checks is not None else _checks(ctx):
        results.extend(check(ctx))
    return results


def exit_code(results: Sequence[Result]) -> int:
    """0 without failures; else the exit class of the first failure."""
    first = next((r for r in results if r.status == "fail"), None)
    return int(first.exit_code) if first is not None else int(ExitCode.OK)


_LABEL = {"ok": "ok  ", "warn": "WARN", "fail": "FAIL"}


def render(results: Sequence[Result], *, annotate: bool = True) -> None:
    """Human report on stderr; console escapes every line once more.

    ``annotate`` False (run by a front end after its failed login, which already raised the one CI
    annotation with the cause): the summary is a plain line, not a second annotation.
    """
    width = max((len(r.check) for r in results), default=10)
    for r in results:
        console.info(f"  {_LABEL[r.status]}  {r.check:<{width}}  {r.detail}")
        if r.fix and r.status != "ok":
            console.info(f"        {'':<{width}}  fix: {r.fix}")
    fails = [r for r in results if r.status == "fail"]
    warns = sum(r.status == "warn" for r in results)
    if fails:
        first = fails[0]
        summary = (
            f"doctor: {len(fails)} check(s) failed, {warns} warning(s); first failure: {first.check}: "
            f"{first.detail}" + (f"\n  fix: {first.fix}" if first.fix else "")
        )
        if annotate:
            console.error(summary, title="reactor-ci doctor")
        else:
            console.info(summary)
    else:
        console.info(f"doctor: no failures ({warns} warning(s)).")


def _credentials_path(provider: Any) -> Any:
    # The one rule for where the credentials live (job-scoped in CI).
    from reactor_ci.paths import credentials_path

    return credentials_path(provider)


def cmd_doctor(args: argparse.Namespace) -> int:
    timeout = float(args.timeout)
    if not math.isfinite(timeout) or timeout <= 0 or timeout > 120:
        raise UsageError("--timeout must be a number of seconds between 0 and 120", "e.g. --timeout 5.")
    from reactor_ci.doctor.model import Context, shown

    provider = getattr(args, "provider", None)
    ctx = Context.from_env(_credentials_path(provider), timeout=timeout, provider=provider)
    console.info(f"reactor-ci doctor: API {shown(ctx.api_url)}, credentials {shown(ctx.credentials_path)}")
    results = run_checks(ctx)
    render(results, annotate=ctx.frontend is None)
    if args.json:
        console.out(json.dumps([r.as_json() for r in results], indent=2, ensure_ascii=True))
    return exit_code(results)


def add_commands(sub: Any) -> None:
    p = sub.add_parser(
        "doctor",
        help="explain why a push is denied or a login fails: check credentials, key, API, proxy, clock, Docker",
        description="Run every check and print ok/warn/fail with the fix (stderr). Exit 0 when nothing failed, "
        "else the class of the first failure: 2 config, 3 auth, 4 network, 5 Docker.",
    )
    p.add_argument("--json", action="store_true", help="also print a JSON list of {check, status, detail, fix}")
    p.add_argument("--timeout", type=float, default=5.0, metavar="SECONDS", help="per network probe (default 5)")
    p.set_defaults(func=cmd_doctor)
