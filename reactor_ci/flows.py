"""The two things a key is for: a partner login and an app token, with their CI outputs.

``reactor-ci login``, ``reactor-ci token`` and ``reactor-ci auth`` (which picks
one by the key's kind) all run these, so the outputs, summaries and messages
are the same whichever entry a pipeline uses.
"""

from __future__ import annotations

import json
import os
import sys
import time
from typing import TYPE_CHECKING

from reactor_ci import console, paths
from reactor_ci.credentials import CredentialsStore
from reactor_ci.errors import UsageError
from reactor_ci.keys import ENV_VAR, ApiKey, KeyKind, parse_key
from reactor_ci.timeutil import format_time, from_epoch, human_duration

if TYPE_CHECKING:
    from reactor_ci.api import AppToken, TokenScope
    from reactor_ci.ci import Provider
    from reactor_ci.credentials import Credentials

__all__ = ["EMIT_CHOICES", "check_lifetime", "login", "mint_token", "read_key"]

#: What ``token``/``auth`` write on stdout: nothing, the raw JWT, or a JSON object.
EMIT_CHOICES = ("none", "print", "json")


def read_key(
    provider: Provider,
    *,
    stdin: bool = False,
    env_var: str = ENV_VAR,
    expect: KeyKind | None = None,
    name: str | None = None,
) -> ApiKey:
    """The key from standard input or ``$env_var``; every message names it as ``name``.

    An empty key gets the CI's own explanation (fork pull requests on GitHub,
    protected variables on GitLab), the most common reason in practice.
    """
    if stdin:
        if sys.stdin is None or sys.stdin.closed:
            raise UsageError("--api-key-stdin was given but there is no standard input", "pipe the key in.")
        raw: str | None = sys.stdin.read(1 << 16)
        source = name or "standard input"
    else:
        raw = os.environ.get(env_var)
        source = name or env_var
    if raw is None or not raw.strip():
        raise UsageError(f"{source} is empty or not set", provider.missing_secret_hint(), code="empty_key")
    return parse_key(raw, expect=expect, source=source)


def _report_store_warnings(store: CredentialsStore) -> None:
    for message in store.warnings:
        console.warn(message)
    store.warnings.clear()
    tree = store.git_worktree()
    if tree is not None:
        console.warn(
            f"the credentials file {store.path} lies inside the git work tree {tree}: "
            "make sure it is ignored and never committed (`reactor-ci scan` catches it)."
        )


def login(provider: Provider, key: ApiKey, *, docker_login: bool) -> Credentials:
    """Validate a partner key, store fresh registry credentials, set outputs; optionally register the helper.

    Always fetches a NEW registry token (never reuses a stored one): running
    login again is a sure way to recover from a token the registry rejected.
    """
    from reactor_ci.session import Session

    store = CredentialsStore(paths.export_credentials_path(provider))
    creds = Session(store, warn=console.warn).login(key)
    _report_store_warnings(store)
    left = creds.seconds_left()
    console.info(
        f"Logged in to Reactor as {creds.partner_id}: registry {creds.registry}, "
        f"token valid until {format_time(creds.registry_token_expiry)} ({human_duration(left)}); "
        f"credentials in {store.path}"
    )
    provider.set_output("partner-id", creds.partner_id)
    provider.set_output("registry", creds.registry)
    provider.set_output("registry-token-expiry", format_time(creds.registry_token_expiry))
    if docker_login:
        from reactor_ci.docker.cli import docker_login as register_helper

        register_helper(static=False, creds=creds, provider=provider)
    rows = [
        ("Organisation", creds.partner_id),
        ("Registry", creds.registry),
        ("Registry token expiry", f"{format_time(creds.registry_token_expiry)} (refreshed automatically)"),
        ("Docker", "credential helper registered" if docker_login else "not configured"),
    ]
    from reactor_ci.ci import markdown_code

    table = "\n".join(f"| {k} | {markdown_code(v)} |" for k, v in rows)
    provider.add_summary(f"### Reactor login\n\n| | |\n| --- | --- |\n{table}\n")
    return creds


def check_lifetime(seconds: int | None, flag: str) -> None:
    from reactor_ci.api import APP_TOKEN_CEILING

    if seconds is not None and seconds <= 0:
        raise UsageError(
            f"{flag} must be a positive number of seconds, not {seconds}",
            f"omit it for the full {APP_TOKEN_CEILING // 3600} h, or give e.g. {flag} 900.",
            code="bad_lifetime",
        )


def mint_token(
    provider: Provider,
    key: ApiKey,
    expires_after: int | None,
    *,
    emit: str = "none",
    scope: TokenScope | None = None,
) -> AppToken:
    """Exchange an app key for a JWT, as narrow as ``scope``; set the (masked) outputs; stdout only if asked.

    The scope the JWT's claims state is reported (``--json``, the summary) and
    compared with what was asked, for a warning; it is untrusted and decides
    nothing else.
    """
    from reactor_ci.api import APP_TOKEN_CEILING, ReactorAPI
    from reactor_ci.scope import describe, same_scope

    asked_at = time.time()
    with ReactorAPI() as api:
        token = api.create_app_token(
            key,
            expires_after,
            models=scope.models if scope else None,
            sessions=scope.sessions if scope else None,
            max_sessions=scope.max_sessions if scope else None,
            max_session_duration_seconds=scope.max_session_duration_seconds if scope else None,
        )
    lifetime = token.expires_at - asked_at
    if expires_after is not None and token.expires_at < asked_at + expires_after - 60:
        console.warn(
            f"asked for a {expires_after}s token but the server granted {int(lifetime)}s "
            f"(the lifetime ceiling is {APP_TOKEN_CEILING // 3600} h; longer requests are silently clamped)",
            title="JWT lifetime clamped",
        )
    stated = token.scope is not None
    if token.scope_unreadable:
        console.warn("the JWT's claims state a scope reactor-ci cannot read; it is not reported.", title="JWT scope")
    elif stated and not same_scope(token.scope, scope):
        console.warn(
            f"the JWT's claims state a different scope than asked: it may {describe(token.scope)}",
            title="JWT scope differs",
        )
    provider.set_output("jwt", token.jwt)
    provider.set_output("jwt-expires-at", str(token.expires_at))
    expiry = format_time(from_epoch(token.expires_at))
    shown = token.scope if stated else scope
    source = " (as its claims state)" if stated else " (as asked; its claims do not state it)" if scope else ""
    provider.add_summary(
        f"### Reactor app token\n\nA JWT valid until `{expiry}` ({human_duration(lifetime)}) is in the step output "
        f"`jwt`.\n\nIt may {describe(shown, markdown=True)}{source}.\n"
    )
    console.info(f"Minted a JWT valid until {expiry} ({human_duration(lifetime)}).")
    console.info(f"It may {describe(shown)}{source}.")
    if emit == "json":
        document: dict[str, object] = {"jwt": token.jwt, "expires_at": token.expires_at}
        if token.scope is not None:
            from reactor_ci.api import FIELD_AUTHORIZATION_DETAILS

            document[FIELD_AUTHORIZATION_DETAILS] = token.scope.details()
        console.out_secret(json.dumps(document))
    elif emit == "print":
        console.out_secret(token.jwt)
    elif emit == "none" and provider.name != "github":  # "env": the caller hands it on (auth --print-env)
        console.info("Use --print (raw JWT) or --json to write the JWT to standard output.")
    return token
