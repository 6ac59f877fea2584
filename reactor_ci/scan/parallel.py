"""Scanning many files: the per-file loop, and forked workers for big trees.

Output is the same for any number of workers, byte for byte: every result
carries the index of its file in the walk, and the parent merges by that
index (never by a path: findings carry display paths, which sort differently
from the raw paths the walk yields).
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Iterator, Sequence

from reactor_ci.scan.files import (
    ARCHIVE,
    BINARY,
    BINARY_SNIFF,
    DEFAULT_MAX_SIZE,
    FileReader,
    archive_kind,
    display_path,
    iter_files,
    prepare,
    sniff,
)
from reactor_ci.scan.finding import Finding, Skipped
from reactor_ci.scan.matching import CompiledRule, scan_bytes, text_prefilter

TYPE_CHECKING = False  # typing costs ~3 ms to import; mypy treats this name as True
if TYPE_CHECKING:
    from reactor_ci.scan.archive import Limits

__all__ = ["PARALLEL_MIN_FILES", "Depth", "scan_paths"]


class Depth:
    """How far a scan looks behind a layer: archives opened, decoding levels, the archive limits."""

    __slots__ = ("archives", "decode_depth", "limits")

    def __init__(self, archives: bool = True, decode_depth: int = 1, limits: Limits | None = None) -> None:
        self.archives = archives
        self.decode_depth = decode_depth
        self.limits = limits


_DEFAULT_DEPTH = Depth()
# First bytes of a zip, gzip, bzip2 or xz file (a tar is told by "ustar" at offset 257).
_MAGICS = (b"PK\x03\x04", b"PK\x05\x06", b"\x1f\x8b\x08", b"BZh", b"\xfd7zXZ\x00")

# Forking pays off only on big trees: a pre-commit batch stays in one process.
PARALLEL_MIN_FILES = 400
_MAX_WORKERS = 8  # the default's ceiling (one per CPU); --jobs may ask for up to _MAX_JOBS
_MAX_JOBS = 64

# (file index, finding) and (file index, skipped): the index orders the merge.
_Results = tuple[list[tuple[int, Finding]], list[tuple[int, Skipped]], int]


def _scan_files(
    files: Sequence[str],
    indices: Iterable[int],
    rules: Sequence[CompiledRule],
    max_size: int,
    depth: Depth = _DEFAULT_DEPTH,
) -> _Results:
    decode_depth = depth.decode_depth
    worth = text_prefilter(rules, decode_depth)
    findings: list[tuple[int, Finding]] = []
    skipped: list[tuple[int, Skipped]] = []
    count = 0
    sniff_archives = depth.archives
    reader = FileReader(max_size, skip_binary=True, sniff_archives=sniff_archives)
    read = reader.read
    for index in indices:
        path = files[index]
        data, n, why = read(path)
        if data is None:
            if why == ARCHIVE:
                count += 1
                findings.extend((index, f) for f in _archive(path, None, rules, depth, skipped, index))
                continue
            if why == BINARY:
                count += 1  # read (its head), like a small binary
            skipped.append((index, Skipped(display_path(path), why or "unreadable")))
            continue
        count += 1
        # A container by content (a zip of text may not look binary): two cheap tests per file.
        if (
            sniff_archives
            and (data.startswith(_MAGICS, 0, n) or (n >= 512 and data[257:262] == b"ustar"))
            and archive_kind(data[: min(n, 512)]) is not None
        ):
            findings.extend((index, f) for f in _archive(path, bytes(data[:n]), rules, depth, skipped, index))
            continue
        head_end = min(n, BINARY_SNIFF)
        if data.find(b"\0", 0, head_end) >= 0:
            # Binary, UTF-16/32 or text with a stray NUL: judged before the
            # prefilter, so no binary is ever searched past its head.
            kind = sniff(data[:head_end])
            if kind == BINARY:
                skipped.append((index, Skipped(display_path(path), BINARY)))
                continue
            text = prepare(bytes(data[:n]))
            if text is None:  # not reached: sniff said it is text
                continue
        else:
            # The prefilter: most files hold no keyword at all.
            if not worth(data, n):
                continue
            text = bytes(data[:n]) if data is reader.buffer else bytes(data)
        findings.extend((index, f) for f in scan_bytes(text, display_path(path), rules, decode_depth=decode_depth))
    reader.close()
    return findings, skipped, count


def _archive(
    path: str,
    data: bytes | None,
    rules: Sequence[CompiledRule],
    depth: Depth,
    skipped: list[tuple[int, Skipped]],
    index: int,
) -> list[Finding]:
    """Findings in a container file (read by path, or its bytes when already read); notes into ``skipped``."""
    from reactor_ci.scan import archive

    notes: list[Skipped] = []
    shown = display_path(path)
    limits, decode_depth = depth.limits, depth.decode_depth
    if data is None:
        found = list(archive.scan_file(path, shown, rules, limits=limits, notes=notes, decode_depth=decode_depth))
    else:
        found = list(archive.scan_data(data, shown, rules, limits=limits, notes=notes, decode_depth=decode_depth))
    skipped.extend((index, note) for note in notes)
    return found


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


def _encode(result: _Results) -> bytes:
    import marshal  # builtin: no import cost worth naming

    findings, skipped, count = result
    return marshal.dumps(([(i, f.astuple()) for i, f in findings], [(i, s.path, s.reason) for i, s in skipped], count))


def _decode(blob: bytes) -> _Results:
    import marshal

    raw_findings, raw_skipped, count = marshal.loads(blob)  # noqa: S302 - from our own forked child
    return [(i, Finding(*f)) for i, f in raw_findings], [(i, Skipped(p, r)) for i, p, r in raw_skipped], count


# Files handed out per claim: small enough that no worker is left with the last
# heavy run of archives (botocore's data is 1,347 gzipped files in a row), big
# enough that claiming (two small pipe syscalls) costs nothing next to reading.
_CLAIM = 16


class _Queue:
    """The next file index to scan, shared by forked workers: a token passed around in a pipe.

    The pipe holds ONE 8-byte token, the next unclaimed index: a worker reads
    it (the read blocks while another worker holds it, so the token is also
    the lock), writes back the index after the files it takes, and scans
    them.  The pipe never holds more than 8 bytes, so no write can block on a
    full pipe whatever its size, and every worker, the parent too, takes work
    until none is left: a worker that drew the archives simply claims fewer
    files, so the children end together instead of one share outlasting the other.
    """

    __slots__ = ("_read", "_total", "_write")

    def __init__(self, total: int) -> None:
        self._read, self._write = os.pipe()
        self._total = total
        os.write(self._write, (0).to_bytes(8, "little"))

    def claims(self) -> Iterator[int]:
        """File indices for this process, in runs of up to ``_CLAIM``, until none is left."""
        total = self._total
        while True:
            token = os.read(self._read, 8)
            start = int.from_bytes(token, "little") if len(token) == 8 else total
            stop = min(start + _CLAIM, total)
            os.write(self._write, max(stop, start).to_bytes(8, "little"))  # pass it on at once
            if start >= total:
                return
            yield from range(start, stop)

    def close(self) -> None:
        os.close(self._read)
        os.close(self._write)


def _scan_parallel(
    files: Sequence[str], rules: Sequence[CompiledRule], max_size: int, workers: int, depth: Depth = _DEFAULT_DEPTH
) -> _Results:
    """Scan in ``workers`` forked processes (the prefilter is CPU-bound and holds the GIL).

    Children send their results back over a pipe (in memory, never to disk),
    then leave with ``os._exit``.  Files are handed out from a shared queue
    (:class:`_Queue`) in small runs, so a worker that meets a directory of
    archives takes fewer files and every worker ends at about the same time.
    """
    queue = _Queue(len(files))
    children: list[tuple[int, int]] = []
    try:
        for _ in range(1, workers):
            read_end, write_end = os.pipe()
            pid = os.fork()
            if pid == 0:  # child
                code = 0
                try:
                    os.close(read_end)
                    blob = _encode(_scan_files(files, queue.claims(), rules, max_size, depth))
                    with os.fdopen(write_end, "wb") as out:
                        out.write(blob)
                except BaseException:
                    code = 1
                finally:
                    os._exit(code)
            os.close(write_end)
            children.append((pid, read_end))
        findings, skipped, count = _scan_files(files, queue.claims(), rules, max_size, depth)
    finally:
        queue.close()
    failed = False
    for pid, read_end in children:
        with os.fdopen(read_end, "rb") as inp:
            blob = inp.read()
        _, status = os.waitpid(pid, 0)
        if status != 0 or not blob:
            failed = True
            continue
        more_findings, more_skipped, more_count = _decode(blob)
        findings.extend(more_findings)
        skipped.extend(more_skipped)
        count += more_count
    if failed:
        from reactor_ci.errors import ReactorCIError

        raise ReactorCIError("a scan worker process failed", "run the scan again with --jobs 1")
    # Each worker's results are in its own index order; its runs interleave with the
    # others': a stable sort on the file index alone restores the walk's order, and
    # keeps each file's own order.
    findings.sort(key=lambda item: item[0])
    skipped.sort(key=lambda item: item[0])
    return findings, skipped, count


def scan_paths(
    paths: Iterable[str],
    rules: Sequence[CompiledRule],
    *,
    max_size: int = DEFAULT_MAX_SIZE,
    skipped: list[Skipped] | None = None,
    workers: int | None = None,
    depth: Depth | None = None,
) -> tuple[list[Finding], int]:
    """Scan files and directories; returns (findings, number of files read).

    ``workers``: processes for big trees (None: one per CPU, 1 under pre-commit).
    The result is the same for any value.  ``depth``: archives and decoding
    (default: both on, one decoding level, the default archive limits).
    """
    depth = depth or _DEFAULT_DEPTH
    skipped = [] if skipped is None else skipped
    files = list(iter_files(paths, skipped))
    n = _workers() if workers is None else max(1, workers)
    if n > 1 and len(files) >= PARALLEL_MIN_FILES:
        found, more_skipped, count = _scan_parallel(files, rules, max_size, min(n, _MAX_JOBS), depth)
    else:
        found, more_skipped, count = _scan_files(files, range(len(files)), rules, max_size, depth)
    skipped.extend(s for _, s in more_skipped)
    return [f for _, f in found], count
