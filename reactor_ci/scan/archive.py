"""Archives and compressed files as a SOURCE of text: ``outer!inner!member``, bounded.

Public contract (used by the CLI, the staged and history modes, and the
docker image scanner in :mod:`reactor_ci.scan.image`):

- :class:`Limits`: an immutable record of every bound, with safe defaults
  (``Limits()``); ``Limits(max_depth=2)`` or ``limits.replace(...)`` change some.
- :func:`scan_stream` ``(stream, display_path, rules, *, limits, notes, decode_depth)``
  scans a readable binary stream, seekable or not (a ``docker save`` pipe, a
  registry layer blob): a tar of any compression is read with ``tarfile`` in
  stream mode (``r|``), never seeking; a zip is buffered in memory up to
  ``limits.max_buffer`` (a zip's directory is at its end); anything else is a
  file's bytes (a ``.gz`` log, a text file) and is scanned as text.
- :func:`scan_file` ``(path, display_path, rules, ...)``: the same for a file
  on disk (a zip is read in place, seeking, never buffered whole).
- :func:`scan_data` ``(data, display_path, rules, ...)``: the same for bytes in
  memory (a staged blob read by object id, a history blob).
- :func:`archive_kind` ``(head)``: ``"zip"``, ``"tar"``, ``"gzip"``,
  ``"bzip2"``, ``"xz"`` or None, from a file's first bytes (at least 263 for
  tar); by content, never by name.

Each yields :class:`~reactor_ci.scan.finding.Finding` objects whose ``path``
is ``display_path!inner!member`` (one ``!`` per level; a compressed single
file ``app.log.gz`` holds the member ``app.log``) and whose ``member`` is the
part after ``display_path``; ``line``/``col`` are within the member's own
text.  The detector never knows it read from an archive: each member goes
through :func:`reactor_ci.scan.matching.scan_bytes` like any file.

Every limit is enforced here, at the source: nesting depth, members per
archive, decompressed bytes per top-level file (all levels together), the
compression ratio, the size of one member scanned as text, the memory held
for a nested zip.  A member cut off or skipped is appended to ``notes`` as a
:class:`~reactor_ci.scan.finding.Skipped` (``path!member``, reason); nothing
is ever extracted to disk, links are never followed, names are only
displayed (``../x`` is a label, never a path that is opened), and a corrupt,
truncated or password-protected archive is a note, never a traceback.
"""

from __future__ import annotations

import bz2
import io
import lzma
import os
import stat
import tarfile
import zipfile
import zlib
from collections.abc import Callable, Generator, Iterator, Sequence

from reactor_ci.scan.files import DEFAULT_MAX_SIZE, archive_kind, prepare
from reactor_ci.scan.finding import ARCHIVE_NOTE, Finding, Skipped
from reactor_ci.scan.matching import CompiledRule, scan_bytes, shared_prefilter

TYPE_CHECKING = False  # typing costs ~3.5 ms to import, in every worker of a big scan; mypy treats this name as True
if TYPE_CHECKING:
    from typing import IO, Any

__all__ = ["ARCHIVE_KINDS", "NOTE_PREFIX", "Limits", "archive_kind", "scan_data", "scan_file", "scan_stream"]

ARCHIVE_KINDS = ("zip", "tar", "gzip", "bzip2", "xz")
_CHUNK = 1 << 16
_SEP = "!"
NOTE_PREFIX = ARCHIVE_NOTE
_MAGIC = {"gzip": b"\x1f\x8b", "bzip2": b"BZh", "xz": b"\xfd7zXZ\x00"}


class Limits:
    """Bounds on what one top-level file may cost; every default is safe for CI.

    ``max_depth``: containers within containers (``image.tar!layer.tar!x.whl``
    is depth 3; deeper ones are a note).  ``max_total_bytes``: decompressed
    bytes read from one top-level file, every level together (a bomb stops
    here).  ``max_ratio``: decompressed/compressed bytes of one stream or
    member, checked once it passes ``ratio_floor`` bytes (text compresses
    5-20x; a bomb 1000x).  ``max_member_size``: one member scanned as text
    (like ``--max-size`` for files).  ``max_members``: entries per archive.
    ``max_buffer``: bytes held in memory for a zip read from a stream (its
    directory is at its end).  ``max_name``: characters of a member name shown.

    Immutable; :meth:`replace` makes a changed copy.  A plain class with
    ``__slots__``, not a dataclass: importing dataclasses (and inspect) costs
    ~7 ms, paid by every worker of a big scan at its first archive.
    """

    __slots__ = (
        "max_buffer",
        "max_depth",
        "max_member_size",
        "max_members",
        "max_name",
        "max_ratio",
        "max_total_bytes",
        "ratio_floor",
    )
    max_depth: int
    max_total_bytes: int
    max_ratio: int
    ratio_floor: int
    max_member_size: int
    max_members: int
    max_buffer: int
    max_name: int

    def __init__(
        self,
        max_depth: int = 4,
        max_total_bytes: int = 2 * 1024**3,
        max_ratio: int = 200,
        ratio_floor: int = 8 * 1024 * 1024,
        max_member_size: int = DEFAULT_MAX_SIZE,
        max_members: int = 100_000,
        max_buffer: int = 256 * 1024 * 1024,
        max_name: int = 512,
    ) -> None:
        given = locals()
        for name, _default in self.DEFAULTS:
            value = given[name]
            if not isinstance(value, int) or isinstance(value, bool) or value < (0 if name == "max_depth" else 1):
                raise ValueError(f"archive limit {name} must be a positive integer, not {value!r}")
            object.__setattr__(self, name, value)

    # The fields in their order, with their defaults: the constructor's own, its one home.
    DEFAULTS: tuple[tuple[str, int], ...] = tuple(
        zip(
            __init__.__code__.co_varnames[1 : 1 + len(__init__.__defaults__ or ())],
            __init__.__defaults__ or (),
            strict=True,
        )
    )

    def _values(self) -> tuple[int, ...]:
        return tuple(getattr(self, name) for name, _ in self.DEFAULTS)

    def replace(self, **changes: int) -> Limits:
        """A copy with ``changes`` (checked like the constructor's arguments)."""
        values = {name: getattr(self, name) for name, _ in self.DEFAULTS}
        unknown = set(changes) - set(values)
        if unknown:
            raise TypeError(f"unknown archive limit {sorted(unknown)[0]!r}")
        values.update(changes)
        return Limits(**values)

    def __setattr__(self, name: str, value: object) -> None:
        raise AttributeError(f"archive limits are immutable: use replace({name}=...)")

    def __delattr__(self, name: str) -> None:
        raise AttributeError("archive limits are immutable")

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Limits) and self._values() == other._values()

    def __hash__(self) -> int:
        return hash(self._values())

    def __repr__(self) -> str:
        return "Limits(" + ", ".join(f"{name}={getattr(self, name)!r}" for name, _ in self.DEFAULTS) + ")"


DEFAULT_LIMITS = Limits()


class _Budget:
    """Decompressed bytes left for one top-level file, and the notes it collects."""

    __slots__ = ("left", "limits", "notes", "stopped")

    def __init__(self, limits: Limits, notes: list[Skipped]) -> None:
        self.limits = limits
        self.left = limits.max_total_bytes
        self.notes = notes
        self.stopped = False

    def note(self, path: str, reason: str) -> None:
        self.notes.append(Skipped(path, NOTE_PREFIX + reason))


class _LimitExceeded(Exception):
    """A bound was hit inside a stream: the reader stops, the caller notes why."""


# What reading a damaged archive raises (tarfile, zipfile, zlib, bz2/lzma, the file system).
_READ_ERRORS = (tarfile.TarError, zipfile.BadZipFile, OSError, EOFError, ValueError, zlib.error, lzma.LZMAError)


def _decompressor(kind: str) -> Any:
    if kind == "gzip":
        return zlib.decompressobj(16 + zlib.MAX_WBITS)
    if kind == "bzip2":
        return bz2.BZ2Decompressor()
    return lzma.LZMADecompressor()


# Compressed files up to this size are inflated in one call when they hold one text.
_INFLATE_ONCE_MAX = 4 * 1024 * 1024
# The one-call gzip inflater and what it raises on bad data: zlib's, or ISA-L's (the
# ``isal`` wheel, ``reactor-ci[fast]``: ~2.3x faster on the interpreter's 197 MB of
# gzipped JSON, same output, same ``eof``/``unused_data``), looked up on first use.
_GZIP_ONCE: list[tuple[Callable[..., Any], tuple[type[Exception], ...]]] = []


def _gzip_once() -> tuple[Callable[..., Any], tuple[type[Exception], ...]]:
    if not _GZIP_ONCE:
        try:
            from isal import isal_zlib  # type: ignore[import-not-found,unused-ignore]

            isal_error: type[Exception] = isal_zlib.error  # type: ignore[assignment]  # its stub says an instance
            _GZIP_ONCE.append((isal_zlib.decompressobj, (isal_error,)))
        except ImportError:
            _GZIP_ONCE.append((zlib.decompressobj, ()))
    return _GZIP_ONCE[0]


class _Decompressed(io.RawIOBase):
    """A bounded, read-only view of a decompressed stream (gzip, bzip2, xz).

    Counts every byte against the file's budget and the stream's ratio, so a
    bomb stops at the first bound; multi-member gzip and concatenated bz2/xz
    streams are followed like the command-line tools do.
    """

    def __init__(self, raw: IO[bytes], kind: str, budget: _Budget) -> None:
        self._raw = raw
        self._kind = kind
        self._budget = budget
        self._dec = self._new()
        self._pending = b""
        self._in = 0
        self._out = 0
        self._eof = False

    def _new(self) -> Any:
        return _decompressor(self._kind)

    def readable(self) -> bool:
        return True

    def _more(self, want: int) -> bytes:
        gzip = self._kind == "gzip"
        while True:
            dec = self._dec
            if gzip and dec.unconsumed_tail:
                return bytes(dec.decompress(dec.unconsumed_tail, want))
            if not gzip and not dec.eof and not dec.needs_input:
                out = dec.decompress(b"", want)  # output held back by the last max_length
                if out:
                    return bytes(out)
            if dec.eof:
                rest = dec.unused_data
                if not rest:
                    rest = self._raw.read(_CHUNK)
                    self._in += len(rest)
                if not rest or not rest.startswith(_MAGIC[self._kind]):
                    self._eof = True  # trailing bytes after the last stream are ignored, like gzip -d
                    return b""
                self._dec = self._new()  # the next member of a multi-member file
                self._pending = rest
                continue
            data, self._pending = self._pending, b""
            if not data:
                data = self._raw.read(_CHUNK)
                if not data:
                    raise _LimitExceeded(f"truncated {self._kind} stream")
                self._in += len(data)
            out = dec.decompress(data, want)
            if out:
                return bytes(out)

    def readinto(self, buffer: bytearray | memoryview) -> int:  # type: ignore[override]
        if self._eof:
            return 0
        want = len(buffer)
        try:
            out = self._more(want)
        except (zlib.error, OSError, EOFError, lzma.LZMAError, ValueError) as exc:
            raise _LimitExceeded(f"corrupt {self._kind} data ({type(exc).__name__})") from None
        n = len(out)
        self._out += n
        _charge(self._budget, n, self._out, self._in)
        buffer[:n] = out
        return n


def _charge(budget: _Budget, n: int, produced: int, consumed: int) -> None:
    budget.left -= n
    if budget.left < 0:
        budget.stopped = True
        raise _LimitExceeded(f"cut off: over {budget.limits.max_total_bytes} decompressed bytes")
    limits = budget.limits
    if produced > limits.ratio_floor and produced > limits.max_ratio * max(consumed, 1):
        raise _LimitExceeded(f"cut off: compression ratio over {limits.max_ratio} (a decompression bomb?)")


class _Head(io.RawIOBase):
    """A non-seekable stream with its first bytes already read (to sniff them), read on in order."""

    def __init__(self, head: bytes, rest: IO[bytes]) -> None:
        self._head = head
        self._rest = rest

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: bytearray | memoryview) -> int:  # type: ignore[override]
        if self._head:
            n = min(len(buffer), len(self._head))
            buffer[:n] = self._head[:n]
            self._head = self._head[n:]
            return n
        data = self._rest.read(len(buffer))
        buffer[: len(data)] = data
        return len(data)


def _read_head(stream: IO[bytes], n: int) -> bytes:
    parts = []
    got = 0
    while got < n:
        chunk = stream.read(n - got)
        if not chunk:
            break
        parts.append(chunk)
        got += len(chunk)
    return b"".join(parts)


def _read_bounded(stream: IO[bytes], limit: int) -> bytes:
    """Up to ``limit + 1`` bytes (one more than allowed tells "too big")."""
    return _read_head(stream, limit + 1)


_SUFFIXES = {"gzip": (".gz", ".z"), "bzip2": (".bz2",), "xz": (".xz",)}


def _strip_suffix(path: str, kind: str) -> str:
    """The name of what a compressed file holds: ``app.log.gz`` -> ``app.log``, as ``gzip -d`` names it."""
    base = path.rsplit("/", 1)[-1].rsplit(_SEP, 1)[-1]
    lower = base.lower()
    for suffix in _SUFFIXES.get(kind, ()):
        if lower.endswith(suffix) and len(base) > len(suffix):
            return base[: -len(suffix)]
    return base + ".out"


def _safe_name(name: str, limits: Limits) -> str:
    """A member name for display: bounded, with ``!`` (our level separator) kept visible but unambiguous.

    Names are labels only (never opened): ``../x`` and ``/etc/passwd`` are
    shown as written.  Control characters are escaped by every text output.
    """
    if len(name) > limits.max_name:
        name = name[: limits.max_name] + "…"
    return name


class _Scan:
    """One top-level file's walk: its rules, budget, decode depth and findings."""

    def __init__(
        self,
        rules: Sequence[CompiledRule],
        limits: Limits,
        notes: list[Skipped],
        decode_depth: int,
        commit: str | None,
        bulk: bool = False,
    ) -> None:
        self.rules = rules
        self.limits = limits
        self.budget = _Budget(limits, notes)
        self.decode_depth = decode_depth
        self.commit = commit
        self.top = ""
        # The same prefilter as files: a member without a keyword or an encoded form costs one pass.
        self.worth = shared_prefilter(rules, decode_depth, bulk=bulk)

    def member(self, path: str) -> str | None:
        return path[len(self.top) + 1 :] if len(path) > len(self.top) else None

    def text(self, data: bytes, path: str) -> Iterator[Finding]:
        text = prepare(data)
        if text is None or (text is data and not self.worth(text, len(text))):
            return  # binary, or plain text without a keyword (UTF-16 is always scanned, like files)
        member = self.member(path)
        for f in scan_bytes(text, path, self.rules, commit=self.commit, decode_depth=self.decode_depth):
            f.member = member
            yield f

    def blob(self, stream: IO[bytes], path: str, depth: int, *, seekable: bool, size: int | None) -> Iterator[Finding]:
        """Whatever ``stream`` holds: a container (recursed into) or a member's text."""
        if self.budget.stopped:
            return
        try:
            head = _read_head(stream, 512)
            kind = archive_kind(head)
            if kind is None:
                if depth == 0:
                    return  # a top-level file that is no archive: the file scanner's business
                limit = self.limits.max_member_size
                if (size is not None and size > limit) or len(head) < 512:
                    data = head
                else:
                    data = head + _read_bounded(stream, limit - len(head))
                if (size is not None and size > limit) or len(data) > limit:
                    self.budget.note(path, f"larger than {limit} bytes")
                    return
        except _LimitExceeded as exc:
            self.budget.note(path, str(exc))
            return
        except _READ_ERRORS as exc:
            self.budget.note(path, f"corrupt or truncated member ({type(exc).__name__})")
            return
        if kind is None:
            yield from self.text(data, path)
            return
        if depth >= self.limits.max_depth:
            self.budget.note(path, f"nested deeper than {self.limits.max_depth} archives: not opened")
            return
        if seekable:
            stream.seek(0)
            if kind in _MAGIC:
                done = yield from self.inflate_once(stream, path, kind, depth)
                if done:
                    return
                stream.seek(0)
            body: IO[bytes] = stream
        else:
            body = io.BufferedReader(_Head(head, stream), _CHUNK)
        if kind == "zip":
            yield from self.zip(body, path, depth, seekable=seekable)
        elif kind == "tar":
            yield from self.tar(body, path, depth)
        else:
            yield from self.decompressed(
                io.BufferedReader(_Decompressed(body, kind, self.budget), _CHUNK), path, kind, depth
            )

    def inflate_once(self, stream: IO[bytes], path: str, kind: str, depth: int) -> Generator[Finding, None, bool]:
        """A small compressed file that holds one text (``app.log.gz``, ``service.json.gz``), in one call.

        ~30 % less CPU than the streaming readers on a tree of small
        ``.json.gz`` files.  Returns False, having read nothing it keeps,
        for what needs the streaming path: a big file, a tar inside, a
        multi-member file.  Same bounds, same notes as that path.
        """
        compressed = _read_head(stream, _INFLATE_ONCE_MAX + 1)
        if len(compressed) > _INFLATE_ONCE_MAX:
            return False
        limit = self.limits.max_member_size
        errors: tuple[type[BaseException], ...] = _READ_ERRORS
        if kind == "gzip":
            make, fast_errors = _gzip_once()
            errors += fast_errors
            dec = make(16 + zlib.MAX_WBITS)
        else:
            dec = _decompressor(kind)
        try:
            out = dec.decompress(compressed, min(limit + 1, self.budget.left + 1))
        except errors as exc:
            self.budget.note(path, f"corrupt {kind} data ({type(exc).__name__})")
            return True
        if archive_kind(out[:512]) is not None or (dec.eof and dec.unused_data.startswith(_MAGIC[kind])):
            return False  # a .tar.gz, a gzip of a zip, or several members: streamed
        name = path + _SEP + _strip_suffix(path, kind)
        try:
            _charge(self.budget, len(out), len(out), len(compressed))
        except _LimitExceeded as exc:
            self.budget.note(name if not self.budget.stopped else path, str(exc))
            return True
        if len(out) > limit:
            self.budget.note(name, f"larger than {limit} bytes")
        elif not dec.eof:
            self.budget.note(path, f"truncated {kind} stream")
        else:
            yield from self.text(out, name)
        return True

    def decompressed(self, inner: IO[bytes], path: str, kind: str, depth: int) -> Iterator[Finding]:
        """A gzip/bzip2/xz stream: a ``.tar.gz`` lists its tar's members under its own name."""
        try:
            head = _read_head(inner, 512)
        except _LimitExceeded as exc:
            self.budget.note(path, str(exc))
            return
        rest = io.BufferedReader(_Head(head, inner), _CHUNK)
        if archive_kind(head) == "tar":
            yield from self.tar(rest, path, depth)
        else:
            yield from self.blob(rest, path + _SEP + _strip_suffix(path, kind), depth + 1, seekable=False, size=None)

    def tar(self, body: IO[bytes], path: str, depth: int) -> Iterator[Finding]:
        count = 0
        try:
            with tarfile.open(fileobj=body, mode="r|") as tar:
                for info in tar:
                    count += 1
                    if count > self.limits.max_members:
                        self.budget.note(path, f"more than {self.limits.max_members} members: the rest not read")
                        return
                    name = path + _SEP + _safe_name(info.name, self.limits)
                    if not info.isfile():
                        if info.issym() or info.islnk():
                            self.budget.note(name, "link inside an archive: not followed")
                        continue
                    if info.size <= 0:
                        continue
                    member = tar.extractfile(info)
                    if member is None:
                        continue
                    yield from self.blob(member, name, depth + 1, seekable=False, size=info.size)
                    if self.budget.stopped:
                        return
        except _LimitExceeded as exc:
            self.budget.note(path, str(exc))
        except (tarfile.TarError, EOFError, OSError, ValueError, zlib.error, lzma.LZMAError) as exc:
            self.budget.note(path, f"corrupt or truncated tar ({type(exc).__name__})")

    def zip(self, body: IO[bytes], path: str, depth: int, *, seekable: bool) -> Iterator[Finding]:
        if not seekable:
            data = _read_bounded(body, self.limits.max_buffer)
            if len(data) > self.limits.max_buffer:
                self.budget.note(path, f"zip larger than {self.limits.max_buffer} bytes inside a stream: not opened")
                return
            body = io.BytesIO(data)
        try:
            zf = zipfile.ZipFile(body)
        except (zipfile.BadZipFile, zipfile.LargeZipFile, OSError, ValueError, EOFError) as exc:
            self.budget.note(path, f"corrupt or truncated zip ({type(exc).__name__})")
            return
        with zf:
            infos = zf.infolist()
            if len(infos) > self.limits.max_members:
                self.budget.note(path, f"more than {self.limits.max_members} members: the rest not read")
                infos = infos[: self.limits.max_members]
            for info in infos:
                if info.is_dir():
                    continue
                name = path + _SEP + _safe_name(info.filename, self.limits)
                if info.flag_bits & 0x1:
                    self.budget.note(name, "password-protected: not read")
                    continue
                if (info.external_attr >> 16) & 0o170000 == 0o120000:
                    self.budget.note(name, "link inside an archive: not followed")
                    continue
                declared = info.file_size
                if declared > self.limits.ratio_floor and declared > self.limits.max_ratio * max(info.compress_size, 1):
                    self.budget.note(name, f"cut off: compression ratio over {self.limits.max_ratio} (a zip bomb?)")
                    continue
                try:
                    with zf.open(info) as raw:
                        counted = io.BufferedReader(_Counted(raw, self.budget, info.compress_size), _CHUNK)
                        yield from self.blob(counted, name, depth + 1, seekable=False, size=declared)
                    if self.budget.stopped:
                        return
                except _LimitExceeded as exc:
                    self.budget.note(name, str(exc))
                    if self.budget.stopped:
                        return
                except (zipfile.BadZipFile, NotImplementedError, RuntimeError, OSError, EOFError, ValueError) as exc:
                    self.budget.note(name, f"corrupt or unsupported zip member ({type(exc).__name__})")
                    continue
                except (zlib.error, lzma.LZMAError) as exc:
                    self.budget.note(name, f"corrupt zip member ({type(exc).__name__})")


class _Counted(io.RawIOBase):
    """A zip member's decompressed stream, charged to the budget and checked for its ratio."""

    def __init__(self, raw: IO[bytes], budget: _Budget, compressed: int) -> None:
        self._raw = raw
        self._budget = budget
        self._compressed = compressed
        self._out = 0

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: bytearray | memoryview) -> int:  # type: ignore[override]
        data = self._raw.read(len(buffer))
        n = len(data)
        buffer[:n] = data
        self._out += n
        _charge(self._budget, n, self._out, self._compressed)
        return n


def _scan(
    source: IO[bytes],
    display_path: str,
    rules: Sequence[CompiledRule],
    *,
    seekable: bool,
    limits: Limits | None,
    notes: list[Skipped] | None,
    decode_depth: int,
    commit: str | None,
    bulk: bool,
) -> Iterator[Finding]:
    walk = _Scan(rules, limits or DEFAULT_LIMITS, [] if notes is None else notes, decode_depth, commit, bulk)
    walk.top = display_path
    yield from walk.blob(source, display_path, 0, seekable=seekable, size=None)


def scan_stream(
    stream: IO[bytes],
    display_path: str,
    rules: Sequence[CompiledRule],
    *,
    limits: Limits | None = None,
    notes: list[Skipped] | None = None,
    decode_depth: int = 1,
    commit: str | None = None,
    bulk: bool = False,
) -> Iterator[Finding]:
    """Findings in the container that ``stream`` holds (read once, in order, never seeked).

    ``display_path`` prefixes every finding (``image.tar`` gives
    ``image.tar!layer.tar!app/.env``).  A stream that holds no container
    yields nothing: it is a plain file, scanned by the file scanner.  Notes on
    members skipped or cut off are appended to ``notes``.  ``bulk``: part of a
    big scan, so members get the one-pass prefilter of the ``fast`` extra
    (:func:`reactor_ci.scan.matching.text_prefilter`); same findings.
    """
    yield from _scan(
        stream,
        display_path,
        rules,
        seekable=False,
        limits=limits,
        notes=notes,
        decode_depth=decode_depth,
        commit=commit,
        bulk=bulk,
    )


def scan_file(
    path: str,
    display_path: str,
    rules: Sequence[CompiledRule],
    *,
    limits: Limits | None = None,
    notes: list[Skipped] | None = None,
    decode_depth: int = 1,
    commit: str | None = None,
    bulk: bool = False,
) -> Iterator[Finding]:
    """Findings in the archive at ``path`` (never following a symlink; a zip is read in place)."""
    try:
        # Like the file reader: never a symlink, never blocked on a FIFO swapped in meanwhile.
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0) | os.O_NONBLOCK | getattr(os, "O_BINARY", 0))
    except OSError as exc:
        if notes is not None:
            notes.append(Skipped(display_path, f"{NOTE_PREFIX}unreadable ({exc.strerror})"))
        return
    if not stat.S_ISREG(os.fstat(fd).st_mode):
        os.close(fd)
        if notes is not None:
            notes.append(Skipped(display_path, f"{NOTE_PREFIX}not a regular file"))
        return
    with open(fd, "rb") as fh:
        yield from _scan(
            fh,
            display_path,
            rules,
            seekable=True,
            limits=limits,
            notes=notes,
            decode_depth=decode_depth,
            commit=commit,
            bulk=bulk,
        )


def scan_data(
    data: bytes,
    display_path: str,
    rules: Sequence[CompiledRule],
    *,
    limits: Limits | None = None,
    notes: list[Skipped] | None = None,
    decode_depth: int = 1,
    commit: str | None = None,
    bulk: bool = False,
) -> Iterator[Finding]:
    """Findings in the archive held by ``data`` (a staged or committed blob)."""
    yield from _scan(
        io.BytesIO(data),
        display_path,
        rules,
        seekable=True,
        limits=limits,
        notes=notes,
        decode_depth=decode_depth,
        commit=commit,
        bulk=bulk,
    )
