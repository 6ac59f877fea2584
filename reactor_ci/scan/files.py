"""Files: the walk, the one reader, encoding sniffing and display paths.

The reader never follows a symlink (``O_NOFOLLOW``), reads only regular files
(``fstat`` on the open descriptor, so a swap between check and read cannot
fool it), never blocks on a FIFO (``O_NONBLOCK``), and caps what it reads at
``max_size`` even when a file grows while it is read.
"""

from __future__ import annotations

import errno
import os
import stat

from reactor_ci.scan.finding import Skipped

TYPE_CHECKING = False  # collections.abc costs ~2 ms to import (the batch's fast start needs this module)
if TYPE_CHECKING:
    from collections.abc import Iterable, Iterator

__all__ = [
    "ARCHIVE",
    "BINARY",
    "BINARY_SNIFF",
    "BOMS",
    "DEFAULT_BASELINE",
    "DEFAULT_MAX_SIZE",
    "MOSTLY_TEXT",
    "TEXT",
    "FileReader",
    "archive_kind",
    "display_path",
    "is_binary",
    "iter_files",
    "prepare",
    "read_file",
    "sniff",
]

DEFAULT_MAX_SIZE = 5 * 1024 * 1024
# The baseline a scan of paths reads from the working directory when it exists (reactor_ci.scan.engine re-exports it).
DEFAULT_BASELINE = ".reactor-ci-baseline.json"
BINARY_SNIFF = 8192
_SKIP_DIRS = frozenset({".git", ".hg", ".svn"})

# -- encodings ---------------------------------------------------------------------

_BOMS = (
    (b"\xff\xfe\x00\x00", "utf-32"),
    (b"\x00\x00\xfe\xff", "utf-32"),
    (b"\xff\xfe", "utf-16"),
    (b"\xfe\xff", "utf-16"),
)
BOMS = tuple(bom for bom, _ in _BOMS)  # the UTF-16/32 byte order marks :func:`sniff` transcodes by
_BOM_FIRST = frozenset(bom[0] for bom in BOMS)


# The UTF-16 pattern (a NUL in every other byte) is plain within the first KB.
_UTF16_SNIFF = 1024
# Where sniff counts NULs after the first KB, span by span (the last to the head's end).
_NUL_SPANS = ((_UTF16_SNIFF, 2 * _UTF16_SNIFF), (2 * _UTF16_SNIFF, 1 << 62))


def _looks_utf16(head: bytes) -> str | None:
    head = head[:_UTF16_SNIFF]
    even = head[0::2]
    odd = head[1::2]
    if not even or not odd:
        return None
    if odd.count(0) > 0.9 * len(odd) and even.count(0) < 0.1 * len(even):
        return "utf-16-le"
    if even.count(0) > 0.9 * len(even) and odd.count(0) < 0.1 * len(odd):
        return "utf-16-be"
    return None


# Bytes of text: printable ASCII, TAB/LF/VT/FF/CR, ESC, and every byte >= 0x80 (UTF-8, Latin-1).
_TEXT_BYTES = bytes([9, 10, 11, 12, 13, 27, *range(0x20, 0x7F), *range(0x80, 0x100)])
# A head with NUL bytes is still text when at most 1 byte in this many is a
# control byte: a stray NUL must not hide a key (git, and scanners that follow
# it, call any file with a NUL in its first 8000 bytes binary).
_MOSTLY_TEXT = 20

TEXT = "text"  # no NUL byte in the head: scanned as it is
MOSTLY_TEXT = "mostly-text"  # a few NUL bytes in text: scanned as it is
BINARY = "binary"
ARCHIVE = "archive"  # FileReader's reason for a container it left for reactor_ci.scan.archive


def sniff(head: bytes | bytearray) -> str:
    """What a file starting with ``head`` (its first 8 KB) is.

    :data:`TEXT`, :data:`MOSTLY_TEXT`, :data:`BINARY`, or the UTF-16/32
    encoding of text to transcode (by its byte order mark, or BOM-less UTF-16
    by its NUL pattern).  Cheap tests first: most files have no NUL, and most
    binaries have too many NULs to be text.
    """
    # The first KB's NULs first: they decide the UTF-16 test, and most binaries (.so,
    # .pyc) already hold more than 5 % of the whole head there, so the rest is not counted.
    first = head.count(0, 0, _UTF16_SNIFF)
    if not first and head.find(0, _UTF16_SNIFF) < 0:
        return TEXT
    # Most binaries leave below after these counts: no BOM can start with their first
    # byte, and their first KB has too few NULs for the UTF-16 pattern (which needs
    # over 90 % of one half; the margin keeps float rounding out of it).
    if head and head[0] in _BOM_FIRST:
        for bom, enc in _BOMS:
            if head.startswith(bom):
                return enc
    sniffed = min(len(head), _UTF16_SNIFF)
    if first * 10 + 10 > 9 * (sniffed // 2):
        encoding = _looks_utf16(bytes(head[:_UTF16_SNIFF]))
        if encoding is not None:
            return encoding
    # NULs counted until they pass 5 % of the head: most .pyc pass it within 2 KB.
    nuls = first
    for start, end in _NUL_SPANS:
        if nuls * _MOSTLY_TEXT > len(head):
            return BINARY
        nuls += head.count(0, start, end)
    if nuls * _MOSTLY_TEXT > len(head):
        return BINARY
    controls = len(head.translate(None, _TEXT_BYTES))
    return MOSTLY_TEXT if controls * _MOSTLY_TEXT <= len(head) else BINARY


def is_binary(head: bytes | bytearray) -> bool:
    """Would :func:`prepare` call a file starting with ``head`` (its first 8 KB) binary?"""
    return sniff(head) == BINARY


def prepare(data: bytes) -> bytes | None:
    """Text bytes to scan, or None for a binary file.

    Binary: a NUL byte in the first 8 KB, unless that head is UTF-16/32 text
    (transcoded to UTF-8 so the ASCII rules see it) or mostly text (at most
    5 % control bytes: scanned as it is).
    """
    kind = sniff(data[:BINARY_SNIFF])
    if kind in (TEXT, MOSTLY_TEXT):
        return data
    if kind == BINARY:
        return None
    return data.decode(kind, "replace").encode("utf-8", "surrogateescape")


# -- containers (opened by reactor_ci.scan.archive, sniffed here: no import on the hot path)

ARCHIVE_HEAD = 512  # bytes :func:`archive_kind` needs to tell a tar


def archive_kind(head: bytes | bytearray | memoryview) -> str | None:
    """What container ``head`` (a file's first bytes) starts, by magic number, or None.

    ``"zip"``, ``"gzip"``, ``"bzip2"``, ``"xz"`` or ``"tar"`` (the ustar magic,
    and the header's checksum when all 512 bytes are there).  By content, never
    by name: a wheel is a zip, a ``docker save`` output a tar.
    """
    head = bytes(head[:ARCHIVE_HEAD])
    if head.startswith((b"PK\x03\x04", b"PK\x05\x06")):
        return "zip"
    if head.startswith(b"\x1f\x8b\x08"):
        return "gzip"
    if head.startswith(b"BZh") and head[3:4].isdigit() and head[4:10] == b"1AY&SY":
        return "bzip2"
    if head.startswith(b"\xfd7zXZ\x00"):
        return "xz"
    if head[257:262] == b"ustar" and _tar_checksum_ok(head):
        return "tar"
    return None


def _tar_checksum_ok(header: bytes) -> bool:
    if len(header) < 512:
        return True  # a short head: the magic alone decides
    try:
        stored = int(header[148:156].replace(b"\0", b" ").strip() or b"0", 8)
    except ValueError:
        return False
    return stored == sum(header[:148]) + 8 * 0x20 + sum(header[156:512])


# -- the reader --------------------------------------------------------------------

_OPEN_FLAGS = os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_BINARY", 0)
# Files smaller than the buffer are read into one reused bytearray (it stays in
# the CPU cache, and no fresh pages are faulted in per file); bigger ones into bytes.
BUFFER_SIZE = 256 * 1024
_readv = getattr(os, "readv", None)  # POSIX only; elsewhere every file is read into bytes


class FileReader:
    """Reads files under the scanner's rules, reusing one buffer for small files.

    :meth:`read` returns ``(data, n, None)``, where the first ``n`` bytes of
    ``data`` are the file (``data`` is the reused buffer, overwritten by the
    next read, or a fresh ``bytes``), or ``(None, 0, why)`` for a file that
    was skipped.
    """

    def __init__(
        self,
        max_size: int = DEFAULT_MAX_SIZE,
        buffer_size: int = BUFFER_SIZE,
        *,
        skip_binary: bool = False,
        sniff_archives: bool = False,
    ) -> None:
        self.max_size = max_size
        # A file left unread because it is big or binary, whose head is a container
        # (zip, tar, gzip...), is (None, 0, ARCHIVE): for reactor_ci.scan.archive to open.
        self.sniff_archives = sniff_archives
        # A big file whose head is binary is not read further: (None, 0, "binary").
        self.skip_binary = skip_binary
        self.buffer = bytearray(buffer_size if _readv is not None else 0)
        self._view = memoryview(self.buffer)
        self._whole = [self._view]  # readv's list for a whole small file, built once
        # Files up to this size are read whole in one call (the common case, see read);
        # bigger binaries have their head read first.
        small = min(len(self.buffer), max_size + 1)
        self._small = min(small, 2 * BINARY_SNIFF + 1) if skip_binary else small

    def close(self) -> None:
        self._view.release()

    def read(self, path: str) -> tuple[bytes | bytearray | None, int, str | None]:
        try:
            fd = os.open(path, _OPEN_FLAGS)
        except FileNotFoundError:
            return None, 0, "vanished"
        except OSError as exc:
            if exc.errno == errno.ELOOP:
                return None, 0, "symlink"
            return None, 0, f"unreadable ({exc.strerror})"
        try:
            st = os.fstat(fd)
            size = st.st_size
            if size < self._small and stat.S_ISREG(st.st_mode):
                # Most files of a tree: a small regular file, read whole in one call. A size
                # that moved meanwhile (a short read): the general path, from the start.
                n = _readv(fd, self._whole)  # type: ignore[misc]  # _small is 0 without readv
                if n == size:
                    return self.buffer, n, None
                os.lseek(fd, 0, os.SEEK_SET)
            return self._read_fd(fd, st)
        except OSError as exc:
            return None, 0, f"unreadable ({exc.strerror})"
        finally:
            os.close(fd)

    def _binary(self, head: bytes | memoryview) -> str:
        return ARCHIVE if self.sniff_archives and archive_kind(head) is not None else BINARY

    def _too_big(self) -> tuple[None, int, str]:
        return None, 0, f"larger than {self.max_size} bytes"

    def _read_fd(self, fd: int, st: os.stat_result) -> tuple[bytes | bytearray | None, int, str | None]:
        if not stat.S_ISREG(st.st_mode):
            return None, 0, "not a regular file"
        size = st.st_size
        if size > self.max_size:
            if self.sniff_archives and archive_kind(os.read(fd, ARCHIVE_HEAD)) is not None:
                return None, 0, ARCHIVE
            return self._too_big()
        head = b""
        capacity = len(self.buffer)
        if size < capacity:
            assert _readv is not None  # capacity is 0 without readv
            view = self._view
            n = 0
            if self.skip_binary and size > 2 * BINARY_SNIFF:
                # The head first: most bytes of a tree of installed packages are
                # in binaries (.so, .pyc), which are never read past it.
                n = _readv(fd, [view[:BINARY_SNIFF]])
                if n == BINARY_SNIFF and self.buffer.find(0, 0, n) >= 0 and sniff(self.buffer[:n]) == BINARY:
                    return None, 0, self._binary(view[:ARCHIVE_HEAD])
            else:
                n = _readv(fd, [view])
            # Done when the reads returned exactly the size fstat saw; otherwise (a
            # short read, a file that grew or shrank meanwhile) read on to EOF.
            while n != size and n < capacity:
                more = _readv(fd, [view[n:]])
                if not more:
                    break
                n += more
            if n < capacity:
                return (self.buffer, n, None) if n <= self.max_size else self._too_big()
            head = bytes(view)  # it grew past the buffer: go on reading into bytes
        elif self.skip_binary:
            # Too big for the buffer: judge the head first, and leave a big binary
            # (a shared library, a wheel, a database) unread past its first 8 KB.
            head = os.read(fd, BINARY_SNIFF)
            if sniff(head) == BINARY:
                return None, 0, self._binary(head)
        chunks = [head] if head else []
        remaining = self.max_size + 1 - len(head)
        while remaining > 0:
            chunk = os.read(fd, min(remaining, max(size, 65536) + 1))
            if not chunk:
                break
            chunks.append(chunk)
            remaining -= len(chunk)
        data = chunks[0] if len(chunks) == 1 else b"".join(chunks)
        if len(data) > self.max_size:
            return self._too_big()
        return data, len(data), None


def read_file(path: str, max_size: int = DEFAULT_MAX_SIZE) -> tuple[bytes | None, str | None]:
    """(data, None), or (None, why it was skipped).  Never follows a symlink."""
    data, _n, why = FileReader(max_size, buffer_size=0).read(path)
    return (bytes(data), None) if data is not None else (None, why)


# -- the walk ----------------------------------------------------------------------


def iter_files(paths: Iterable[str], skipped: list[Skipped]) -> Iterator[str]:
    """Files under ``paths`` (directories walked in sorted order), symlinks never followed."""
    for path in paths:
        try:
            st = os.lstat(path)
        except FileNotFoundError:
            skipped.append(Skipped(display_path(path), "vanished"))
            continue
        except OSError as exc:
            skipped.append(Skipped(display_path(path), f"unreadable ({exc.strerror})"))
            continue
        if stat.S_ISLNK(st.st_mode):
            skipped.append(Skipped(display_path(path), "symlink"))
        elif stat.S_ISDIR(st.st_mode):
            yield from _walk(path, skipped)
        else:
            yield path


def _name(entry: os.DirEntry[str]) -> str:
    return entry.name


def _walk(top: str, skipped: list[Skipped]) -> Iterator[str]:
    stack = [top]
    while stack:
        current = stack.pop()
        try:
            with os.scandir(current) as listing:
                entries = list(listing)
        except OSError:
            skipped.append(Skipped(display_path(current), "unreadable directory"))
            continue
        entries.sort(key=_name)  # not operator.attrgetter: a clean interpreter has not loaded operator
        subdirs = []
        for entry in entries:
            # follow_symlinks=False: a symlink is neither, so it is never walked nor read.
            if entry.is_dir(follow_symlinks=False):
                if entry.name not in _SKIP_DIRS:
                    subdirs.append(entry.path)
            elif entry.is_file(follow_symlinks=False):
                yield entry.path
        stack.extend(reversed(subdirs))


def _display_path(path: str) -> str:
    if os.path.isabs(path):
        try:
            rel = os.path.relpath(path)
            if not rel.startswith(".."):
                path = rel
        except ValueError:
            pass
    path = os.path.normpath(path)
    return path.replace(os.sep, "/") if os.sep != "/" else path


# Display paths of directories, for the working directory they were made in: a
# walk yields tens of thousands of files from a few thousand directories, and
# relpath/normpath cost more than reading a small file.  A directory missing
# from the cache is its parent's display path and its name (POSIX): the walk
# meets a parent before its children, so relpath runs about once per scan.
_dir_cache: dict[str, str] = {}
_dir_cache_cwd: list[str] = [""]
_DIR_CACHE_MAX = 65536
_PLAIN_NAME_SEP = os.sep == "/" and os.altsep is None


def _dir_display(head: str, cwd: str) -> str:
    """:func:`_display_path` of the directory ``head``, from the cache or its parent's entry."""
    shown = _dir_cache.get(head)
    if shown is not None:
        return shown
    parent, sep, name = head.rpartition("/")
    if (
        _PLAIN_NAME_SEP
        and sep
        and parent
        and name not in ("", ".", "..")
        and not parent.endswith("/")
        and (parent in _dir_cache or parent.count("/") < 64)
    ):
        shown = _below(_dir_display(parent, cwd), name, head, cwd)
    else:
        shown = _display_path(head)
    if len(_dir_cache) >= _DIR_CACHE_MAX:
        _dir_cache.clear()
    _dir_cache[head] = shown
    return shown


def display_path(path: str, cwd: str | None = None) -> str:
    """Relative, forward-slash path: what baselines and reports key on.

    Not escaped: the name is kept exactly (baselines fingerprint it, JSON and
    SARIF encode it); text outputs escape it with :func:`reactor_ci.logsafe.line`.
    ``cwd``: the working directory, from a caller that read it once (a scan of
    50k files spent ~5 % of its time in ``getcwd``); it must be the real one.
    """
    head, sep, name = path.rpartition(os.sep)
    if not sep or not head or name in ("", ".", "..") or head.endswith(os.sep):
        return _display_path(path)
    if not os.path.isabs(head):
        cwd = ""
    else:
        if cwd is None:
            cwd = os.getcwd()
        if _dir_cache_cwd[0] != cwd:
            _dir_cache.clear()
            _dir_cache_cwd[0] = cwd
    shown = _dir_cache.get(head)
    if shown is None:
        shown = _dir_display(head, cwd)
    return _below(shown, name, path, cwd)


def _below(above: str, name: str, path: str, cwd: str) -> str:
    """The display path of ``path``, the entry ``name`` in a directory displayed as ``above``.

    relpath and normpath of "parent/name" are the parent's with "/name" added, except
    below the root ("/", POSIX's "//": the slash would double) and below an absolute
    parent outside the working directory when ``name`` may make ``path`` the working
    directory itself ("/a/./b" from "/a/b"): those the plain way.  ``cwd``: "" for a
    relative ``path``.
    """
    if above == ".":
        return name
    if above.endswith("/") or (cwd and name == os.path.basename(cwd) and os.path.isabs(above)):
        return _display_path(path)
    return f"{above}/{name}"
