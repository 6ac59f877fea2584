"""Keys behind one layer of encoding: base64 (any alignment, URL-safe or not, wrapped), ``\\u``/``\\x`` escapes.

Base64 hides a key's prefix, but not completely: ``rp_`` and ``rk_`` encode to
a few fixed characters at each of the three byte alignments (``cnBf``/``cmtf``
when the key starts a 3-byte group, ``JwX``/``JrX`` one byte in, ``ycF``/``ya1``
two bytes in; the same in the URL-safe alphabet).  :func:`search` looks for
those, each a literal search that ``re`` runs at memchr speed, so a file with
no encoded key costs three passes and nothing else.  Where one stands, the
base64 run around it (across the line breaks of ``base64`` output when every
line of the block is base64) is decoded in a bounded, 4-aligned window and
scanned with the same rules, validators and allow-lists as any text
(:func:`reactor_ci.scan.matching.scan_bytes`), ``depth - 1`` levels deeper.

A finding points at the encoded text (the line and column where the key's
first encoded character stands) and carries the DECODED key as its secret
(what a leak exposes; baselines and ``--verify`` use it) and its
``encoding`` (``base64``; ``base64/base64`` two levels down).

Escapes (``\\u0072\\u0070_``, ``\\x72\\x70\\x5f``, ``rp%5F``): see
:func:`reactor_ci.scan.matching.scan_bytes`, which decodes a window at an
escaped prefix; :data:`ESCAPE_SEARCH` is its prefilter.
"""

from __future__ import annotations

from reactor_ci import regex
from reactor_ci.scan.finding import Finding
from reactor_ci.scan.signatures import B64_SIGNATURES, ESCAPE_CODES

TYPE_CHECKING = False  # typing costs ~3 ms to import; mypy treats this name as True
if TYPE_CHECKING:
    import re
    from collections.abc import Callable, Sequence

    from reactor_ci.scan.matching import CompiledRule

__all__ = [
    "B64_SEARCHES",
    "ESCAPE_SEARCH",
    "RUN_SEARCH",
    "WRAPPED_SEARCH",
    "base64_findings",
    "looks_wrapped",
    "might_hold_base64_key",
]

# The characters ``rp_``/``rk_`` fix at each alignment (see the module docstring), from
# their one home, reactor_ci.scan.signatures.  Three searches, each starting with a
# literal, are ~4x faster than one alternation that starts with a character class
# (docs/scanning.md, "Decoding"): ``c(?:nBf|mtf)``, ``X(?<=JwX|JrX)``, ``y(?:cF|a1)``.


def _first_byte_search(signatures: Sequence[bytes]) -> bytes:
    """``c(?:nBf|mtf)``: the common first byte, then the rests."""
    return regex.escape(signatures[0][:1]) + b"(?:" + b"|".join(regex.escape(s[1:]) for s in signatures) + b")"


def _last_byte_search(signatures: Sequence[bytes]) -> bytes:
    """``X(?<=JwX|JrX)``: the common last byte (rarer in text than ``J``), then a look behind."""
    return regex.escape(signatures[0][-1:]) + b"(?<=" + b"|".join(regex.escape(s) for s in signatures) + b")"


B64_SEARCHES: tuple[Callable[..., re.Match[bytes] | None], ...] = (
    regex.compile(_first_byte_search(B64_SIGNATURES[0])).search,
    regex.compile(_last_byte_search(B64_SIGNATURES[1])).search,
    regex.compile(_first_byte_search(B64_SIGNATURES[2])).search,
)
# The same, where ``base64``'s line wrapping may split them (small files only: ~2x the cost).
_NL = rb"(?:\r?\n)?"
_WRAPPED = b"|".join(
    _NL.join(regex.escape(bytes([c])) for c in signature) for group in B64_SIGNATURES for signature in group
)
WRAPPED_SEARCH = regex.compile(_WRAPPED).search
_HITS = regex.compile(_WRAPPED)
# A backslash escape of "r", "p", "k" or "_" (``\u0072``, ``\x5f``): the escape prefilter.
_CODES = b"(?:" + b"|".join(ESCAPE_CODES) + b")"
ESCAPE_SEARCH = regex.compile(rb"\\(?=u00" + _CODES + b"|x" + _CODES + b")").search

_B64_CHARS = frozenset(b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/-_")
_B64_ALPHABET = bytes(sorted(_B64_CHARS | {ord("=")}))
_URLSAFE = bytes.maketrans(b"-_", b"+/")
# Encoded characters decoded per hit: a 512-character key and its context, base64'd.
_WINDOW = 1024
# Shorter runs cannot hold a key (rp_ + 20 characters is 23 bytes, 31 characters of base64).
_MIN_RUN = 28
_MAX_BLOCK_LINES = 100_000
# Texts up to this size get the line-break-tolerant signature search (one pass, ~7x a literal one).
_WRAPPED_MAX = 32 * 1024
# Base64 characters decoded per text when --max-decode-depth is 2 or more.
_DEEP_BUDGET = 4 * 1024 * 1024
# Any run long enough to hold a key: what --max-decode-depth 2+ decodes.
_RUNS = regex.compile(rb"[A-Za-z0-9+/_-]{%d,}" % 28)
RUN_SEARCH = _RUNS.search


def looks_wrapped(data: bytes | bytearray, n: int) -> bool:
    """Does ``data[:n]`` start with a line of wrapped base64 (``base64``'s 76 columns, PEM's 64)?

    A cheap look at the first line only: such files (a base64'd ``.env`` kept
    as a CI variable file) get the search that allows line breaks.
    """
    end = data.find(b"\n", 0, min(n, 200))
    line = bytes(data[: end if end >= 0 else min(n, 200)]).rstrip(b"\r")
    return len(line) >= 60 and not line.translate(None, _B64_ALPHABET)


def _line_start(data: bytes, pos: int) -> int:
    return data.rfind(b"\n", 0, pos) + 1


def _line_end(data: bytes, pos: int) -> int:
    end = data.find(b"\n", pos)
    return len(data) if end < 0 else end


def _is_b64_line(data: bytes, begin: int, end: int) -> bool:
    """Is ``data[begin:end]`` one line of wrapped base64 (optionally ``\\r`` and ``=`` padded)?"""
    line = data[begin:end].rstrip(b"\r").rstrip(b"=")
    return len(line) >= 4 and not line.translate(None, bytes(_B64_CHARS))


def _run(data: bytes, pos: int) -> tuple[int, int]:
    """(start, end) of the base64 run holding ``data[pos]``; a run of whole base64 lines spans them all."""
    begin = _line_start(data, pos)
    end = _line_end(data, pos)
    if not _is_b64_line(data, begin, end):
        start = pos
        while start > begin and data[start - 1] in _B64_CHARS:
            start -= 1
        stop = pos
        while stop < end and data[stop] in _B64_CHARS:
            stop += 1
        return start, stop
    # A block of base64 lines (``base64`` wraps at 76, PEM at 64): extend over its neighbours
    # until a line that is not base64, or one that ends in "=" padding (the end of a block).
    start = begin
    while start > 0:
        prev = _line_start(data, start - 1)
        if not _is_b64_line(data, prev, start - 1) or data[prev : start - 1].rstrip(b"\r").endswith(b"="):
            break
        start = prev
    stop = end
    last = begin
    while stop < len(data) and not data[last:stop].rstrip(b"\r").endswith(b"="):
        nxt = _line_end(data, stop + 1)
        if not _is_b64_line(data, stop + 1, nxt):
            break
        last, stop = stop + 1, nxt
    return start, stop


def _chars(data: bytes, lo: int, hi: int) -> int:
    """How many base64 characters ``data[lo:hi]`` holds (a run: everything but line breaks)."""
    return hi - lo - data.count(b"\n", lo, hi) - data.count(b"\r", lo, hi)


def _decode(chars: bytes) -> bytes:
    """Base64 (either alphabet, padding optional) to bytes; a trailing partial character is dropped."""
    chars = chars.translate(_URLSAFE)
    chars = chars[: len(chars) - len(chars) % 4] if len(chars) % 4 == 1 else chars
    chars += b"=" * (-len(chars) % 4)
    import binascii  # an extension module (~0.3 ms to load): only once a signature stands

    try:
        return binascii.a2b_base64(chars)
    except binascii.Error:
        return b""


def might_hold_base64_key(data: bytes | bytearray, depth: int) -> bool:
    """Is a base64 run in ``data`` worth decoding (a signature; wrapped ones in small or base64-led texts)?"""
    if depth > 1:
        return RUN_SEARCH(data) is not None
    n = len(data)
    if n <= _WRAPPED_MAX or looks_wrapped(data, n):
        # WRAPPED_SEARCH's signatures may have a line break between two characters: the
        # text without CR and LF holds them whole (a superset: base64_findings decides
        # with the exact pattern), and three literal searches cost ~40 % of its one pass.
        if data.find(b"\n") >= 0:
            data = data.replace(b"\n", b"")
        if data.find(b"\r") >= 0:
            data = data.replace(b"\r", b"")
    return any(search(data) is not None for search in B64_SEARCHES)


def base64_findings(
    data: bytes,
    path: str,
    rules: Sequence[CompiledRule],
    depth: int,
    line_map: Sequence[int] | None,
    commit: str | None,
    *,
    scan: Callable[..., list[Finding]],
    locate: Callable[[bytes, int, Sequence[int] | None], tuple[int, int] | None],
) -> list[Finding]:
    """Keys found in the base64 runs of ``data`` that hold an encoded prefix, ``depth`` levels deep.

    ``scan`` is :func:`reactor_ci.scan.matching.scan_bytes` and ``locate`` its
    (line, column) of a position, None on an allow-listed line: passed in, so
    this module does not import its caller.
    """
    findings: list[Finding] = []
    done_until = -1
    run = (-1, -1)
    seen: set[tuple[int, str]] = set()
    # Two levels and more: the outer level hides even the signature, so every run
    # long enough is decoded, window by window, up to a budget per text.
    deep = depth > 1
    budget = _DEEP_BUDGET
    for hit in (_RUNS if deep else _HITS).finditer(data):
        pos = hit.start()
        if pos < done_until:
            continue
        if not run[0] <= pos < run[1]:
            run = _run(data, pos)
        start, stop = run
        if _chars(data, start, stop) < _MIN_RUN:
            done_until = stop
            continue
        while True:
            # A 4-aligned window from a little before the hit (a key never spans more), its
            # alignment counted from the run's start: base64 is decoded in groups of 4 from there.
            lo = max(start, pos - 64)
            skip = -_chars(data, start, lo) % 4
            window: list[int] = []
            i = lo
            while i < stop and len(window) < _WINDOW + skip:
                if data[i] not in b"\r\n":
                    window.append(i)
                i += 1
            window = window[skip:]
            done_until = i - 64 if i < stop else stop
            budget -= len(window)
            if len(window) >= _MIN_RUN:
                findings.extend(
                    _window_findings(data, window, path, rules, depth, line_map, commit, seen, scan, locate)
                )
            if not deep or i >= stop or budget <= 0:
                break
            pos = done_until
        if deep and budget <= 0:
            break
    return findings


def _window_findings(
    data: bytes,
    window: list[int],
    path: str,
    rules: Sequence[CompiledRule],
    depth: int,
    line_map: Sequence[int] | None,
    commit: str | None,
    seen: set[tuple[int, str]],
    scan: Callable[..., list[Finding]],
    locate: Callable[[bytes, int, Sequence[int] | None], tuple[int, int] | None],
) -> list[Finding]:
    """Keys in one decoded window, placed at their first encoded character in ``data``."""
    decoded = _decode(bytes(data[i] for i in window))
    if not decoded:
        return []
    out = []
    for inner in scan(decoded, path, rules, decode_depth=depth - 1):
        at = decoded.find(inner.secret.encode("utf-8", "surrogateescape"))
        char = window[min(len(window) - 1, max(0, at) * 4 // 3)]
        where = None if (char, inner.secret) in seen else locate(data, char, line_map)
        if where is None:
            continue
        seen.add((char, inner.secret))
        encoding = "base64" + ("/" + inner.encoding if inner.encoding else "")
        out.append(Finding(inner.rule, inner.description, path, *where, inner.secret, commit, encoding=encoding))
    return out
