"""Docker's ``config.json``: register the helper, or write a static login, atomically.

We own two entries for the Reactor registry host and nothing else: every other
key (other registries, ``credsStore``, proxies, ``currentContext``, keys a
future docker adds) is kept verbatim. Writes go to a temp file in the same
directory and are renamed over the original, mode 0600, so a docker command
running in parallel never reads half a file.

Lookup order in the docker CLI is ``credHelpers[host]``, then ``credsStore``,
then ``auths[host]``; the key must equal the host exactly (``host:port``).
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
from pathlib import Path
from typing import Any

from reactor_ci import redact
from reactor_ci.errors import UsageError
from reactor_ci.fsutil import UnsafeFile, atomic_write_text, home_dir, make_private_dirs, read_bounded

HELPER_NAME = "reactor"
HELPER_BINARY = "docker-credential-" + HELPER_NAME
CONFIG_NAME = "config.json"
ENV_DOCKER_CONFIG = "DOCKER_CONFIG"
# Name of the job-scoped config directory under the CI's temp dir.
JOB_DIR_NAME = "reactor-ci-docker-config"
# A config.json with hundreds of auths is tens of kB; past this it is not docker's file.
MAX_CONFIG_BYTES = 4 * 1024 * 1024


def user_config_dir(env: dict[str, str] | None = None) -> Path:
    """``$DOCKER_CONFIG`` or ``~/.docker``: where the docker CLI looks."""
    environ = os.environ if env is None else env
    configured = environ.get(ENV_DOCKER_CONFIG, "").strip() or "~/.docker"
    if configured == "~" or configured.startswith("~/"):
        # No HOME: never the passwd fallback (/root/.docker), never create HOME (10.6).
        return home_dir(environ, setting=ENV_DOCKER_CONFIG) / configured[2:]
    return Path(configured).expanduser()


def load(path: Path) -> dict[str, Any]:
    """The parsed config (``{}`` when missing); :class:`UsageError` when corrupt (never overwrite it)."""
    try:
        text = read_bounded(path, MAX_CONFIG_BYTES).decode("utf-8")
    except FileNotFoundError:
        return {}
    except UnsafeFile as exc:
        # A FIFO would hang every command, /dev/zero exhaust memory: refuse, never read on.
        raise UsageError(
            f"{path} {exc.reason}; reactor-ci will not read or overwrite it",
            "replace it with docker's JSON config file (or remove it: docker recreates it), "
            "or point DOCKER_CONFIG at another directory.",
            code="docker_config",
        ) from None
    except UnicodeDecodeError:
        raise UsageError(
            f"{path} is not UTF-8 text; reactor-ci will not overwrite it",
            "fix or remove it (docker recreates it), then run `reactor-ci docker-login` again.",
            code="docker_config",
        ) from None
    except OSError as exc:
        raise UsageError(
            f"cannot read {path}: {exc.strerror or exc.__class__.__name__}",
            "check its permissions, or point DOCKER_CONFIG at a writable directory.",
            code="docker_config",
        ) from None
    if not text.strip():
        return {}
    try:
        data = json.loads(text)
    except (ValueError, RecursionError):
        raise UsageError(
            f"{path} is not valid JSON; reactor-ci will not overwrite it",
            "fix or remove it (docker recreates it), then run `reactor-ci docker-login` again.",
            code="docker_config",
        ) from None
    if not isinstance(data, dict):
        raise UsageError(
            f"{path} does not hold a JSON object; reactor-ci will not overwrite it",
            "fix or remove it, then run `reactor-ci docker-login` again.",
            code="docker_config",
        )
    return data


def save(path: Path, data: dict[str, Any]) -> None:
    """Write ``data`` atomically with mode 0600 (it may hold a static login).

    A symlinked ``config.json`` (dotfiles managers do this) is updated THROUGH
    the link: the rename lands on the link's target, so the link survives.
    """
    # Tabs, like the docker CLI writes it, so a diff stays small.
    text = json.dumps(data, indent="\t") + "\n"
    target = Path(os.path.realpath(path)) if path.is_symlink() else path
    try:
        make_private_dirs(target.parent)
        atomic_write_text(target, text, mode=0o600)
    except OSError as exc:
        raise UsageError(
            f"cannot write {path}: {exc.strerror or exc.__class__.__name__}",
            "make it writable, or point DOCKER_CONFIG at a writable directory.",
            code="docker_config",
        ) from None


def _section(data: dict[str, Any], name: str) -> dict[str, Any]:
    value = data.get(name)
    if not isinstance(value, dict):
        value = {}
        data[name] = value
    return value


def _drop_empty(data: dict[str, Any], name: str) -> None:
    if isinstance(data.get(name), dict) and not data[name]:
        del data[name]


def set_helper(config_dir: Path, host: str) -> Path:
    """``credHelpers[host] = "reactor"``; drop a static ``auths[host]`` (a stale secret on disk)."""
    path = config_dir / CONFIG_NAME
    data = load(path)
    _section(data, "credHelpers")[host] = HELPER_NAME
    auths = data.get("auths")
    if isinstance(auths, dict) and host in auths:
        del auths[host]
        _drop_empty(data, "auths")
    save(path, data)
    return path


def set_static(config_dir: Path, host: str, username: str, password: str) -> Path:
    """``auths[host] = {"auth": base64(user:password)}``; remove our helper entry for ``host``.

    The helper entry must go: docker consults ``credHelpers`` first, so leaving
    it would make this static login invisible to docker (and the user asked for
    exactly the behaviour of a plain ``docker login``).
    """
    # Register before anything can print it (a CI log, an error message).
    encoded = redact.register_basic_auth(username, password)
    path = config_dir / CONFIG_NAME
    data = load(path)
    helpers = data.get("credHelpers")
    if isinstance(helpers, dict) and helpers.get(host) == HELPER_NAME:
        del helpers[host]
        _drop_empty(data, "credHelpers")
    _section(data, "auths")[host] = {"auth": encoded}
    save(path, data)
    return path


def remove(config_dir: Path, hosts: list[str] | None = None) -> bool:
    """Forget our entries: the helper for ``hosts`` (or every host using it) and their static logins."""
    path = config_dir / CONFIG_NAME
    if not path.exists():
        return False
    data = load(path)
    changed = False
    helpers = data.get("credHelpers")
    targets = set(hosts or ())
    if isinstance(helpers, dict):
        ours = [h for h, name in helpers.items() if name == HELPER_NAME and (hosts is None or h in targets)]
        targets.update(ours)
        for host in ours:
            del helpers[host]
            changed = True
        _drop_empty(data, "credHelpers")
    auths = data.get("auths")
    if isinstance(auths, dict):
        for host in targets:
            if host in auths:
                del auths[host]
                changed = True
        _drop_empty(data, "auths")
    if changed:
        save(path, data)
    return changed


def creds_store(config_dir: Path) -> str | None:
    value = load(config_dir / CONFIG_NAME).get("credsStore")
    return value if isinstance(value, str) and value else None


def seed_job_dir(job_dir: Path, source_dir: Path) -> Path:
    """Create a job-scoped DOCKER_CONFIG that starts from ``source_dir``.

    ``config.json`` is COPIED (we edit it; the user's file stays untouched and
    nothing secret outlives the job). Everything else (``cli-plugins/`` with
    buildx and compose, ``buildx/`` with the builder setup-buildx-action
    created, ``contexts/`` that ``currentContext`` names) is SYMLINKED: a bare
    directory would silently lose the user's builder, plugins and context.
    """
    make_private_dirs(job_dir)
    if source_dir.resolve() == job_dir.resolve():
        return job_dir
    target = job_dir / CONFIG_NAME
    source = source_dir / CONFIG_NAME
    if not target.exists():
        data = load(source) if source.exists() else {}
        save(target, data)
    if source_dir.is_dir():
        for entry in source_dir.iterdir():
            if entry.name == CONFIG_NAME or entry.name.startswith("."):
                continue
            link = job_dir / entry.name
            if not link.exists() and not link.is_symlink():
                with contextlib.suppress(OSError):
                    link.symlink_to(entry.resolve(), target_is_directory=entry.is_dir())
    return job_dir


def helper_on_path() -> str | None:
    return shutil.which(HELPER_BINARY)
