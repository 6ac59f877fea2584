"""Network-side checks: proxy settings, API reachability, clock skew, the key itself.

Every exchange here is bounded twice: httpx's per-read timeout, and a total
deadline around the whole call (a server that drips one byte a second never
trips a per-read timeout, and a doctor that hangs explains nothing).
"""

from __future__ import annotations

import contextlib
import socket
import time
from email.utils import parsedate_to_datetime

from reactor_ci import proxy, redact
from reactor_ci.doctor.model import (
    Context,
    Deadline,
    Result,
    fail,
    ok,
    shown,
    split_url,
    warn,
    within,
)
from reactor_ci.errors import AuthError, ExitCode, NetworkError, ReactorCIError
from reactor_ci.keys import ENV_VAR, ApiKey, KeyKind, parse_key

# Skew tolerated silently, and skew that is an error. Tokens are judged by the
# local clock against the server's expiry: a clock minutes behind hands docker
# a token reactor-ci believes still lives.
SKEW_WARN = 30.0
SKEW_FAIL = 300.0
# The key check mints the shortest JWT that is still useful as a probe.
PROBE_JWT_SECONDS = 60
# The API's answer to the key check names what went wrong.
_KEY_STATES = {
    "invalid_api_key": "invalid",
    "api_key_expired": "expired",
    "api_key_revoked": "revoked",
    "wrong_key_type": "of the wrong kind",
}


# -- proxy ---------------------------------------------------------------------------
# The rules (which variable, NO_PROXY, parsing) live in reactor_ci.proxy: the
# doctor shows the verdict every reactor-ci call follows.
def proxy_for(url: str, env: dict[str, str]) -> tuple[str, str] | None:
    """``(variable, value)`` of the proxy a request to ``url`` would use, or None (direct)."""
    return proxy.choose(url, env)


def proxy_display(value: str, variable: str = "proxy") -> str:
    """The proxy URL without user:password (a proxy password is a secret too)."""
    try:
        return shown(proxy.parse(variable, value).display)
    except ReactorCIError:
        return "(an unparseable proxy URL)"


def check_proxy(ctx: Context) -> list[Result]:
    check = "proxy"
    env = dict(ctx.env)
    api_parts = split_url(ctx.api_url)
    api_host = shown((api_parts.hostname if api_parts else None) or ctx.api_url)
    chosen = proxy_for(ctx.api_url, env)
    if chosen is None:
        if any(env.get(n, "").strip() for n in ("https_proxy", "HTTPS_PROXY", "http_proxy", "HTTP_PROXY")):
            return [ok(check, f"the API host {api_host} bypasses the proxy (NO_PROXY) or its scheme has none")]
        return [ok(check, f"no proxy set: direct connection to {api_host}")]
    name, value = chosen
    if api_parts is not None and api_parts.scheme == "http":
        # The client's rule (reactor_ci.proxy.transport): plain http is loopback-only
        # and never goes through a proxy, which would read the key in clear.
        return [ok(check, f"the API {api_host} is plain http on loopback: reactor-ci ignores {name} for it")]
    try:
        setting = proxy.parse(name, value)
    except ReactorCIError as exc:
        return [fail(check, shown(exc.message), shown(exc.fix or ""), ExitCode.USAGE)]
    display = shown(setting.display)
    port = setting.port
    fix = f"fix {name}, or add {api_host} to NO_PROXY if the API is reachable directly."
    address = (setting.host.strip("[]"), port)
    try:
        # Bounded as a whole: the name lookup inside has no timeout of its own.
        within(ctx.timeout + 1, lambda: socket.create_connection(address, timeout=ctx.timeout).close())
    except (OSError, Deadline) as exc:
        slow = isinstance(exc, (TimeoutError, Deadline))
        why = "no answer in time" if slow else exc.__class__.__name__
        return [
            fail(
                check,
                f"the API {api_host} goes through the proxy {display} ({name}), which is unreachable ({why})",
                fix,
                ExitCode.NETWORK,
            )
        ]
    return [ok(check, f"the API {api_host} goes through the proxy {display} ({name}), which accepts connections")]


# -- API reachability and clock ----------------------------------------------------------
def check_api(ctx: Context) -> list[Result]:
    from reactor_ci.api import USER_AGENT, validate_base_url

    ctx.api_reachable = False
    try:
        base = validate_base_url(ctx.api_url)
    except ReactorCIError as exc:
        return [fail("api", shown(exc.message), shown(exc.fix or ""), ExitCode.USAGE)]
    except ValueError:  # urlsplit on an unbalanced "[": still bad input, not a crash
        detail = f"{ctx.setting('REACTOR_API_URL')} is not a URL ({shown(ctx.api_url, 80)})"
        return [fail("api", detail, f"set {ctx.setting('REACTOR_API_URL')} to an https:// URL.", ExitCode.USAGE)]
    import httpx

    def probe() -> tuple[int, str | None, str | None, float, float]:
        with httpx.Client(
            timeout=httpx.Timeout(ctx.timeout),
            follow_redirects=False,
            headers={"User-Agent": USER_AGENT},
            transport=proxy.transport(base, ctx.env),  # the proxy exactly as every reactor-ci call uses it
            trust_env=False,
        ) as client:
            started = time.time()
            # Headers only: the body of an unknown server is never read.
            with client.stream("GET", base + "/") as response:
                answered = time.time()
                headers = response.headers
                return response.status_code, headers.get("date"), headers.get("location"), started, answered

    where = shown(base)
    fix = f"check {ctx.setting('REACTOR_API_URL')}, the network, and the proxy settings (see the `proxy` check)."
    try:
        status, date, location, started, answered = within(ctx.timeout * 2 + 1, probe)
    except Deadline:
        detail = f"the Reactor API at {where} gave no complete answer within {ctx.timeout * 2 + 1:.0f}s"
        return [fail("api", detail, fix, ExitCode.NETWORK)]
    except httpx.HTTPError as exc:
        return [
            fail("api", f"cannot reach the Reactor API at {where} ({exc.__class__.__name__})", fix, ExitCode.NETWORK)
        ]
    except ReactorCIError as exc:  # a malformed proxy setting: named, without its credentials
        return [fail("api", shown(exc.message), shown(exc.fix or ""), ExitCode.USAGE)]
    ctx.api_reachable = True
    took = f"{(answered - started) * 1000:.0f} ms"
    results: list[Result] = []
    if 300 <= status < 400:
        results.append(
            warn(
                "api",
                f"{where} answered a redirect (HTTP {status}) to {shown(location or '?')}; reactor-ci never "
                "follows redirects",
                f"point {ctx.setting('REACTOR_API_URL')} at the API itself; a proxy or captive portal may be "
                "answering.",
            )
        )
    elif status >= 500:
        results.append(warn("api", f"{where} answered HTTP {status} in {took}: the API may be failing", "retry later."))
    else:
        results.append(ok("api", f"{where} answered (HTTP {status}) in {took}"))
    results.append(clock_result(date, started, answered))
    return results


def clock_result(date: str | None, started: float, answered: float) -> Result:
    """Compare the local clock with the server's ``Date`` header, allowing for the round trip."""
    check = "clock"
    if not date:
        return warn(check, "the API sent no Date header: clock skew not checked", "make sure NTP runs on this machine.")
    try:
        server = parsedate_to_datetime(date).timestamp()
    except (TypeError, ValueError, IndexError, OverflowError, OSError):
        return warn(
            check,
            f"the API's Date header {shown(date, 80)} is not a date: skew not checked",
            "make sure NTP runs on this machine; check that REACTOR_API_URL points at the Reactor API.",
        )
    skew = (started + answered) / 2 - server
    # Date has one-second resolution and was stamped somewhere in the round trip.
    beyond = abs(skew) - ((answered - started) / 2 + 1)
    direction = "ahead of" if skew > 0 else "behind"
    if beyond <= SKEW_WARN:
        return ok(check, f"the local clock is within {max(1, round(abs(skew)))}s of the API's Date header")
    detail = (
        f"the local clock is {abs(skew):.0f}s {direction} the API's Date header: token lifetimes are judged "
        "by the local clock, so reactor-ci may hand docker a token it wrongly believes still lives"
    )
    fix = "enable time synchronisation (NTP: `timedatectl set-ntp true`, chrony) on this machine or runner."
    if beyond <= SKEW_FAIL:
        return warn(check, detail, fix)
    return fail(check, detail, fix, ExitCode.USAGE)


# -- the key -----------------------------------------------------------------------------------
def _pick_key(ctx: Context) -> tuple[ApiKey | None, str, list[Result]]:
    check = "key"
    raw = ctx.env.get(ENV_VAR)
    notes: list[Result] = []
    if raw is not None and raw.strip():
        key = parse_key(raw, source=ENV_VAR)
        creds = ctx.creds
        if creds is not None and key.kind is KeyKind.APP:
            notes.append(
                warn(
                    check,
                    f"{ENV_VAR} holds an app key ({key.redacted}); registry login needs a partner key (rp_…)",
                    "set REACTOR_API_KEY to the partner key for `reactor-ci login`; app keys only mint JWTs.",
                )
            )
        elif creds is not None and creds.api_key != key.secret:
            notes.append(
                warn(
                    check,
                    f"{ENV_VAR} ({key.redacted}) is not the key the stored credentials use "
                    f"({redact.redact(creds.api_key)}); the helper refreshes with the stored one",
                    "run `reactor-ci login` to store the current key.",
                )
            )
        return key, ctx.setting(ENV_VAR), notes
    if ctx.creds is not None:
        return parse_key(ctx.creds.api_key, source="the credentials file"), "the stored credentials", notes
    return None, "", notes


def check_key(ctx: Context) -> list[Result]:
    from reactor_ci.api import ReactorAPI

    check = "key"
    try:
        key, source, results = _pick_key(ctx)
    except ReactorCIError as exc:
        return [fail(check, shown(exc.message), shown(exc.fix or ""), ExitCode.USAGE)]
    if key is None:
        return [
            warn(
                check,
                f"no key to check: {ENV_VAR} is not set and there are no stored credentials",
                f"set {ENV_VAR} from the CI's secret store (rp_… for the registry, rk_… for JWTs).",
            )
        ]
    # A server's error may echo the key's body without its prefix; the doctor
    # quotes server messages, so that form must be scrubbed too.
    redact.register(key.secret[len(key.kind.prefix) :])
    ctx.key = key
    what = f"{key.redacted} ({key.kind.label}) from {source}"
    if not ctx.api_reachable:
        return [*results, warn(check, f"{what} not checked: the API is not reachable", "fix the `api` check first.")]
    api = ReactorAPI(ctx.api_url, timeout=ctx.timeout, max_attempts=2, retry_budget=ctx.timeout)
    deadline = ctx.timeout * 3 + 1
    try:
        if key.kind is KeyKind.PARTNER:
            partner = within(deadline, lambda: api.get_partner(key))
            results.insert(0, ok(check, f"{what} is live: organisation {shown(partner.partner_id)}, "
                                 f"registry {shown(partner.registry)}"))  # fmt: skip
            results.extend(_compare_registry(ctx, partner.registry))
        else:
            within(deadline, lambda: api.create_app_token(key, PROBE_JWT_SECONDS))
            results.insert(0, ok(check, f"{what} is live (minted a {PROBE_JWT_SECONDS}s JWT, not shown)"))
    except AuthError as exc:
        state = _KEY_STATES.get(exc.code or "", "refused")
        detail = f"{what} is {state}: {shown(exc.message)}{_still_valid(ctx)}"
        results.insert(0, fail(check, detail, shown(exc.fix or ""), ExitCode.AUTH))
    except NetworkError as exc:
        results.insert(0, fail(check, f"{what}: {shown(exc.message)}", shown(exc.fix or ""), ExitCode.NETWORK))
    except ReactorCIError as exc:
        results.insert(0, fail(check, f"{what}: {shown(exc.message)}", shown(exc.fix or ""), ExitCode.USAGE))
    except Deadline:
        detail = f"{what}: the API gave no complete answer within {deadline:.0f}s"
        results.insert(0, fail(check, detail, "retry later; check the network and proxy.", ExitCode.NETWORK))
    finally:
        with contextlib.suppress(Exception):
            api.close()
    return results


def _still_valid(ctx: Context) -> str:
    """Revocation stops new tokens, not issued ones (reactor-api.md): say how long pushes still work."""
    creds = ctx.creds
    if creds is None or creds.seconds_left() <= 0:
        return ""
    from reactor_ci.timeutil import format_time

    return (
        f". The stored registry token still works until {format_time(creds.registry_token_expiry)}, "
        "but no new one can be minted"
    )


def _compare_registry(ctx: Context, registry: str) -> list[Result]:
    host = registry.split("/", 1)[0]
    creds = ctx.creds
    if creds is None:
        ctx.registry_host = ctx.registry_host or host
        return []
    if creds.registry != registry:
        return [
            warn(
                "key",
                f"the stored credentials are for {shown(creds.registry)} but the key belongs to {shown(registry)}",
                "run `reactor-ci login` again with this key.",
            )
        ]
    return []
