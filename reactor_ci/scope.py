"""What a minted JWT may do: the user's scope options, checked, and said in words.

One home for the rules of ``reactor-ci token --model/--session/--max-*`` and
of the same inputs of ``reactor-ci auth`` (the action and the component):
every bad value is a :class:`UsageError` (exit 2) raised before any request,
saying what is allowed. Values are never echoed (a key pasted into the wrong
input must not reach a CI log); a message names the option and the position.

The wire shape lives in :mod:`reactor_ci.api` (:class:`~reactor_ci.api.TokenScope`);
the documented ranges come from there too.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from reactor_ci.api import SESSION_DURATION_RANGE, TokenScope
from reactor_ci.errors import UsageError

__all__ = ["ScopeFlags", "check_scope", "describe", "parse_count", "same_scope", "split_list"]

# `owner/model`: each part starts with a letter or digit, then letters, digits, . _ -.
_PART = r"[A-Za-z0-9][A-Za-z0-9._-]{0,99}"
_MODEL = re.compile(rf"{_PART}/{_PART}")
# Session ids are opaque: one short printable word of the characters ids are made of.
_SESSION = re.compile(r"[A-Za-z0-9][A-Za-z0-9._:-]{0,127}")
MAX_ITEMS = 100
# A cap past any real need that still fits every JSON parser's integers.
MAX_SESSIONS = 2**31 - 1
_ORDINALS = {1: "1st", 2: "2nd", 3: "3rd"}


@dataclass(frozen=True)
class ScopeFlags:
    """How messages name each option: ``--model`` for the CLI, ``models`` for the action's inputs."""

    models: str = "--model"
    sessions: str = "--session"
    max_sessions: str = "--max-sessions"
    duration: str = "--max-session-duration"


def _nth(index: int) -> str:
    return _ORDINALS.get(index, f"{index}th")


def split_list(raw: str) -> list[str]:
    """A newline- or comma-separated input: items stripped, empty ones dropped ("" is no list)."""
    return [item.strip() for item in raw.replace("\r", "\n").replace(",", "\n").split("\n") if item.strip()]


def _names(values: list[str], flag: str, pattern: re.Pattern[str], allowed: str) -> tuple[str, ...]:
    if len(values) > MAX_ITEMS:
        raise UsageError(
            f"{flag} was given {len(values)} times; at most {MAX_ITEMS} are allowed",
            "a token for that many is not narrow: mint one per front end.",
            code="bad_scope",
        )
    seen: set[str] = set()
    for index, value in enumerate(values, 1):
        if not pattern.fullmatch(value):
            raise UsageError(
                f"the {_nth(index)} {flag} value (not shown) is not {allowed}",
                f"give {flag} as {allowed}.",
                code="bad_scope",
            )
        if value in seen:
            raise UsageError(
                f"the {_nth(index)} {flag} value (not shown) repeats an earlier one",
                f"give each {flag} value once.",
                code="bad_scope",
            )
        seen.add(value)
    return tuple(values)


def parse_count(raw: str | None, flag: str, low: int, high: int, why: str = "") -> int | None:
    """A whole number in ``low..high`` from its text; None when not given (None or blank)."""
    if raw is None or not raw.strip():
        return None
    value = raw.strip()
    if not value.isascii() or not value.isdigit() or len(value) > len(str(high)) or not low <= int(value) <= high:
        raise UsageError(
            f"{flag} must be a whole number from {low} to {high}{why} (value not shown)",
            f"e.g. {flag} {max(low, min(high, 600))}.",
            code="bad_scope",
        )
    return int(value)


def check_scope(
    models: list[str] | None,
    sessions: list[str] | None,
    max_sessions: str | None,
    duration: str | None,
    flags: ScopeFlags = ScopeFlags(),
) -> TokenScope | None:
    """The scope asked for, or None for an unscoped token; UsageError (exit 2) on any bad value.

    ``models``/``sessions`` None (or empty) mean "not given"; the counts are
    the user's text. ``--max-*`` without a model or a session is refused: the
    server ignores them for an unscoped token, which would be broader than
    the user thinks.
    """
    low, high = SESSION_DURATION_RANGE
    cap = parse_count(max_sessions, flags.max_sessions, 1, MAX_SESSIONS)
    seconds = parse_count(
        duration,
        flags.duration,
        low,
        high,
        f" seconds ({high // 3600} h; the server rejects other values, it does not clamp them)",
    )
    model_names = _names(models, flags.models, _MODEL, "owner/model (letters, digits, . _ -)") if models else None
    session_ids = (
        _names(sessions, flags.sessions, _SESSION, "a session id (letters, digits, . _ : -; at most 128)")
        if sessions
        else None
    )
    if model_names is None and session_ids is None:
        given = [flag for flag, value in ((flags.max_sessions, cap), (flags.duration, seconds)) if value is not None]
        if given:
            raise UsageError(
                f"{' and '.join(given)} without {flags.models} or {flags.sessions}: the server ignores "
                f"{'them' if len(given) > 1 else 'it'} for an unscoped token, which could then do anything the key "
                "allows",
                f"add {flags.models} owner/model (or {flags.sessions} ID) to scope the token, or drop "
                f"{' and '.join(given)}.",
                code="unscoped_constraint",
            )
        return None
    if cap is not None and session_ids is not None and cap < len(session_ids):
        raise UsageError(
            f"{flags.max_sessions} {cap} is below the {len(session_ids)} bound sessions, which count towards it",
            f"raise {flags.max_sessions} to at least {len(session_ids)} or bind fewer sessions.",
            code="bad_scope",
        )
    return TokenScope(model_names, session_ids, cap, seconds)


def same_scope(a: TokenScope | None, b: TokenScope | None) -> bool:
    """Whether two scopes grant the same: names compared as sets (a server may reorder them)."""
    if a is None or b is None:
        return a is b

    def names(values: tuple[str, ...] | None) -> frozenset[str] | None:
        return None if values is None else frozenset(values)

    return (
        names(a.models) == names(b.models)
        and names(a.sessions) == names(b.sessions)
        and (a.max_sessions, a.max_session_duration_seconds) == (b.max_sessions, b.max_session_duration_seconds)
    )


def _listing(names: tuple[str, ...], code: bool) -> str:
    if code:
        from reactor_ci.ci import markdown_code

        return ", ".join(markdown_code(name) for name in names)
    return ", ".join(names)


def describe(scope: TokenScope | None, *, markdown: bool = False) -> str:
    """What a token of this scope may do, in one sentence (``markdown``: names as code spans)."""
    if scope is None:
        return "do anything the key's roles allow (an unscoped token: fine server-to-server, wrong for a client)"
    parts = []
    if scope.models is not None:
        parts.append(f"create and operate sessions only on the models {_listing(scope.models, markdown)}")
    if scope.sessions is not None:
        parts.append(f"act on the bound sessions {_listing(scope.sessions, markdown)}")
        if scope.models is None:
            parts.append("create no new session" if scope.max_sessions is None else "create new sessions on any model")
    elif scope.models is None:
        parts.append("create and operate sessions on any model")
    if scope.max_sessions is not None:
        parts.append(f"hold at most {scope.max_sessions} session(s) in all")
    if scope.max_session_duration_seconds is not None:
        parts.append(f"keep each session it creates for at most {scope.max_session_duration_seconds} s")
    return "; ".join(parts)
