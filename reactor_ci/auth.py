"""``reactor-ci auth``: the one entry the GitHub Action and the GitLab component call.

The key's prefix picks the flow: a partner key (``rp_``) logs in (and, unless
told otherwise, registers the Docker credential helper); an app key (``rk_``)
mints a JWT. Every input is parsed into one typed :class:`AuthInputs` up front
(after docker/login-action's ``context.ts``), so a wrong combination fails
before any network call, with exit 2 and the fix.

This is THE home of the input rules the action's bash and the component's sh
used to repeat (docker-login auto/true/false, the lifetime, the key kind, a key
pasted where a variable NAME belongs); the JWT's scope inputs (models,
sessions, max-sessions, max-session-duration) follow :mod:`reactor_ci.scope`,
shared with ``reactor-ci token``. Shell keeps only what must run before
Python exists: the empty-key check and masking the key.

Every message about the key names it as the user knows it (``--key-name``):
the action passes ``api-key input``, the component its ``api-key-variable``.
"""

from __future__ import annotations

import argparse
import json
import re
from dataclasses import dataclass
from typing import TYPE_CHECKING

from reactor_ci import console, flows, keys, redact
from reactor_ci.errors import AuthError, ExitCode, UsageError
from reactor_ci.keys import ApiKey, KeyKind

if TYPE_CHECKING:
    from reactor_ci.api import TokenScope
    from reactor_ci.ci import Provider

__all__ = ["AuthInputs", "add_commands", "cmd_auth", "parse_inputs"]

_ENV_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]{0,127}")
_MAX_NAME = 100
# A lifetime longer than this many digits is not a lifetime (and int() of a
# huge digit string is slow): refuse it as bad input.
_MAX_LIFETIME_DIGITS = 9


@dataclass(frozen=True)
class AuthInputs:
    """What ``reactor-ci auth`` was asked to do, validated."""

    key: ApiKey
    key_name: str
    docker_login: bool
    token_lifetime: int | None
    emit: str  # one of flows.EMIT_CHOICES
    #: App keys: what the JWT may do (None: unscoped). The action's inputs, checked by reactor_ci.scope.
    scope: TokenScope | None = None


def _refuse_key_as_name(value: str, flag: str) -> None:
    """A key pasted where a NAME belongs: refuse it without ever echoing it."""
    if keys.kind_of(value.strip()) is not None and len(value.strip()) > 3:
        redact.register(value.strip())
        raise UsageError(
            f"{flag} holds a Reactor key: it must be the NAME of the variable that holds the key "
            f"(e.g. {keys.ENV_VAR}), not the key itself",
            "pass the variable's name; the key is now in your CI configuration, so revoke it in the Reactor "
            "Dashboard and create a new one.",
            code="key_as_name",
        )


def _key_name(args: argparse.Namespace) -> str:
    if args.key_env is not None:
        _refuse_key_as_name(args.key_env, "--key-env")
        if not _ENV_NAME.fullmatch(args.key_env):
            raise UsageError(
                "--key-env must be the name of an environment variable (letters, digits, _; not starting with a digit)",
                f"e.g. --key-env {keys.ENV_VAR}.",
                code="bad_key_env",
            )
    if args.key_name is None:
        return "standard input" if args.api_key_stdin else (args.key_env or keys.ENV_VAR)
    _refuse_key_as_name(args.key_name, "--key-name")
    name = " ".join(args.key_name.split())
    if not name or len(name) > _MAX_NAME or not name.isprintable():
        raise UsageError(
            f"--key-name must be a short printable label (at most {_MAX_NAME} characters)",
            "e.g. --key-name 'api-key input' or --key-name MY_REACTOR_KEY.",
            code="bad_key_name",
        )
    return name


def _docker_login(raw: str, kind: KeyKind, key_name: str) -> bool:
    value = raw.strip().lower()
    if value in ("", "auto"):
        return kind is KeyKind.PARTNER
    if value not in ("true", "false"):
        raise UsageError(
            "--docker-login must be auto, true or false (value not shown)",
            "leave it empty or auto for the default (true for partner keys, false for app keys).",
            code="bad_docker_login",
        )
    if value == "true" and kind is KeyKind.APP:
        raise UsageError(
            f"docker-login needs a partner key (rp_…), but {key_name} holds an app key (rk_…)",
            "app keys mint JWTs for clients and cannot push images: use your organisation's partner key for "
            "the registry, or drop docker-login.",
            code="docker_login_app_key",
        )
    return value == "true"


def _lifetime(raw: str, kind: KeyKind) -> int | None:
    value = raw.strip()
    if not value:
        return None  # the full 6 h, the server's ceiling
    if not value.isascii() or not value.isdigit() or len(value) > _MAX_LIFETIME_DIGITS or int(value) <= 0:
        from reactor_ci.api import APP_TOKEN_CEILING

        raise UsageError(
            "--token-lifetime must be a positive whole number of seconds (value not shown)",
            f"e.g. --token-lifetime 900; leave it empty for the full {APP_TOKEN_CEILING // 3600} h.",
            code="bad_lifetime",
        )
    if kind is KeyKind.PARTNER:
        console.warn("token-lifetime applies to app keys (rk_) only; ignored for a partner key.", title="Reactor auth")
        return None
    return int(value)


def _scope(args: argparse.Namespace, kind: KeyKind) -> TokenScope | None:
    """The models/sessions/max-* inputs (lists newline- or comma-separated; empty = not set)."""
    from reactor_ci.scope import ScopeFlags, check_scope, split_list

    raw = (args.models, args.sessions, args.max_sessions, args.max_session_duration)
    if kind is KeyKind.PARTNER:
        if any(value.strip() for value in raw):
            console.warn(
                "models, sessions, max-sessions and max-session-duration scope app-key JWTs (rk_) only; ignored "
                "for a partner key.",
                title="Reactor auth",
            )
        return None
    flags = ScopeFlags("models", "sessions", "max-sessions", "max-session-duration")
    return check_scope(
        split_list(args.models), split_list(args.sessions), args.max_sessions, args.max_session_duration, flags
    )


def _check_api_url() -> None:
    """The API URL's rules live in api.py; here only what urlsplit would silently swallow.

    urlsplit drops CR/LF/TAB, so ``https://api.reactor.inc\\nhttps://x`` would
    turn into one odd host instead of an error.
    """
    from reactor_ci.api import ENV_API_URL, api_url_from_env, validate_base_url

    url = api_url_from_env()
    if any(c.isspace() or not c.isprintable() for c in url):
        raise UsageError(
            f"{ENV_API_URL} must be a single URL (it contains whitespace or a line break)",
            "set it to one URL such as https://api.reactor.inc.",
            code="bad_url",
        )
    validate_base_url(url)


def parse_inputs(args: argparse.Namespace, provider: Provider) -> AuthInputs:
    """Validate every input before any network call; raise UsageError (exit 2) with the fix."""
    key_name = _key_name(args)
    expect = None if args.key_kind == "auto" else KeyKind(args.key_kind)
    key = flows.read_key(
        provider, stdin=args.api_key_stdin, env_var=args.key_env or keys.ENV_VAR, expect=expect, name=key_name
    )
    docker = _docker_login(args.docker_login, key.kind, key_name)
    lifetime = _lifetime(args.token_lifetime, key.kind)
    scope = _scope(args, key.kind)
    _check_api_url()
    emit = "json" if args.json else "print" if args.print else "none"
    return AuthInputs(key=key, key_name=key_name, docker_login=docker, token_lifetime=lifetime, emit=emit, scope=scope)


def cmd_auth(args: argparse.Namespace) -> int:
    provider: Provider = args.provider
    inputs = parse_inputs(args, provider)
    if args.print_env:
        return _auth_for_eval(provider, inputs)
    provider.set_output("key-kind", inputs.key.kind.value)
    try:
        if inputs.key.kind is KeyKind.PARTNER:
            creds = flows.login(provider, inputs.key, docker_login=inputs.docker_login)
            if inputs.emit == "json":
                from reactor_ci.timeutil import format_time

                document = {
                    "kind": "partner",
                    "partner_id": creds.partner_id,
                    "registry": creds.registry,
                    "registry_token_expiry": format_time(creds.registry_token_expiry),
                }
                console.out(json.dumps(document))
        else:
            flows.mint_token(provider, inputs.key, inputs.token_lifetime, emit=inputs.emit, scope=inputs.scope)
    except AuthError as exc:
        # The API refused THIS key: say which one, as the user named it.
        raise AuthError(f"{inputs.key_name}: {exc.message}", exc.fix, code=exc.code) from None
    return int(ExitCode.OK)


def _auth_for_eval(provider: Provider, inputs: AuthInputs) -> int:
    """``--print-env``: the GitLab job's paths first, then the flow, then its results, as shell assignments."""
    from reactor_ci import jobenv
    from reactor_ci.timeutil import format_time

    jobenv.prepare(provider.env)
    provider.set_output("key-kind", inputs.key.kind.value)
    try:
        if inputs.key.kind is KeyKind.PARTNER:
            creds = flows.login(provider, inputs.key, docker_login=inputs.docker_login)
            jobenv.emit(
                {
                    "REACTOR_PARTNER_ID": creds.partner_id,
                    "REACTOR_REGISTRY": creds.registry,
                    "REACTOR_REGISTRY_TOKEN_EXPIRY": format_time(creds.registry_token_expiry),
                }
            )
        else:
            token = flows.mint_token(provider, inputs.key, inputs.token_lifetime, emit="env", scope=inputs.scope)
            # Into this job's shell (through stdout, never the log) and a 0600 file: never a dotenv
            # artifact, which anyone who can read the pipeline can download.
            jobenv.emit(
                {
                    "REACTOR_JWT": token.jwt,
                    "REACTOR_JWT_FILE": jobenv.write_jwt(token.jwt),
                    "REACTOR_JWT_EXPIRES_AT": str(token.expires_at),
                }
            )
    except AuthError as exc:
        raise AuthError(f"{inputs.key_name}: {exc.message}", exc.fix, code=exc.code) from None
    return int(ExitCode.OK)


def add_commands(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add ``auth`` to the top-level subparsers."""
    p = sub.add_parser(
        "auth",
        help="log in with a partner key or mint a JWT with an app key: the flow follows the key's prefix",
        description="The entry the GitHub Action and the GitLab component call. A partner key (rp_) logs in "
        "and registers the Docker credential helper; an app key (rk_) mints a JWT (step output `jwt`; "
        "--print or --json writes it to stdout).",
    )
    source = p.add_mutually_exclusive_group()
    source.add_argument(
        "--api-key-stdin", action="store_true", help=f"read the key from standard input, not ${keys.ENV_VAR}"
    )
    source.add_argument(
        "--key-env", metavar="VAR", help=f"read the key from the environment variable VAR (default {keys.ENV_VAR})"
    )
    p.add_argument(
        "--key-name",
        metavar="NAME",
        help="how messages name the key, e.g. 'api-key input' or the CI variable's name (default: where it was read)",
    )
    p.add_argument(
        "--key-kind",
        choices=("auto", "partner", "app"),
        default="auto",
        help="fail (exit 2) unless the key is of this kind (default auto: the prefix decides)",
    )
    p.add_argument(
        "--docker-login",
        default="auto",
        metavar="{auto,true,false}",
        help="partner keys: register the Docker credential helper (auto = true for partner keys; true with an "
        "app key is an error)",
    )
    p.add_argument(
        "--token-lifetime",
        default="",
        metavar="SECONDS",
        help="app keys: JWT lifetime (empty = the full 6 h); ignored, with a warning, for a partner key",
    )
    scope = p.add_argument_group("app keys: what the JWT may do (lists newline- or comma-separated; empty = not set)")
    scope.add_argument(
        "--models", default="", metavar="LIST", help="scope the JWT to sessions on these owner/model names"
    )
    scope.add_argument("--sessions", default="", metavar="LIST", help="bind the JWT to these open session ids")
    scope.add_argument(
        "--max-sessions", default="", metavar="N", help="a scoped JWT holds at most N sessions (bound ones count)"
    )
    scope.add_argument(
        "--max-session-duration",
        default="",
        metavar="SECONDS",
        help="end each session a scoped JWT creates after this long (1-86400)",
    )
    out = p.add_mutually_exclusive_group()
    out.add_argument("--json", action="store_true", help="print a JSON object (with the JWT for an app key)")
    out.add_argument("--print", action="store_true", help="app keys: print the raw JWT on standard output")
    out.add_argument(
        "--print-env",
        action="store_true",
        help="the GitLab component's mode: set up the job's files under $REACTOR_CI_DIR and print "
        "`export NAME='value'` lines for the shell to eval (paths, outputs, the JWT)",
    )
    p.set_defaults(func=cmd_auth)
