"""Where the bytes come from: git's index, tracked files, and history.

History mode scans only the lines a commit ADDED (``git log -p -U0``), so a
key that was committed and removed later is still found, and a key that was
only ever deleted is not reported twice.
"""

from __future__ import annotations

import os
import re
import subprocess
from collections.abc import Iterator, Sequence
from dataclasses import dataclass

from reactor_ci.errors import UsageError

__all__ = ["AddedText", "history", "pre_push_range", "staged_blobs", "tracked_files"]

_ZERO = re.compile(r"^0+$")
_HUNK = re.compile(rb"^@@ -\d+(?:,\d+)? \+(\d+)(?:,\d+)? @@")
_COMMIT_MARK = b"\x00commit "


def _git(args: Sequence[str], *, input_bytes: bytes | None = None) -> bytes:
    try:
        proc = subprocess.run(["git", *args], input=input_bytes, capture_output=True, check=False)
    except FileNotFoundError:
        raise UsageError("git is not installed or not on PATH", "install git, or pass file paths to scan") from None
    if proc.returncode != 0:
        err = proc.stderr.decode("utf-8", "replace").strip().splitlines()
        raise UsageError(
            f"git {args[0]} failed: {err[-1] if err else 'exit ' + str(proc.returncode)}",
            "run inside a git work tree, and check the revision you passed",
        )
    return proc.stdout


def tracked_files() -> list[str]:
    """Files git tracks under the current directory (``git ls-files``)."""
    out = _git(["-c", "core.quotePath=false", "ls-files", "-z"])
    return [os.fsdecode(p) for p in out.split(b"\0") if p]


def staged_blobs() -> Iterator[tuple[str, bytes]]:
    """(path, staged content) for every added/copied/modified/renamed file in the index.

    Paths are relative to the top of the repository, as in history mode, so
    baseline fingerprints agree between the two from any directory.
    """
    out = _git(["-c", "core.quotePath=false", "diff", "--cached", "--name-only", "-z", "--diff-filter=ACMR"])
    paths = [os.fsdecode(p) for p in out.split(b"\0") if p and b"\n" not in p]
    if not paths:
        return
    spec = "".join(f":{p}\n" for p in paths).encode("utf-8", "surrogateescape")
    raw = _git(["-C", _top(), "cat-file", "--batch"], input_bytes=spec)
    pos = 0
    for path in paths:
        header_end = raw.index(b"\n", pos)
        header = raw[pos:header_end].split()
        pos = header_end + 1
        if len(header) < 3 or header[1] != b"blob":
            continue
        size = int(header[2])
        blob = raw[pos : pos + size]
        pos += size + 1
        yield path, blob


def _top() -> str:
    return os.fsdecode(_git(["rev-parse", "--show-toplevel"]).strip())


@dataclass
class AddedText:
    """The lines one commit added to one file, joined, with their real line numbers."""

    commit: str
    path: str
    data: bytes
    line_map: list[int]


def pre_push_range() -> list[str]:
    """The revisions a pre-push hook must scan, from pre-commit's environment.

    pre-commit sets PRE_COMMIT_FROM_REF/PRE_COMMIT_TO_REF for pushes to an
    existing branch; for a new branch (or outside pre-commit) we scan every
    commit not yet on any remote.
    """
    src = os.environ.get("PRE_COMMIT_FROM_REF") or os.environ.get("PRE_COMMIT_SOURCE") or ""
    dst = os.environ.get("PRE_COMMIT_TO_REF") or os.environ.get("PRE_COMMIT_ORIGIN") or ""
    if dst and _ZERO.match(dst):
        return []  # deleting a remote branch pushes nothing
    if src and dst and not _ZERO.match(src):
        return [f"{src}..{dst}"]
    return [dst or "HEAD", "--not", "--remotes"]


def history(revisions: Sequence[str], pickaxe: str | None = None) -> Iterator[AddedText]:
    """Added lines per (commit, file) of ``git log -p`` over ``revisions``.

    ``pickaxe`` (a regex for ``git log -G``) lets git skip, in C, every commit
    whose diff cannot hold a finding: the prefilter of the history mode.
    """
    extra = ["-G", pickaxe] if pickaxe else []
    cmd = [
        "git", "-c", "core.quotePath=false", "log", "-p", "-U0", "--no-color", "--no-ext-diff",
        "--no-renames", "--format=%x00commit %H", *extra, *revisions, "--",
    ]  # fmt: skip
    try:
        proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    except FileNotFoundError:
        raise UsageError("git is not installed or not on PATH", "install git") from None
    assert proc.stdout is not None
    commit = ""
    path: str | None = None
    lines: list[bytes] = []
    numbers: list[int] = []
    new_line = 0
    in_header = False

    def flush() -> AddedText | None:
        if path is not None and lines:
            return AddedText(commit, path, b"\n".join(lines), list(numbers))
        return None

    for raw in proc.stdout:
        if raw.startswith(_COMMIT_MARK):
            done = flush()
            if done:
                yield done
            commit, path, lines, numbers = raw[len(_COMMIT_MARK) :].strip().decode(), None, [], []
        elif raw.startswith(b"diff --git "):
            done = flush()
            if done:
                yield done
            path, lines, numbers, in_header = None, [], [], True
        elif in_header and raw.startswith(b"+++ "):
            target = raw[4:].rstrip(b"\n")
            if target.startswith(b'"') and target.endswith(b'"'):
                target = target[1:-1].decode("unicode_escape").encode("latin-1")
            path = os.fsdecode(target[2:]) if target.startswith(b"b/") else None
        elif raw.startswith(b"@@"):
            in_header = False
            m = _HUNK.match(raw)
            new_line = int(m.group(1)) if m else 0
        elif raw.startswith(b"+") and path is not None and not in_header:
            lines.append(raw[1:].rstrip(b"\n"))
            numbers.append(new_line)
            new_line += 1
        elif raw.startswith(b" "):
            new_line += 1
    done = flush()
    if done:
        yield done
    stderr = proc.stderr.read() if proc.stderr else b""
    if proc.wait() != 0:
        err = stderr.decode("utf-8", "replace").strip().splitlines()
        raise UsageError(
            f"git log failed: {err[-1] if err else 'exit ' + str(proc.returncode)}",
            "run inside a git work tree and pass a revision that exists (e.g. --since origin/main)",
        )
