"""Scanning many files: the per-file loop, and forked workers for big trees.

Output is the same for any number of workers, byte for byte: every result
carries the index of its file in the walk, and the parent merges by that
index (never by a path: findings carry display paths, which sort differently
from the raw paths the walk yields).
"""

from __future__ import annotations

import itertools
import os

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
from reactor_ci.scan.matching import CompiledRule, scan_bytes, shared_prefilter

TYPE_CHECKING = False  # typing costs ~3 ms to import; mypy treats this name as True
if TYPE_CHECKING:
    from collections.abc import Iterable, Iterator, Sequence

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


class _Scanner:
    """One process's scan: the reader, the prefilter and its results, fed (index, path) pairs in any order."""

    def __init__(
        self, rules: Sequence[CompiledRule], max_size: int, depth: Depth = _DEFAULT_DEPTH, *, bulk: bool = False
    ) -> None:
        self.rules = rules
        self.depth = depth
        self.bulk = bulk
        # Built before the fork, and shared with the archives of this scan (one Hyperscan compile).
        self.worth = shared_prefilter(rules, depth.decode_depth, bulk=bulk)
        self.reader = FileReader(max_size, skip_binary=True, sniff_archives=depth.archives)
        self.cwd = _cwd()  # display paths: read once (a scan does not change directory)
        self.findings: list[tuple[int, Finding]] = []
        self.skipped: list[tuple[int, Skipped]] = []
        self.count = 0

    def results(self) -> _Results:
        self.reader.close()
        return self.findings, self.skipped, self.count

    def scan(self, items: Iterable[tuple[int, str]]) -> None:
        rules, depth, worth, reader, bulk, cwd = self.rules, self.depth, self.worth, self.reader, self.bulk, self.cwd
        decode_depth = depth.decode_depth
        findings = self.findings
        skipped = self.skipped
        count = 0
        sniff_archives = depth.archives
        read = reader.read
        for index, path in items:
            data, n, why = read(path)
            if data is None:
                if why == ARCHIVE:
                    count += 1
                    findings.extend((index, f) for f in _archive(path, None, rules, depth, skipped, index, bulk, cwd))
                    continue
                if why == BINARY:
                    count += 1  # read (its head), like a small binary
                skipped.append((index, Skipped(display_path(path, cwd), why or "unreadable")))
                continue
            count += 1
            # A container by content (a zip of text may not look binary): two cheap tests per file.
            if (
                sniff_archives
                and (data.startswith(_MAGICS, 0, n) or (n >= 512 and data.startswith(b"ustar", 257)))
                and archive_kind(data[: min(n, 512)]) is not None
            ):
                findings.extend(
                    (index, f) for f in _archive(path, bytes(data[:n]), rules, depth, skipped, index, bulk, cwd)
                )
                continue
            head_end = min(n, BINARY_SNIFF)
            if data.find(b"\0", 0, head_end) >= 0:
                # Binary, UTF-16/32 or text with a stray NUL: judged before the
                # prefilter, so no binary is ever searched past its head.
                kind = sniff(data[:head_end])
                if kind == BINARY:
                    skipped.append((index, Skipped(display_path(path, cwd), BINARY)))
                    continue
                text = prepare(bytes(data[:n]))
                if text is None:  # not reached: sniff said it is text
                    continue
            else:
                # The prefilter: most files hold no keyword at all.
                if not worth(data, n):
                    continue
                text = bytes(data[:n]) if data is reader.buffer else bytes(data)
            shown = display_path(path, cwd)
            findings.extend((index, f) for f in scan_bytes(text, shown, rules, decode_depth=decode_depth))
        self.count += count


def _scan_files(
    files: Iterable[str],
    rules: Sequence[CompiledRule],
    max_size: int,
    depth: Depth = _DEFAULT_DEPTH,
    *,
    bulk: bool = False,
) -> _Results:
    scanner = _Scanner(rules, max_size, depth, bulk=bulk)
    scanner.scan(enumerate(files))
    return scanner.results()


def _archive(
    path: str,
    data: bytes | None,
    rules: Sequence[CompiledRule],
    depth: Depth,
    skipped: list[tuple[int, Skipped]],
    index: int,
    bulk: bool,
    cwd: str | None = None,
) -> list[Finding]:
    """Findings in a container file (read by path, or its bytes when already read); notes into ``skipped``."""
    from reactor_ci.scan import archive

    notes: list[Skipped] = []
    shown = display_path(path, cwd)
    limits, decode_depth = depth.limits, depth.decode_depth
    if data is None:
        found = list(
            archive.scan_file(path, shown, rules, limits=limits, notes=notes, decode_depth=decode_depth, bulk=bulk)
        )
    else:
        found = list(
            archive.scan_data(data, shown, rules, limits=limits, notes=notes, decode_depth=decode_depth, bulk=bulk)
        )
    skipped.extend((index, note) for note in notes)
    return found


def _cwd() -> str | None:
    try:
        return os.getcwd()
    except OSError:  # a working directory that was deleted: display_path reads it (and says so) per path
        return None


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


class _Feed:
    """The walk, handed to forked workers while it goes on: records of paths in a pipe.

    The parent walks; every batch of consecutive files is one record of
    ``PIPE_BUF`` bytes (the first file's index, the count, the paths), which
    POSIX writes atomically and which every worker reads whole, so several
    readers share one pipe safely.  The workers start on the first records
    while the parent still walks.  When the pipe is full the parent does not
    wait: it scans that batch itself.  Once the walk ends, the parent reads
    records like the workers until none is left; a worker that drew a run of
    archives just reads fewer records, so all end at about the same time.
    """

    def __init__(self) -> None:
        self.read_end, self.write_end = os.pipe()
        self.record = min(os.fpathconf(self.write_end, "PC_PIPE_BUF"), _RECORD_MAX)
        os.set_blocking(self.write_end, False)

    def send(self, start: int, paths: list[bytes]) -> bool:
        """Queue ``paths`` (indices ``start``…) as one record; False when the pipe is full."""
        body = b"\0".join(paths)
        record = start.to_bytes(8, "little") + len(paths).to_bytes(4, "little") + body
        try:
            os.write(self.write_end, record.ljust(self.record, b"\0"))
        except BlockingIOError:
            return False
        return True

    def end(self) -> None:
        if self.write_end >= 0:
            os.close(self.write_end)
            self.write_end = -1

    def items(self) -> Iterator[tuple[int, str]]:
        """(index, path) of the records this process reads, until the walk is over and the pipe empty."""
        size = self.record
        while True:
            record = os.read(self.read_end, size)
            if not record:
                return
            if len(record) != size:
                raise OSError("a short record in the scan's work pipe")
            start = int.from_bytes(record[:8], "little")
            count = int.from_bytes(record[8:12], "little")
            for offset, name in enumerate(record[12:].split(b"\0", count)[:count]):
                yield start + offset, os.fsdecode(name)


# A record's bytes: PIPE_BUF (4,096 on Linux, 512 on macOS), at most this. ~40 paths of
# site-packages per record: the last record a worker takes costs milliseconds.
_RECORD_MAX = 4096
_HEADER = 12


def _child(feed: _Feed, scanner: _Scanner) -> tuple[int, int]:
    """Fork one worker reading ``feed``; (pid, read end of its results pipe)."""
    read_end, write_end = os.pipe()
    pid = os.fork()
    if pid == 0:  # child
        code = 0
        try:
            os.close(read_end)
            feed.end()  # only the parent writes: the pipe must end when its walk does
            scanner.scan(feed.items())
            blob = _encode(scanner.results())
            with os.fdopen(write_end, "wb") as out:
                out.write(blob)
        except BaseException:
            code = 1
        finally:
            os._exit(code)
    os.close(write_end)
    return pid, read_end


# Names of multi-member containers (a wheel costs ~50 ms where a source file costs 50 µs): each is
# sent as a record of its own, so two of them in a row go to two processes. A hint for scheduling
# only; what a file is, and how it is scanned, is decided by its content (files.archive_kind).
_HEAVY_SUFFIXES = (b".whl", b".zip", b".jar", b".egg", b".tar", b".tgz", b".tar.gz", b".tar.xz", b".tar.bz2")


def _offer(feed: _Feed, scanner: _Scanner, start: int, batch: list[bytes]) -> None:
    """Queue ``batch`` (indices ``start``…), or scan it here when the pipe is full (the workers are busy)."""
    if batch and not feed.send(start, batch):
        scanner.scan(enumerate(map(os.fsdecode, batch), start))


def _scan_parallel(
    head: list[str],
    rest: Iterator[str],
    rules: Sequence[CompiledRule],
    max_size: int,
    workers: int,
    depth: Depth = _DEFAULT_DEPTH,
    bulk: bool = False,
) -> _Results:
    """Scan ``head`` then ``rest`` (the walk, still going) in ``workers`` processes.

    The prefilter is CPU-bound and holds the GIL, hence forked processes.
    Children send their results back over a pipe (in memory, never to disk),
    then leave with ``os._exit``; every result carries its file's index in
    the walk, so the merge does not depend on who scanned what.
    """
    scanner = _Scanner(rules, max_size, depth, bulk=bulk)  # built before the fork: compiled once
    feed = _Feed()
    children: list[tuple[int, int]] = []
    try:
        children = [_child(feed, scanner) for _ in range(1, workers)]
        room = feed.record - _HEADER
        batch: list[bytes] = []
        start = used = 0
        index = -1
        for index, path in enumerate(itertools.chain(head, rest)):
            name = os.fsencode(path)
            alone = name.endswith(_HEAVY_SUFFIXES)
            if alone or used + len(name) + 1 > room:
                _offer(feed, scanner, start, batch)
                batch, start, used = [], index, 0
                if len(name) >= room:  # a path longer than a record: scanned here
                    scanner.scan([(index, path)])
                    start = index + 1
                    continue
                if alone:  # a record of its own: whoever takes it is not also given the next wheel
                    _offer(feed, scanner, index, [name])
                    start = index + 1
                    continue
            batch.append(name)
            used += len(name) + 1
        _offer(feed, scanner, start, batch)
        feed.end()
        scanner.scan(feed.items())
    finally:
        feed.end()  # on an error too: the workers then see the end of the walk and stop
        os.close(feed.read_end)
    findings, skipped, count = scanner.results()
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
    # Each process's results are in its own order of records: a stable sort on the file
    # index alone restores the walk's order and keeps each file's own order.
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
    walk = iter_files(paths, skipped)
    # Enough of the walk to decide whether forking pays; the rest is walked while workers scan.
    head = list(itertools.islice(walk, PARALLEL_MIN_FILES))
    n = _workers() if workers is None else max(1, workers)
    bulk = len(head) >= PARALLEL_MIN_FILES  # a big tree: the one-pass prefilter pays for its start
    if n > 1 and bulk:
        found, more_skipped, count = _scan_parallel(head, walk, rules, max_size, min(n, _MAX_JOBS), depth, bulk)
    else:
        found, more_skipped, count = _scan_files(itertools.chain(head, walk), rules, max_size, depth, bulk=bulk)
    skipped.extend(s for _, s in more_skipped)
    return [f for _, f in found], count
