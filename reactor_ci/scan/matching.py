"""Matching: compile the rule table, prefilter by keyword, find secrets in bytes.

Hot path, in this order: one keyword prefilter per file (a single ``re``
search for all keywords at once: see :func:`keyword_search`), then the rule's
regex only where a keyword occurs, then the validator only on regex matches.
Keys are ASCII, so the bytes regexes work on UTF-8, Latin-1 or any other
ASCII-compatible encoding alike (:mod:`reactor_ci.scan.files` transcodes
UTF-16/32 first).
"""

from __future__ import annotations

import sys

from reactor_ci import regex
from reactor_ci.scan.finding import Finding
from reactor_ci.scan.rules import RULES, Rule
from reactor_ci.scan.signatures import ENCODED_MAX_SIZE
from reactor_ci.scan.validators import VALIDATORS

TYPE_CHECKING = False  # typing costs ~3 ms to import; mypy treats this name as True
if TYPE_CHECKING:
    import re
    from collections.abc import Callable, Collection, Iterable, Sequence

    from reactor_ci.scan.validators import Validator

__all__ = [
    "ALLOW_MARKERS",
    "ALLOW_NEXTLINE",
    "ENCODED_MAX_SIZE",
    "CompiledRule",
    "boundary_ok",
    "compile_rules",
    "encoded_search",
    "is_json_document",
    "keyword_search",
    "pickaxe_pattern",
    "prefilter_keywords",
    "scan_bytes",
    "shared_prefilter",
    "text_prefilter",
]

ALLOW_MARKERS = (b"pragma: allowlist secret", b"reactor-ci: allow")
ALLOW_NEXTLINE = b"pragma: allowlist nextline secret"
# "-" counts as a word character: "-rp_…" inside URL-safe base64 or a JWT is not a key.
_WORD = frozenset(b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_-")
_HEX = frozenset(b"0123456789abcdefABCDEF")


def keyword_search(keywords: Iterable[bytes]) -> Callable[..., re.Match[bytes] | None]:
    """``search(data[, pos, endpos])``: does any of ``keywords`` occur?

    One pass of ``re`` over the data: for 3-byte needles such as ``rp_`` this
    is 2-3x faster than ``k in data`` per keyword (CPython's substring search
    skips at most len(needle)+1 bytes at a time, and ``_`` is common in code),
    and it works on a ``bytearray`` read buffer without copying it.

    ``re`` scans for the pattern's first byte and tries a match at each one.
    When every keyword has the same length and last byte (``rp_``, ``rk_``),
    the pattern starts at that byte and looks behind for the rest
    (``_(?<=rk_|rp_)``): ``_`` is rarer than ``r`` in source code, so fewer
    match attempts (docs/scanning.md, "Benchmark").
    """
    needles = sorted(set(keywords), key=lambda k: (-len(k), k))
    if not needles:
        return regex.compile(b"(?!)").search  # no keyword: never matches, like any(()) is False
    last = needles[0][-1:]
    if len(needles) > 1 and all(len(k) == len(needles[0]) and k.endswith(last) for k in needles):
        alternatives = b"|".join(regex.escape(k) for k in needles)
        return regex.compile(regex.escape(last) + b"(?<=" + alternatives + b")").search
    if len(needles) > 1 and len({k[:1] for k in needles}) > 1:
        # Needles that start differently (``auths``, ``registry_token``): one literal
        # search each is ~2x faster than an alternation, which ``re`` runs from a
        # character class at every byte (0.23 s against 0.91 s on 197 MB of JSON).
        searches = tuple(regex.compile(regex.escape(k)).search for k in needles)

        def search_each(data: bytes | bytearray, pos: int = 0, endpos: int = sys.maxsize) -> re.Match[bytes] | None:
            for search in searches:
                m = search(data, pos, endpos)
                if m is not None:
                    return m
            return None

        return search_each
    return regex.compile(b"|".join(regex.escape(k) for k in needles)).search


class CompiledRule:
    """A :class:`Rule` with its regexes compiled and its validator looked up."""

    __slots__ = ("allow", "has_keyword", "keywords", "regex", "requires", "rule", "validator")

    def __init__(
        self,
        rule: Rule,
        regex: re.Pattern[bytes],
        keywords: tuple[bytes, ...],
        requires: tuple[bytes, ...],
        allow: tuple[re.Pattern[str], ...],
        validator: Validator,
    ) -> None:
        self.rule = rule
        self.regex = regex
        self.keywords = keywords
        self.requires = requires
        self.allow = allow
        self.validator = validator
        self.has_keyword = keyword_search(keywords)


def compile_rules(rules: Iterable[Rule] = RULES, *, disabled: Iterable[str] = ()) -> list[CompiledRule]:
    off = set(disabled)
    out = []
    for rule in rules:
        if rule.id in off:
            continue
        out.append(
            CompiledRule(
                rule=rule,
                regex=regex.compile(rule.regex.encode()),
                keywords=tuple(k.encode() for k in rule.keywords),
                requires=tuple(k.encode() for k in rule.requires),
                allow=tuple(regex.compile(a) for a in rule.allow),
                validator=VALIDATORS[rule.validator],
            )
        )
    return out


def prefilter_keywords(rules: Sequence[CompiledRule]) -> tuple[bytes, ...]:
    """The fewest substrings that cover every rule (``rk_`` covers ``rk_live_``), common first."""
    every = {k for r in rules for k in r.keywords}
    minimal = [k for k in every if not any(o != k and o in k for o in every)]
    return tuple(sorted(minimal, key=len))


def key_lead(crule: CompiledRule) -> bytes | None:
    """The literal every match of a boundary rule starts with (``rk_``), or None.

    A rule with ``boundary`` whose pattern (after its ``(?P<secret>`` group
    opens) starts with the common prefix of its keywords, not made optional by
    a quantifier, with no top-level alternative: every match starts at an
    occurrence of that lead where :func:`boundary_ok` holds.  The prefilter
    then looks for such occurrences only (``xrk_``, ``network_``, ``fork_``
    cannot start a key), so a text holding no more than those is not scanned.
    """
    if not crule.rule.boundary or not crule.keywords:
        return None
    first, *others = crule.keywords
    lead = first
    for keyword in others:
        while not keyword.startswith(lead):
            lead = lead[:-1]
    pattern = crule.regex.pattern
    pattern = pattern.removeprefix(b"(?P<secret>")
    escaped = regex.escape(lead)
    if not lead or not pattern.startswith(escaped) or pattern[len(escaped) : len(escaped) + 1] in (b"?", b"*", b"{"):
        return None
    depth = 0
    escape = in_class = False
    for byte in pattern:  # after the group's opening: an alternative in it or after it starts a match elsewhere
        if escape:
            escape = False
        elif byte == 0x5C:
            escape = True
        elif in_class:
            in_class = byte != 0x5D
        elif byte == 0x5B:
            in_class = True
        elif byte == 0x28:
            depth += 1
        elif byte == 0x29:
            depth -= 1
        elif byte == 0x7C and depth <= 0:
            return None  # "a|b" at the top: a match may start with "b"
    return lead


def _at_boundary(k: bytes) -> bytes:
    """A regex that holds right after the lead ``k`` (itself a regex of one width) when :func:`boundary_ok` holds."""
    word = b"[" + regex.escape(bytes(sorted(_WORD))) + b"]"
    return b"(?:(?<!" + word + k + b")|(?<=\\\\[ntr]" + k + b")|(?<=%[0-9A-Fa-f][0-9A-Fa-f]" + k + b"))"


def key_start_search(leads: Iterable[bytes], others: Iterable[bytes] = ()) -> Callable[..., re.Match[bytes] | None]:
    """``search(data[, pos, endpos])``: a lead where a key may start (:func:`boundary_ok`), or any of ``others``.

    One ``re`` pass, anchored like :func:`keyword_search` at the leads' shared
    last byte when they have one (``_(?<=(?:rk_|rp_))(?:(?<![word](?:rk_|rp_))|...)``):
    the byte before the lead is no word character, or an escape's letter
    (``\\nrk_``), or the last of a URL-encoded byte (``%3Drk_``).  About the
    plain keyword search's cost (0.126 s against 0.119 s over the 239 MB of
    text in the interpreter's lib tree), and 3 files of it pass instead of 449.
    """
    needles = sorted(set(leads), key=lambda k: (-len(k), k))
    rest = sorted(set(others), key=lambda k: (-len(k), k))  # a lead's plain twin too: the plain search wins
    if not needles:
        return keyword_search(rest)
    last = needles[0][-1:]
    if all(len(k) == len(needles[0]) and k.endswith(last) for k in needles):
        # Leads of one length and last byte (rk_, rp_): from that byte, the cheap look behind
        # first (most "_" in code stop there), then the boundary, for whichever lead it was.
        alternatives = b"(?:" + b"|".join(regex.escape(k) for k in needles) + b")"
        pattern = regex.escape(last) + b"(?<=" + alternatives + b")" + _at_boundary(alternatives)
    else:
        pattern = b"(?:" + b"|".join(regex.escape(k) + _at_boundary(regex.escape(k)) for k in needles) + b")"
    if rest:
        pattern += b"|" + b"|".join(regex.escape(k) for k in rest)
    return regex.compile(pattern).search


# Encoded spellings of a key's "_" that configs really use: URL-encoding
# ("rk%5F…" in a query string or a form body) and JSON's \u escape ("rk\u005f…").
_ENCODED_PREFIX = regex.compile(rb"r[kp](?:%5[Ff]|\\u005[fF])")
_ESCAPED_UNDERSCORE = regex.compile(rb"%5[Ff]|\\u005[fF]")
# Any of the prefix's three characters escaped (``\u0072\u0070_``, ``\x72\x6b\x5f``), for
# :mod:`reactor_ci.scan.decode`'s depth: JSON, YAML and C-style string escapes.
_ESCAPED_PREFIX = regex.compile(
    rb"(?:\\u0072|\\x72)(?:p|k|\\u00(?:70|6[bB])|\\x(?:70|6[bB]))(?:_|\\u005[fF]|\\x5[fF])"
    rb"|r(?:\\u00(?:70|6[bB])|\\x(?:70|6[bB]))(?:_|\\u005[fF]|\\x5[fF])"
    rb"|r[kp]\\x5[fF]"
)
_ESCAPE = regex.compile(rb"\\u00([0-7][0-9a-fA-F])|\\x([0-7][0-9a-fA-F])|%5[Ff]")
# Prefilters for them.  Each costs another ``re`` pass over a file, about 60 %
# of the keyword prefilter's time, so a file without a plain keyword is searched
# for the URL form only up to ENCODED_MAX_SIZE bytes (configs, .env files,
# scripts), and for both forms when it is a JSON document; any file that holds
# a keyword (where a key may start), every staged blob and every history hunk is searched for both
# (:func:`scan_bytes`).  docs/scanning.md, "Encoded keys", has the numbers.
URL_ENCODED_SEARCH = regex.compile(rb"%5[Ff](?<=r[kp]%5[Ff])").search
JSON_ESCAPED_SEARCH = regex.compile(rb"\\u005[fF](?<=r[kp]\\u005[fF])").search
# An encoded key is decoded from at most this many bytes (a 512-character body, escaped).
_ENCODED_WINDOW = 4096


def encoded_search(data: bytes) -> re.Match[bytes] | None:
    """Does ``data`` hold a key prefix in an encoded form (``rk%5F``, ``rp\\u005f``)?"""
    return _ENCODED_PREFIX.search(data)


def pickaxe_pattern(rules: Sequence[CompiledRule], *, decode: bool = False) -> str:
    """A POSIX extended regex for ``git log -G``: every keyword, and the encoded key prefixes.

    ``decode``: also the base64 signatures and the escapes of one decoding
    level (:mod:`reactor_ci.scan.decode`), so a commit adding only a
    Kubernetes ``Secret`` is not filtered out.
    """
    words = [regex.escape(k.decode()) for k in prefilter_keywords(rules)]
    if any(r.rule.boundary for r in rules):
        words += ["r[kp]%5[Ff]", "r[kp][\\\\]u005[fF]"]
        if decode:
            words += ["cnBf|cmtf|J[wr]X|ycF|ya1", "[\\\\](u00|x)[57]"]
    return "|".join(words)


def boundary_ok(data: bytes, start: int) -> bool:
    """May a key start at ``data[start]``?  Not inside a longer word (``xrp_…``).

    The byte before must not be a word character (``-`` counts: URL-safe base64,
    JWTs), except after an escape (``\\nrp_…`` in JSON or notebooks) or a
    URL-encoded separator (``key%3Drp_…``).  Shared with the detect-secrets
    plugin, so both agree on where a key starts.
    """
    if start == 0:
        return True
    prev = data[start - 1]
    if prev not in _WORD:
        return True
    # An escape before the key: "\nrp_…" in JSON/notebooks, "\trk_…".
    if prev in b"ntr" and start >= 2 and data[start - 2] == 0x5C:
        return True
    # URL-encoded separator: "key%3Drp_…".
    return start >= 3 and data[start - 3] == 0x25 and data[start - 2] in _HEX and prev in _HEX


def _line_bounds(data: bytes, pos: int) -> tuple[int, int]:
    begin = data.rfind(b"\n", 0, pos) + 1
    end = data.find(b"\n", pos)
    return begin, len(data) if end < 0 else end


def _allowlisted(data: bytes, begin: int, end: int) -> bool:
    line = data[begin:end]
    if any(marker in line for marker in ALLOW_MARKERS):
        return True
    if begin > 0:
        prev_begin = data.rfind(b"\n", 0, begin - 1) + 1
        if ALLOW_NEXTLINE in data[prev_begin : begin - 1]:
            return True
    return False


JSON_START = regex.compile(rb"(?:\xef\xbb\xbf)?\s*[\[{]")


def is_json_document(data: bytes) -> bool:
    """Does ``data`` start like a JSON document (``{`` or ``[`` after blanks and a BOM)?"""
    return JSON_START.match(data) is not None


def text_prefilter(
    rules: Sequence[CompiledRule], decode_depth: int = 1, *, bulk: bool = False
) -> Callable[[bytes | bytearray, int], bool]:
    """``worth(data, n)``: may the text ``data[:n]`` hold a finding?  THE prefilter of every text scanned.

    False for most files: no keyword, and none of the encoded forms that the
    text's size and shape make worth a search.  Outside JSON documents a key
    rule's keyword counts only where a key may start (:func:`key_lead`,
    :func:`boundary_ok`): ``network_`` or ``xrk_`` holds ``rk_`` but no key,
    and no longer sends a big text on to every search of :func:`scan_bytes`
    (449 of the lib tree's 32k texts did; 3 do).  The encoded forms: up to ``ENCODED_MAX_SIZE``
    (configs, manifests, ``.env`` files) URL-encoding, escapes and base64
    (three literal ``re`` passes, each about the keyword prefilter's cost);
    in a bigger JSON document URL-encoding and escapes; in any other big text
    nothing but the keywords.  Files and archive members go through it before
    :func:`scan_bytes`.

    ``bulk``: many texts follow (a big tree, an archive, an image): with the
    ``fast`` extra, one Hyperscan pass answers "certainly not" for most of
    them before ``worth`` runs (:mod:`reactor_ci.scan.bulk`); same answers.
    """
    from reactor_ci.scan.decode import B64_SEARCHES, ESCAPE_SEARCH, RUN_SEARCH, WRAPPED_SEARCH, looks_wrapped

    text_rules = [r for r in rules if not r.rule.json_document]
    keywords = prefilter_keywords(text_rules)
    # A key rule's keyword counts where a key may start (its lead at a boundary); any
    # other rule's keyword anywhere (it may cover a lead: a plain "rk_live" rule).
    leads = {r: key_lead(r) for r in text_rules}
    lead_set = {lead for lead in leads.values() if lead is not None}
    plain = prefilter_keywords([r for r, lead in leads.items() if lead is None])
    has_keyword = key_start_search(lead_set, plain)
    json_keywords = prefilter_keywords([r for r in rules if r.rule.json_document])
    # In a JSON document, one pass finds the keywords and the JSON keywords that hold their
    # anchor byte (``registry_token`` has the ``_`` of ``rp_``); the others get their own.
    json_keyword_first, json_keywords = _anchored_search(keywords, json_keywords, leads=() if plain else lead_set)
    has_json_keyword = _literal_search(json_keywords) if json_keywords else None
    json_start = JSON_START.match
    # Each of these patterns starts with a byte that is rare in text (% or a backslash): memchr to its
    # first occurrence, then ``re`` from there; ``re`` alone steps byte by byte in C at a
    # fraction of memchr's speed (0.31 s against 0.05 s over the 197 MB of JSON the
    # interpreter's site-packages hold gzipped; docs/scanning.md, "Benchmark").
    url_encoded = _after(b"%", URL_ENCODED_SEARCH)
    json_escaped = _after(b"\\", JSON_ESCAPED_SEARCH)
    escaped = _after(b"\\", ESCAPE_SEARCH)
    # Two decoding levels and more: any run long enough to hold a key (opt-in, slower).
    b64_searches = (RUN_SEARCH,) if decode_depth > 1 else B64_SEARCHES if decode_depth > 0 else ()

    def encoded(data: bytes | bytearray, n: int) -> bool:
        if escaped(data, n):
            return True
        if decode_depth == 1 and looks_wrapped(data, n):
            return WRAPPED_SEARCH(data, 0, n) is not None  # base64's line breaks may split a signature
        return any(search(data, 0, n) is not None for search in b64_searches)

    def worth(data: bytes | bytearray, n: int) -> bool:
        if json_start(data, 0, n) is not None:
            if json_keyword_first(data, 0, n) is not None:
                return True
            small = n <= ENCODED_MAX_SIZE
            if (has_json_keyword is not None and has_json_keyword(data, n)) or url_encoded(data, n):
                return True
            if not b64_searches:
                return json_escaped(data, n)
            # The escape search covers ``\u005f`` too; base64 only in small documents.
            return encoded(data, n) if small else escaped(data, n)
        if has_keyword(data, 0, n) is not None:
            return True
        if n > ENCODED_MAX_SIZE:
            return False
        return url_encoded(data, n) or (bool(b64_searches) and encoded(data, n))

    if bulk and decode_depth <= 1:  # deeper levels search any long run: no needle to pass over
        from reactor_ci.scan.bulk import guarded

        fast = guarded(worth, prefilter_keywords(rules))
        if fast is not None:
            return fast
    return worth


# The prefilter of the last rule set seen: a tree of 1,300 small archives would otherwise
# build it (keyword patterns, a Hyperscan database) once per archive, ~10 % of their CPU;
# a parallel scan builds it before the fork, so its workers' archives reuse the parent's.
_SHARED: list[tuple[tuple[object, ...], Callable[[bytes | bytearray, int], bool]]] = []


def shared_prefilter(
    rules: Sequence[CompiledRule], decode_depth: int = 1, *, bulk: bool = False
) -> Callable[[bytes | bytearray, int], bool]:
    """:func:`text_prefilter`, built once for the last (rules, depth, bulk) asked for.

    The key holds the Hyperscan off switch too (``REACTOR_CI_NO_HYPERSCAN``):
    a process that changes it gets a prefilter built for the new value.
    """
    off = ""
    if bulk:
        import os

        from reactor_ci.scan.bulk import OFF_VAR

        off = os.environ.get(OFF_VAR, "")
    key = (tuple(rules), decode_depth, bulk, off)
    for cached, worth in _SHARED:
        if cached == key:
            return worth
    worth = text_prefilter(rules, decode_depth, bulk=bulk)
    _SHARED[:] = [(key, worth)]
    return worth


def _anchored_search(
    keywords: Sequence[bytes], extra: Sequence[bytes], *, leads: Collection[bytes] = ()
) -> tuple[Callable[..., re.Match[bytes] | None], tuple[bytes, ...]]:
    """(one search for ``keywords`` and some of ``extra``, the ``extra`` it does not cover).

    When :func:`keyword_search` anchors ``keywords`` at a common last byte
    (``_(?<=rk_|rp_)``), an extra needle holding that byte joins the same pass
    (``_(?:(?<=rk_|rp_)|(?<=registry_)token)``): ~0.13 s of ``re`` instead of
    0.13 s plus 0.12 s of ``bytes.find`` on the 197 MB of gzipped JSON.
    ``leads``: keywords that count only where a key may start (:func:`key_lead`);
    when every keyword is one, the first branch holds the boundary test too.
    """
    needles = sorted(set(keywords), key=lambda k: (-len(k), k))
    last = needles[0][-1:] if needles else b""
    anchored = len(needles) > 1 and all(len(k) == len(needles[0]) and k.endswith(last) for k in needles)
    joined = [k for k in extra if anchored and last in k and k not in needles]
    on_boundary = bool(needles) and all(k in leads for k in needles)
    if not joined:
        if on_boundary:
            return key_start_search(needles), tuple(extra)
        return keyword_search(keywords), tuple(extra)
    alternatives = b"(?:" + b"|".join(regex.escape(k) for k in needles) + b")"
    branches = [b"(?<=" + alternatives + b")" + (_at_boundary(alternatives) if on_boundary else b"")]
    for k in joined:
        cut = k.index(last) + 1
        branches.append(b"(?<=" + regex.escape(k[:cut]) + b")" + regex.escape(k[cut:]))
    pattern = regex.escape(last) + b"(?:" + b"|".join(branches) + b")"
    return regex.compile(pattern).search, tuple(k for k in extra if k not in joined)


def _after(byte: bytes, search: Callable[..., re.Match[bytes] | None]) -> Callable[[bytes | bytearray, int], bool]:
    """``found(data, n)``: ``search`` over ``data[:n]``, started at the first ``byte`` (its pattern's first byte)."""

    def found(data: bytes | bytearray, n: int) -> bool:
        pos = data.find(byte, 0, n)
        return pos >= 0 and search(data, pos, n) is not None

    return found


# scan_bytes' test for _ENCODED_PREFIX: the same matches, from memchr to "%" or a backslash.
_URL_ENCODED = _after(b"%", URL_ENCODED_SEARCH)
_JSON_ESCAPED = _after(b"\\", JSON_ESCAPED_SEARCH)


def _literal_search(needles: Sequence[bytes]) -> Callable[[bytes | bytearray, int], bool]:
    """``found(data, n)``: does any needle occur in ``data[:n]``?

    ``bytes.find`` for needles of 5 bytes and more (``auths``, ``registry_token``):
    its skip table jumps ahead by up to the needle's length, ~1.7x faster than
    ``re`` over JSON; short needles keep :func:`keyword_search`.
    """
    if any(len(k) < 5 for k in needles):
        search = keyword_search(needles)
        return lambda data, n: search(data, 0, n) is not None
    return lambda data, n: any(data.find(k, 0, n) >= 0 for k in needles)


def scan_bytes(
    data: bytes,
    path: str,
    rules: Sequence[CompiledRule],
    *,
    line_map: Sequence[int] | None = None,
    commit: str | None = None,
    fragment: bool = False,
    decode_depth: int = 1,
) -> list[Finding]:
    """Findings in ``data`` (text bytes, see :func:`reactor_ci.scan.files.prepare`).

    ``decode_depth``: levels of encoding (base64, ``\\u``/``\\x`` escapes)
    to look behind (:mod:`reactor_ci.scan.decode`); 0 turns decoding off.

    ``fragment``: ``data`` is part of a file (history hunks), so rules for JSON
    documents apply whatever the first byte is, and a rule's ``requires``
    context (which may sit in lines the commit did not touch) is not demanded.
    """
    findings: list[Finding] = []
    json_doc: bool | None = None
    for crule in rules:
        if crule.rule.json_document and not fragment:
            if json_doc is None:
                json_doc = is_json_document(data)
            if not json_doc:
                continue
        if crule.has_keyword(data) is None:
            continue
        if crule.requires and not fragment and not all(r in data for r in crule.requires):
            continue
        rule = crule.rule
        for m in crule.regex.finditer(data):
            start = m.start("secret")
            if rule.boundary and not boundary_ok(data, m.start()):
                continue
            if not crule.validator(m, rule.params):
                continue
            found = _finding_at(data, start, crule, m.group("secret"), path, line_map, commit)
            if found is not None:
                findings.append(found)
    # _ENCODED_PREFIX starts with "r", common in text: its two forms from their rare first bytes.
    n = len(data)
    if _URL_ENCODED(data, n) or _JSON_ESCAPED(data, n):
        findings.extend(_encoded_findings(data, path, rules, line_map, commit))
    if decode_depth > 0:
        from reactor_ci.scan import decode

        if _after(b"\\", decode.ESCAPE_SEARCH)(data, n) and _ESCAPED_PREFIX.search(data) is not None:
            findings.extend(_escaped_findings(data, path, rules, line_map, commit))
        if decode.might_hold_base64_key(data, decode_depth):
            decoded = decode.base64_findings(
                data, path, rules, decode_depth, line_map, commit, scan=scan_bytes, locate=_locate
            )
            # A key inside a secret another rule reports already (a docker config's
            # base64 "auth") is that finding, not a second one.
            spans = [(f.line, f.col, f.col + len(f.secret)) for f in findings]
            findings.extend(
                d for d in decoded if not any(line == d.line and lo <= d.col < hi for line, lo, hi in spans)
            )
    findings.sort(key=lambda f: (f.line, f.col, f.rule))
    return findings


def _encoded_findings(
    data: bytes,
    path: str,
    rules: Sequence[CompiledRule],
    line_map: Sequence[int] | None,
    commit: str | None,
) -> list[Finding]:
    """Keys whose ``_`` (and any other ``_`` in the body) is URL-encoded or ``\\u``-escaped.

    The key is decoded from a bounded window at the prefix and matched with the
    same rule, validator and allow-list; the finding points at the encoded text
    in the file, and its secret is the decoded key (what a leak exposes, what
    baselines and ``--verify`` use).
    """

    def decode(window: bytes) -> bytes:
        return _ESCAPED_UNDERSCORE.sub(b"_", window)

    return _prefix_decoded_findings(data, path, rules, line_map, commit, _ENCODED_PREFIX, decode, None)


def _unescape(m: re.Match[bytes]) -> bytes:
    code = m.group(1) or m.group(2)
    return bytes([int(code, 16)]) if code else b"_"


def _escaped_findings(
    data: bytes,
    path: str,
    rules: Sequence[CompiledRule],
    line_map: Sequence[int] | None,
    commit: str | None,
) -> list[Finding]:
    """Keys whose prefix is written with ``\\u00XX``/``\\xXX`` escapes, decoded from a bounded window."""

    def decode(window: bytes) -> bytes:
        return _ESCAPE.sub(_unescape, window)

    return _prefix_decoded_findings(data, path, rules, line_map, commit, _ESCAPED_PREFIX, decode, "escape")


def _prefix_decoded_findings(
    data: bytes,
    path: str,
    rules: Sequence[CompiledRule],
    line_map: Sequence[int] | None,
    commit: str | None,
    prefix: re.Pattern[bytes],
    decode: Callable[[bytes], bytes],
    encoding: str | None,
) -> list[Finding]:
    """Keys whose prefix ``prefix`` finds in an encoded form: the bounded window after it is ``decode``d, then
    matched by the first key rule whose regex and validator accept it (one rule per prefix)."""
    key_rules = [c for c in rules if c.rule.boundary]
    findings: list[Finding] = []
    for m in prefix.finditer(data):
        start = m.start()
        if not boundary_ok(data, start):
            continue
        decoded = decode(data[start : start + _ENCODED_WINDOW])
        for crule in key_rules:
            km = crule.regex.match(decoded)
            if km is None or km.start("secret") != 0 or not crule.validator(km, crule.rule.params):
                continue
            found = _finding_at(data, start, crule, km.group("secret"), path, line_map, commit)
            if found is not None:
                if encoding is not None:
                    found.encoding = encoding
                findings.append(found)
            break
    return findings


def _locate(data: bytes, pos: int, line_map: Sequence[int] | None) -> tuple[int, int] | None:
    """(line, column) of ``data[pos]``, 1-based, or None when its line is allow-listed."""
    begin, end = _line_bounds(data, pos)
    if _allowlisted(data, begin, end):
        return None
    index = data.count(b"\n", 0, begin)
    line = line_map[index] if line_map is not None else index + 1
    return line, len(data[begin:pos].decode("utf-8", "replace")) + 1


def _finding_at(
    data: bytes,
    start: int,
    crule: CompiledRule,
    raw_secret: bytes,
    path: str,
    line_map: Sequence[int] | None,
    commit: str | None,
) -> Finding | None:
    """The finding for a validated match at ``data[start]``, or None when it is allow-listed."""
    secret = raw_secret.decode("utf-8", "surrogateescape")
    if any(a.search(secret) for a in crule.allow):
        return None
    begin, end = _line_bounds(data, start)
    if _allowlisted(data, begin, end):
        return None
    index = data.count(b"\n", 0, begin)
    line = line_map[index] if line_map is not None else index + 1
    col = len(data[begin:start].decode("utf-8", "replace")) + 1
    return Finding(crule.rule.id, crule.rule.description, path, line, col, secret, commit)
