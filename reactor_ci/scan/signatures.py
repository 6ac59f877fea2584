"""The literal byte strings behind the encoded-key prefilters: stdlib-only data, no ``re``.

ONE home for them: :mod:`reactor_ci.scan.decode` builds its base64 and escape
regexes from these tuples, and :mod:`reactor_ci.scan.quick` (the pre-commit
batch's fast start) searches for them with ``bytes.find``, without loading ``re``.
"""

from __future__ import annotations

__all__ = ["B64_SIGNATURES", "ENCODED_MAX_SIZE", "ESCAPE_CODES", "ESCAPE_NEEDLES", "KEY_PREFIXES", "URL_NEEDLES"]

# A text bigger than this is searched for the encoded forms only when it is a JSON document
# (URL-encoding and escapes), never for base64 (reactor_ci.scan.matching.text_prefilter).
ENCODED_MAX_SIZE = 32 * 1024

# The prefixes of the rp_/rk_ key rules (reactor_ci.scan.rules; tests/scan/test_quick.py checks they agree).
KEY_PREFIXES = (b"rp_", b"rk_")

# What base64 makes of ``rp_``/``rk_`` at each of the three byte alignments: the characters
# the prefix alone fixes (tests/scan/test_quick.py derives them with base64 again), standard
# and URL-safe alphabets alike (none of them is + / - or _).
B64_SIGNATURES: tuple[tuple[bytes, ...], ...] = (
    (b"cnBf", b"cmtf"),  # the key starts a 3-byte group
    (b"JwX", b"JrX"),  # one byte in
    (b"ycF", b"ya1"),  # two bytes in
)

# Two hex digits of every byte of the prefixes, both cases: ``\u0072``, ``\x5F``...
ESCAPE_CODES: tuple[bytes, ...] = tuple(
    sorted({(f"{c:02x}" if upper else f"{c:02X}").encode() for p in KEY_PREFIXES for c in p for upper in (0, 1)})
)
# The escapes (JSON/YAML ``\u00XX``, C ``\xXX``) of those bytes, as literal needles.
ESCAPE_NEEDLES: tuple[bytes, ...] = tuple(lead + code for lead in (b"\\u00", b"\\x") for code in ESCAPE_CODES)
# A prefix with its ``_`` URL-encoded (``rk%5F``), both cases.
URL_NEEDLES: tuple[bytes, ...] = tuple(p[:-1] + b"%5" + f for p in KEY_PREFIXES for f in (b"F", b"f"))
