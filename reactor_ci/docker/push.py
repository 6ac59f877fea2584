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

from reactor_ci.docker.engine import client as _client
from reactor_ci.errors import DockerError, ExitCode, ReactorCIError, UsageError
from reactor_ci.redact import scrub

if TYPE_CHECKING:
    from reactor_ci.credentials import Credentials

# The command that puts a brand-new registry token in the store (the helper reads it there).
REFRESH_COMMAND = "reactor-ci docker-login --refresh"


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


class ImageHasKeys(ReactorCIError):
    """The pre-push scan found a key in an image: nothing was pushed (exit 1, like a scan finding)."""

    exit_code = ExitCode.FINDINGS


@dataclass(frozen=True)
class PushResult:
    image: ImageRef
    digest: str
    size: int | None = None
    scan: str | None = None  # the pre-push key scan's one-line summary; None with --no-scan

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
    scan: bool = True,
) -> list[PushResult]:
    """Push each image with credentials fresh enough for it; print ``repo@digest`` per image.

    ``scan`` (the default): every image is scanned for keys first (layers, config,
    history); one finding in any image and NOTHING is pushed.
    """
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
    scanned = scan_before_push(client, refs, progress) if scan else _warn_no_scan(refs)
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
        result = PushResult(ref, digest, size, scanned.get(str(ref)))
        results.append(result)
        out.write(f"{result.reference}\n")
        out.flush()
        progress.line(f"pushed {ref} digest {digest}" + (f" size {size}" if size is not None else ""))
        if on_result is not None:
            on_result(result)
    return results


def scan_before_push(client: Any, refs: list[ImageRef], progress: Progress) -> dict[str, str]:
    """Scan every image for keys before the first upload; raise if any holds one or cannot be scanned.

    Returns ``{"repo:tag": one-line scan summary}`` for the push's progress and the CI summary.
    """
    from reactor_ci.scan.image import IMAGE_FIX, scan_image
    from reactor_ci.scan.matching import compile_rules
    from reactor_ci.scan.report import to_text

    rules = compile_rules()
    summaries: dict[str, str] = {}
    dirty: list[str] = []
    incomplete: list[str] = []
    for ref in refs:
        progress.line(f"scanning {ref} for Reactor keys before the push (layers, config, history)")
        # docker-daemon: so a registry host that looks like a scheme (oci:5000/…) is still the daemon's image
        result = scan_image(f"docker-daemon:{ref}", rules, client=client)
        summaries[str(ref)] = result.summary()
        progress.line(f"scanned {result.summary()}")
        if result.findings:
            dirty.append(f"{ref}:\n" + to_text(result.findings).rstrip("\n"))
        elif not result.complete:
            incomplete.append(f"{ref}: " + "; ".join(result.problems))
    if dirty:
        raise ImageHasKeys(
            "refusing to push: a Reactor key is inside "
            + ("this image" if len(dirty) == 1 else f"{len(dirty)} images")
            + "; nothing was pushed\n"
            + "\n".join(dirty),
            IMAGE_FIX + " Then rebuild and push again.",
            code="image_has_keys",
        )
    if incomplete:
        raise UsageError(
            "refusing to push: an image could not be scanned completely, so it is not known to be free of "
            "keys; nothing was pushed\n" + "\n".join(incomplete),
            "rebuild the image; a damaged or hostile image cannot be vouched for. `--no-scan` pushes without "
            "the scan, at your own risk",
            code="image_incomplete",
        )
    return summaries


def _warn_no_scan(refs: list[ImageRef]) -> dict[str, str]:
    from reactor_ci import console

    console.warn(
        f"--no-scan: pushing {', '.join(str(r) for r in refs)} WITHOUT scanning for Reactor keys. A key in a "
        "layer, an ENV, an ARG used by RUN or the history ships to everyone who pulls the image; run "
        "`reactor-ci scan --image IMAGE` before pushing.",
        title="push without key scan",
    )
    return {}


def write_outputs(results: list[PushResult], set_output: Callable[[str, str], None]) -> None:
    """``digest`` (the last image's) and ``digests`` (JSON ``{"repo:tag": "sha256:…"}``) as CI outputs."""
    if not results:
        return
    set_output("digest", results[-1].digest)
    set_output("digests", json.dumps({str(r.image): r.digest for r in results}, separators=(",", ":")))
