"""Is this body random enough to be a key?  Pure string checks, shared by the
engine and the detect-secrets plugin so both always agree.

See docs/scanning.md ("Why these thresholds") for the numbers.
"""

from __future__ import annotations

import math

from reactor_ci import regex

__all__ = ["entropy", "is_identifier", "key_body_problem", "placeholder_reason"]

# A segment (between `_` or `-`) of an identifier is letters with at most 3
# trailing digits (v2, x86); its letters split into "humps" (camelCase words or
# acronyms), and each hump reads like a word: see is_identifier.
_SEGMENT_SHAPE = regex.compile(r"([A-Za-z]+)[0-9]{0,3}")
_HUMPS = regex.compile(r"[A-Z]{2,}(?![a-z])|[A-Z]?[a-z]+|[A-Z]")
_CONSONANT_RUN = regex.compile(r"[bcdfghjklmnpqrstvwxz]{5,}")
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
# Lower-case letter pairs that occur fewer than 30 times in the 5.4 million
# pairs inside the words of CPython's stdlib identifiers (camelCase humps and
# snake_case parts of 3+ letters; zz, uy, iw, ih, wy dropped: fuzzy, buy, kiwi,
# wysiwyg).  A random letter string has one every few pairs; a word almost never.
_RARE_PAIRS = frozenset(
    """
    bq bv bx cj cz dz fj fk fv fx fz gj gk gq gx gy hg hj hq hv hx hz iy jb jd jf jg jh jj jl jm jn
    jp jq jr jt jv jw jx jy jz kj kk km kx kz lq mh mj mq mv mx oq pj px pz qb qc qe qf qg qh qi qj
    qk qm qo qp qq qt qv qw qx qy qz rj rq rz sz tj uh uj uq uv uw uz vd vg vj vk vq vv vx vy vz wg
    wj wk wm wz xg xj xk xq xw xz yj yk yq yu yx zb zc zd zf zg zj zk zq zr zs zu zv zw zx
    """.split()  # noqa: SIM905 (a table of 125 pairs reads better as text)
)
# At most this many acronym, 1-2 letter or rare-pair humps in a camelCase segment.
_MAX_ODD_HUMPS = 2
_SEGMENTS = regex.compile(r"[_-]+")
# `xxxx` as a placeholder: a run of 6, a whole segment of 4+ (XXXX-XXXX), or 5+
# opening or closing a segment.  A bare run of 4 inside a random 32-character
# base62 body happens once in 250,000 keys, so it alone is no placeholder.
_X_PLACEHOLDER = regex.compile(
    r"x{6}|X{6}"  # a run of 6 anywhere
    r"|(?:^|[_-])(?:x{5}|X{5}|x{4}(?=$|[_-])|X{4}(?=$|[_-]))"  # opening a segment, or all of it
    r"|(?:x{5}|X{5})(?=$|[_-])"  # closing a segment
)
_RUN = regex.compile(r"(.)\1{7,}")
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
# Every _SEQ_LEN-long run of a sequence: a body's own windows are looked up in it (one set lookup per
# position, not a substring search per run: this runs on every candidate of a scan).
_SEQ_WINDOWS = frozenset(seq[i : i + _SEQ_LEN] for seq in _SEQUENCES for i in range(len(seq) - _SEQ_LEN + 1))


def entropy(text: str) -> float:
    """Shannon entropy in bits per character."""
    if not text:
        return 0.0
    n = len(text)
    counts: dict[str, int] = {}  # collections.Counter's counts, in the same order, without loading collections
    for char in text:
        counts[char] = counts.get(char, 0) + 1
    return -sum(c / n * math.log2(c / n) for c in counts.values())


def _wordlike(hump: str) -> bool:
    if hump.isupper():  # an acronym: HTTP, XML, API
        return len(hump) <= 6
    low = hump.lower()
    if len(low) < 3 or low in _VOWELLESS:
        return True
    return bool(_VOWELS.intersection(low)) and not _CONSONANT_RUN.search(low)


def _odd_hump(hump: str) -> bool:
    """An acronym, a 1-2 letter hump, or one with a letter pair words do not have."""
    if hump.isupper() or len(hump) <= 2:
        return True
    low = hump.lower()
    if low in _VOWELLESS:
        return False
    return any(low[i : i + 2] in _RARE_PAIRS for i in range(len(low) - 1))


def _wordy_segment(letters: str) -> bool:
    if letters.islower() or letters.isupper():
        return True
    humps = _HUMPS.findall(letters)
    # camelCase words average well over 3 letters per hump; random mixed case
    # flips case every other character.
    if len(letters) < _MIN_HUMP_MEAN * len(humps):
        return False
    if not all(_wordlike(h) for h in humps):
        return False
    # Random mixed case that got this far is made of acronyms (QOXU, PZ), 1-2
    # letter humps (M, Pz) and humps with letter pairs like "jm" or "kg"; a
    # real identifier has at most a couple (NSCachedURLResponse: NS, URL).
    return sum(1 for h in humps if _odd_hump(h)) <= _MAX_ODD_HUMPS


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
    if _X_PLACEHOLDER.search(body) or "...." in body or "…" in body:
        return "placeholder (xxx)"
    if _RUN.search(body):
        return "repeated characters"
    low = body.lower()
    segments = {s.lower() for s in _SEGMENTS.split(body) if s}
    if segments & _PLACEHOLDER_WORDS:
        return "placeholder word"
    if any(low[i : i + _SEQ_LEN] in _SEQ_WINDOWS for i in range(len(low) - _SEQ_LEN + 1)):
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
