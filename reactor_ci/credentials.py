"""The credentials file shared with the official ``reactor`` CLI.

Same path (``~/.reactor/credentials``), same JSON fields, unknown fields kept,
so a user can mix both tools. Writes are atomic (temp file + rename in the same
directory) with mode 0600 in a 0700 directory: a reader never sees a partial
file, even with parallel jobs sharing one home. Imports only the stdlib: the
credential helper's cached path reads this file many times per job.
"""

from __future__ import annotations

import contextlib
import json
import os
import stat
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from reactor_ci import fastread, redact, settings
from reactor_ci.errors import UsageError
from reactor_ci.fastread import CREDENTIALS_ENV as ENV_PATH
from reactor_ci.fastread import ISSUED_AT as _ISSUED_AT
from reactor_ci.fastread import MAX_FILE_BYTES, UnsafeFile, read_bounded
from reactor_ci.fastread import REQUIRED as _REQUIRED
from reactor_ci.fastread import USERNAME as _USERNAME
from reactor_ci.fsutil import (
    LockBusy,
    LockPathError,
    atomic_write_text,
    file_lock,
    home_dir,
    loose_dir_reason,
    make_private_dirs,
    remove_temp_leftovers,
)
from reactor_ci.timeutil import format_time, parse_time

__all__ = ["Credentials", "CredentialsStore", "default_path"]


_OURS = (*_REQUIRED, _USERNAME, _ISSUED_AT)


@dataclass
class Credentials:
    api_key: str
    partner_id: str
    registry: str
    registry_token: str
    registry_token_expiry: datetime
    username: str | None = None
    issued_at: datetime | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    def __repr__(self) -> str:
        return (
            f"Credentials(partner_id={self.partner_id!r}, registry={self.registry!r}, "
            f"api_key={redact.redact(self.api_key)}, registry_token=***, "
            f"expiry={format_time(self.registry_token_expiry)})"
        )

    @property
    def registry_host(self) -> str:
        return self.registry.split("/", 1)[0]

    @property
    def namespace(self) -> str:
        parts = self.registry.split("/", 1)
        return parts[1].strip("/") if len(parts) > 1 else self.partner_id

    @property
    def docker_username(self) -> str:
        return self.username or self.partner_id

    @property
    def lifetime(self) -> float:
        issued = self.issued_at.timestamp() if self.issued_at is not None else None
        return fastread.lifetime(self.registry_token_expiry.timestamp(), issued)

    def refresh_due(self, now: float, minimum: float) -> bool:
        """The file's refresh rule (:func:`fastread.refresh_due`) for these credentials at ``now``."""
        return fastread.refresh_due(self.seconds_left(now), self.lifetime, minimum)

    def seconds_left(self, now: float | None = None) -> float:
        now = time.time() if now is None else now
        return self.registry_token_expiry.timestamp() - now

    def register_secrets(self) -> None:
        # At once: a CI that masks through a process (Buildkite) starts one, not one per value.
        token = self.registry_token
        redact.register_many(self.api_key, token, redact.basic_auth(self.docker_username, token))

    def to_json(self) -> dict[str, Any]:
        data = dict(self.extra)
        data.update(
            api_key=self.api_key,
            partner_id=self.partner_id,
            registry=self.registry,
            registry_token=self.registry_token,
            registry_token_expiry=format_time(self.registry_token_expiry),
        )
        if self.username:
            data[_USERNAME] = self.username
        if self.issued_at is not None:
            data[_ISSUED_AT] = format_time(self.issued_at)
        return data

    @classmethod
    def from_json(cls, data: object, *, source: str = "credentials file") -> Credentials:
        fix = "run `reactor-ci login` again (or `reactor auth login`); remove the file first if it is damaged"
        problem = fastread.field_problem(data)
        if problem is not None or not isinstance(data, dict):
            raise UsageError(f"{source}{problem}", fix, code="corrupt_credentials")
        # Register before anything else can print them, with the Docker auth form register_secrets
        # adds below: all at once (one batch for the CI's mask), in the order it always had.
        token = data["registry_token"]
        redact.register_many(data["api_key"], token, _docker_auth(fastread.docker_username(data), token))
        try:
            expiry = parse_time(data["registry_token_expiry"], "registry_token_expiry")
            issued = parse_time(data[_ISSUED_AT]) if data.get(_ISSUED_AT) else None
        except ValueError as exc:
            raise UsageError(f"{source}: {exc}", fix, code="corrupt_credentials") from None
        parts = settings.split_registry(data["registry"])
        if parts is None:
            raise UsageError(
                f"{source}: registry is not a registry name (host[:port]/namespace)", fix, code="corrupt_credentials"
            )
        if not settings.registry_allowed(parts[0]):
            # A hostile file (or config) must not redirect the token (9.2): every
            # consumer -- helper, push, docker-login, status -- refuses it here.
            raise UsageError(
                f"{source} names the registry host {parts[0]!r}, which is not a Reactor registry; "
                "reactor-ci will not hand a Reactor token to it",
                f"run `reactor-ci login` again; for a staging registry, list the host in {settings.REGISTRY_HOSTS}.",
                code="foreign_registry",
            )
        creds = cls(
            api_key=data["api_key"],
            partner_id=data["partner_id"],
            registry=data["registry"],
            registry_token=data["registry_token"],
            registry_token_expiry=expiry,
            username=fastread.username(data.get(_USERNAME)),
            issued_at=issued,
            extra={k: v for k, v in data.items() if k not in _OURS},
        )
        creds.register_secrets()
        return creds


def _docker_auth(username: str, token: str) -> str | None:
    """``base64(user:token)``, or None for text UTF-8 cannot encode (a lone surrogate from a JSON
    escape): the key and the token are registered all the same, and register_secrets fails after."""
    try:
        return redact.basic_auth(username, token)
    except UnicodeEncodeError:
        return None


def default_path(env: dict[str, str] | None = None) -> Path:
    environ = os.environ if env is None else env
    configured = environ.get(ENV_PATH, "").strip()
    configured = configured or fastread.DEFAULT_PATH
    if configured == "~" or configured.startswith("~/"):
        # Without a usable HOME: refuse, never guess /root, never create HOME (10.6).
        return home_dir(environ, setting=ENV_PATH) / configured[2:]
    return Path(configured).expanduser()


def find_git_worktree(path: Path) -> Path | None:
    """The git work tree ``path`` lies in, if any (the official CLI warns about it too)."""
    for parent in path.resolve().parents:
        if (parent / ".git").exists():
            return parent
    return None


class CredentialsStore:
    """Load, save (atomically) and delete the credentials file; lock for refreshes."""

    def __init__(self, path: Path | None = None) -> None:
        self.path = Path(path) if path is not None else default_path()
        self.warnings: list[str] = []

    # -- reading -------------------------------------------------------------
    def _check_dir(self) -> None:
        """Refuse a directory other accounts can write (9.8): they could swap the file."""
        reason = loose_dir_reason(self.path.parent)
        if reason is not None:
            directory = self.path.parent
            raise UsageError(
                f"the credentials directory {directory} {reason}; reactor-ci will not keep secrets there",
                f"run `chmod 700 {directory}` (or `chmod go-w` on what it links to), "
                f"or set {ENV_PATH} to a file in a private directory.",
                code="unsafe_credentials_dir",
            )

    def _check_path(self) -> bool:
        """False when missing; raise on a symlink, a directory or an unsafe parent."""
        self._check_dir()
        try:
            st = os.lstat(self.path)
        except FileNotFoundError:
            return False
        except NotADirectoryError:
            raise UsageError(
                f"the credentials path {self.path} goes through a file, not a directory",
                f"set {ENV_PATH} to a path in a writable directory.",
                code="bad_credentials_path",
            ) from None
        except OSError as exc:
            raise UsageError(
                f"cannot inspect {self.path}: {exc.strerror or exc.__class__.__name__}",
                f"check the directory's permissions, or set {ENV_PATH} to a readable path.",
                code="bad_credentials_path",
            ) from None
        if stat.S_ISLNK(st.st_mode):
            # A symlink could send our secrets anywhere (another user's file,
            # a synced folder); never follow it.
            raise UsageError(
                f"the credentials path {self.path} is a symlink; reactor-ci does not follow it",
                f"remove the link, or set {ENV_PATH} to a regular file path.",
                code="bad_credentials_path",
            )
        if stat.S_ISDIR(st.st_mode):
            raise UsageError(
                f"the credentials path {self.path} is a directory",
                f"remove it, or set {ENV_PATH} to a file path.",
                code="bad_credentials_path",
            )
        if not stat.S_ISREG(st.st_mode):
            raise UsageError(
                f"the credentials path {self.path} is not a regular file",
                f"set {ENV_PATH} to a regular file path.",
                code="bad_credentials_path",
            )
        if st.st_mode & 0o077:
            self.warnings.append(
                f"{self.path} was readable by other users (mode {stat.S_IMODE(st.st_mode):o}); tightened to 600"
            )
            with contextlib.suppress(OSError):
                os.chmod(self.path, 0o600)
        return True

    def load_raw(self) -> dict[str, Any] | None:
        if not self._check_path():
            return None
        try:
            text = read_bounded(self.path, MAX_FILE_BYTES, follow_symlinks=False).decode("utf-8")
        except FileNotFoundError:
            return None  # removed since _check_path looked
        except UnsafeFile as exc:  # too big, or swapped for a FIFO or a device since _check_path looked
            raise UsageError(
                f"{self.path} {exc.reason}; it is not a credentials file",
                f"inspect it, then remove it and log in again: `rm {self.path}`.",
                code="corrupt_credentials",
            ) from None
        except (OSError, UnicodeDecodeError) as exc:
            raise UsageError(
                f"cannot read {self.path}: {exc.__class__.__name__}",
                "check the file's permissions, or remove it and log in again.",
                code="corrupt_credentials",
            ) from None
        try:
            data = json.loads(text, parse_constant=_no_constant)
        except (ValueError, RecursionError):
            # RecursionError: `[[[[...` nested past the parser's depth.
            raise UsageError(
                f"{self.path} is not valid JSON; reactor-ci will not overwrite it",
                f"inspect it, then remove it (`reactor-ci logout` does) and log in again: `rm {self.path}`.",
                code="corrupt_credentials",
            ) from None
        return self._object(data)

    def _object(self, data: object) -> dict[str, Any]:
        if not isinstance(data, dict):
            raise UsageError(
                f"{self.path} does not hold a JSON object; reactor-ci will not overwrite it",
                f"inspect it, then remove it and log in again: `rm {self.path}`.",
                code="corrupt_credentials",
            )
        return data

    def load(self, *, already_read: object = None) -> Credentials | None:
        """The credentials, or None when there is no file.

        ``already_read``: the file's JSON as :func:`fastread.read_private` just read it (the
        helper's fast path, which declined): the same checks of the path, no second read.
        """
        if already_read is not None:
            if not self._check_path():
                return None
            data = self._object(already_read)
        else:
            raw = self.load_raw()
            if raw is None:
                return None
            data = raw
        return Credentials.from_json(data, source=str(self.path))

    # -- writing -------------------------------------------------------------
    def save(self, creds: Credentials, *, keep: dict[str, Any] | None = None) -> None:
        """Write ``creds`` atomically, keeping unknown fields of ``keep`` (the file as read)."""
        data = dict(keep or {})
        data.update(creds.to_json())
        try:
            payload = json.dumps(data, indent=2, sort_keys=False) + "\n"
        except (ValueError, RecursionError):
            # An unknown field we were asked to keep is nested too deep to write back.
            payload = json.dumps(creds.to_json(), indent=2) + "\n"
        self._write_atomic(payload)

    def _ensure_dir(self) -> None:
        directory = self.path.parent
        try:
            make_private_dirs(directory)
        except OSError as exc:
            raise UsageError(
                f"cannot create {directory}: {exc.strerror or exc.__class__.__name__}",
                f"make the home directory writable, or set {ENV_PATH} to a writable path.",
                code="unwritable",
            ) from None
        if directory.is_symlink() is False and directory.name == ".reactor":
            # Our own directory: keep it private even if something widened it.
            with contextlib.suppress(OSError):
                if stat.S_IMODE(directory.stat().st_mode) & 0o077:
                    os.chmod(directory, 0o700)
        self._check_dir()

    def _write_atomic(self, payload: str) -> None:
        self._check_path()
        self._ensure_dir()
        try:
            atomic_write_text(self.path, payload, mode=0o600)
        except OSError as exc:
            raise UsageError(
                f"cannot write {self.path}: {exc.strerror or exc.__class__.__name__}",
                f"free some space or make {self.path.parent} writable, or set {ENV_PATH} to a writable path.",
                code="unwritable",
            ) from None

    def remove_leftovers(self) -> int:
        """Remove ``.credentials.*.tmp`` files a killed write left behind (they may hold a secret).

        Called with the lock held (every writer holds it), so no write in flight is touched.
        """
        return remove_temp_leftovers(self.path)

    def delete(self) -> bool:
        """Remove the file (even a damaged one: it may hold a secret) and leftover temp files. Idempotent.

        The lock file stays: removing it while another process holds it would
        let a third one take a second, independent lock.
        """
        if not self.path.parent.is_dir():
            return False
        try:
            with self.lock(timeout=5.0):
                return self._unlink()
        except UsageError as exc:
            if exc.code == "unwritable" and not os.access(self.path.parent, os.W_OK):
                raise
            # An unsafe directory, a planted lock, a stalled holder: removing
            # a secret is always right, lock or not.
            self.remove_leftovers()
            return self._unlink()

    def _unlink(self) -> bool:
        try:
            if self.path.is_symlink() or self.path.is_file():
                self.path.unlink()
                return True
        except FileNotFoundError:
            pass
        except OSError as exc:
            raise UsageError(
                f"cannot remove {self.path}: {exc.strerror or exc.__class__.__name__}",
                f"make {self.path.parent} writable, then run `reactor-ci logout` again.",
                code="unwritable",
            ) from None
        return False

    # -- locking -------------------------------------------------------------
    @property
    def lock_path(self) -> Path:
        return self.path.with_name(self.path.name + ".lock")

    @contextlib.contextmanager
    def lock(self, timeout: float | None = None) -> Iterator[None]:
        """An inter-process lock beside the file: one refresh at a time per home.

        ``timeout`` defaults to ``REACTOR_CI_LOCK_TIMEOUT``; callers with a
        deadline (the credential helper) pass what is left of it.
        """
        wait = settings.get(settings.LOCK_TIMEOUT) if timeout is None else max(0.0, timeout)
        self._ensure_dir()
        lock_path = self.lock_path
        try:
            with file_lock(lock_path, wait):
                self.remove_leftovers()
                yield
        except LockBusy:
            raise LockTimeout(
                f"timed out after {wait:.0f}s waiting for {lock_path}",
                "another reactor-ci is refreshing credentials in the same home; if none is, remove the lock file.",
                code="lock_timeout",
            ) from None
        except LockPathError as exc:
            if exc.unsafe:
                raise UsageError(
                    f"the lock file {lock_path} {exc}",
                    f"remove {lock_path} (no reactor-ci may be running), or set {ENV_PATH} to a path in a "
                    "private directory.",
                    code="bad_lock",
                ) from None
            raise UsageError(
                f"cannot create or take the lock file {lock_path}: {exc}",
                f"make {lock_path.parent} writable (a read-only directory cannot hold credentials), "
                f"or set {ENV_PATH} to a writable path.",
                code="unwritable",
            ) from None

    def git_worktree(self) -> Path | None:
        return find_git_worktree(self.path)


class LockTimeout(UsageError):
    """The refresh lock stayed taken past the caller's budget (the holder may be stalled)."""


def _no_constant(name: str) -> object:
    raise ValueError(f"{name} is not JSON")
