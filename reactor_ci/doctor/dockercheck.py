"""Docker-side checks: the helper on docker's PATH, config.json, the daemon.

The classic anonymous push: docker finds no ``docker-credential-reactor`` (it
was installed in a venv whose ``bin`` is not on PATH), silently pushes without
credentials and the registry answers ``denied: requested access to the
resource is denied``. Nothing in that message points at the helper, hence
these checks.

The daemon is probed with a raw ``GET /_ping`` over its socket (stdlib only):
the docker SDK is heavy and its errors do not name the socket it tried.
"""

from __future__ import annotations

import shutil
import socket
import sys
import sysconfig
from pathlib import Path
from typing import Any

from reactor_ci.docker import config
from reactor_ci.doctor.model import Context, Deadline, Result, fail, ok, shown, split_url, url_port, warn, within
from reactor_ci.errors import ExitCode, ReactorCIError
from reactor_ci.release import pip_install

DEFAULT_SOCKET = "/var/run/docker.sock"
_ANSWER_LIMIT = 4096
_APP_ONLY = "not needed: an app key (rk_) mints JWTs and never uses the registry"


def _skip(check: str) -> list[Result]:
    return [ok(check, _APP_ONLY)]


# -- the helper on PATH ----------------------------------------------------------------
def _installed_copies() -> list[Path]:
    """Where this reactor-ci's own helper script lives (its venv's bin), if anywhere."""
    dirs = [Path(sys.executable).parent, Path(sysconfig.get_path("scripts"))]
    seen: list[Path] = []
    for directory in dirs:
        candidate = directory / config.HELPER_BINARY
        if candidate.is_file() and candidate not in seen:
            seen.append(candidate)
    return seen


def _broken_shebang(path: str) -> str | None:
    """The interpreter a script names when it no longer exists (a deleted or moved venv)."""
    try:
        with open(path, "rb") as handle:
            first = handle.readline(512)
    except OSError:
        return None
    if not first.startswith(b"#!"):
        return None
    parts = first[2:].decode(errors="replace").split()
    if not parts or parts[0] == "/usr/bin/env":
        return None
    return None if Path(parts[0]).exists() else parts[0]


def check_helper(ctx: Context) -> list[Result]:
    check = "helper"
    if ctx.app_key_only:
        return _skip(check)
    path_env = ctx.env.get("PATH", "")
    found = shutil.which(config.HELPER_BINARY, path=path_env)
    results: list[Result] = []
    if found is not None:
        missing = _broken_shebang(found)
        if missing is not None:
            results.append(
                fail(
                    check,
                    f"{shown(found)} is on PATH but its interpreter {shown(missing)} is gone (a deleted or moved "
                    "venv): docker cannot run it and pushes ANONYMOUSLY ('denied')",
                    f"reinstall reactor-ci in the venv on PATH: {pip_install(options='--force-reinstall')}",
                    ExitCode.DOCKER,
                )
            )
        else:
            results.append(ok(check, f"{config.HELPER_BINARY} is on PATH: {shown(found)}"))
    else:
        copies = _installed_copies()
        if copies:
            where = shown(copies[0].parent)
            results.append(
                fail(
                    check,
                    f"{config.HELPER_BINARY} is NOT on PATH; it exists only in {where}, which is not on PATH. "
                    "docker runs helpers by PATH: it finds none, pushes ANONYMOUSLY and the registry refuses "
                    "('denied: requested access to the resource is denied' or 'unauthorized')",
                    f'export PATH="{where}:$PATH" in the shell that runs docker (GitHub: echo "{where}" >> '
                    '"$GITHUB_PATH"; GitLab: set PATH in before_script); `sudo docker` resets PATH, run docker '
                    "without sudo or use --static.",
                    ExitCode.DOCKER,
                )
            )
        else:
            results.append(
                fail(
                    check,
                    f"{config.HELPER_BINARY} is not installed on this PATH: docker pushes ANONYMOUSLY ('denied')",
                    f"{pip_install()} (in a venv) and put the venv's bin directory on PATH.",
                    ExitCode.DOCKER,
                )
            )
    if shutil.which("docker", path=path_env) is None:
        results.append(
            warn(check, "no docker CLI on PATH", "install the docker CLI, or use `reactor-ci push` (docker SDK).")
        )
    return results


# -- config.json ------------------------------------------------------------------------
def _host_of(key: str) -> str:
    """``https://host/v1/`` -> ``host``: docker normalises ``auths`` keys this way."""
    text = key.strip()
    if "://" in text:
        parts = split_url(text)
        text = parts.netloc if parts is not None else ""
    return text.split("/", 1)[0].lower()


def _section(data: dict[str, Any], name: str) -> dict[str, Any]:
    value = data.get(name)
    return value if isinstance(value, dict) else {}


def _job_scoped_hint(ctx: Context) -> str:
    """docker-login in CI wrote a job-scoped config this shell does not point at."""
    job_tmp = ctx.provider.job_temp_dir() if ctx.provider is not None else None
    if job_tmp is None:
        return ""
    job_dir = Path(job_tmp) / config.JOB_DIR_NAME
    if (job_dir / config.CONFIG_NAME).is_file():
        return f" A job-scoped config exists at {shown(job_dir)}: export DOCKER_CONFIG={shown(job_dir)} in this step."
    return ""


def check_docker_config(ctx: Context) -> list[Result]:
    check = "docker-config"
    if ctx.app_key_only:
        return _skip(check)
    directory = config.user_config_dir(dict(ctx.env))
    path = directory / config.CONFIG_NAME
    where = shown(path)
    try:
        data = config.load(path)
    except ReactorCIError as exc:
        return [fail(check, shown(exc.message), shown(exc.fix or ""), ExitCode.USAGE)]
    host = ctx.registry_host
    if host is None:
        return [
            warn(
                check,
                f"cannot tell which registry host {where} must map: no credentials and no partner key",
                "run `reactor-ci login`, then run the doctor again.",
            )
        ]
    helpers = _section(data, "credHelpers")
    auths = _section(data, "auths")
    store = data.get("credsStore") if isinstance(data.get("credsStore"), str) else ""
    helper = helpers.get(host)
    static = [k for k in auths if isinstance(k, str) and _host_of(k) == host.lower()]
    login_fix = "run `reactor-ci docker-login` (it sets credHelpers and removes a stale static entry)."
    h = shown(host)
    if helper == config.HELPER_NAME:
        results = [ok(check, f'{where}: credHelpers["{h}"] = "{config.HELPER_NAME}"')]
        if static:
            results.append(
                warn(
                    check,
                    f"{where} also holds a static login for {h} in auths: docker uses the helper, but tools that "
                    "read auths only use that copy, which expires with its token (and is a secret on disk)",
                    login_fix,
                )
            )
        return results
    hint = _job_scoped_hint(ctx)
    if helper is not None:
        detail = f'{where}: credHelpers["{h}"] is "{shown(helper)}", not "{config.HELPER_NAME}"'
        return [fail(check, detail, login_fix + hint, ExitCode.DOCKER)]
    if store:
        detail = (
            f'{where} has no credHelpers entry for {h}, so docker asks its credsStore "{shown(store)}", '
            "which holds no fresh Reactor token (at best an old `docker login` copy): the push is denied"
        )
        return [fail(check, detail, login_fix + hint, ExitCode.DOCKER)]
    if static:
        return [
            warn(
                check,
                f"{where} holds a static login for {h} (auths): it stops working when its token expires (12 h)",
                "use the helper instead: `reactor-ci docker-login` without --static; else re-run "
                "`reactor-ci docker-login --static` right before each push.",
            )
        ]
    missing = "does not exist" if not path.exists() else f"has no entry for {h}"
    return [
        fail(
            check,
            f"{where} {missing}: docker pushes to {h} ANONYMOUSLY and the registry refuses ('denied')",
            login_fix + hint,
            ExitCode.DOCKER,
        )
    ]


# -- the daemon ---------------------------------------------------------------------------
def _ping(family: int, address: Any, timeout: float) -> bytes:
    with socket.socket(family, socket.SOCK_STREAM) as sock:
        sock.settimeout(timeout)
        sock.connect(address)
        sock.sendall(b"GET /_ping HTTP/1.0\r\nHost: docker\r\nUser-Agent: reactor-ci-doctor\r\n\r\n")
        answer = b""
        while len(answer) < _ANSWER_LIMIT:
            chunk = sock.recv(_ANSWER_LIMIT - len(answer))
            if not chunk:
                break
            answer += chunk
        return answer


def ping_status(answer: bytes) -> int | None:
    """The HTTP status of a raw answer, or None when it is not HTTP."""
    first = answer.split(b"\r\n", 1)[0].split()
    if len(first) >= 2 and first[0].startswith(b"HTTP/") and first[1].isdigit():
        return int(first[1])
    return None


def check_daemon(ctx: Context) -> list[Result]:
    check = "docker-daemon"
    if ctx.app_key_only:
        return _skip(check)
    configured = ctx.env.get("DOCKER_HOST", "").strip()
    context = _current_context(ctx) if not configured else None
    if context:
        # The docker CLI then talks to the context's endpoint, not the default socket.
        return [
            warn(
                check,
                f"docker uses the context {shown(context)} (DOCKER_CONTEXT or currentContext); not probed",
                "run `docker context inspect` / `docker info`, or set DOCKER_HOST to check it here.",
            )
        ]
    target = configured or f"unix://{DEFAULT_SOCKET}"
    label = f"DOCKER_HOST={shown(configured)}" if configured else f"the default socket {DEFAULT_SOCKET}"
    down_fix = (
        "start the Docker daemon (e.g. `systemctl start docker`), or point DOCKER_HOST at its socket; in CI "
        "use a runner with Docker or a docker:dind service."
    )
    parts = split_url(target)
    port = url_port(parts) if parts is not None else None
    family: int
    address: Any
    if parts is not None and parts.scheme == "unix" and (parts.path or parts.netloc):
        family, address = socket.AF_UNIX, (parts.path or parts.netloc)
    elif parts is not None and parts.scheme == "tcp" and parts.hostname and port != -1:
        tls = bool(ctx.env.get("DOCKER_TLS_VERIFY") or ctx.env.get("DOCKER_TLS")) or port == 2376
        family, address = socket.AF_INET, (parts.hostname, port or (2376 if tls else 2375))
        if tls:
            return [_tcp_only(check, label, address, ctx.timeout, down_fix)]
    elif parts is None or parts.scheme in ("unix", "tcp"):
        fix = "set DOCKER_HOST to unix:///path/to/docker.sock or tcp://HOST:PORT."
        return [fail(check, f"{label} is not a valid address", fix, ExitCode.USAGE)]
    else:
        return [warn(check, f"{label}: this scheme is not probed by the doctor", "run `docker info` to check it.")]
    try:
        # A total deadline: a socket that drips its answer never trips the per-recv timeout.
        answer = within(ctx.timeout * 2 + 1, lambda: _ping(family, address, ctx.timeout))
    except Deadline:
        detail = f"the Docker daemon at {label} gave no complete answer to /_ping in time"
        return [fail(check, detail, down_fix, ExitCode.DOCKER)]
    except FileNotFoundError:
        return [fail(check, f"no Docker socket at {label}", down_fix, ExitCode.DOCKER)]
    except PermissionError:
        return [
            fail(
                check,
                f"permission denied on {label}",
                "add the user to the `docker` group (then log in again), or run where the socket is accessible.",
                ExitCode.DOCKER,
            )
        ]
    except (OSError, ValueError) as exc:
        why = "no answer in time" if isinstance(exc, TimeoutError) else exc.__class__.__name__
        return [fail(check, f"the Docker daemon at {label} is unreachable ({why})", down_fix, ExitCode.DOCKER)]
    status = ping_status(answer)
    if status == 200:
        return [ok(check, f"the Docker daemon at {label} answered /_ping")]
    return [
        fail(
            check,
            f"{label} answered /_ping with {shown(status if status is not None else answer[:80])}, not 200: "
            "not a healthy Docker daemon",
            down_fix,
            ExitCode.DOCKER,
        )
    ]


def _current_context(ctx: Context) -> str | None:
    name = ctx.env.get("DOCKER_CONTEXT", "").strip()
    if not name:
        try:
            data = config.load(config.user_config_dir(dict(ctx.env)) / config.CONFIG_NAME)
        except ReactorCIError:
            return None  # the docker-config check reports a damaged file
        value = data.get("currentContext")
        name = value.strip() if isinstance(value, str) else ""
    return name if name and name != "default" else None


def _tcp_only(check: str, label: str, address: tuple[str, int], timeout: float, fix: str) -> Result:
    # A TLS daemon needs client certificates for /_ping; a TCP connect still
    # tells "nothing listens" apart from "listening".
    try:
        within(timeout + 1, lambda: socket.create_connection(address, timeout=timeout).close())
    except Deadline:
        return fail(check, f"the Docker daemon at {label} is unreachable (no answer in time)", fix, ExitCode.DOCKER)
    except OSError as exc:
        return fail(
            check, f"the Docker daemon at {label} is unreachable ({exc.__class__.__name__})", fix, ExitCode.DOCKER
        )
    return ok(check, f"the Docker daemon at {label} accepts connections (TLS: /_ping not attempted)")
