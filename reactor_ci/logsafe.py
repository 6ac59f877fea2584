"""Make untrusted text inert in every CI's log: the one escaping function.

CI runners parse their job log for commands: GitHub ``::cmd::`` at the start
of a line, Azure ``##vso[...]`` and ``##[...]`` anywhere in a line, TeamCity
``##teamcity[...]``, GitLab ``section_start:`` markers (completed by ``\\r`` and
an ANSI escape), Buildkite ``--- ``/``+++ ``/``~~~ `` group lines and ANSI
escape sequences. File names, server answers, git output and environment
values are written by others, so before such text reaches a log line it goes
through :func:`line` (one line, for a single value) or :func:`block` (keeps
line breaks, neutralises each line).

One function for every CI, not one per CI: the text may be read by another
CI than the one detected (act under GitLab, a log re-played elsewhere), and
neutralising all known syntaxes costs nothing. The commands reactor-ci itself
emits (masks, outputs, annotations) never pass through here: they are built by
the providers in :mod:`reactor_ci.ci` with each CI's own property escaping.

Neutralising keeps the text readable: control characters become visible
``\\n``, ``\\x1b``, ``\\u2028`` escapes, and a command opener gets a backslash
inside it (``#\\#vso[``, ``:\\:warning``), which no CI parses as a command.
"""

from __future__ import annotations

from reactor_ci import regex

TYPE_CHECKING = False  # mypy reads this name as True
if TYPE_CHECKING:
    import re

__all__ = ["block", "line"]

# C0 controls but TAB, DEL, C1 controls, and the Unicode line/paragraph
# separators and bidi overrides (they can make a log line read as another).
_CONTROL = regex.compile("[\x00-\x08\x0a-\x1f\x7f-\x9f\u2028\u2029\u202a-\u202e\u2066-\u2069]")
# Openers parsed anywhere in a line.
_INLINE = regex.compile(r"##(?=vso\[|\[|teamcity\[)", regex.IGNORECASE)
# Openers parsed at the start of a line (after optional whitespace).
_LEADING = regex.compile(r"^(\s*)(::|---|\+\+\+|~~~|\^\^\^)")
_NAMED = {"\n": "\\n", "\r": "\\r"}  # every other control character: \xNN or \uNNNN


def _visible(match: re.Match[str]) -> str:
    char = match.group(0)
    named = _NAMED.get(char)
    if named is not None:
        return named
    code = ord(char)
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"


def _broken_opener(_match: re.Match[str]) -> str:
    return "#\\#"


def _neutralise(text: str) -> str:
    text = _INLINE.sub(_broken_opener, text)  # a function, not a template: a template's backslash loads re
    return _LEADING.sub(lambda m: m.group(1) + m.group(2)[0] + "\\" + m.group(2)[1:], text)


def line(text: str) -> str:
    """``text`` as ONE inert log line: every line break and control character made visible."""
    return _neutralise(_CONTROL.sub(_visible, text))


def block(text: str) -> str:
    """``text`` with its line breaks kept, each line made inert (for multi-line messages)."""
    return "\n".join(line(part) for part in text.split("\n"))
