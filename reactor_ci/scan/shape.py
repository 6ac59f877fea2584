"""Is this body random enough to be a key?  Pure string checks, shared by the
engine and the detect-secrets plugin so both always agree.

See docs/scanning.md ("Why these thresholds") for the numbers.
"""

from __future__ import annotations

import math
import re
from collections import Counter

__all__ = ["entropy", "is_identifier", "key_body_problem", "placeholder_reason"]

# A segment (between `_` or `-`) of an identifier is letters with at most 3
# trailing digits (v2, x86); its letters split into "humps" (camelCase words or
# acronyms), and each hump reads like a word: see is_identifier.
_SEGMENT_SHAPE = re.compile(r"([A-Za-z]+)[0-9]{0,3}")
_HUMPS = re.compile(r"[A-Z]{2,}(?![a-z])|[A-Z]?[a-z]+|[A-Z]")
_CONSONANT_RUN = re.compile(r"[bcdfghjklmnpqrstvwxz]{5,}")
_VOWELS = frozenset("aeiouy")
_MIN_HUMP_MEAN = 3.0
# Vowel-less abbreviations that do occur as camelCase humps (getCtx, HttpMsg).
_VOWELLESS = frozenset(
    [
        "http",
        "https",
        "html",
        "xml",
        "sql",
        "ctx",
        "msg",
        "cfg",
        "src",
        "dst",
        "ptr",
        "str",
        "buf",
        "cmd",
        "pkg",
        "lib",
        "std",
        "tcp",
        "udp",
        "rpc",
        "ssl",
        "tls",
        "jwt",
        "dns",
        "rgb",
        "css",
        "svg",
        "png",
        "gz",
        "bz",
        "kw",
        "db",
        "fn",
        "tmp",
        "txt",
        "pdf",
        "mp",
    ]
)
_SEGMENTS = re.compile(r"[_-]+")
_RUN = re.compile(r"(.)\1{7,}")
_PLACEHOLDER_WORDS = frozenset(
    {
        "your", "yours", "here", "example", "examples", "placeholder", "redacted", "dummy",
        "fake", "sample", "changeme", "replace", "insert", "todo", "fixme", "mykey", "yourkey",
        "notreal", "invalid", "xxx",
    }
)  # fmt: skip
_SEQUENCES = (
    "0123456789abcdefghijklmnopqrstuvwxyz",
    "9876543210zyxwvutsrqponmlkjihgfedcba",
    "qwertyuiopasdfghjklzxcvbnm",
)
_SEQ_LEN = 8


def entropy(text: str) -> float:
    """Shannon entropy in bits per character."""
    if not text:
        return 0.0
    n = len(text)
    return -sum(c / n * math.log2(c / n) for c in Counter(text).values())


def _wordlike(hump: str) -> bool:
    if hump.isupper():  # an acronym: HTTP, XML, API
        return len(hump) <= 6
    low = hump.lower()
    if len(low) < 3 or low in _VOWELLESS:
        return True
    return bool(_VOWELS.intersection(low)) and not _CONSONANT_RUN.search(low)


def _wordy_segment(letters: str) -> bool:
    if letters.islower() or letters.isupper():
        return True
    humps = _HUMPS.findall(letters)
    # camelCase words average well over 3 letters per hump; random mixed case
    # flips case every other character.
    if len(letters) < _MIN_HUMP_MEAN * len(humps):
        return False
    return all(_wordlike(h) for h in humps)


def is_identifier(body: str) -> bool:
    """``aiq_uapi_sysctl_init``, ``ThisIsAName``, ``YOUR_KEY_HERE``: words, not randomness.

    Every segment (split on ``_``/``-``) must be letters with at most a 3-digit
    suffix (``uapi2``), and either one case (snake_case, SCREAMING_SNAKE) or
    camelCase whose humps average at least 3 letters and read like words (a
    vowel, no run of 5 consonants).  A random body fails on digits (a 32-char
    base62 body has none with probability 0.3 %) and then almost surely on the
    humps; a random all-one-case 20-char base62 body has probability 2e-8.
    """
    segments = [s for s in _SEGMENTS.split(body) if s]
    if not segments:
        return True
    for segment in segments:
        m = _SEGMENT_SHAPE.fullmatch(segment)
        if m is None or not _wordy_segment(m.group(1)):
            return False
    return True


def placeholder_reason(body: str) -> str | None:
    """Why ``body`` is a placeholder (``xxx``, ``your_key_here``, ``1234…``, ``aaaa…``), or None."""
    if "xxxx" in body or "XXXX" in body or "...." in body or "…" in body:
        return "placeholder (xxx)"
    if _RUN.search(body):
        return "repeated characters"
    low = body.lower()
    segments = {s.lower() for s in _SEGMENTS.split(body) if s}
    if segments & _PLACEHOLDER_WORDS:
        return "placeholder word"
    for seq in _SEQUENCES:
        for i in range(len(seq) - _SEQ_LEN + 1):
            if seq[i : i + _SEQ_LEN] in low:
                return "sequential characters"
    return None


def key_body_problem(
    body: str,
    *,
    min_len: int = 20,
    max_len: int = 512,
    min_entropy: float = 2.2,
    min_distinct: int = 6,
    allow_identifiers: bool = False,
) -> str | None:
    """None when ``body`` looks like the random part of a key, else the reason it does not."""
    if len(body) < min_len:
        return "too short"
    if len(body) > max_len:
        return "too long"
    if len(set(body)) < min_distinct:
        return "too few distinct characters"
    reason = placeholder_reason(body)
    if reason:
        return reason
    if not allow_identifiers and is_identifier(body):
        return "identifier"
    if entropy(body) < min_entropy:
        return "low entropy"
    return None
