"""The one redaction helper: every byte reactor-ci prints goes through here.

Secrets are *registered* the moment they are known (read from the environment,
received from the API, derived).  Registering does two things:

* later calls to :func:`scrub` replace the value with its redacted form;
* listeners run at once -- the CI adapter installs one that masks the value in
  the CI's log (``::add-mask::`` on GitHub), so masking happens BEFORE anything
  can print it.

Besides known values, :func:`scrub` also redacts anything shaped like a Reactor
key or a JWT, so a server error page that echoes a key we never registered
still never reaches the screen.
"""

from __future__ import annotations

import _thread

# Import-light on purpose (C modules only; `re` loads at the first scrub): status's fast path
# prints the redacted key and derives what would be registered with the rules below.
TYPE_CHECKING = False  # typing imports re; mypy reads this name as True
if TYPE_CHECKING:
    import re
    from collections.abc import Callable, Iterable

__all__ = [
    "add_batch_listener",
    "add_listener",
    "basic_auth",
    "forms",
    "new_forms",
    "redact",
    "register",
    "register_basic_auth",
    "register_many",
    "registered",
    "scrub",
    "unchanged_by_scrub",
]

_lock = _thread.allocate_lock()
_secrets: set[str] = set()
# Each gets the new values of one registration at once (a CI may mask a batch in one call).
_listeners: list[Callable[[list[str]], None]] = []
_pattern: re.Pattern[str] | None = None
_shapes: re.Pattern[str] | None = None

# Anything that looks like a Reactor key or a JWT, even one we never saw.
_SHAPES = (
    r"(?<![A-Za-z0-9])r[pk]_[A-Za-z0-9_\-]{6,}"
    r"|eyJ[A-Za-z0-9_\-]{4,}\.[A-Za-z0-9_\-]{4,}\.[A-Za-z0-9_\-]*"
)

# Values shorter than this are not worth masking (and masking "a" would shred
# every log line); real secrets are far longer.
_MIN_LEN = 6


def redact(secret: str) -> str:
    """A recognisable but harmless form: ``rp_…wxyz`` for keys, ``***…wxyz`` else."""
    if not secret:
        return "<empty>"
    tail = secret[-4:] if len(secret) >= 12 else ""
    if secret.startswith(("rp_", "rk_")):
        return f"{secret[:3]}…{tail}"
    return f"***…{tail}" if tail else "***"


def add_listener(listener: Callable[[str], None]) -> None:
    """Call ``listener(value)`` for every secret registered from now on (and the ones before)."""

    def each(values: list[str]) -> None:
        for value in values:
            listener(value)

    add_batch_listener(each)


def add_batch_listener(listener: Callable[[list[str]], None]) -> None:
    """Call ``listener(values)`` with the secrets known now, then with the new values of each
    registration (:func:`register_many`'s order), never with an empty list."""
    with _lock:
        _listeners.append(listener)
        known = sorted(_secrets)
    if known:
        listener(known)


def forms(value: str | None) -> set[str]:
    """Every form of ``value`` that :func:`register` remembers (empty for a value too short)."""
    if not value or len(value) < _MIN_LEN:
        return set()
    values = {value}
    if value.startswith(("rp_", "rk_")) and len(value) - 3 >= _MIN_LEN:
        # Servers echo the key's body without its prefix (9.5): redact and mask
        # that form too, so an echo of `rp_` + body or of the body alone is caught.
        values.add(value[3:])
    # CI masking works line by line: a multi-line secret masks each line too.
    values.update(line for line in value.splitlines() if len(line.strip()) >= _MIN_LEN)
    return values


def basic_auth(username: str, password: str) -> str:
    """``base64(user:password)``: what Docker writes as ``auth``."""
    import binascii  # an extension module (~0.4 ms): only where a Docker auth is made, not on a scan's finding

    return binascii.b2a_base64(f"{username}:{password}".encode(), newline=False).decode()


def register(value: str | None) -> None:
    """Remember ``value`` as secret; mask it in the CI log right away."""
    register_many(value)


def register_many(*values: str | None) -> None:
    """Register several values at once: the listeners see every new form in ONE call, value by
    value in the order given, each value's forms sorted (what :func:`register` one by one would
    show them, one by one)."""
    global _pattern
    with _lock:
        new = new_forms(*values, known=_secrets)
        if not new:
            return
        _secrets.update(new)
        _pattern = None
        listeners = list(_listeners)
    for listener in listeners:
        listener(new)


def new_forms(*values: str | None, known: set[str] | frozenset[str] = frozenset()) -> list[str]:
    """The forms :func:`register_many` adds for ``values`` with ``known`` registered, in the order
    its listeners see them: value by value as given, each value's forms sorted."""
    new: list[str] = []
    for value in values:
        new.extend(sorted(forms(value) - known - set(new)))
    return new


def unchanged_by_scrub(text: str, secrets: Iterable[str]) -> bool:
    """True only when :func:`scrub` surely leaves ``text`` as it is with ``secrets`` registered,
    told without ``re`` (status's fast path): no secret in it, nothing that starts like the key
    or JWT shapes above. False means "maybe": the full path scrubs."""
    if "eyJ" in text or any(secret in text for secret in secrets):
        return False
    for prefix in ("rp_", "rk_"):
        at = text.find(prefix)
        while at >= 0:
            after = text[at + 3 : at + 4]
            if after and after.isascii() and (after.isalnum() or after in "_-"):
                return False
            at = text.find(prefix, at + 1)
    return True


def register_basic_auth(username: str, password: str) -> str:
    """Register ``password`` and the ``base64(user:password)`` Docker writes as ``auth``."""
    encoded = basic_auth(username, password)
    register_many(password, encoded)
    return encoded


def registered() -> frozenset[str]:
    with _lock:
        return frozenset(_secrets)


def _compiled() -> tuple[re.Pattern[str] | None, re.Pattern[str]]:
    """(the known secrets' pattern or None, the key/JWT shapes), compiled on first use."""
    global _pattern, _shapes
    with _lock:
        if _pattern is None and _secrets:
            import re  # the SECRETS' pattern: never through reactor_ci.regex, whose cache is a file

            ordered = sorted(_secrets, key=len, reverse=True)
            _pattern = re.compile("|".join(re.escape(s) for s in ordered))
        if _shapes is None:
            from reactor_ci import regex

            _shapes = regex.compile(_SHAPES)
        return _pattern, _shapes


def scrub(text: str) -> str:
    """Replace every known secret and every key/JWT-shaped string in ``text``."""
    if not text:
        return text
    pattern, shapes = _compiled()
    if pattern is not None:
        text = pattern.sub(lambda m: redact(m.group(0)), text)
    return shapes.sub(lambda m: redact(m.group(0)), text)


def _reset_for_tests() -> None:
    global _pattern
    with _lock:
        _secrets.clear()
        _listeners.clear()
        _pattern = None
