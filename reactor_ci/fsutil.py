"""Small filesystem and network helpers shared by the core and the adapters.

Stdlib only and import-light: the credential helper and the scanner use them.
"""

from __future__ import annotations

import contextlib
import os
import stat
import tempfile
from collections.abc import Iterator, Mapping
from pathlib import Path

# The one safe reader for a file someone else may have planted; it lives on the floor (os and stat
# only) so the fast paths read through it too. Re-exported: callers keep importing it from here.
from reactor_ci.fastread import UnsafeFile as UnsafeFile
from reactor_ci.fastread import read_bounded as read_bounded


def _write_temp(target: Path, text: str, mode: int) -> tuple[str, os.stat_result]:
    """A temp file beside ``target`` holding ``text``: ``mode`` set before any byte, fsynced; (its path, its stat).

    It is removed again if writing fails; after success the caller renames or links it, then removes it.
    """
    fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            os.fchmod(handle.fileno(), mode)
            handle.write(text)
            handle.flush()
            os.fsync(handle.fileno())
            return tmp, os.fstat(handle.fileno())
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise


def atomic_write_text(path: str | os.PathLike[str], text: str, *, mode: int = 0o600) -> None:
    """Replace ``path`` with ``text`` so that no reader ever sees a partial file.

    A temp file in the same directory (so the rename is atomic), created with
    ``mode`` before any byte is written, fsynced, renamed over ``path``; the
    directory is fsynced too so the rename survives a crash. Raises ``OSError``;
    the temp file never outlives a failure.
    """
    target = Path(path)
    tmp, _ = _write_temp(target, text, mode)
    try:
        os.replace(tmp, target)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise
    with contextlib.suppress(OSError):
        dir_fd = os.open(target.parent, os.O_RDONLY)
        try:
            os.fsync(dir_fd)
        finally:
            os.close(dir_fd)


def create_exclusive_text(path: str | os.PathLike[str], text: str, *, mode: int = 0o600) -> tuple[int, int]:
    """Create ``path`` holding ``text``, only if NOTHING is there: O_EXCL + O_NOFOLLOW semantics, atomically.

    The content goes to a temp file in the same directory first, which is then
    hard-linked to ``path``: ``link`` fails on any existing entry (a file, a
    symlink, a dangling one), so nothing is ever written through a planted
    link, nothing is replaced, and a reader never sees half a file. Returns the
    file's ``(st_dev, st_ino)`` so its creator can later remove it only if it
    is still the same file. Raises ``FileExistsError`` / ``OSError``.
    """
    target = Path(path)
    tmp, info = _write_temp(target, text, mode)
    try:
        os.link(tmp, target, follow_symlinks=False)
    finally:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
    return info.st_dev, info.st_ino


def remove_if_same(path: str | os.PathLike[str], identity: tuple[int, int]) -> bool:
    """Unlink ``path`` only when it still is the file ``identity`` (dev, inode) names; True if removed."""
    try:
        info = os.lstat(path)
    except FileNotFoundError:
        return False
    if not stat.S_ISREG(info.st_mode) or (info.st_dev, info.st_ino) != identity:
        return False
    os.unlink(path)
    return True


def is_loopback_host(host: str) -> bool:
    """``localhost``, 127.0.0.0/8 or ::1 (a bare host name); the rule is :func:`settings.name_is_loopback`."""
    from reactor_ci.settings import name_is_loopback

    return name_is_loopback(host)


def make_private_dirs(directory: str | os.PathLike[str]) -> None:
    """``mkdir -p`` where every directory WE create is 0700, whatever the umask.

    ``Path.mkdir(parents=True)`` creates the parents with ``0777 & ~umask``:
    under umask 000 that is a world-writable ``~/.reactor`` parent, where
    anyone could swap our files. Existing directories are left as they are
    (callers check the one they store secrets in). Raises ``OSError``.
    """
    target = Path(directory)
    missing: list[Path] = []
    for candidate in (target, *target.parents):
        if os.path.lexists(candidate):
            break
        missing.append(candidate)
    for candidate in reversed(missing):
        try:
            os.mkdir(candidate, 0o700)
        except FileExistsError:
            continue
        # mkdir's mode is masked by the umask, which can only REMOVE bits;
        # chmod states it exactly (0700, never wider).
        os.chmod(candidate, 0o700)


def loose_dir_reason(directory: str | os.PathLike[str]) -> str | None:
    """Why ``directory`` (followed through symlinks) is unsafe for secrets, or None.

    Group- or world-writable means another account can replace, pre-create or
    symlink our files there: refuse rather than trust what we read or write.
    """
    try:
        info = os.stat(directory)
    except FileNotFoundError:
        return None
    except OSError as exc:
        return f"cannot be inspected ({exc.strerror or exc.__class__.__name__})"
    mode = info.st_mode & 0o7777
    if mode & 0o022:
        return f"is writable by other users (mode {mode & 0o777:o})"
    return None


def home_dir(env: Mapping[str, str] | None = None, *, setting: str = "REACTOR_CREDENTIALS") -> Path:
    """``$HOME`` when it names an existing directory; a UsageError naming the fix otherwise.

    Without HOME (``env -i``, some service managers) Python falls back to the
    passwd entry -- often /root -- and ``mkdir -p`` would create a HOME that
    does not exist: both would silently put secrets somewhere nobody looks.
    """
    environ = os.environ if env is None else env
    home = environ.get("HOME", "").strip()
    problem = None
    if not home:
        problem = "HOME is not set"
    elif not os.path.isabs(home):
        problem = f"HOME={home!r} is not an absolute path"
    elif not os.path.isdir(home):
        problem = f"HOME={home!r} does not exist or is not a directory"
    if problem is not None:
        from reactor_ci.errors import UsageError

        raise UsageError(
            f"{problem}: reactor-ci will not guess where to keep credentials",
            f"set HOME to an existing directory, or set {setting} to an explicit path.",
            code="no_home",
        )
    return Path(home)


def remove_temp_leftovers(path: str | os.PathLike[str]) -> int:
    """Remove the ``.NAME.*.tmp`` files :func:`atomic_write_text` of ``path`` left behind when killed.

    Call it only while holding the lock every writer of ``path`` holds, so no
    write in flight loses its temp file. Symlinks are removed, never followed.
    """
    target = Path(path)
    prefix = f".{target.name}."
    removed = 0
    with contextlib.suppress(OSError), os.scandir(target.parent) as entries:
        for entry in entries:
            if (
                entry.name.startswith(prefix)
                and entry.name.endswith(".tmp")
                and not entry.is_dir(follow_symlinks=False)
            ):
                with contextlib.suppress(OSError):
                    os.unlink(entry.path)
                    removed += 1
    return removed


class LockBusy(Exception):
    """Another process held the lock for the whole timeout."""


class LockPathError(Exception):
    """The lock file cannot be used; ``unsafe`` when something was planted there (a link, a directory)."""

    def __init__(self, message: str, *, unsafe: bool) -> None:
        super().__init__(message)
        self.unsafe = unsafe


@contextlib.contextmanager
def file_lock(path: str | os.PathLike[str], timeout: float) -> Iterator[None]:
    """An exclusive inter-process lock on ``path`` (filelock), waiting at most ``timeout`` seconds.

    The lock file is created by us first, with O_NOFOLLOW, and must be a
    regular file: filelock opens with O_CREAT|O_TRUNC and follows symlinks, so
    a planted link would truncate its target.
    """
    from filelock import FileLock, Timeout  # lazy: only refreshes lock

    lock_path = os.fspath(path)
    try:
        fd = os.open(lock_path, os.O_RDWR | os.O_CREAT | os.O_NOFOLLOW | os.O_NONBLOCK, 0o600)
    except OSError as exc:
        if os.path.islink(lock_path):
            raise LockPathError("is a symlink", unsafe=True) from None
        if os.path.isdir(lock_path):
            raise LockPathError("is a directory", unsafe=True) from None
        raise LockPathError(exc.strerror or exc.__class__.__name__, unsafe=False) from None
    try:
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            raise LockPathError("is not a regular file", unsafe=True)
    finally:
        os.close(fd)
    lock = FileLock(lock_path, timeout=timeout, mode=0o600)
    try:
        lock.acquire()
    except Timeout:
        raise LockBusy from None
    except OSError as exc:
        raise LockPathError(exc.strerror or exc.__class__.__name__, unsafe=False) from None
    try:
        yield
    finally:
        lock.release()
