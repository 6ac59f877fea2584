"""Scan a container image for Reactor keys: every layer's files, the config and the history.

An image reaches us in one of three forms (:func:`parse_ref`):

- a ``docker save`` stream from the local daemon (the docker SDK's export,
  read chunk by chunk and never written to disk);
- ``docker-archive:PATH``: the same tar on disk (docker 20-24 writes
  ``<id>/layer.tar`` + ``<id>.json``; docker 25+ an OCI layout inside the tar);
- ``oci:DIR[:TAG]``: an OCI image layout (what skopeo and buildx write), layers
  possibly gzip- or zstd-compressed.

A ``docker save`` stream puts ``manifest.json`` LAST, so layers are scanned as
they come and attributed afterwards: the manifest orders the layers, the
config's ``rootfs.diff_ids`` names them, and its non-empty ``history`` entries
give the Dockerfile instruction of each.  A finding names the layer (its
diff_id, the same in all three forms), the instruction and the path inside the
image, and says when a later layer deleted the file (a whiteout) although the
key still ships in the earlier one.

Nothing from the image is executed or written anywhere: tar members are read
from the stream into memory, one at a time, regular files only (links are
never followed, names are only displayed).  Every dimension a hostile image
controls is bounded (:class:`Limits`); a layer that cannot be read to its end
makes the scan *incomplete*, which a push treats as a refusal.
"""

from __future__ import annotations

import io
import itertools
import json
import os
import re
import stat
import tarfile
import time
import zlib
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import IO, Any

from reactor_ci.errors import UsageError
from reactor_ci.scan.archive import scan_data
from reactor_ci.scan.files import BINARY, BINARY_SNIFF, DEFAULT_MAX_SIZE, archive_kind, prepare, sniff
from reactor_ci.scan.finding import Finding, Skipped
from reactor_ci.scan.matching import CompiledRule, scan_bytes, shared_prefilter

__all__ = [
    "IMAGE_FIX",
    "ImageFinding",
    "ImageRef",
    "ImageScan",
    "Limits",
    "parse_ref",
    "scan_image",
    "scan_stream",
]

# What to do about a key in an image: one home, printed by `scan --image` and by `push`.
IMAGE_FIX = (
    "keep keys out of images: pass them at build time as a build secret (`docker build --secret "
    "id=reactor,env=REACTOR_API_KEY` + `RUN --mount=type=secret,id=reactor ...`), never as ARG or ENV; "
    "add `.env` and other key files to .dockerignore; copy only what the app needs from a build stage "
    "(multi-stage build). If this image ever left the machine (pushed, saved, shared), revoke the key in "
    "the Reactor Dashboard and create a new one."
)

_MiB = 1024 * 1024
_CHUNK = 1 * _MiB  # buffered reads, skips and decompressed output: few Python-level calls per GB
_GZIP_IN = 256 * 1024  # compressed bytes fed to zlib at a time
_WHITEOUT = ".wh."
_OPAQUE = ".wh..wh..opq"
_ZERO_BLOCK = b"\0" * 512
_GZIP_MAGIC = b"\x1f\x8b"
_ZSTD_MAGIC = b"\x28\xb5\x2f\xfd"
_DIGEST = re.compile(r"sha256:[0-9a-f]{64}")
# Anything key-shaped in an instruction we print is masked, whatever the rules decide.
_KEYLIKE = re.compile(r"r[pk]_[A-Za-z0-9_\-]{6,}")
_INSTRUCTION_MAX = 120
_FILE_HASH = re.compile(r"\b((?:file|dir|multi):[0-9a-f]{12})[0-9a-f]{52}\b")


@dataclass(frozen=True)
class Limits:
    """What a hostile image cannot exceed.  A member over ``member_size`` is skipped (like a big
    file); everything else makes the scan incomplete with a note naming the limit."""

    member_size: int = DEFAULT_MAX_SIZE  # bytes of one file read for scanning (--max-size)
    config_size: int = 8 * _MiB  # an image config (real ones: a few KB; big history: < 1 MB)
    json_total: int = 32 * _MiB  # all JSON kept from one archive (manifests, index, configs)
    layers: int = 256  # Docker itself stops at 125 layers
    members: int = 1_000_000  # tar entries in the whole image (a big ML image: ~200k)
    ratio: int = 100  # decompressed/compressed bytes of one layer beyond ratio_floor: a bomb
    ratio_floor: int = 256 * _MiB


class ImageFinding(Finding):
    """A :class:`Finding` in an image, with where it sits in the image's build.

    ``path`` is ``sha256:<12 hex>!/path/in/image`` for a layer file or
    ``config!<json path>`` for the config; ``description`` carries the layer,
    the instruction and the whiteout note, so every report format shows them.
    """

    __slots__ = ("deleted_by", "image", "instruction", "layer", "layer_index", "member")

    def __init__(
        self,
        base: Finding,
        *,
        path: str,
        description: str,
        image: str,
        member: str,
        layer: str | None = None,
        layer_index: int | None = None,
        instruction: str | None = None,
        deleted_by: str | None = None,
    ) -> None:
        super().__init__(base.rule, description, path, base.line, base.col, base.secret)
        self.image = image
        self.member = member
        self.layer = layer
        self.layer_index = layer_index
        self.instruction = instruction
        self.deleted_by = deleted_by

    def to_dict(self) -> dict[str, Any]:
        out = super().to_dict()
        out["image"] = {
            "ref": self.image,
            "path": self.member,
            "layer": self.layer,
            "layer_index": self.layer_index,
            "instruction": self.instruction,
            "deleted_by_later_layer": self.deleted_by,
        }
        return out


@dataclass
class _Layer:
    """What one layer's tar stream held: raw findings (member paths), whiteouts, counts."""

    key: str
    findings: list[Finding] = field(default_factory=list)
    deleted: set[str] = field(default_factory=set)  # "/dir/name" removed by a .wh.name
    opaque: set[str] = field(default_factory=set)  # "/dir" whose earlier content is hidden
    files: int = 0
    binary: int = 0
    bytes: int = 0
    problem: str | None = None


@dataclass
class ImageScan:
    """The result: findings, skipped members, counts, and why the scan is incomplete (if it is)."""

    ref: str
    findings: list[ImageFinding] = field(default_factory=list)
    skipped: list[Skipped] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)
    layers: int = 0
    files: int = 0
    binary: int = 0
    bytes: int = 0
    seconds: float = 0.0

    @property
    def complete(self) -> bool:
        return not self.problems

    def summary(self) -> str:
        from reactor_ci.logsafe import line

        state = f"{len(self.findings)} finding(s)" if self.complete else "INCOMPLETE"
        return line(
            f"image {self.ref}: {state}; {self.layers} layer(s), {self.files} file(s) "
            f"({self.binary} binary), {self.bytes / 1e6:.1f} MB, config and history, {self.seconds:.1f} s"
        )


# -- references ------------------------------------------------------------------------


@dataclass(frozen=True)
class ImageRef:
    kind: str  # "daemon" | "docker-archive" | "oci"
    location: str  # image reference, file, or directory
    tag: str | None = None  # oci:DIR:TAG

    def __str__(self) -> str:
        if self.kind == "daemon":
            return self.location
        return f"{self.kind}:{self.location}" + (f":{self.tag}" if self.tag else "")


def parse_ref(text: str) -> ImageRef:
    """``REF`` (the daemon), ``docker-daemon:REF``, ``docker-archive:PATH`` or ``oci:DIR[:TAG]``."""
    value = text.strip()
    if not value or any(c.isspace() or ord(c) < 0x20 for c in value):
        raise UsageError("--image needs an image", "e.g. --image myorg/app:1, docker-archive:app.tar or oci:DIR")
    if value.startswith("docker-daemon:"):
        value = value[len("docker-daemon:") :]
    elif value.startswith("docker-archive:"):
        return ImageRef("docker-archive", value[len("docker-archive:") :])
    elif value.startswith("oci:"):
        rest = value[len("oci:") :]
        if not os.path.isdir(rest) and ":" in rest:
            directory, tag = rest.rsplit(":", 1)
            return ImageRef("oci", directory, tag or None)
        return ImageRef("oci", rest)
    if not value:
        raise UsageError("--image docker-daemon: needs an image name", "e.g. docker-daemon:myorg/app:1")
    return ImageRef("daemon", value)


# -- the one member seam -----------------------------------------------------------------


class _MemberScanner:
    """Findings in one regular file of a layer; None when it is binary.

    The ONE place that scans a member's bytes, through the file walk's own
    pieces: a member that is itself an archive (a wheel, a .tar.gz, a .gz log
    in the image) goes to :func:`reactor_ci.scan.archive.scan_data`, whose
    findings keep ``path`` as their outer prefix (``LAYER!/app/x.whl!pkg/k.py``)
    and whose notes (a bomb, a link, a corrupt member) come back as skipped
    markers; any other member goes through THE text prefilter
    (:func:`reactor_ci.scan.matching.text_prefilter`) and ``scan_bytes``, so a
    member and a file on disk give the same findings.
    """

    def __init__(self, rules: Sequence[CompiledRule]) -> None:
        self.rules = rules
        self.worth = shared_prefilter(rules, bulk=True)  # an image: gigabytes of members

    def scan(self, data: bytes, path: str) -> list[Finding] | None:
        n = len(data)
        if archive_kind(data[:512]) is not None:
            notes: list[Skipped] = []
            found: list[Finding] = list(scan_data(data, path, self.rules, notes=notes, bulk=True))
            found.extend(_SkippedMarker(note.path, note.reason) for note in notes)
            return found
        if data.find(b"\0", 0, min(n, BINARY_SNIFF)) >= 0:
            text = prepare(data)
            return None if text is None else scan_bytes(text, path, self.rules)
        if not self.worth(data, n):
            return []
        return scan_bytes(data, path, self.rules)


# -- streams -------------------------------------------------------------------------------


class _LimitExceeded(Exception):
    pass


class _ChunkReader(io.RawIOBase):
    """A file object over an iterator of byte chunks (the docker SDK's export); counts bytes."""

    def __init__(self, chunks: Iterable[bytes]) -> None:
        self._chunks = iter(chunks)
        self._view = memoryview(b"")
        self.count = 0

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        while not self._view:
            try:
                self._view = memoryview(next(self._chunks))
            except StopIteration:
                return 0
        n = min(len(buffer), len(self._view))
        buffer[:n] = self._view[:n]
        self._view = self._view[n:]
        self.count += n
        return n


class _Counting(io.RawIOBase):
    """Counts what is read from ``raw`` (the compressed side of a layer)."""

    def __init__(self, raw: IO[bytes]) -> None:
        self._raw = raw
        self.count = 0

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        data = self._raw.read(len(buffer))
        n = len(data)
        buffer[:n] = data
        self.count += n
        return n


class _Decompressing(io.RawIOBase):
    """gzip (multi-member) or zstd, decompressed on the fly, stopped at a bomb's ratio.

    Output is produced at most ``_CHUNK`` bytes at a time (``max_length``, zstd's
    stream reader): a 1 MB gzip of zeros must not become 1 GB in one call.
    """

    def __init__(self, raw: IO[bytes], kind: str, limits: Limits) -> None:
        self._src = _Counting(raw)
        self._limits = limits
        self._kind = kind
        self._pending = b""
        self._input = b""
        self._started = False
        self._eof = False
        self.out = 0
        if kind == "gzip":
            self._z: Any = zlib.decompressobj(31)
        else:
            try:
                import zstandard  # type: ignore[import-not-found,unused-ignore]
            except ImportError:
                raise _LimitExceeded(
                    "zstd-compressed layer: not supported without the `zstandard` package "
                    "(pip install zstandard), or re-copy the image with gzip (skopeo copy --dest-compress-format gzip)"
                ) from None
            self._z = zstandard.ZstdDecompressor().stream_reader(self._src)

    def readable(self) -> bool:
        return True

    def _gunzip(self) -> bytes:
        if not self._input:
            self._input = self._src.read(_GZIP_IN)
            if not self._input:
                self._eof = True
                if self._started:
                    raise _LimitExceeded("truncated gzip layer")
                return b""
        self._started = True
        data: bytes = self._z.decompress(self._input, _CHUNK)
        self._input = self._z.unconsumed_tail
        if self._z.eof:  # a gzip member ended: another may follow (concatenated gzip)
            self._input = self._z.unused_data + self._input
            self._z = zlib.decompressobj(31)
            self._started = False
        return data

    def _fill(self) -> None:
        while not self._pending and not self._eof:
            if self._kind == "gzip":
                data = self._gunzip()
            else:
                data = self._z.read(_CHUNK)
                self._eof = not data
            self._pending = data
            self.out += len(data)
            limit = max(self._limits.ratio_floor, self._limits.ratio * self._src.count)
            if self.out > limit:
                raise _LimitExceeded(
                    f"layer expands past {self._limits.ratio}x its compressed size (a decompression bomb?)"
                )

    def readinto(self, buffer: Any) -> int:
        self._fill()
        n = min(len(buffer), len(self._pending))
        buffer[:n] = self._pending[:n]
        self._pending = self._pending[n:] if n < len(self._pending) else b""
        return n


class _Base:
    """A forward-only position in a buffered stream: skips by seeking when it can, else by reading.

    tarfile's stream mode ("r|") copies its whole buffer on every small read
    (30 MB/s on a lib tree); its normal mode only needs read/seek/tell, which
    these forward-only views give it over a pipe as well as over a file.
    """

    def __init__(self, raw: IO[bytes]) -> None:
        self.raw = raw
        self.pos = 0
        self.seekable = raw.seekable()
        self.origin = raw.tell() if self.seekable else 0
        self._scratch: memoryview | None = None
        self.short = False  # a skip or read went past the end of the stream

    def goto(self, pos: int) -> None:
        if pos < self.pos:
            raise OSError("a stream cannot go back")
        if pos == self.pos:
            return
        if self.seekable:
            self.raw.seek(self.origin + pos)
            self.pos = pos
            return
        if self._scratch is None:
            self._scratch = memoryview(bytearray(_CHUNK))
        readinto = getattr(self.raw, "readinto")  # noqa: B009 - IO[bytes] does not declare it
        while self.pos < pos:
            n = readinto(self._scratch[: min(_CHUNK, pos - self.pos)])
            if not n:
                self.pos = pos  # past the end: the next read returns b"", and the reader says "truncated"
                self.short = True
                return
            self.pos += n

    def read(self, pos: int, n: int) -> bytes:
        self.goto(pos)
        data = self.raw.read(n)
        if not data and n and self.seekable:
            end = self.raw.seek(0, 2) - self.origin
            self.short = self.short or end < pos
            self.raw.seek(self.origin + pos)
        self.pos += len(data)
        return data


class _View:
    """Bytes ``[start, start + size)`` of a :class:`_Base` (``size`` None: to its end), as a file for tarfile.

    Forward only; seeks are lazy (a skipped member costs nothing until a later
    read). ``peek`` reads the head once and replays it, so a layer can be
    sniffed and then handed whole to tarfile or a decompressor.
    """

    def __init__(self, base: _Base, start: int = 0, size: int | None = None) -> None:
        self.base = base
        self.start = start
        self.size = size
        self.pos = 0
        self.head = b""
        self.furthest = 0  # how far the raw stream was read, relative to start
        self.overrun = False

    def peek(self, n: int) -> bytes:
        if not self.head and self.furthest == 0:
            self.head = self._raw(0, n)
        return self.head

    def short(self) -> bool:
        """Did a read or skip go past the end of this view or its stream (a truncated tar)?"""
        return self.overrun or self.base.short

    def _raw(self, pos: int, n: int) -> bytes:
        if self.size is not None and pos > self.size:
            self.overrun = True
        if self.size is not None:
            left = max(0, self.size - pos)
            n = left if n < 0 else min(n, left)
        if n == 0:
            return b""
        data = self.base.read(self.start + pos, n)
        self.furthest = max(self.furthest, pos + len(data))
        return data

    def read(self, n: int = -1) -> bytes:
        out = b""
        if self.pos < len(self.head):
            out = self.head[self.pos :] if n < 0 else self.head[self.pos : self.pos + n]
            self.pos += len(out)
            if n >= 0:
                n -= len(out)
                if n == 0:
                    return out
        data = self._raw(self.pos, n)
        self.pos += len(data)
        return out + data if out else data

    def seek(self, pos: int, whence: int = 0) -> int:
        if whence == 1:
            pos += self.pos
        elif whence == 2:
            if self.size is None:
                raise OSError("a stream has no known end")
            pos += self.size
        if pos < 0 or (pos < self.furthest and self.furthest > len(self.head)):
            raise OSError("a stream cannot go back")
        self.pos = pos
        return pos

    def tell(self) -> int:
        return self.pos

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def close(self) -> None:
        pass


def _tar_header_ok(head: bytes) -> bool:
    """Is ``head`` (>= 512 bytes) a tar header with a valid checksum?"""
    if len(head) < 512:
        return False
    block = head[:512]
    try:
        stored = int(block[148:156].replace(b"\0", b" ").strip() or b"-1", 8)
    except ValueError:
        return False
    unsigned = sum(block[:148]) + 256 + sum(block[156:512])
    return stored == unsigned


def _sniff(head: bytes) -> str:
    """``gzip``, ``zstd``, ``tar``, ``empty`` (zero blocks), ``json`` or ``other``."""
    if head.startswith(_GZIP_MAGIC):
        return "gzip"
    if head.startswith(_ZSTD_MAGIC):
        return "zstd"
    if head[:512] == _ZERO_BLOCK[: len(head[:512])] and head:
        return "empty"
    if _tar_header_ok(head):
        return "tar"
    if head.lstrip()[:1] in (b"{", b"["):
        return "json"
    return "other"


_NAME_MAX = 512  # characters of a member name kept (a pax path may be a megabyte)


def _member_path(name: str) -> str:
    """The path inside the image as a user reads it: ``/app/.env`` (never resolved, only shown)."""
    while name.startswith("./"):
        name = name[2:]
    if len(name) > _NAME_MAX:
        name = f"{name[: _NAME_MAX - 20]}…({len(name)} chars)"
    return "/" + name.lstrip("/")


def _forget(tar: tarfile.TarFile) -> None:
    """Drop the TarInfo list a TarFile read with next() keeps growing (1M entries would be ~500 MB)."""
    tar.members.clear()  # type: ignore[attr-defined]  # a real attribute typeshed leaves out


_SKIPPED_KEPT = 1000  # skipped members listed by name; past that only counted (a million sparse headers)


class _Budget:
    """Tar entries left for the whole image, and skipped members still listed by name."""

    def __init__(self, members: int) -> None:
        self.left = members
        self.skipped_names = _SKIPPED_KEPT
        self.skipped_unnamed = 0


def _scan_layer(view: _View, key: str, scanner: _MemberScanner, limits: Limits, budget: _Budget) -> _Layer:
    """Read one layer's tar stream to its end; never raises for what the image holds."""
    layer = _Layer(key)
    kind = _sniff(view.peek(512))
    try:
        if kind == "empty":
            return layer
        source = view
        if kind in ("gzip", "zstd"):
            source = _View(_Base(io.BufferedReader(_Decompressing(view, kind, limits), _CHUNK)))  # type: ignore[arg-type]
        elif kind != "tar":
            layer.problem = "not a tar stream"
            return layer
        _walk_tar(source, layer, scanner, limits, budget)
    except _LimitExceeded as exc:
        layer.problem = str(exc)
    except (tarfile.TarError, EOFError, zlib.error, OSError, ValueError) as exc:
        layer.problem = f"corrupt or truncated layer tar ({type(exc).__name__}: {str(exc)[:120]})"
    except Exception as exc:  # zstandard's own error class, anything a hostile stream provokes
        layer.problem = f"unreadable layer ({type(exc).__name__}: {str(exc)[:120]})"
    return layer


def _open_tar(view: _View) -> tarfile.TarFile:
    # "r:" (not "r|"): plain reads and forward seeks on the view, no stream buffer copies
    return tarfile.open(fileobj=view, mode="r:")  # type: ignore[call-overload,no-any-return]


# -- the layer's tar headers ---------------------------------------------------------------
#
# A layer of a big image holds ~100k entries; tarfile parses a header in ~50 µs
# of Python (every field through nts/nti, the checksum twice): seconds per GB.
# Layers are plain ustar with the odd GNU long name or pax record, so the
# headers are parsed here; anything else is a corrupt layer.

_REGULAR = frozenset(b"07\0")
_META_TYPES = frozenset(b"LKxg")  # GNU long name/link, pax extended/global header
_HEADER_META_MAX = 1024 * 1024  # a long name or a pax record set: real ones are < 4 KB


class _Entry:
    __slots__ = ("data", "name", "realsize", "size", "sparse", "type")

    def __init__(self, name: str, type_: int, size: int, data: int, realsize: int, sparse: bool) -> None:
        self.name = name
        self.type = type_
        self.size = size  # bytes on tape, from offset ``data``
        self.data = data
        self.realsize = realsize  # the file's size (a sparse file's holes included)
        self.sparse = sparse


def _octal(field: bytes) -> int:
    if field[:1] in (b"\x80", b"\xff"):  # base-256 (GNU, for sizes over 8 GB)
        if field[0] == 0xFF:
            raise tarfile.ReadError("negative number in a tar header")
        return int.from_bytes(field[1:], "big")
    text = field.split(b"\0", 1)[0].strip(b" ")
    return int(text, 8) if text else 0


def _pax_records(data: bytes) -> dict[str, str]:
    """``LEN key=value\\n`` records; only the keys a scan needs are kept."""
    records: dict[str, str] = {}
    pos = 0
    while pos < len(data) and data[pos] != 0:
        space = data.index(b" ", pos)
        length = int(data[pos:space])
        if length <= 0:
            raise tarfile.ReadError("bad pax record")
        key, _, value = data[space + 1 : pos + length - 1].partition(b"=")
        if key in (b"path", b"size", b"GNU.sparse.realsize", b"GNU.sparse.size", b"GNU.sparse.name"):
            records[key.decode("ascii")] = value.decode("utf-8", "surrogateescape")
        pos += length
    return records


def _entries(view: _View) -> Iterator[_Entry]:
    """The entries of a layer tar, read in order from ``view`` (never extracted, never seeked back)."""
    pos = 0
    long_name: str | None = None
    pax: dict[str, str] = {}
    while True:
        view.seek(pos)
        block = view.read(512)
        if not block and view.short():
            raise tarfile.ReadError("unexpected end of data (a member claims more bytes than the layer holds)")
        if not block or block == _ZERO_BLOCK:
            return  # the end (tar ends with zero blocks; a stream may also just stop here)
        if len(block) < 512:
            raise tarfile.ReadError("truncated tar header")
        stored = _octal(block[148:156])
        unsigned = sum(block) - sum(block[148:156]) + 256
        if stored != unsigned:
            signed = unsigned - 2 * sum(b for b in block[:148] + block[156:] if b > 127)
            if stored != signed:
                raise tarfile.ReadError(f"bad tar header checksum at offset {pos}")
        type_ = block[156]
        size = _octal(block[124:136])
        data = pos + 512
        if type_ in _META_TYPES:
            if size > _HEADER_META_MAX:
                raise _LimitExceeded(f"tar header record of {size} bytes")
            view.seek(data)
            meta = view.read(size)
            if len(meta) < size:
                raise tarfile.ReadError("truncated tar header record")
            if type_ == ord("L"):
                long_name = meta.split(b"\0", 1)[0].decode("utf-8", "surrogateescape")
            elif type_ == ord("x"):
                pax.update(_pax_records(meta))
            pos = data + -(-size // 512) * 512  # K (long link name) and g (global pax): not needed
            continue
        name = block[:100].split(b"\0", 1)[0]
        if block[257:263] == b"ustar\0":  # POSIX: a prefix for long names (GNU puts times there)
            prefix = block[345:500].split(b"\0", 1)[0]
            if prefix:
                name = prefix + b"/" + name
        text = pax.get("GNU.sparse.name") or pax.get("path") or long_name or name.decode("utf-8", "surrogateescape")
        if "size" in pax:
            size = int(pax["size"])
        realsize = size
        sparse = False
        if type_ == ord("S"):  # old GNU sparse: the real size in the header, extension blocks follow
            sparse = True
            realsize = _octal(block[483:495])
            extended = block[482]
            while extended:
                view.seek(data)
                ext = view.read(512)
                if len(ext) < 512:
                    raise tarfile.ReadError("truncated sparse header")
                extended = ext[504]
                data += 512
        elif "GNU.sparse.realsize" in pax or "GNU.sparse.size" in pax:
            sparse = True
            realsize = int(pax.get("GNU.sparse.realsize") or pax.get("GNU.sparse.size") or 0)
        kind = ord("0") if type_ == ord("S") else type_
        if kind == 0 and text.endswith("/"):
            kind = ord("5")  # old tars: a directory is a "regular file" whose name ends with /
        yield _Entry(text, kind, size, data, realsize, sparse)
        pos = data + -(-size // 512) * 512
        long_name = None
        pax = {}


def _walk_tar(view: _View, layer: _Layer, scanner: _MemberScanner, limits: Limits, budget: _Budget) -> None:
    for entry in _entries(view):
        budget.left -= 1
        if budget.left < 0:
            raise _LimitExceeded(f"more than {limits.members} tar entries in the image")
        path = _member_path(entry.name)
        directory, _, base = path.rpartition("/")
        if base.startswith(_WHITEOUT):
            if base == _OPAQUE:
                layer.opaque.add(directory or "/")
            else:
                layer.deleted.add(f"{directory}/{base[len(_WHITEOUT) :]}")
            continue
        if entry.type not in _REGULAR:  # symlinks, hard links, devices, dirs: never followed or read
            continue
        layer.files += 1
        if entry.realsize > limits.member_size or entry.size > limits.member_size:
            if budget.skipped_names > 0:
                budget.skipped_names -= 1
                layer.findings.append(_SkippedMarker(path, f"larger than {limits.member_size} bytes"))
            else:
                budget.skipped_unnamed += 1
            continue
        data = _read_member(view, entry)
        found = scanner.scan(data, path) if data is not None else None
        layer.bytes += len(data) if data is not None else BINARY_SNIFF
        if found is None:
            layer.binary += 1
        else:
            layer.findings.extend(found)


def _read_member(view: _View, entry: _Entry) -> bytes | None:
    """A member's bytes (at most its size, already bounded), or None when its head is binary.

    Like the file walk's reader, a big member whose first 8 KB are binary is
    not read further (the view skips it without copying), unless its head is
    an archive's (a wheel, a .tar.gz, a .gz log: opened by the archive
    source, within its own limits). A sparse member's
    data blocks are scanned as they are on tape (its holes hold nothing).
    """
    view.seek(entry.data)
    if entry.size <= 2 * BINARY_SNIFF:
        data = view.read(entry.size)
    else:
        head = view.read(BINARY_SNIFF)
        if head.find(0) >= 0 and sniff(head) == BINARY and archive_kind(head) is None:
            return None
        data = head + view.read(entry.size - len(head))
    if len(data) < entry.size:
        raise tarfile.ReadError("unexpected end of data")
    return data


class _SkippedMarker(Finding):
    """A member skipped inside a layer, carried with the layer's findings until attribution."""

    __slots__ = ()

    def __init__(self, path: str, reason: str) -> None:
        super().__init__("", reason, path, 0, 0, "")


# -- docker-archive streams -------------------------------------------------------------


def scan_stream(stream: IO[bytes], ref: str, rules: Sequence[CompiledRule], limits: Limits | None = None) -> ImageScan:
    """Scan a ``docker save`` tar (legacy or OCI-in-tar, or gzip of either), read once, front to back."""
    limits = limits or Limits()
    started = time.perf_counter()
    scanner = _MemberScanner(rules)
    budget = _Budget(limits.members)
    layers: dict[str, _Layer] = {}
    jsons: dict[str, bytes] = {}
    oversized: set[str] = set()
    problems: list[str] = []
    json_left = limits.json_total
    unreadable: set[str] = set()
    try:
        root = _View(_Base(stream))
        if root.peek(512).startswith(_GZIP_MAGIC):  # `docker save IMAGE | gzip > image.tar.gz`
            root = _View(_Base(io.BufferedReader(_Decompressing(root, "gzip", limits), _CHUNK)))  # type: ignore[arg-type]
        with _open_tar(root) as outer:
            while True:
                member = outer.next()
                if member is None:
                    break
                _forget(outer)
                if not member.isreg():
                    continue
                name = member.name.removeprefix("./")
                budget.left -= 1  # outer entries count too: a million tiny members is no image
                if budget.left < 0:
                    problems.append(f"more than {limits.members} tar entries in the image: the rest was not scanned")
                    break
                view = _View(root.base, root.start + member.offset_data, member.size)
                root.seek(member.offset_data + member.size)  # what the member's own view reads, tarfile skips
                kind = _sniff(view.peek(512)) if member.size else "empty"
                if kind in ("gzip", "zstd", "tar", "empty") and not name.endswith(".json"):
                    if len(layers) >= limits.layers:
                        problems.append(f"more than {limits.layers} layers: the rest was not scanned")
                        break
                    layers[name] = _scan_layer(view, name, scanner, limits, budget)
                    if budget.left < 0:
                        problems.append(
                            f"more than {limits.members} tar entries in the image: the rest was not scanned"
                        )
                        break
                elif kind == "other" or (
                    kind == "json" and not name.endswith(".json") and not name.startswith("blobs/")
                ):
                    unreadable.add(name)  # VERSION, legacy `json` files... and a layer that is no tar
                elif kind == "json":
                    if member.size > min(limits.config_size, json_left):
                        oversized.add(name)
                        continue
                    data = view.read(member.size)
                    json_left -= len(data)
                    jsons[name] = data
    except _LimitExceeded as exc:
        problems.append(f"image archive: {exc}")
    except (tarfile.TarError, EOFError, zlib.error, OSError, ValueError) as exc:
        problems.append(f"corrupt or truncated image archive ({type(exc).__name__}: {str(exc)[:120]})")
    order, config, more = _resolve_archive(jsons, oversized, problems, limits)
    for name in order:
        if name not in layers and name in unreadable:
            layers[name] = _Layer(name, problem="not a tar stream")
    scan = _assemble(ref, order, layers, config, rules, problems, more)
    _count_unnamed(scan, budget)
    scan.seconds = time.perf_counter() - started
    return scan


def _count_unnamed(scan: ImageScan, budget: _Budget) -> None:
    if budget.skipped_unnamed:
        scan.skipped.append(Skipped("(image)", f"{budget.skipped_unnamed} more members skipped (too large)"))


def _load_json(data: bytes | None, what: str, problems: list[str]) -> Any:
    if data is None:
        return None
    try:
        return json.loads(data)
    except (ValueError, RecursionError):
        problems.append(f"{what} is not valid JSON")
        return None


def _resolve_archive(
    jsons: dict[str, bytes], oversized: set[str], problems: list[str], limits: Limits
) -> tuple[list[str], Any, int]:
    """(layer member names bottom-up, the config, how many more images the archive holds)."""
    manifest = _load_json(jsons.get("manifest.json"), "manifest.json", problems)
    if isinstance(manifest, list) and manifest and isinstance(manifest[0], dict):
        entry = manifest[0]
        layer_names = [str(x).removeprefix("./") for x in entry.get("Layers") or [] if isinstance(x, str)]
        config_name = str(entry.get("Config") or "").removeprefix("./")
        return layer_names, _config(jsons, config_name, oversized, problems, limits), len(manifest) - 1
    if "index.json" in jsons:  # an OCI layout tarball without docker's manifest.json

        def blob(digest: str) -> bytes | None:
            return jsons.get(f"blobs/sha256/{digest.removeprefix('sha256:')}") if _DIGEST.fullmatch(digest) else None

        found = _oci_manifest(
            lambda d: blob(d), _load_json(jsons["index.json"], "index.json", problems), None, problems
        )
        if found is None:
            return [], None, 0
        layers, config_digest = found
        names = [f"blobs/sha256/{d.removeprefix('sha256:')}" for d in layers]
        config_name = f"blobs/sha256/{config_digest.removeprefix('sha256:')}"
        return names, _config(jsons, config_name, oversized, problems, limits), 0
    if not problems:
        problems.append("no manifest.json or index.json: not a docker-archive or OCI image tar")
    return [], None, 0


def _config(jsons: dict[str, bytes], name: str, oversized: set[str], problems: list[str], limits: Limits) -> Any:
    if name in oversized:
        problems.append(f"image config larger than {limits.config_size} bytes: not scanned")
        return None
    if name not in jsons:
        problems.append("image config missing from the archive")
        return None
    return _load_json(jsons[name], "image config", problems)


# -- OCI layouts ----------------------------------------------------------------------------

_MANIFEST_TYPES = ("application/vnd.oci.image.manifest.v1+json", "application/vnd.docker.distribution.manifest.v2+json")


def _oci_manifest(
    blob: Callable[[str], bytes | None], index: Any, tag: str | None, problems: list[str], depth: int = 0
) -> tuple[list[str], str] | None:
    """(layer digests bottom-up, config digest) of the image ``index`` points to (linux/amd64 first)."""
    if not isinstance(index, dict) or not isinstance(index.get("manifests"), list):
        problems.append("index.json has no manifests list")
        return None
    entries = [m for m in index["manifests"] if isinstance(m, dict) and isinstance(m.get("digest"), str)]
    if tag is not None:
        entries = [m for m in entries if (m.get("annotations") or {}).get("org.opencontainers.image.ref.name") == tag]
        if not entries:
            problems.append(f"no image tagged {tag!r} in the layout's index.json")
            return None

    def rank(m: dict[str, Any]) -> int:
        platform = m.get("platform") or {}
        return 0 if platform.get("os", "linux") == "linux" and platform.get("architecture", "amd64") == "amd64" else 1

    for entry in sorted(entries, key=rank):
        doc = _load_json(blob(entry["digest"]), "a manifest", problems)
        if not isinstance(doc, dict):
            continue
        if isinstance(doc.get("manifests"), list) and depth < 2:  # a nested index (multi-platform)
            return _oci_manifest(blob, doc, None, problems, depth + 1)
        config = doc.get("config")
        if isinstance(config, dict) and isinstance(config.get("digest"), str):
            layers = [str(x["digest"]) for x in doc.get("layers") or [] if isinstance(x, dict) and "digest" in x]
            return layers, str(config["digest"])
    problems.append("no image manifest found through index.json")
    return None


def _open_blob(directory: str, digest: str, limit: int | None = None) -> IO[bytes]:
    """A blob of the layout, by a VALID digest only (no path from the image reaches open), no symlinks."""
    if not _DIGEST.fullmatch(digest):
        raise _LimitExceeded(f"bad blob digest {digest[:80]!r}")
    path = os.path.join(directory, "blobs", "sha256", digest[len("sha256:") :])
    fd = os.open(path, os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_NONBLOCK", 0))
    if not stat.S_ISREG(os.fstat(fd).st_mode):
        os.close(fd)
        raise _LimitExceeded(f"blob {digest[:19]} is not a regular file")
    if limit is not None and os.fstat(fd).st_size > limit:
        os.close(fd)
        raise _LimitExceeded(f"blob {digest[:19]} is larger than {limit} bytes")
    return os.fdopen(fd, "rb", buffering=_CHUNK)


def _read_blob(directory: str, digest: str, limit: int, problems: list[str], what: str) -> bytes | None:
    try:
        with _open_blob(directory, digest, limit) as fh:
            return fh.read(limit + 1)
    except _LimitExceeded as exc:
        problems.append(f"{what}: {exc}")
    except OSError as exc:
        problems.append(f"{what} {digest[:19]}: cannot be read ({exc.strerror})")
    return None


def scan_oci(
    directory: str, tag: str | None, ref: str, rules: Sequence[CompiledRule], limits: Limits | None = None
) -> ImageScan:
    limits = limits or Limits()
    started = time.perf_counter()
    if not os.path.isfile(os.path.join(directory, "index.json")):
        raise UsageError(
            f"{_shown(directory)} is not an OCI image layout (no index.json)",
            "pass the directory skopeo or buildx wrote, e.g. skopeo copy docker-daemon:IMG oci:DIR",
        )
    problems: list[str] = []
    index = _load_json(
        _read_blob_path(os.path.join(directory, "index.json"), limits.config_size, problems), "index.json", problems
    )
    found = _oci_manifest(
        lambda d: _read_blob(directory, d, limits.config_size, problems, "manifest"), index, tag, problems
    )
    layers: dict[str, _Layer] = {}
    order: list[str] = []
    config = None
    budget = _Budget(limits.members)
    scanner = _MemberScanner(rules)
    if found is not None:
        digests, config_digest = found
        config = _load_json(
            _read_blob(directory, config_digest, limits.config_size, problems, "image config"), "image config", problems
        )
        if len(digests) > limits.layers:
            problems.append(f"more than {limits.layers} layers ({len(digests)}): the rest was not scanned")
        for digest in digests[: limits.layers]:
            order.append(digest)
            try:
                with _open_blob(directory, digest) as fh:
                    layers[digest] = _scan_layer(_View(_Base(fh)), digest, scanner, limits, budget)
            except _LimitExceeded as exc:
                layers[digest] = _Layer(digest, problem=str(exc))
            except OSError as exc:
                layers[digest] = _Layer(digest, problem=f"cannot be read ({exc.strerror})")
            if budget.left < 0:
                break
    scan = _assemble(ref, order, layers, config, rules, problems, 0)
    _count_unnamed(scan, budget)
    scan.seconds = time.perf_counter() - started
    return scan


def _read_blob_path(path: str, limit: int, problems: list[str]) -> bytes | None:
    try:
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_NONBLOCK", 0))
    except OSError as exc:
        problems.append(f"index.json cannot be read ({exc.strerror})")
        return None
    st = os.fstat(fd)
    if not stat.S_ISREG(st.st_mode) or st.st_size > limit:
        os.close(fd)
        problems.append(f"index.json is not a regular file of at most {limit} bytes")
        return None
    with os.fdopen(fd, "rb") as fh:
        return fh.read(limit + 1)


# -- attribution -----------------------------------------------------------------------------


def _shown(text: str) -> str:
    from reactor_ci.logsafe import line

    return line(text)


def _mask(text: str) -> str:
    from reactor_ci.redact import redact, scrub

    return _KEYLIKE.sub(lambda m: redact(m.group(0)), scrub(text))


def instruction(created_by: str) -> str:
    """A history ``created_by`` as the Dockerfile line a user wrote, with no value that could be a secret.

    Build-arg values (``|1 KEY=value /bin/sh -c …``, how ``docker history`` shows ARGs used by RUN)
    and ENV/ARG/LABEL values are dropped; anything key-shaped is masked.
    """
    text = created_by.strip().removesuffix("# buildkit").strip()
    suffix = ""
    if text.startswith("RUN |") or text.startswith("|"):
        text = text.removeprefix("RUN ")
        count, _, rest = text[1:].partition(" ")
        args: list[str] = []
        if count.isdigit():
            parts = rest.split(" ", int(count))
            args = [p.split("=", 1)[0] for p in parts[: int(count)]]
            text = parts[int(count)] if len(parts) > int(count) else ""
        suffix = f" (build args: {', '.join(args)})" if args else ""
        if not text.startswith("RUN "):
            text = "RUN " + text.removeprefix("/bin/sh -c ")
    elif text.startswith("/bin/sh -c #(nop)"):
        text = text[len("/bin/sh -c #(nop)") :].strip()
    elif text.startswith("/bin/sh -c "):
        text = "RUN " + text[len("/bin/sh -c ") :]
    word = text.split(" ", 1)[0].upper()
    if word in ("ENV", "ARG", "LABEL"):
        text = re.sub(r"=(\"[^\"]*\"|\S+)", "=…", text)
    text = _FILE_HASH.sub(r"\1…", text)  # COPY file:<64 hex>: 12 are enough to tell them apart
    text = _mask(text + suffix)
    if len(text) > _INSTRUCTION_MAX:
        text = text[: _INSTRUCTION_MAX - 1] + "…"
    return text


def _config_strings(config: Any) -> Iterator[tuple[str, str]]:
    """(json path, string) for every key and string value in the config (bounded by its size)."""
    stack: list[tuple[str, Any]] = [("", config)]
    while stack:
        where, value = stack.pop()
        if isinstance(value, str):
            yield where, value
        elif isinstance(value, dict):
            for k, v in reversed(list(value.items())):
                key = str(k)
                yield f"{where}.{key}(key)".lstrip("."), key
                stack.append((f"{where}.{key}".lstrip("."), v))
        elif isinstance(value, list):
            stack.extend((f"{where}[{i}]", v) for i, v in reversed(list(enumerate(value))))


def _history(config: Any) -> tuple[list[dict[str, Any]], list[int]]:
    """(every history entry, the history index of each non-empty one = each layer, bottom-up)."""
    history = config.get("history") if isinstance(config, dict) else None
    entries = [h if isinstance(h, dict) else {} for h in history] if isinstance(history, list) else []
    return entries, [i for i, h in enumerate(entries) if not h.get("empty_layer")]


def _diff_ids(config: Any) -> list[str]:
    rootfs = config.get("rootfs") if isinstance(config, dict) else None
    ids = rootfs.get("diff_ids") if isinstance(rootfs, dict) else None
    return [str(x) for x in ids] if isinstance(ids, list) else []


def _env_instruction(entries: list[dict[str, Any]], jpath: str, config: Any) -> str | None:
    """The ENV history line that set the variable at ``jpath`` (config.Env[i]), if one names it."""
    match = re.fullmatch(r"(?:config|container_config)\.Env\[(\d+)\]", jpath)
    if not match:
        return None
    try:
        name = str(config[jpath.split(".", 1)[0]]["Env"][int(match.group(1))]).split("=", 1)[0]
    except (KeyError, IndexError, TypeError):
        return None
    for entry in reversed(entries):
        created = str(entry.get("created_by", ""))
        if re.search(r"\bENV\s+(?:.*\s)?" + re.escape(name) + r"[=\s]", created):
            return instruction(created)
    return None


def _deleted_by(path: str, later: Sequence[tuple[int, _Layer]]) -> int | None:
    """The first later layer whose whiteout removes ``path`` (the file or one of its directories)."""
    parents = [path]
    head = path
    while "/" in head.strip("/"):
        head = head.rsplit("/", 1)[0]
        parents.append(head)
    for index, layer in later:
        if any(p in layer.deleted for p in parents) or any(p in layer.opaque for p in parents[1:]):
            return index
        if "/" in layer.opaque:
            return index
    return None


def _assemble(
    ref: str,
    order: list[str],
    layers: dict[str, _Layer],
    config: Any,
    rules: Sequence[CompiledRule],
    problems: list[str],
    more_images: int,
) -> ImageScan:
    scan = ImageScan(ref)
    entries, nonempty = _history(config)
    diff_ids = _diff_ids(config)
    total = len(order)
    if more_images:
        problems.append(f"the archive holds {more_images + 1} images: only the first was attributed")
    ordered = [(i, layers[k]) for i, k in enumerate(order) if k in layers]
    known = set(order)
    extra = [layer for key, layer in layers.items() if key not in known]  # layers no manifest named
    for n, key in enumerate(order):
        if key not in layers:
            problems.append(f"layer {n + 1}/{total} is missing from the archive")
    every: list[tuple[int | None, _Layer]] = [*ordered, *((None, layer) for layer in extra)]
    for i, layer in every:
        scan.layers += 1
        scan.files += layer.files
        scan.binary += layer.binary
        scan.bytes += layer.bytes
        digest = diff_ids[i] if i is not None and i < len(diff_ids) else _key_digest(layer.key)
        short = digest[:19] if digest else _shown(layer.key)[:40]
        created = None
        if i is not None and len(nonempty) == total and i < len(nonempty):
            created = instruction(str(entries[nonempty[i]].get("created_by", "")))
        where = f"layer {i + 1}/{total}" if i is not None else "a layer the manifest does not name"
        if layer.problem:
            problems.append(f"{where} ({short}): {layer.problem}")
            scan.skipped.append(Skipped(f"{short}!", layer.problem))
        later = [(j, other) for j, other in ordered if i is not None and j > i]
        for raw in layer.findings:
            if isinstance(raw, _SkippedMarker):
                scan.skipped.append(Skipped(f"{short}!{raw.path}", raw.description))
                continue
            gone = _deleted_by(raw.path, later) if later else None
            deleted = None
            note = ""
            if gone is not None:
                deleted_instr = (
                    instruction(str(entries[nonempty[gone]].get("created_by", "")))
                    if len(nonempty) == total and gone < len(nonempty)
                    else None
                )
                deleted = f"layer {gone + 1}/{total}" + (f" `{deleted_instr}`" if deleted_instr else "")
                note = f"; deleted by {deleted}, but the key still ships in this layer"
            description = f"{raw.description} in {raw.path}, {where}" + (f" `{created}`" if created else "") + note
            scan.findings.append(
                ImageFinding(
                    raw,
                    path=f"{short}!{raw.path}",
                    description=description,
                    image=ref,
                    member=raw.path,
                    layer=digest,
                    layer_index=i,
                    instruction=created,
                    deleted_by=deleted,
                )
            )
    if isinstance(config, dict):
        _scan_config(scan, config, entries, nonempty, diff_ids, rules, ref)
    scan.problems = problems
    return scan


def _key_digest(key: str) -> str | None:
    tail = key.rsplit("/", 1)[-1]
    return f"sha256:{tail}" if re.fullmatch(r"[0-9a-f]{64}", tail) else None


def _scan_config(
    scan: ImageScan,
    config: dict[str, Any],
    entries: list[dict[str, Any]],
    nonempty: list[int],
    diff_ids: list[str],
    rules: Sequence[CompiledRule],
    ref: str,
) -> None:
    # container_config (docker's legacy copy of the build container's config) repeats Env and
    # the last RUN: reported only for a key found nowhere else, so the docker and OCI forms
    # of one image (OCI configs have no container_config) give the same findings.
    found: list[tuple[str, Finding]] = []
    for jpath, value in _config_strings(config):
        found.extend(
            (jpath, raw)
            for raw in scan_bytes(value.encode("utf-8", "surrogateescape"), f"config!{jpath}", rules, fragment=True)
        )
    elsewhere = {raw.secret for jpath, raw in found if not jpath.startswith("container_config")}
    for jpath, raw in found:
        if jpath.startswith("container_config") and raw.secret in elsewhere:
            continue
        created = None
        layer = None
        index = None
        hist = re.fullmatch(r"history\[(\d+)\]\.created_by", jpath)
        if hist and int(hist.group(1)) < len(entries):
            h = int(hist.group(1))
            created = instruction(str(entries[h].get("created_by", "")))
            if h in nonempty and nonempty.index(h) < len(diff_ids):
                index = nonempty.index(h)
                layer = diff_ids[index]
        else:
            created = _env_instruction(entries, jpath, config)
        where = "the image config" + (" (history: visible to `docker history`)" if hist else "")
        description = f"{raw.description} in {where}" + (f" `{created}`" if created else "")
        scan.findings.append(
            ImageFinding(
                raw,
                path=f"config!{jpath}",
                description=description,
                image=ref,
                member=jpath,
                layer=layer,
                layer_index=index,
                instruction=created,
            )
        )


# -- the daemon ------------------------------------------------------------------------------


def _daemon_stream(client: Any, name: str) -> _ChunkReader:
    import docker

    try:
        # The SDK checks the answer's status on the first chunk: take it here, where the
        # error means "no such image" or "engine refused", not a damaged archive.
        chunks = iter(client.get_image(name, chunk_size=_CHUNK))
        first = next(chunks, b"")
    except (docker.errors.ImageNotFound, docker.errors.NotFound):
        raise UsageError(
            f"image {_shown(name)} is not in the docker engine",
            "build or pull it first (`docker images` lists what exists), or pass docker-archive:PATH / oci:DIR",
        ) from None
    except (docker.errors.DockerException, OSError) as exc:  # APIError among them; requests' errors are OSErrors
        from reactor_ci.errors import DockerError
        from reactor_ci.redact import scrub

        detail = getattr(exc, "explanation", None) or exc  # an APIError's own words, when the engine gave some
        raise DockerError(
            f"cannot export {_shown(name)}: {scrub(str(detail))[:300]}",
            "check the docker engine (`docker version`).",
            code="engine",
        ) from None
    return _ChunkReader(itertools.chain((first,), chunks))


def scan_image(
    text: str,
    rules: Sequence[CompiledRule],
    *,
    limits: Limits | None = None,
    client: Any = None,
) -> ImageScan:
    """Scan ``text`` (see :func:`parse_ref`); raises :class:`UsageError` for an unreadable source."""
    ref = parse_ref(text)
    shown = str(ref)
    if ref.kind == "oci":
        return scan_oci(ref.location, ref.tag, shown, rules, limits)
    if (
        ref.kind == "docker-archive" and ref.location == "-"
    ):  # `docker save IMAGE | reactor-ci scan --image docker-archive:-`
        import sys

        return scan_stream(sys.stdin.buffer, "docker-archive:-", rules, limits)
    if ref.kind == "docker-archive":
        try:
            fd = os.open(ref.location, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0))
        except OSError as exc:
            raise UsageError(
                f"docker-archive {_shown(ref.location)}: cannot be read ({exc.strerror})",
                "pass the file `docker save -o FILE IMAGE` wrote",
            ) from None
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            os.close(fd)
            raise UsageError(
                f"docker-archive {_shown(ref.location)} is not a regular file",
                "pass the file `docker save -o FILE IMAGE` wrote",
            )
        with os.fdopen(fd, "rb", buffering=_CHUNK) as fh:
            return scan_stream(fh, shown, rules, limits)
    if client is None:
        from reactor_ci.docker.engine import client as make_client

        client = make_client()
    import docker

    stream = _daemon_stream(client, ref.location)
    try:
        return scan_stream(io.BufferedReader(stream, _CHUNK), shown, rules, limits)
    except (docker.errors.DockerException, OSError) as exc:
        from reactor_ci.errors import DockerError
        from reactor_ci.redact import scrub

        raise DockerError(
            f"export of {_shown(ref.location)} failed: {scrub(str(exc))[:300]}",
            "check the docker engine and retry.",
            code="engine",
        ) from None


# -- the CLI's `scan --image` -----------------------------------------------------------------


def collect_image(args: Any, rules: Sequence[CompiledRule], max_size: int) -> tuple[list[Any], list[Any], int]:
    """``reactor-ci scan --image REF``: (findings, skipped, files) for the scan CLI's reporters."""
    import sys

    if args.paths:
        raise UsageError("--image cannot be combined with paths", "scan the image and the files in two runs")
    scan = scan_image(args.image, rules, limits=Limits(member_size=max_size))
    _add_ci_summary(scan)
    _note = _stderr_line
    if not args.quiet:
        _note(f"reactor-ci-scan: {scan.summary()}")
    for problem in scan.problems:
        _note(f"reactor-ci-scan: image not fully scanned: {_shown(problem)}")
    if scan.findings:
        _note(f"  fix [image]: {IMAGE_FIX}")
    elif not scan.complete:
        raise UsageError(
            f"{_shown(str(scan.ref))} could not be scanned completely ({len(scan.problems)} problem(s) above): "
            "it is not known to be free of keys",
            "rebuild or re-export the image (docker save / skopeo copy); a damaged or hostile image cannot be "
            "vouched for",
            code="image_incomplete",
        )
    sys.stderr.flush()
    return list(scan.findings), list(scan.skipped), scan.files


_SUMMARY_ROWS = 50


def _add_ci_summary(scan: ImageScan) -> None:
    """What was scanned, in the CI's job summary (GitHub's step summary; other CIs: the log line only)."""
    from reactor_ci import ci

    try:
        provider = ci.detect()
    except ValueError:  # an unknown REACTOR_CI_PROVIDER: the log line is still printed
        return
    code = ci.markdown_code
    rows = "\n".join(
        f"| {code(f.path)} | {code(f.rule)} | {code(f.redacted)} | {code(f.instruction or '')} |"
        for f in scan.findings[:_SUMMARY_ROWS]
    )
    more = (
        f"\n\n{len(scan.findings) - _SUMMARY_ROWS} more finding(s) in the job log."
        if len(scan.findings) > _SUMMARY_ROWS
        else ""
    )
    table = f"\n\n| where | rule | key | instruction |\n| --- | --- | --- | --- |\n{rows}{more}" if rows else ""
    problems = "".join(f"\n- not scanned: {code(p)}" for p in scan.problems[:_SUMMARY_ROWS])
    provider.add_summary(f"### Reactor key scan of an image\n\n{code(scan.summary())}{table}{problems}\n")


def _stderr_line(text: str) -> None:
    from reactor_ci.console import stderr

    stderr(text)
