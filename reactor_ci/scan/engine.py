"""The generic engine: walk the rule table over bytes, report findings.

Hot path, in this order: one keyword prefilter per file (a single ``re``
search for all keywords at once, over a reused read buffer: see
:func:`keyword_search`), then the rule's regex only where a keyword occurs,
then the validator only on regex matches.  Files are read as bytes and never decoded
unless they carry a UTF-16/32 byte order mark (or look like BOM-less UTF-16);
keys are ASCII, so the bytes regexes work on UTF-8, Latin-1 or any other
ASCII-compatible encoding alike.
"""

from __future__ import annotations

import errno
import os
import re
import stat
from collections.abc import Callable, Iterable, Iterator, Sequence

from reactor_ci.scan.rules import RULES, Rule

# reactor_ci.redact, reactor_ci.scan.shape and base64 are imported where they
# are used (a finding, a keyword hit, a Docker config): a clean pre-commit
# batch never needs them (~1.5 ms of imports and regex compiles).

TYPE_CHECKING = False  # typing costs ~3 ms to import; mypy treats this name as True
if TYPE_CHECKING:
    from typing import Any

__all__ = [
    "DEFAULT_BASELINE",
    "DEFAULT_MAX_SIZE",
    "VALIDATORS",
    "CompiledRule",
    "Finding",
    "Skipped",
    "compile_rules",
    "is_json_document",
    "iter_files",
    "prefilter_keywords",
    "prepare",
    "read_file",
    "scan_bytes",
    "scan_paths",
]

DEFAULT_MAX_SIZE = 5 * 1024 * 1024
DEFAULT_BASELINE = ".reactor-ci-baseline.json"
BINARY_SNIFF = 8192
ALLOW_MARKERS = (b"pragma: allowlist secret", b"reactor-ci: allow")
ALLOW_NEXTLINE = b"pragma: allowlist nextline secret"
# "-" counts as a word character: "-rp_…" inside URL-safe base64 or a JWT is not a key.
_WORD = frozenset(b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_-")
_HEX = frozenset(b"0123456789abcdefABCDEF")
_SKIP_DIRS = frozenset({".git", ".hg", ".svn"})


class Finding:
    """One leaked secret.  ``secret`` is never printed: use :attr:`redacted`.

    A plain class (not a dataclass): importing dataclasses costs ~7 ms, paid
    on every pre-commit batch.
    """

    __slots__ = ("col", "commit", "description", "line", "path", "rule", "secret")

    def __init__(
        self,
        rule: str,
        description: str,
        path: str,
        line: int,
        col: int,
        secret: str,
        commit: str | None = None,
    ) -> None:
        self.rule = rule
        self.description = description
        self.path = path
        self.line = line
        self.col = col
        self.secret = secret
        self.commit = commit

    def __repr__(self) -> str:
        return f"Finding({self.rule}, {self.path}:{self.line}:{self.col}, {self.redacted})"

    @property
    def redacted(self) -> str:
        from reactor_ci.redact import redact

        return redact(self.secret)

    @property
    def fingerprint(self) -> str:
        """sha256(path NUL secret): stable when lines move, so baselines do not churn."""
        import hashlib

        return hashlib.sha256(f"{self.path}\0{self.secret}".encode("utf-8", "surrogateescape")).hexdigest()

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "path": self.path,
            "line": self.line,
            "col": self.col,
            "rule": self.rule,
            "description": self.description,
            "redacted": self.redacted,
            "fingerprint": self.fingerprint,
        }
        if self.commit:
            out["commit"] = self.commit
        return out


class Skipped:
    __slots__ = ("path", "reason")

    def __init__(self, path: str, reason: str) -> None:
        self.path = path
        self.reason = reason

    def __repr__(self) -> str:
        return f"Skipped({self.path!r}, {self.reason!r})"


if TYPE_CHECKING:
    Validator = Callable[[re.Match[bytes], dict[str, Any]], bool]


def _text(m: re.Match[bytes], group: str) -> str:
    return m.group(group).decode("ascii", "replace")


def _key_body(m: re.Match[bytes], params: dict[str, Any]) -> bool:
    from reactor_ci.scan.shape import key_body_problem

    return key_body_problem(_text(m, "body"), **params) is None


def _stripe_body(m: re.Match[bytes], params: dict[str, Any]) -> bool:
    from reactor_ci.scan.shape import placeholder_reason

    body = _text(m, "body")
    return (
        len(body) >= int(params.get("min_len", 10))
        and len(set(body)) >= int(params.get("min_distinct", 6))
        and placeholder_reason(body) is None
    )


def _opaque_value(m: re.Match[bytes], params: dict[str, Any]) -> bool:
    from reactor_ci.scan.shape import placeholder_reason

    value = _text(m, "secret")
    if value[:1] in ("<", "$", "{", "%") or value.startswith(("***", "REDACTED")):
        return False
    return (
        len(value) >= int(params.get("min_len", 8))
        and len(set(value)) >= int(params.get("min_distinct", 6))
        and placeholder_reason(value) is None
    )


def _host_matches(host: str, patterns: Sequence[str]) -> bool:
    host = host.lower()
    if "://" in host:
        host = host.split("://", 1)[1]
    host = host.split("/", 1)[0]
    hostname = host.rsplit(":", 1)[0] if host.count(":") == 1 else host
    return any(hostname == p or (p.startswith(".") and hostname.endswith(p)) for p in patterns)


def _docker_auth(m: re.Match[bytes], params: dict[str, Any]) -> bool:
    import base64
    import binascii

    from reactor_ci.scan.shape import key_body_problem

    try:
        decoded = base64.b64decode(m.group("secret"), validate=True).decode("utf-8", "replace")
    except (binascii.Error, ValueError):
        return False
    _user, sep, password = decoded.partition(":")
    if not sep or not password:
        return False
    if _host_matches(_text(m, "host"), params.get("hosts", ())):
        return True
    # Any registry whose password is a Reactor key is a Reactor login too.
    return password.startswith(("rp_", "rk_")) and key_body_problem(password[3:]) is None


VALIDATORS: dict[str, Validator] = {
    "key_body": _key_body,
    "stripe_body": _stripe_body,
    "opaque_value": _opaque_value,
    "docker_auth": _docker_auth,
}


def keyword_search(keywords: Iterable[bytes]) -> Callable[..., re.Match[bytes] | None]:
    """``search(data[, pos, endpos])``: does any of ``keywords`` occur?

    One pass of ``re`` over the data: for 3-byte needles such as ``rp_`` this
    is 2-3x faster than ``k in data`` per keyword (CPython's substring search
    skips at most len(needle)+1 bytes at a time, and ``_`` is common in code),
    and it works on a ``bytearray`` read buffer without copying it.

    ``re`` scans for the pattern's first byte and tries a match at each one.
    When every keyword has the same length and last byte (``rp_``, ``rk_``),
    the pattern starts at that byte and looks behind for the rest
    (``_(?<=rk_|rp_)``): ``_`` is rarer than ``r`` in source code, so ~15%
    fewer match attempts (docs/scanning.md, "Benchmark").
    """
    needles = sorted(set(keywords), key=lambda k: (-len(k), k))
    if not needles:
        return re.compile(b"(?!)").search  # no keyword: never matches, like any(()) is False
    last = needles[0][-1:]
    if len(needles) > 1 and all(len(k) == len(needles[0]) and k.endswith(last) for k in needles):
        alternatives = b"|".join(re.escape(k) for k in needles)
        return re.compile(re.escape(last) + b"(?<=" + alternatives + b")").search
    return re.compile(b"|".join(re.escape(k) for k in needles)).search


class CompiledRule:
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
                regex=re.compile(rule.regex.encode()),
                keywords=tuple(k.encode() for k in rule.keywords),
                requires=tuple(k.encode() for k in rule.requires),
                allow=tuple(re.compile(a) for a in rule.allow),
                validator=VALIDATORS[rule.validator],
            )
        )
    return out


def _boundary_ok(data: bytes, start: int) -> bool:
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


_JSON_START = re.compile(rb"(?:\xef\xbb\xbf)?\s*[\[{]")


def is_json_document(data: bytes) -> bool:
    """Does ``data`` start like a JSON document (``{`` or ``[`` after blanks and a BOM)?"""
    return _JSON_START.match(data) is not None


def scan_bytes(
    data: bytes,
    path: str,
    rules: Sequence[CompiledRule],
    *,
    line_map: Sequence[int] | None = None,
    commit: str | None = None,
    fragment: bool = False,
) -> list[Finding]:
    """Findings in ``data`` (already :func:`prepare`-d text bytes).

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
            if rule.boundary and not _boundary_ok(data, m.start()):
                continue
            if not crule.validator(m, rule.params):
                continue
            secret = m.group("secret").decode("utf-8", "surrogateescape")
            if any(a.search(secret) for a in crule.allow):
                continue
            begin, end = _line_bounds(data, start)
            if _allowlisted(data, begin, end):
                continue
            index = data.count(b"\n", 0, begin)
            line = line_map[index] if line_map is not None else index + 1
            col = len(data[begin:start].decode("utf-8", "replace")) + 1
            findings.append(Finding(rule.id, rule.description, path, line, col, secret, commit))
    findings.sort(key=lambda f: (f.line, f.col, f.rule))
    return findings


def _looks_utf16(head: bytes) -> str | None:
    even = head[0::2]
    odd = head[1::2]
    if not even or not odd:
        return None
    if odd.count(0) > 0.9 * len(odd) and even.count(0) < 0.1 * len(even):
        return "utf-16-le"
    if even.count(0) > 0.9 * len(even) and odd.count(0) < 0.1 * len(odd):
        return "utf-16-be"
    return None


_BOMS = (
    (b"\xff\xfe\x00\x00", "utf-32"),
    (b"\x00\x00\xfe\xff", "utf-32"),
    (b"\xff\xfe", "utf-16"),
    (b"\xfe\xff", "utf-16"),
)


def prepare(data: bytes) -> bytes | None:
    """Text bytes to scan, or None for a binary file (a NUL byte in the first 8 KB).

    UTF-16/32 text (with a BOM, or BOM-less UTF-16 by its NUL pattern) is
    transcoded to UTF-8 so the ASCII rules see it.
    """
    head = data[:BINARY_SNIFF]
    if b"\0" not in head:
        return data
    encoding = _text_encoding(head)
    if encoding is None:
        return None
    return data.decode(encoding, "replace").encode("utf-8", "surrogateescape")


def _text_encoding(head: bytes) -> str | None:
    """The UTF-16/32 encoding of a head with NUL bytes, or None: binary."""
    return next((enc for bom, enc in _BOMS if head.startswith(bom)), None) or _looks_utf16(head)


def _binary(head: bytes) -> bool:
    """Would :func:`prepare` call a file starting with ``head`` (its first 8 KB) binary?"""
    return b"\0" in head and _text_encoding(head) is None


_OPEN_FLAGS = os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_BINARY", 0)


def read_file(path: str, max_size: int = DEFAULT_MAX_SIZE) -> tuple[bytes | None, str | None]:
    """(data, None), or (None, why it was skipped).  Never follows a symlink."""
    try:
        fd = os.open(path, _OPEN_FLAGS)
    except FileNotFoundError:
        return None, "vanished"
    except OSError as exc:
        if exc.errno == errno.ELOOP:
            return None, "symlink"
        return None, f"unreadable ({exc.strerror})"
    try:
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode):
            return None, "not a regular file"
        if st.st_size > max_size:
            return None, f"larger than {max_size} bytes"
        chunks = []
        remaining = max_size + 1
        while remaining > 0:  # a file may grow or shrink while we read it
            chunk = os.read(fd, min(remaining, max(st.st_size, 65536) + 1))
            if not chunk:
                break
            chunks.append(chunk)
            remaining -= len(chunk)
        data = chunks[0] if len(chunks) == 1 else b"".join(chunks)
        if len(data) > max_size:
            return None, f"larger than {max_size} bytes"
        return data, None
    except OSError as exc:
        return None, f"unreadable ({exc.strerror})"
    finally:
        os.close(fd)


def iter_files(paths: Iterable[str], skipped: list[Skipped]) -> Iterator[str]:
    """Files under ``paths`` (directories walked), symlinks never followed."""
    for path in paths:
        try:
            st = os.lstat(path)
        except FileNotFoundError:
            skipped.append(Skipped(path, "vanished"))
            continue
        except OSError as exc:
            skipped.append(Skipped(path, f"unreadable ({exc.strerror})"))
            continue
        if stat.S_ISLNK(st.st_mode):
            skipped.append(Skipped(path, "symlink"))
        elif stat.S_ISDIR(st.st_mode):
            yield from _walk(path, skipped)
        else:
            yield path


def _walk(top: str, skipped: list[Skipped]) -> Iterator[str]:
    stack = [top]
    while stack:
        current = stack.pop()
        try:
            entries = sorted(os.scandir(current), key=lambda e: e.name)
        except OSError:
            skipped.append(Skipped(current, "unreadable directory"))
            continue
        subdirs = []
        for entry in entries:
            if entry.is_symlink():
                continue
            if entry.is_dir(follow_symlinks=False):
                if entry.name not in _SKIP_DIRS:
                    subdirs.append(entry.path)
            elif entry.is_file(follow_symlinks=False):
                yield entry.path
        stack.extend(reversed(subdirs))


def display_path(path: str) -> str:
    """Relative, forward-slash path: what baselines and reports key on."""
    if os.path.isabs(path):
        try:
            rel = os.path.relpath(path)
            if not rel.startswith(".."):
                path = rel
        except ValueError:
            pass
    path = os.path.normpath(path)
    return path.replace(os.sep, "/") if os.sep != "/" else path


def prefilter_keywords(rules: Sequence[CompiledRule]) -> tuple[bytes, ...]:
    """The fewest substrings that cover every rule (``rk_`` covers ``rk_live_``), common first."""
    every = {k for r in rules for k in r.keywords}
    minimal = [k for k in every if not any(o != k and o in k for o in every)]
    return tuple(sorted(minimal, key=len))


# Files up to this size are read into one reused buffer (it stays in the CPU
# cache, and no fresh pages are faulted in per file); bigger ones into bytes.
_BUFFER_SIZE = 256 * 1024
_readv = getattr(os, "readv", None)  # POSIX only; elsewhere every file goes through read_file


def _read_small(path: str, view: memoryview, max_size: int) -> tuple[int, str | None]:
    """Read a file into ``view`` (the reused buffer): (length, None), or (-1, why it was skipped).

    (-2, None): the file does not fit the buffer; read it with :func:`read_file`.
    Same rules as :func:`read_file` (never follows a symlink, regular files
    only, the size cap), one open/fstat/read/close per file in the common case.
    """
    assert _readv is not None
    try:
        fd = os.open(path, _OPEN_FLAGS)
    except FileNotFoundError:
        return -1, "vanished"
    except OSError as exc:
        if exc.errno == errno.ELOOP:
            return -1, "symlink"
        return -1, f"unreadable ({exc.strerror})"
    try:
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode):
            return -1, "not a regular file"
        size = st.st_size
        if size > max_size:
            return -1, f"larger than {max_size} bytes"
        capacity = len(view)
        if size >= capacity:
            return -2, None
        n = _readv(fd, [view])
        # Done when the read returned exactly the size fstat saw; otherwise (a
        # short read, a file that grew or shrank meanwhile) read on to EOF.
        while n != size:
            if n >= capacity:
                return -2, None
            more = _readv(fd, [view[n:]])
            if not more:
                break
            n += more
        if n > max_size:
            return -1, f"larger than {max_size} bytes"
        return n, None
    except OSError as exc:
        return -1, f"unreadable ({exc.strerror})"
    finally:
        os.close(fd)


def _scan_files(
    files: Sequence[str], rules: Sequence[CompiledRule], max_size: int
) -> tuple[list[Finding], list[Skipped], int]:
    has_keyword = keyword_search(prefilter_keywords([r for r in rules if not r.rule.json_document]))
    json_keywords = prefilter_keywords([r for r in rules if r.rule.json_document])
    has_json_keyword = keyword_search(json_keywords) if json_keywords else None
    json_start = _JSON_START.match
    findings: list[Finding] = []
    skipped: list[Skipped] = []
    count = 0
    buf = bytearray(_BUFFER_SIZE if _readv is not None else 0)
    view = memoryview(buf)
    data: bytes | bytearray | None
    for path in files:
        n = -2
        if _readv is not None:
            n, why = _read_small(path, view, max_size)
        if n == -2:
            data, why = read_file(path, max_size)
            if data is not None:
                n = len(data)
        else:
            data = buf if n >= 0 else None
        if data is None:
            skipped.append(Skipped(display_path(path), why or "unreadable"))
            continue
        count += 1
        # Prefilter before anything else: most files hold no keyword at all.
        # (UTF-16 text fails this test; it is sniffed for below.)
        if (
            has_keyword(data, 0, n) is None
            and not (
                has_json_keyword is not None
                and json_start(data, 0, n) is not None
                and has_json_keyword(data, 0, n) is not None
            )
            and data.find(b"\0", 0, min(n, BINARY_SNIFF)) < 0
        ):
            continue
        if _binary(bytes(data[: min(n, BINARY_SNIFF)])):
            skipped.append(Skipped(display_path(path), "binary"))
            continue
        text = prepare(bytes(view[:n]) if data is buf else bytes(data))
        if text is None:  # not reached: _binary said it is text
            skipped.append(Skipped(display_path(path), "binary"))
            continue
        findings.extend(scan_bytes(text, display_path(path), rules))
    view.release()
    return findings, skipped, count


# Forking pays off only on big trees: a pre-commit batch stays in one process.
PARALLEL_MIN_FILES = 400
_MAX_WORKERS = 8


def _workers() -> int:
    if not hasattr(os, "fork"):
        return 1
    if os.environ.get("PRE_COMMIT") == "1":
        # pre-commit already runs one process per CPU, each with a batch of files.
        return 1
    try:
        cpus = len(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        cpus = os.cpu_count() or 1
    return max(1, min(cpus, _MAX_WORKERS))


def _encode(result: tuple[list[Finding], list[Skipped], int]) -> bytes:
    import marshal  # builtin: no import cost worth naming

    findings, skipped, count = result
    return marshal.dumps(
        (
            [(f.rule, f.description, f.path, f.line, f.col, f.secret, f.commit) for f in findings],
            [(s.path, s.reason) for s in skipped],
            count,
        )
    )


def _decode(blob: bytes) -> tuple[list[Finding], list[Skipped], int]:
    import marshal

    raw_findings, raw_skipped, count = marshal.loads(blob)  # noqa: S302 - from our own forked child
    return [Finding(*f) for f in raw_findings], [Skipped(*s) for s in raw_skipped], count


def _scan_parallel(
    files: Sequence[str], rules: Sequence[CompiledRule], max_size: int, workers: int
) -> tuple[list[Finding], list[Skipped], int]:
    """Scan in ``workers`` forked processes (the prefilter is CPU-bound and holds the GIL).

    Children send their results back over a pipe (in memory, never to disk),
    then leave with ``os._exit``.
    """
    shares = [files[i::workers] for i in range(workers)]
    children: list[tuple[int, int]] = []
    for share in shares[1:]:
        read_end, write_end = os.pipe()
        pid = os.fork()
        if pid == 0:  # child
            code = 0
            try:
                os.close(read_end)
                blob = _encode(_scan_files(share, rules, max_size))
                with os.fdopen(write_end, "wb") as out:
                    out.write(blob)
            except BaseException:
                code = 1
            finally:
                os._exit(code)
        os.close(write_end)
        children.append((pid, read_end))
    findings, skipped, count = _scan_files(shares[0], rules, max_size)
    for pid, read_end in children:
        with os.fdopen(read_end, "rb") as inp:
            blob = inp.read()
        _, status = os.waitpid(pid, 0)
        if status != 0 or not blob:
            raise OSError("a scan worker process failed")
        more_findings, more_skipped, more_count = _decode(blob)
        findings.extend(more_findings)
        skipped.extend(more_skipped)
        count += more_count
    order = {path: i for i, path in enumerate(files)}
    findings.sort(key=lambda f: (order.get(f.path, 0), f.line, f.col, f.rule))
    return findings, skipped, count


def scan_paths(
    paths: Iterable[str],
    rules: Sequence[CompiledRule],
    *,
    max_size: int = DEFAULT_MAX_SIZE,
    skipped: list[Skipped] | None = None,
    workers: int | None = None,
) -> tuple[list[Finding], int]:
    """Scan files and directories; returns (findings, number of files read)."""
    skipped = [] if skipped is None else skipped
    files = list(iter_files(paths, skipped))
    n = _workers() if workers is None else max(1, workers)
    if n > 1 and len(files) >= PARALLEL_MIN_FILES:
        findings, more_skipped, count = _scan_parallel(files, rules, max_size, n)
    else:
        findings, more_skipped, count = _scan_files(files, rules, max_size)
    skipped.extend(more_skipped)
    return findings, count
