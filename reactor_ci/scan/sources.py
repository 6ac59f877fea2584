"""Where the bytes come from: git's index, tracked files, and history.

Every git mode reads exactly what git says, never a name re-parsed from text
meant for people: names come from NUL-separated output (``-z``), blobs are
read by object id (never ``:path``, which git reads as ``:<stage>:<path>``
for a file named ``0:x.txt``), and nothing is split on newlines, which a file
name may contain.

History mode scans only the lines a commit ADDED (``git log -p -U0``), so a
key that was committed and removed later is still found, and a key that was
only ever deleted is not reported twice.  The file names of each commit come
from the same command's ``--raw -z`` records; the patch headers are only
checked against them.
"""

from __future__ import annotations

import os
import re
import subprocess
from collections.abc import Iterator, Sequence

from reactor_ci.errors import ReactorCIError, UsageError

__all__ = [
    "ARCHIVE_NAMES",
    "AddedText",
    "history",
    "history_archives",
    "pre_push_range",
    "read_blobs",
    "staged_blobs",
    "tracked_files",
]

_ZERO = re.compile(r"^0+$")
_HUNK = re.compile(rb"^@@ -\d+(?:,\d+)? \+(\d+)(?:,\d+)? @@")
# A revision from pre-commit's environment: an object id or a ref name, never an option.
_REVISION = re.compile(r"^[^\s\-]\S{0,254}$")
# Settings that would change what git prints (prefixes, relative paths,
# signatures, submodule logs), pinned so the parser sees one format.
_PINNED = (
    "-c", "core.quotePath=false", "-c", "diff.noprefix=false", "-c", "diff.mnemonicPrefix=false",
    "-c", "diff.relative=false", "-c", "log.showSignature=false", "-c", "color.ui=false",
)  # fmt: skip
_SKIP_MODES = {b"160000": "submodule", b"120000": "symlink"}


class GitOutputError(ReactorCIError):
    """git printed something this parser does not understand: never guess a path."""


def _git(args: Sequence[str], *, input_bytes: bytes | None = None) -> bytes:
    try:
        proc = subprocess.run(["git", *_PINNED, *args], input=input_bytes, capture_output=True, check=False)
    except FileNotFoundError:
        raise UsageError("git is not installed or not on PATH", "install git, or pass file paths to scan") from None
    if proc.returncode != 0:
        raise _git_failed(args[0], proc.returncode, proc.stderr)
    return proc.stdout


def _git_failed(command: str, code: int, stderr: bytes) -> UsageError:
    from reactor_ci.logsafe import line

    err = stderr.decode("utf-8", "replace").strip().splitlines()
    return UsageError(
        f"git {command} failed: {line(err[-1][:300]) if err else f'exit {code}'}",
        "run inside a git work tree, and pass a revision that exists (e.g. --since origin/main)",
    )


def tracked_files() -> list[str]:
    """Work-tree paths of the files git tracks under the current directory (``git ls-files -s -z``).

    Submodules (mode 160000) are left out: they are other repositories.
    """
    out = _git(["ls-files", "-s", "-z"])
    seen: dict[str, None] = {}
    for record in out.split(b"\0"):
        if not record:
            continue
        meta, tab, name = record.partition(b"\t")
        if not tab:
            raise GitOutputError("git ls-files printed a record without a name", "upgrade git (2.20 or later)")
        if meta.split(b" ", 1)[0] == b"160000":
            continue
        seen.setdefault(os.fsdecode(name))  # an unmerged file is listed once per stage
    return list(seen)


def _raw_records(out: bytes) -> Iterator[tuple[bytes, bytes, bytes, bytes]]:
    """(new mode, new object id, status, path) from ``git diff --raw -z`` output."""
    fields = out.split(b"\0")
    i = 0
    while i < len(fields) and fields[i]:
        meta = fields[i].split(b" ")
        if len(meta) != 5 or not meta[0].startswith(b":"):
            raise GitOutputError("git diff --raw printed an unexpected record", "upgrade git (2.20 or later)")
        status = meta[4][:1]
        paths = 2 if status in (b"R", b"C") else 1
        if i + paths >= len(fields):
            raise GitOutputError("git diff --raw output ended early", "upgrade git (2.20 or later)")
        yield meta[1], meta[3], status, fields[i + paths]
        i += paths + 1


def staged_blobs(max_size: int) -> Iterator[tuple[str, bytes | None, str | None]]:
    """(path, staged content, None), or (path, None, why skipped), for every staged addition or change.

    Paths are relative to the top of the repository, as in history mode, so
    baseline fingerprints agree between the two from any directory.
    """
    out = _git(
        ["diff", "--cached", "--raw", "-z", "--no-renames", "--no-abbrev", "--no-relative", "--diff-filter=ACMRT"]
    )
    wanted: list[tuple[str, bytes]] = []
    for mode, oid, _status, name in _raw_records(out):
        path = os.fsdecode(name)
        if mode in _SKIP_MODES:
            yield path, None, _SKIP_MODES[mode]
        elif _ZERO.match(oid.decode("ascii", "replace")):
            yield path, None, "not in the index"  # an intent-to-add entry: nothing staged yet
        else:
            wanted.append((path, oid))
    if not wanted:
        return
    # Sizes first, so a huge staged blob is never read into memory.
    checks = _git(["cat-file", "--batch-check"], input_bytes=b"".join(oid + b"\n" for _, oid in wanted)).split(b"\n")
    if len(checks) < len(wanted):
        raise GitOutputError(
            "git cat-file --batch-check answered fewer objects than asked", "upgrade git (2.20 or later)"
        )
    to_read: list[tuple[str, bytes]] = []
    for (path, oid), check in zip(wanted, checks, strict=False):
        parts = check.split(b" ")
        if len(parts) != 3 or parts[0] != oid or parts[1] != b"blob" or not parts[2].isdigit():
            yield path, None, "not a blob in the object store"
        elif int(parts[2]) > max_size:
            yield path, None, f"larger than {max_size} bytes"
        else:
            to_read.append((path, oid))
    if not to_read:
        return
    raw = _git(["cat-file", "--batch"], input_bytes=b"".join(oid + b"\n" for _, oid in to_read))
    pos = 0
    for path, oid in to_read:
        header_end = raw.find(b"\n", pos)
        header = raw[pos:header_end].split(b" ") if header_end >= 0 else []
        if len(header) != 3 or header[0] != oid or not header[2].isdigit():
            raise GitOutputError("git cat-file --batch printed an unexpected header", "upgrade git (2.20 or later)")
        size = int(header[2])
        start = header_end + 1
        yield path, raw[start : start + size], None
        pos = start + size + 1


class AddedText:
    """The lines one commit added to one file, joined, with their line numbers in that commit's file."""

    __slots__ = ("commit", "data", "line_map", "path")

    def __init__(self, commit: str, path: str, data: bytes, line_map: list[int]) -> None:
        self.commit = commit
        self.path = path
        self.data = data
        self.line_map = line_map

    def __repr__(self) -> str:
        return f"AddedText({self.commit[:12]}, {self.path!r}, {len(self.line_map)} lines)"


def _checked_revision(value: str, name: str) -> str:
    if not _REVISION.match(value):
        from reactor_ci.logsafe import line

        raise UsageError(
            f"{name}={line(value[:80])!s} is not a git revision",
            f"unset {name}, or run the hook through pre-commit's pre-push stage",
        )
    return value


def pre_push_range() -> list[str]:
    """The revisions a pre-push hook must scan, from pre-commit's environment.

    pre-commit sets PRE_COMMIT_FROM_REF/PRE_COMMIT_TO_REF for pushes to an
    existing branch; for a new branch (or outside pre-commit) we scan every
    commit not yet on any remote.
    """
    from reactor_ci.scan.rules import scanning_a_push

    scanning_a_push()  # what is found here has not left the machine: the advice says so
    src_name = "PRE_COMMIT_FROM_REF" if os.environ.get("PRE_COMMIT_FROM_REF") else "PRE_COMMIT_SOURCE"
    dst_name = "PRE_COMMIT_TO_REF" if os.environ.get("PRE_COMMIT_TO_REF") else "PRE_COMMIT_ORIGIN"
    src = os.environ.get(src_name) or ""
    dst = os.environ.get(dst_name) or ""
    if src:
        _checked_revision(src, src_name)
    if dst:
        _checked_revision(dst, dst_name)
    if dst and _ZERO.match(dst):
        return []  # deleting a remote branch pushes nothing
    if src and dst and not _ZERO.match(src):
        return [f"{src}..{dst}"]
    return [dst or "HEAD", "--not", "--remotes"]


class _Reader:
    """Tokens of a byte stream: NUL-terminated fields and newline-terminated lines."""

    def __init__(self, stream: object) -> None:
        self._read = stream.read  # type: ignore[attr-defined]
        self._buf = b""
        self._pos = 0
        self._eof = False

    def _fill(self) -> bool:
        if self._eof:
            return False
        chunk = self._read(1 << 16)
        if not chunk:
            self._eof = True
            return False
        self._buf = self._buf[self._pos :] + chunk
        self._pos = 0
        return True

    def peek(self, n: int) -> bytes:
        while len(self._buf) - self._pos < n and self._fill():
            pass
        return self._buf[self._pos : self._pos + n]

    def until(self, sep: bytes) -> bytes | None:
        """Bytes up to ``sep`` (consumed, not returned); the rest at EOF; None when nothing is left."""
        while True:
            end = self._buf.find(sep, self._pos)
            if end >= 0:
                out = self._buf[self._pos : end]
                self._pos = end + 1
                return out
            if not self._fill():
                if self._pos >= len(self._buf):
                    return None
                out = self._buf[self._pos :]
                self._pos = len(self._buf)
                return out


def _c_unquote(text: bytes) -> bytes:
    """Undo git's C-style quoting of a name (``"a\\tb\\303\\251"``)."""
    if not (len(text) >= 2 and text.startswith(b'"') and text.endswith(b'"')):
        return text
    named = {ord("a"): 7, ord("b"): 8, ord("t"): 9, ord("n"): 10, ord("v"): 11, ord("f"): 12, ord("r"): 13}
    body, out, i = text[1:-1], bytearray(), 0
    while i < len(body):
        c = body[i]
        if c == 0x5C and i + 1 < len(body):
            nxt = body[i + 1]
            octal = body[i + 1 : i + 4]
            if len(octal) == 3 and all(0x30 <= b <= 0x37 for b in octal):
                out.append(int(octal, 8) & 0xFF)
                i += 4
                continue
            out.append(named.get(nxt, nxt))
            i += 2
            continue
        out.append(c)
        i += 1
    return bytes(out)


def _header_matches(header: bytes, old: bytes, new: bytes) -> bool:
    """Is ``diff --git a/OLD b/NEW`` (either name possibly C-quoted) the header for these names?"""
    rest = header[len(b"diff --git ") :]
    if rest == b"a/" + old + b" b/" + new:
        return True
    quoted_b = rest.rfind(b' "b/')
    if quoted_b >= 0 and _c_unquote(rest[quoted_b + 1 :])[2:] == new:
        return True
    return rest.endswith(b" b/" + new)


def history(revisions: Sequence[str], pickaxe: str | None = None) -> Iterator[AddedText]:
    """Added lines per (commit, file) of ``git log -p --raw -z`` over ``revisions``.

    ``pickaxe`` (a regex for ``git log -G``) lets git skip, in C, every commit
    whose diff cannot hold a finding: the prefilter of the history mode.
    """
    extra = ["-G", pickaxe] if pickaxe else []
    cmd = [
        "git", *_PINNED, "log", "-p", "-U0", "--raw", "-z", "--no-abbrev", "--no-color", "--no-ext-diff",
        "--no-renames", "--no-relative", "--submodule=short", "--src-prefix=a/", "--dst-prefix=b/",
        "--format=commit %H", *extra, *revisions, "--",
    ]  # fmt: skip
    import tempfile

    # git's stderr goes to a file, not a pipe: a pipe nobody reads while the
    # patch streams in could fill up and stall git.
    with tempfile.TemporaryFile() as errors:
        try:
            proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=errors)
        except FileNotFoundError:
            raise UsageError("git is not installed or not on PATH", "install git") from None
        assert proc.stdout is not None
        try:
            yield from _parse_log(_Reader(proc.stdout))
        finally:
            proc.stdout.close()
            code = proc.wait()
        if code != 0:
            errors.seek(0)
            raise _git_failed("log", code, errors.read(65536))


def _parse_log(reader: _Reader) -> Iterator[AddedText]:
    while True:
        header = reader.until(b"\0")
        if header is None:
            return
        if not header.startswith(b"commit "):
            raise GitOutputError("git log printed an unexpected commit header", "upgrade git (2.20 or later)")
        commit = header[7:].decode("ascii", "replace")
        if reader.peek(1) != b"\n":
            continue  # a commit with no (matching) changes: the next header follows at once
        reader.until(b"\n")
        files: list[tuple[bytes, bytes]] = []  # (old name, new name) of each raw record
        while True:
            meta = reader.until(b"\0")
            if not meta:  # the empty field that ends the raw records
                break
            fields = meta.split(b" ")
            if len(fields) != 5 or not meta.startswith(b":"):
                raise GitOutputError("git log --raw printed an unexpected record", "upgrade git (2.20 or later)")
            old = reader.until(b"\0") or b""
            new = (reader.until(b"\0") or b"") if fields[4][:1] in (b"R", b"C") else old
            files.append((old, new))
        yield from _parse_patch(reader, commit, files)


def _parse_patch(reader: _Reader, commit: str, files: list[tuple[bytes, bytes]]) -> Iterator[AddedText]:
    """The ``-p`` part of one commit: one ``diff --git`` section per raw record, in the same order."""
    index = -1
    path: str | None = None
    lines: list[bytes] = []
    numbers: list[int] = []
    new_line = 0
    in_header = False
    while reader.peek(7) not in (b"commit ", b""):
        raw = reader.until(b"\n") or b""
        if raw.startswith(b"diff --git "):
            if path is not None and lines:
                yield AddedText(commit, path, b"\n".join(lines), numbers)
            index += 1
            if index >= len(files) or not _header_matches(raw, *files[index]):
                raise GitOutputError(
                    "git log's patch does not match its --raw records", "report this with `git --version`"
                )
            path, lines, numbers, in_header = os.fsdecode(files[index][1]), [], [], True
        elif raw.startswith(b"@@"):
            in_header = False
            m = _HUNK.match(raw)
            new_line = int(m.group(1)) if m else 0
        elif in_header:
            continue  # index, mode, ---/+++ lines: the name comes from the raw record
        elif raw.startswith(b"+"):
            lines.append(raw[1:])
            numbers.append(new_line)
            new_line += 1
        elif raw.startswith(b" "):
            new_line += 1
    if path is not None and lines:
        yield AddedText(commit, path, b"\n".join(lines), numbers)


# History mode opens archives found BY NAME (reading every binary blob of a
# history to sniff it would undo the pickaxe prefilter); each is then checked
# by content before it is opened.
ARCHIVE_NAMES = re.compile(r"\.(?:zip|whl|jar|war|ear|egg|nupkg|aar|apk|tar|tgz|tbz2?|txz|gz|bz2|xz)$", re.IGNORECASE)


def history_archives(revisions: Sequence[str]) -> Iterator[tuple[str, str, str]]:
    """(commit, path, blob id) of every archive a commit in ``revisions`` added or changed, oldest first.

    A blob that several commits hold (a rename, a revert) is listed once, at
    the OLDEST commit that added it: history findings name the commit that
    added the key.
    """
    out = _git(
        ["log", "--raw", "-z", "--no-abbrev", "--no-renames", "--no-relative", "--diff-filter=AM",
         "--format=commit %H", *revisions, "--"]
    )  # fmt: skip
    found: dict[str, tuple[str, str, str]] = {}
    fields = out.split(b"\0")
    commit = ""
    i = 0
    while i < len(fields):
        field = fields[i].lstrip(b"\n")
        i += 1
        if field.startswith(b"commit "):
            commit = field[7:].decode("ascii", "replace")
            continue
        if not field.startswith(b":"):
            continue
        meta = field.split(b" ")
        if i >= len(fields) or len(meta) != 5:
            raise GitOutputError("git log --raw printed an unexpected record", "upgrade git (2.20 or later)")
        name = fields[i]
        i += 1
        path = os.fsdecode(name)
        if meta[1] in (b"100644", b"100755") and ARCHIVE_NAMES.search(path):
            oid = meta[3].decode("ascii", "replace")
            found[oid] = (commit, path, oid)  # newest first in the log: the last one seen is the oldest
    return iter(list(found.values())[::-1])


def read_blobs(oids: Sequence[str], max_size: int) -> Iterator[tuple[str, bytes | None, str | None]]:
    """(blob id, content, None) or (blob id, None, why skipped), one ``git cat-file`` for them all."""
    if not oids:
        return
    checks = _git(["cat-file", "--batch-check"], input_bytes="".join(o + "\n" for o in oids).encode()).split(b"\n")
    wanted = []
    for oid, check in zip(oids, checks, strict=False):
        parts = check.split(b" ")
        if len(parts) != 3 or parts[1] != b"blob" or not parts[2].isdigit():
            yield oid, None, "not a blob in the object store"
        elif int(parts[2]) > max_size:
            yield oid, None, f"larger than {max_size} bytes"
        else:
            wanted.append(oid)
    for oid in wanted:
        # One blob at a time: a history of big archives is never held in memory at once.
        yield oid, _git(["cat-file", "blob", oid]), None
