"""The optional multi-pattern pass in front of the text prefilter, for big trees.

With the ``fast`` extra (``reactor-ci[fast]``), Hyperscan (Intel's
SIMD multi-pattern matcher, the ``hyperscan`` wheel) runs ONE pass over a
text for every needle the prefilter could ever accept: each rule keyword, the
URL-encoded and ``\\u``/``\\x``-escaped prefixes, and the base64 signatures
(line breaks allowed between their characters).  Only a text where one of
them occurs goes on to :func:`reactor_ci.scan.matching.text_prefilter`'s
own ``worth``, which decides exactly as without the extra.  So the answer
is the same by construction: the pass only says "certainly not" (most
files), never "yes".

Used where a scan reads many texts (``parallel.scan_paths`` past
``PARALLEL_MIN_FILES``, archives, images): importing the wheel and compiling
the database cost ~20 ms, more than a pre-commit batch's whole run.
``REACTOR_CI_NO_HYPERSCAN=1`` turns it off (the equivalence tests compare
both).  Without the wheel, or where it fails to load, nothing changes.
"""

from __future__ import annotations

import os

from reactor_ci.scan.signatures import B64_SIGNATURES, ESCAPE_CODES, KEY_PREFIXES

TYPE_CHECKING = False  # typing costs ~3 ms to import; mypy treats this name as True
if TYPE_CHECKING:
    from collections.abc import Callable, Sequence

__all__ = ["OFF_VAR", "guarded", "patterns"]

OFF_VAR = "REACTOR_CI_NO_HYPERSCAN"


def _literal(needle: bytes) -> bytes:
    """A Hyperscan (PCRE syntax) pattern matching exactly ``needle``: every byte as ``\\xHH``."""
    return b"".join(b"\\x%02x" % c for c in needle)


def patterns(keywords: Sequence[bytes]) -> list[bytes]:
    """Every pattern the pass looks for: a SUPERSET of what ``worth`` can accept.

    ``keywords``: every rule's prefilter keywords (JSON-document rules too).
    Each encoded form is written looser than ``worth``'s own search (the
    ``\\u005f`` escape without the ``rk`` before it, any ``\\u00``/``\\x``
    escape of a prefix byte, the base64 signatures with optional line breaks,
    so plain ones too); looser is safe, ``worth`` decides after.
    """
    out = [_literal(k) for k in sorted(set(keywords)) if k]
    out += [_literal(p[:-1]) + b"%5[Ff]" for p in KEY_PREFIXES]
    codes = b"(?:" + b"|".join(_literal(c) for c in ESCAPE_CODES) + b")"
    out.append(b"\\x5c(?:u00|x)" + codes)
    nl = b"(?:\\r?\\n)?"
    for group in B64_SIGNATURES:
        for signature in group:
            out.append(nl.join(_literal(bytes([c])) for c in signature))
    return out


def guarded(
    worth: Callable[[bytes | bytearray, int], bool], keywords: Sequence[bytes]
) -> Callable[[bytes | bytearray, int], bool] | None:
    """``worth`` behind one Hyperscan pass over every needle, or None (no wheel, turned off, or it fails)."""
    if os.environ.get(OFF_VAR, "") not in ("", "0"):
        return None
    if not keywords:
        return None  # a rule set without a keyword: nothing to gain
    try:
        import hyperscan  # type: ignore[import-not-found,unused-ignore]

        exprs = patterns(keywords)
        db = hyperscan.Database(mode=hyperscan.HS_MODE_BLOCK)
        db.compile(
            expressions=exprs,
            ids=list(range(len(exprs))),
            elements=len(exprs),
            flags=[hyperscan.HS_FLAG_SINGLEMATCH] * len(exprs),
        )
        scratch = hyperscan.Scratch(db)
    except Exception:
        return None
    scan = db.scan
    stopped = getattr(hyperscan, "ScanTerminated", None)
    if stopped is None:  # an older binding: note the matches, look after the pass
        hit: list[int] = []

        def on_match(_id: int, _start: int, _end: int, _flags: int, _context: object) -> None:
            hit.append(1)

        def noting_worth(data: bytes | bytearray, n: int) -> bool:
            del hit[:]
            # A view of data[:n], no copy (its stub says bytes or str; any buffer works).
            with memoryview(data) as view, view[:n] as text:
                scan(text, match_event_handler=on_match, scratch=scratch)  # type: ignore[type-var,unused-ignore]
            return bool(hit) and worth(data, n)

        return noting_worth

    def first_match(_id: int, _start: int, _end: int, _flags: int, _context: object) -> bool:
        return True  # one needle is enough: the pass stops there

    def fast_worth(data: bytes | bytearray, n: int) -> bool:
        # The text itself when it is whole, else a view of data[:n] (no copy), released with the call.
        text = data if n == len(data) else memoryview(data)[:n]
        try:
            scan(text, match_event_handler=first_match, scratch=scratch)  # type: ignore[type-var,unused-ignore]
        except stopped:
            return worth(data, n)
        return False

    return fast_worth
