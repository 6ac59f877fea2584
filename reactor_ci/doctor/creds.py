"""The credentials-file check: present, private, parseable, and its times plausible.

Read-only on purpose: ``CredentialsStore.load`` tightens a loose mode as a side
effect, which is right for ``login`` but would hide from the doctor's report
the very problem it was asked to find. So the file is read here with the same
refusals (no symlink, regular file only) and parsed by the shared
``Credentials.from_json``.
"""

from __future__ import annotations

import json
import os
import stat
import time

from reactor_ci.credentials import Credentials, CredentialsStore, find_git_worktree
from reactor_ci.doctor.model import Context, Result, fail, ok, shown, warn
from reactor_ci.errors import ExitCode, ReactorCIError
from reactor_ci.fastread import DEFAULT_TOKEN_LIFETIME, MAX_FILE_BYTES, UnsafeFile, read_bounded
from reactor_ci.timeutil import format_time, human_duration

CHECK = "credentials"
# Registry tokens live 12 h (documented). An expiry more than twice that away
# cannot come from the server as documented: the clock was wrong at login, or
# the file was edited. reactor-ci would then never refresh it, and the
# registry refuses it once the server's real expiry passes.
_PLAUSIBLE_LIFETIME = 2 * DEFAULT_TOKEN_LIFETIME
# Clocks of two machines disagree by a little; more than this is a real error.
_FUTURE_SLACK = 300

_LOGIN_FIX = "run `reactor-ci login` with REACTOR_API_KEY set to a partner key (rp_…)"


def check_credentials(ctx: Context) -> list[Result]:
    path = ctx.credentials_path
    where = shown(path)
    try:
        st = os.lstat(path)
    except FileNotFoundError:
        if ctx.app_key_only:
            return [ok(CHECK, f"no credentials file at {where}; none is needed for an app key (rk_)")]
        return [
            fail(
                CHECK,
                f"no credentials file at {where}: the credential helper has nothing to give docker",
                f"{_LOGIN_FIX}, in the same job before the push (in CI the file is job-scoped).",
                ExitCode.AUTH,
            )
        ]
    except OSError as exc:
        return [_unreadable(where, exc)]
    if stat.S_ISLNK(st.st_mode):
        return [
            fail(
                CHECK,
                f"{where} is a symlink; reactor-ci never follows it (it could send the key anywhere)",
                "remove the link and log in again, or set REACTOR_CREDENTIALS to a regular file path.",
                ExitCode.USAGE,
            )
        ]
    if not stat.S_ISREG(st.st_mode):
        return [
            fail(
                CHECK,
                f"{where} is not a regular file",
                "remove it, or set REACTOR_CREDENTIALS to a file path.",
                ExitCode.USAGE,
            )
        ]
    results = [_mode_result(where, stat.S_IMODE(st.st_mode))]
    try:
        creds = _read(ctx)
    except ReactorCIError as exc:
        results.append(fail(CHECK, shown(exc.message), shown(exc.fix or ""), ExitCode.USAGE))
        return results
    except OSError as exc:
        results.append(_unreadable(where, exc))
        return results
    ctx.creds = creds
    ctx.registry_host = creds.registry_host
    results.extend(_times(ctx, creds, where))
    tree = find_git_worktree(path)
    if tree is not None:
        results.append(
            warn(
                CHECK,
                f"{where} lies inside the git work tree {shown(tree)}",
                "make sure it is ignored and never committed (`reactor-ci scan` catches it).",
            )
        )
    return results


def _unreadable(where: str, exc: OSError) -> Result:
    return fail(
        CHECK,
        f"cannot read {where}: {shown(exc.strerror or exc.__class__.__name__)}",
        "check the file's and its directory's permissions, or set REACTOR_CREDENTIALS to a readable path.",
        ExitCode.USAGE,
    )


def _mode_result(where: str, mode: int) -> Result:
    if mode & 0o077:
        return fail(
            CHECK,
            f"{where} has mode {mode:o}: other users on this machine can read the key and the registry token",
            f"chmod 600 {where} (reactor-ci login writes it 600); on a shared runner, revoke the key if others "
            "could log in meanwhile.",
            ExitCode.USAGE,
        )
    return ok(CHECK, f"{where} is private (mode {mode:o})")


def _read(ctx: Context) -> Credentials:
    from reactor_ci.errors import UsageError

    fix = f"remove it and log in again: {_LOGIN_FIX}"
    try:
        # The one safe reader, with the store's own bound: a file it would refuse is reported, never read whole.
        raw = read_bounded(ctx.credentials_path, MAX_FILE_BYTES, follow_symlinks=False)
    except UnsafeFile as exc:
        raise UsageError(f"{ctx.credentials_path} {exc.reason}: not a credentials file", fix) from None
    try:
        data = json.loads(raw.decode("utf-8"))
    except (ValueError, RecursionError):
        raise UsageError(f"{ctx.credentials_path} is not valid UTF-8 JSON", fix) from None
    try:
        return Credentials.from_json(data, source=str(ctx.credentials_path))
    except (ValueError, OverflowError, OSError):
        # Out-of-range times (year 1, 1e300) fail inside datetime.
        raise UsageError(f"{ctx.credentials_path} holds a time out of range", fix) from None


def _times(ctx: Context, creds: Credentials, where: str) -> list[Result]:
    from reactor_ci.session import Session

    now = time.time()
    try:
        state = Session(CredentialsStore(ctx.credentials_path)).state(creds, now)
    except ReactorCIError as exc:  # a bad REACTOR_CI_MIN_TOKEN_LIFETIME
        return [fail(CHECK, shown(exc.message), shown(exc.fix or ""), ExitCode.USAGE)]
    left = creds.seconds_left(now)
    expiry = format_time(creds.registry_token_expiry)
    org = f"organisation {shown(creds.partner_id)}, registry {shown(creds.registry)}"
    results: list[Result] = []
    if state == "expired":
        results.append(
            warn(
                CHECK,
                f"the stored registry token expired at {expiry} ({human_duration(-left)} ago); {org}",
                "the credential helper renews it at the next push while the key is live (see the `key` check); "
                "if the key is dead: " + _LOGIN_FIX + " with a new key.",
            )
        )
    else:
        detail = f"registry token {state}, expires {expiry} (in {human_duration(left)}); {org}"
        results.append(ok(CHECK, detail))
    if left > _PLAUSIBLE_LIFETIME:
        results.append(
            warn(
                CHECK,
                f"the recorded expiry {expiry} is {human_duration(left)} away, longer than a registry token lives "
                "(12 h): the clock was wrong at login or the file was edited, so reactor-ci would not refresh "
                "it before the registry refuses it",
                f"{_LOGIN_FIX} to store the server's real expiry; check the clock (see the `clock` check).",
            )
        )
    issued = creds.issued_at
    if issued is not None:
        if issued.timestamp() > now + _FUTURE_SLACK:
            results.append(
                warn(
                    CHECK,
                    f"the token's recorded issue time {format_time(issued)} lies in the future",
                    f"fix this machine's clock (NTP), then {_LOGIN_FIX}.",
                )
            )
        elif issued >= creds.registry_token_expiry:
            results.append(
                warn(
                    CHECK,
                    f"the recorded issue time {format_time(issued)} is not before the expiry {expiry}",
                    f"{_LOGIN_FIX} to rewrite the file.",
                )
            )
    return results
