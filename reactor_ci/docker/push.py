"""``reactor-ci push``: push images with the docker SDK, fresh credentials for each.

Why not ``docker push``: the CLI turns a failing credential helper into an
anonymous push that fails with a misleading ``denied``. Here the credentials
come straight from the session (refreshed if the push would start with too
little life left), travel to the engine in ``X-Registry-Auth``, and every
failure is classified with its fix.

The SDK does NOT raise on errors inside the push stream (the HTTP call itself
succeeded); each JSON line is checked for ``error``/``errorDetail``.
"""

from __future__ import annotations

import json
import os
import sys
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol, TextIO

from reactor_ci.errors import DockerError, UsageError
from reactor_ci.redact import scrub

if TYPE_CHECKING:
    from reactor_ci.credentials import Credentials

# The command that puts a brand-new registry token in the store (the helper reads it there).
REFRESH_COMMAND = "reactor-ci docker-login --refresh"

_ENV_DOCKER_HOST = "DOCKER_HOST"
_DEFAULT_SOCKET = "unix:///var/run/docker.sock"
_FROM_ENV = "from $DOCKER_HOST"
_FROM_CONTEXT = "from the current docker context"
_FROM_DEFAULT = "the default socket"

# Seconds between plain progress lines for one layer in CI logs.


class _Session(Protocol):
    def fresh(self, *, min_remaining: float | None = None, force: bool = False) -> Credentials: ...


class AuthFailure(DockerError):
    """The registry refused our credentials (expired/unknown token): refresh once and retry."""


@dataclass(frozen=True)
class ImageRef:
    repository: str  # host[:port]/namespace/name
    tag: str

    def __str__(self) -> str:
        return f"{self.repository}:{self.tag}"


@dataclass(frozen=True)
class PushResult:
    image: ImageRef
    digest: str
    size: int | None = None

    @property
    def reference(self) -> str:
        return f"{self.image.repository}@{self.digest}"


def parse_image(text: str) -> ImageRef:
    """``host:port/ns/name[:tag]`` -> ImageRef; a ``:`` after the last ``/`` is the tag."""
    value = text.strip()
    if not value or any(c.isspace() for c in value):
        raise UsageError(f"{text!r} is not an image name", "give IMAGE[:TAG], e.g. registry/org/model:v1.")
    if "@" in value:
        raise UsageError(
            f"{value}: a digest reference cannot be pushed",
            "push a tag (IMAGE:TAG); the digest is printed after the push.",
        )
    slash = value.rfind("/")
    colon = value.rfind(":")
    if colon > slash:
        repo, tag = value[:colon], value[colon + 1 :]
    else:
        repo, tag = value, "latest"
    if not repo or not tag:
        raise UsageError(f"{value!r} is not an image name", "give IMAGE[:TAG], e.g. registry/org/model:v1.")
    return ImageRef(repo, tag)


def check_namespace(ref: ImageRef, creds: Credentials) -> None:
    """Refuse images outside the org's namespace before uploading gigabytes for a ``denied``."""
    prefix = f"{creds.registry_host}/{creds.namespace}/"
    if ref.repository.startswith(prefix) and len(ref.repository) > len(prefix):
        return
    name = ref.repository.rsplit("/", 1)[-1]
    if not ref.repository.startswith(creds.registry_host + "/"):
        why = f"{ref} is not in the Reactor registry {creds.registry_host}"
    else:
        why = f"{ref} is outside your organisation's namespace {creds.namespace!r}"
    raise UsageError(
        why,
        f"tag it into your namespace and push that: docker tag {ref} {prefix}{name}:{ref.tag}",
        code="wrong_namespace",
    )


def classify(message: str, ref: ImageRef, creds: Credentials | None) -> DockerError:
    """Turn an error line from the push stream into an error with the fix."""
    text = scrub(message.strip())
    low = text.lower()
    if "unauthorized" in low or "authentication required" in low:
        return AuthFailure(
            f"push of {ref} was refused: {text}",
            "the registry rejected the token (expired, or invalidated before its recorded expiry); "
            "`reactor-ci push` fetches a brand-new one and retries once by itself. For a plain `docker push`, "
            f"run `{REFRESH_COMMAND}` (or `reactor-ci login` again): the credential helper then hands docker "
            "the new token.",
            code="unauthorized",
        )
    if "denied" in low:
        namespace = f"{creds.registry}/" if creds is not None else "<registry>/<your-org>/"
        return DockerError(
            f"push of {ref} was denied: {text}",
            f"you may push only into your organisation's namespace: {namespace}<name>:<tag>.",
            code="denied",
        )
    if "does not exist locally" in low or "no such image" in low:
        return DockerError(
            f"{ref}: {text}",
            f"build or tag it first (docker tag SOURCE {ref}); `docker images` lists what exists.",
            code="no_image",
        )
    return DockerError(f"push of {ref} failed: {text}", "see the docker engine's log for details.", code="push")


# -- progress ---------------------------------------------------------------


def _bar(current: int, total: int, width: int = 24) -> str:
    if total <= 0:
        return ""
    fraction = max(0.0, min(1.0, current / total))
    full = int(fraction * width)
    return "[" + "=" * full + (">" if full < width else "") + " " * max(0, width - full - 1) + "]"


def _size(n: int) -> str:
    value = float(n)
    for unit in ("B", "kB", "MB", "GB"):
        if value < 1000 or unit == "GB":
            return f"{value:.1f}{unit}" if unit != "B" else f"{int(value)}B"
        value /= 1000
    return f"{value:.1f}GB"


def _amount(current: int, total: int, *, percent: bool = True) -> str:
    """`` 1.2MB/3.4MB (35%)``; the engine's ``total`` is an estimate (the uncompressed size, or 16 B for a
    tiny layer) that the bytes sent can pass: then only what was sent, never ``512B/16B (3200%)``."""
    current = max(0, current)
    if total <= 0:
        return ""
    if current > total:
        return f" {_size(current)}"
    share = f" ({100 * current // total}%)" if percent else ""
    return f" {_size(current)}/{_size(total)}{share}"


class Progress:
    """Per-layer status: lines redrawn in place on a terminal, throttled plain lines in CI logs."""

    def __init__(
        self,
        stream: TextIO,
        *,
        mode: str = "auto",
        interval: float | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if mode == "auto":
            mode = "tty" if stream.isatty() and os.environ.get("TERM") != "dumb" else "plain"
        self.mode = mode
        self.stream = stream
        if interval is None:
            from reactor_ci import settings

            interval = settings.get(settings.PROGRESS_INTERVAL)
        self.interval = interval
        self.clock = clock
        self.layers: dict[str, str] = {}
        self._status: dict[str, str] = {}
        self._last: dict[str, float] = {}
        self._drawn = 0

    def _write(self, text: str) -> None:
        self.stream.write(scrub(text))
        self.stream.flush()

    def line(self, text: str) -> None:
        if self.mode == "none":
            return
        if self.mode == "tty":
            self._drawn = 0  # a message ends the current block; the next block starts below it
        self._write(text + "\n")

    def update(self, event: dict[str, Any]) -> None:
        if self.mode == "none":
            return
        layer = event.get("id")
        status = str(event.get("status", ""))
        if not layer or not status or "digest:" in status:
            if status and not layer and self.mode == "plain":
                self._write(status + "\n")
            return
        layer = str(layer)
        detail = event.get("progressDetail") or {}
        current = int(detail.get("current") or 0) if isinstance(detail, dict) else 0
        total = int(detail.get("total") or 0) if isinstance(detail, dict) else 0
        if self.mode == "tty":
            bar = f" {_bar(current, total)}{_amount(current, total, percent=False)}" if total > 0 else ""
            self.layers[layer] = f"{layer}: {status}{bar}"
            self._redraw()
            return
        # Plain (CI logs): a line on every status change, and for long uploads
        # at most one line per layer every `interval` seconds, so a 10 GB
        # layer shows life without flooding the log.
        now = self.clock()
        changed = self._status.get(layer) != status
        if changed or now - self._last.get(layer, 0.0) >= self.interval:
            self._status[layer] = status
            self._last[layer] = now
            self._write(f"{layer}: {status}{_amount(current, total)}\n")

    def _redraw(self) -> None:
        out = []
        if self._drawn:
            out.append(f"\x1b[{self._drawn}A")
        for text in self.layers.values():
            out.append("\x1b[2K" + text + "\n")
        self._drawn = len(self.layers)
        self._write("".join(out))

    def finish(self) -> None:
        self.layers.clear()
        self._status.clear()
        self._last.clear()
        self._drawn = 0


# -- pushing ----------------------------------------------------------------


def consume(
    stream: Iterable[dict[str, Any]], ref: ImageRef, creds: Credentials | None, progress: Progress
) -> tuple[str, int | None]:
    """Read a push stream; return (digest, size) or raise the classified error."""
    digest: str | None = None
    size: int | None = None
    for event in stream:
        if not isinstance(event, dict):
            continue
        detail = event.get("errorDetail")
        if event.get("error") or detail:
            message = event.get("error") or (detail.get("message") if isinstance(detail, dict) else None)
            raise classify(str(message or detail), ref, creds)
        aux = event.get("aux")
        if isinstance(aux, dict) and aux.get("Digest"):
            digest = str(aux["Digest"])
            size = int(aux["Size"]) if isinstance(aux.get("Size"), int) else None
            continue
        progress.update(event)
    if digest is None:
        raise DockerError(
            f"push of {ref} ended without a digest",
            "the engine closed the stream early; check the engine's log and retry.",
            code="no_digest",
        )
    return digest, size


def _client() -> Any:
    try:
        import docker
    except ImportError:
        from reactor_ci.release import pip_install

        raise UsageError(
            "the docker SDK is not installed",
            f"{pip_install('docker')} (or `pip install docker` into the same environment).",
            code="no_docker_sdk",
        ) from None
    # Same engine as the docker CLI: DOCKER_HOST/DOCKER_TLS_VERIFY/DOCKER_CERT_PATH,
    # else the current docker context (`docker context use`), else the default socket.
    kwargs: dict[str, Any] = {}
    source = _FROM_DEFAULT
    try:
        kwargs = docker.utils.kwargs_from_env()
        if "base_url" in kwargs:
            source = _FROM_ENV
        else:
            kwargs.update(_context_kwargs())
            source = _FROM_CONTEXT if "base_url" in kwargs else _FROM_DEFAULT
        # `version="auto"` negotiates, so an older engine (API 1.41) still works.
        # The timeout bounds each wait for the engine's next progress line, not
        # the push: a multi-GB layer is fine, 30 silent minutes is a hung engine.
        return docker.APIClient(version="auto", timeout=1800, **kwargs)
    except docker.errors.DockerException as exc:
        where = str(kwargs.get("base_url") or os.environ.get(_ENV_DOCKER_HOST) or _DEFAULT_SOCKET)
        raise _engine_unreachable(where, source, str(exc)) from None


def _engine_unreachable(where: str, source: str, detail: str) -> DockerError:
    """The engine is down or elsewhere: name the socket tried, where it came from, and the fix."""
    if source == _FROM_ENV:
        fix = (
            f"start the engine {_ENV_DOCKER_HOST} names, or point {_ENV_DOCKER_HOST} at a running one "
            "(unset it for the default socket)"
        )
    elif source == _FROM_CONTEXT:
        fix = "start that engine, or switch context (`docker context use default`)"
    else:
        fix = (
            "start dockerd (e.g. `sudo systemctl start docker`), or set DOCKER_HOST to the engine's socket "
            "(e.g. unix:///run/user/1000/docker.sock for rootless Docker)"
        )
    return DockerError(
        f"cannot reach the docker engine at {where} ({source}): {scrub(detail)[:300]}",
        fix + "; `docker version` shows what the docker CLI reaches.",
        code="engine",
    )


def _context_kwargs() -> dict[str, Any]:
    try:
        from docker.context import ContextAPI

        context = ContextAPI.get_current_context()
    except Exception:  # a broken context store must not hide the default socket
        return {}
    if context is None or not context.Host or context.name == "default":
        return {}
    kwargs: dict[str, Any] = {"base_url": context.Host}
    if context.TLSConfig:
        kwargs["tls"] = context.TLSConfig
    return kwargs


def _ensure_local(client: Any, ref: ImageRef) -> None:
    import docker

    try:
        client.inspect_image(str(ref))
    except docker.errors.ImageNotFound:
        raise DockerError(
            f"image {ref} does not exist locally",
            f"build or tag it first (docker tag SOURCE {ref}); `docker images` lists what exists.",
            code="no_image",
        ) from None
    except (docker.errors.DockerException, OSError) as exc:  # requests' errors are OSErrors
        raise DockerError(
            f"cannot inspect {ref}: {scrub(str(exc))[:300]}",
            "check the docker engine (`docker version`).",
            code="engine",
        ) from None


def _push_once(client: Any, ref: ImageRef, creds: Credentials, progress: Progress) -> tuple[str, int | None]:
    import docker

    auth = {"username": creds.docker_username, "password": creds.registry_token, "serveraddress": creds.registry_host}
    try:
        stream: Iterator[dict[str, Any]] = client.push(
            ref.repository, tag=ref.tag, stream=True, decode=True, auth_config=auth
        )
        return consume(stream, ref, creds, progress)
    except docker.errors.APIError as exc:
        raise classify(str(exc.explanation or exc), ref, creds) from None
    except (docker.errors.DockerException, OSError) as exc:
        raise DockerError(
            f"push of {ref} failed: {scrub(str(exc))}", "check the docker engine and retry.", code="engine"
        ) from None


def push_images(
    images: list[str],
    *,
    session: _Session | None = None,
    client: Any = None,
    progress: Progress | None = None,
    out: TextIO | None = None,
    on_result: Callable[[PushResult], None] | None = None,
) -> list[PushResult]:
    """Push each image with credentials fresh enough for it; print ``repo@digest`` per image."""
    if session is None:
        from reactor_ci.session import Session

        session = Session()
    out = out if out is not None else sys.stdout
    progress = progress if progress is not None else Progress(sys.stderr)
    refs = [parse_image(i) for i in images]
    creds = session.fresh()
    for ref in refs:  # all refused up front, before any upload
        check_namespace(ref, creds)
    if client is None:
        client = _client()
    for ref in refs:
        _ensure_local(client, ref)
    results: list[PushResult] = []
    for ref in refs:
        # Fresh before EACH image: the previous upload may have taken hours.
        creds = session.fresh()
        progress.line(f"pushing {ref} ({creds.seconds_left() / 3600:.1f} h of registry token left)")
        try:
            digest, size = _push_once(client, ref, creds, progress)
        except AuthFailure as first:
            progress.finish()
            progress.line(f"{ref}: registry refused the token ({first.message}); fetching a new one and retrying")
            # FORCE: the stored token still looks valid by its expiry, which is
            # exactly the case where the registry invalidated it early.
            creds = session.fresh(force=True)
            try:
                digest, size = _push_once(client, ref, creds, progress)
            except AuthFailure as second:
                raise AuthFailure(
                    f"{second.message} (with a brand-new registry token, too)",
                    "the key's organisation may no longer push here: run `reactor-ci login` to check the key "
                    "(a revoked or expired key is reported), and push only into your namespace "
                    f"{creds.registry}/<name>:<tag>.",
                    code="unauthorized_fresh",
                ) from None
        progress.finish()
        result = PushResult(ref, digest, size)
        results.append(result)
        out.write(f"{result.reference}\n")
        out.flush()
        progress.line(f"pushed {ref} digest {digest}" + (f" size {size}" if size is not None else ""))
        if on_result is not None:
            on_result(result)
    return results


def write_outputs(results: list[PushResult], set_output: Callable[[str, str], None]) -> None:
    """``digest`` (the last image's) and ``digests`` (JSON ``{"repo:tag": "sha256:…"}``) as CI outputs."""
    if not results:
        return
    set_output("digest", results[-1].digest)
    set_output("digests", json.dumps({str(r.image): r.digest for r in results}, separators=(",", ":")))
