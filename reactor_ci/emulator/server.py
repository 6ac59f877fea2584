"""The emulator's HTTP server and its Python API (:class:`Emulator`).

The HTTP plumbing lives in handler.py; here is what the emulator IS: its
pieces (state, faults, minter, signer, optional registry), its lifecycle,
addresses, state file, and the routing of a request to the wire API, the
realm or the control API.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import socket
import tempfile
import threading
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING, Any, TextIO

from reactor_ci import redact, settings
from reactor_ci.emulator import api, control, handler, realm
from reactor_ci.emulator.faults import FaultQueue
from reactor_ci.emulator.state import (
    DEFAULT_APP_TOKEN_MAX,
    DEFAULT_PARTNER_ID,
    DEFAULT_REGISTRY_HOST,
    DEFAULT_REGISTRY_TOKEN_TTL,
    ApiError,
    State,
)
from reactor_ci.fsutil import create_exclusive_text, is_loopback_host, make_private_dirs

if TYPE_CHECKING:
    from reactor_ci.emulator.registry import Registry

WIRE_ROUTES: dict[tuple[str, str], str] = {
    ("GET", "/v1/partner"): "partner",
    ("POST", "/v1/registry/token"): "registry_token",
    ("POST", "/tokens"): "tokens",
    ("GET", realm.REALM_PATH): "realm",
}
_WIRE_PATHS = {path for _, path in WIRE_ROUTES}
# How often the serving loop (and the CLI's main loop) looks for a stop request: stop() waits up to
# this long. A select() wake-up 50 times a second costs nothing measurable; 0.1 s made every stop
# (hundreds per test run) a tenth of a second.
POLL_SECONDS = 0.02


class Emulator:
    """The Reactor API + registry realm (+ optionally a real registry) on loopback.

    ``Emulator().start()`` binds a free port and serves from a daemon thread;
    use it as a context manager in in-process tests.  ``state`` is the live
    :class:`State` for direct inspection.
    """

    def __init__(
        self,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        partner_id: str = DEFAULT_PARTNER_ID,
        registry_token_ttl: int = DEFAULT_REGISTRY_TOKEN_TTL,
        app_token_max: int = DEFAULT_APP_TOKEN_MAX,
        with_registry: bool = False,
        allow_non_loopback: bool = False,
        work_dir: str | os.PathLike[str] | None = None,
        registry_binary: str | None = None,
        log_stream: TextIO | None = None,
    ) -> None:
        if not is_loopback_host(host) and not allow_non_loopback:
            raise ValueError(
                f"refusing to bind {host!r}: the emulator binds loopback only "
                "(pass allow_non_loopback / --allow-non-loopback to override)"
            )
        # Refuse at start rather than serve a registry whose every login fails
        # (issue 8.3: no server ever starts half-working).
        if with_registry and not realm.crypto_available():
            raise realm.MissingExtraError(f"--with-registry: {realm.MISSING_EXTRA}")
        self.host = "127.0.0.1" if host == "localhost" else host
        self.port = port
        self.with_registry = with_registry
        self.registry_binary = registry_binary
        self._log_stream = log_stream
        # State first: it validates the arguments before anything touches disk.
        self.state = State(
            partner_id=partner_id,
            registry_token_ttl=registry_token_ttl,
            app_token_max=app_token_max,
            registry_host=DEFAULT_REGISTRY_HOST,
        )
        self._own_work_dir = work_dir is None
        # mkdtemp makes it 0700; a given one holds the realm's signing key and the
        # registry's data, so it must be private -- created 0700, or refused when
        # it exists and others can enter it (never chmod'ed: it is not ours).
        self.work_dir = Path(work_dir) if work_dir else Path(tempfile.mkdtemp(prefix="reactor-emulator-"))
        if work_dir:
            _check_work_dir(self.work_dir)
        self.faults = FaultQueue()
        self.signer = realm.Signer(self.work_dir)
        self.services = api.Services(self.state, self.faults, api.AppTokenMinter(), self.signer)
        self.registry_proc: Registry | None = None
        self.stopping = threading.Event()
        self._server: handler.Server | None = None
        self._thread: threading.Thread | None = None
        org = self.state.orgs[partner_id]
        keys = list(self.state.keys.values())
        self.partner_id = org.partner_id
        self.partner_key = next(k.secret for k in keys if k.kind == "partner")
        self.app_key = next(k.secret for k in keys if k.kind == "app")

    # -- lifecycle -------------------------------------------------------------

    def start(self) -> Emulator:
        family = socket.AF_INET6 if ":" in self.host else socket.AF_INET
        self._server = handler.Server((self.host, self.port), self, family)
        self.port = self._server.server_address[1]
        self._thread = threading.Thread(
            target=self._server.serve_forever,
            kwargs={"poll_interval": POLL_SECONDS},
            name="reactor-emulator",
            daemon=True,
        )
        self._thread.start()
        if self.with_registry:
            try:
                self.signer.ensure()  # the registry needs the certificate bundle at start
                from reactor_ci.emulator.registry import Registry  # a subprocess; only with --with-registry

                self.registry_proc = Registry(
                    self.work_dir,
                    self.realm_url,
                    realm.SERVICE,
                    realm.ISSUER,
                    self.signer.cert_path,
                    binary=self.registry_binary,
                )
                self.registry_proc.start()
                self.state.set_registry_host(self.registry_proc.host)
            except BaseException:
                self.stop()
                raise
        return self

    def stop(self) -> None:
        """Stop serving, hang up open connections, stop the registry; idempotent."""
        self.stopping.set()
        if self.registry_proc is not None:
            self.registry_proc.stop()
        server, self._server = self._server, None
        if server is not None:
            server.shutdown()
            with server.conn_lock:
                conns = list(server.connections)
            for conn in conns:
                with contextlib.suppress(OSError):
                    conn.shutdown(socket.SHUT_RDWR)
            server.server_close()
        if self._thread is not None:
            self._thread.join(5)
            self._thread = None
        if self._own_work_dir:
            shutil.rmtree(self.work_dir, ignore_errors=True)

    def __enter__(self) -> Emulator:
        return self.start() if self._server is None else self

    def __exit__(self, et: type[BaseException] | None, ev: BaseException | None, tb: TracebackType | None) -> None:
        self.stop()

    # -- addresses ---------------------------------------------------------------

    @property
    def url(self) -> str:
        host = self.host
        if host in ("0.0.0.0", "::"):
            host = "127.0.0.1"
        return f"http://[{host}]:{self.port}" if ":" in host else f"http://{host}:{self.port}"

    @property
    def control_url(self) -> str:
        return self.url + control.PREFIX

    @property
    def realm_url(self) -> str:
        return self.url + realm.REALM_PATH

    @property
    def registry(self) -> str:
        """The default org's registry, ``host/partner_id``."""
        return self.state.org(self.partner_id).registry

    @property
    def registry_host(self) -> str:
        return self.state.registry_host

    def info(self) -> dict[str, Any]:
        """The state file's content (includes the keys: write it 0600)."""
        data: dict[str, Any] = {
            "url": self.url,
            "control_url": self.control_url,
            "realm": self.realm_url,
            "service": realm.SERVICE,
            "issuer": realm.ISSUER,
            "partner_id": self.partner_id,
            "registry": self.registry,
            "registry_host": self.registry_host,
            "partner_key": self.partner_key,
            "app_key": self.app_key,
            "pid": os.getpid(),
            "work_dir": str(self.work_dir),
        }
        proc = self.registry_proc
        if proc is not None:
            data.update(
                registry_url=proc.url,
                registry_pid=proc.pid,
                registry_log=str(proc.log_path),
                realm_cert=str(self.signer.cert_path),
            )
        return data

    def write_state_file(self, path: str | os.PathLike[str]) -> tuple[int, int]:
        """Create it (never replace, never through a symlink), mode 0600, complete at once.

        It carries a marker and this process's start time: ``--stop`` acts only
        on a file the emulator wrote, and signals only the process that wrote
        it (a recycled pid has another start time). Returns the file's
        (dev, inode), to remove it on exit only if it is still ours.
        """
        from reactor_ci.emulator.detach import own_identity

        target = Path(path)
        make_private_dirs(target.parent)
        text = json.dumps({**self.info(), **own_identity()}, indent=2) + "\n"
        return create_exclusive_text(target, text, mode=0o600)

    # -- requests ----------------------------------------------------------------

    def log(self, line: str) -> None:
        if self._log_stream is not None:
            with contextlib.suppress(Exception):
                self._log_stream.write(redact.scrub(f"emulator: {line}") + "\n")
                self._log_stream.flush()

    def _check_control_host(self, host: str | None) -> None:
        """The control API is unauthenticated: answer only requests addressed to loopback or our own host.

        A web page can point its own name at 127.0.0.1 (DNS rebinding) and
        call us from the browser; its request then carries that name in
        ``Host:``. The one loopback parser decides (``[::1].evil.com`` is not).
        """
        value = (host or "").strip().lower()
        configured = self.host.lower()
        ours = configured if ":" not in configured else f"[{configured}]"
        if value and (settings.host_is_loopback(value) or value in (ours, f"{ours}:{self.port}")):
            return
        raise ApiError(
            403,
            "forbidden_host",
            "the control API answers only requests addressed to a loopback host "
            "(Host: 127.0.0.1, localhost or [::1]); this guards against DNS rebinding",
        )

    def handle(self, req: api.Request, is_control: bool) -> api.Response:
        try:
            if is_control:
                self._check_control_host(req.header("host"))
                return control.handle(req, self.services)
            route = WIRE_ROUTES.get((req.method, req.path))
            if route is None:
                if req.path in _WIRE_PATHS:
                    allowed = ", ".join(m for m, p in WIRE_ROUTES if p == req.path)
                    raise ApiError(405, "method_not_allowed", f"{req.path} accepts {allowed}", {"Allow": allowed})
                raise ApiError(404, "not_found", f"no such endpoint: {req.method} {req.path}")
            if route == "partner":
                return api.get_partner(req, self.state)
            if route == "registry_token":
                return api.post_registry_token(req, self.state)
            if route == "tokens":
                return api.post_tokens(req, self.state, self.services.minter)
            return self._realm(req)
        except ApiError as err:
            return api.Response.error(err)
        except Exception:
            # An emulator bug must still answer (a hung test is worse than a red one).
            handler.report_bug("internal error")
            return api.Response.error(ApiError(500, "internal_error", "emulator internal error"))

    def _realm(self, req: api.Request) -> api.Response:
        if not realm.crypto_available():
            # A plain install serves the whole Reactor API; the realm alone
            # needs the extra, and says so instead of answering 500.
            return api.Response.json(501, {"details": realm.MISSING_EXTRA})
        try:
            answer = realm.issue_bearer(self.state, self.signer, req.header("Authorization"), req.query)
        except realm.RealmError as err:
            self.state.count_realm_denial(err.reason)
            return api.Response.json(
                401, {"details": err.details}, {"WWW-Authenticate": f'Basic realm="{realm.ISSUER}"'}
            )
        self.state.bump("realm_granted")
        return api.Response.json(200, answer)


def _check_work_dir(path: Path) -> None:
    """Create ``path`` 0700, or accept an existing directory only when it is this user's and private."""
    if not os.path.lexists(path):
        make_private_dirs(path)
        return
    info = os.lstat(path)
    import stat

    if stat.S_ISLNK(info.st_mode) or not stat.S_ISDIR(info.st_mode):
        raise ValueError(f"--work-dir {path} is not a directory (or is a symlink); pass a directory path")
    if info.st_uid != os.getuid() or info.st_mode & 0o077:
        raise ValueError(
            f"--work-dir {path} exists and is not private to this user (mode {stat.S_IMODE(info.st_mode):o}): "
            "it would hold the realm's signing key; pass a new directory (it is created 0700), "
            "or make this one yours and 0700 first"
        )
