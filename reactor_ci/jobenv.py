"""``reactor-ci auth --print-env``: set up a GitLab job's environment, and print it for ``eval``.

The GitLab component's shell keeps only what must run before reactor-ci is
installed (the key-prefix check, the job's fresh private directory
``$REACTOR_CI_DIR``, the install). Everything after is here:

* the job's Docker config, seeded from the user's (``$DOCKER_CONFIG`` or
  ``~/.docker``): ``config.json`` COPIED (we edit it; theirs stays untouched),
  every other entry (``cli-plugins/`` with buildx, ``contexts/``, TLS
  ``*.pem``) SYMLINKED, so plugins, builders, the current context and daemon
  certificates keep working;
* the job-scoped paths (credentials, Docker config, the helper's log, the
  dotenv of non-secret outputs), set for this process and printed;
* for an app key, the JWT in a 0600 file beside them.

What is printed is POSIX ``export NAME='value'`` lines, every value quoted by
:func:`shell_assignment` (hostile text stays one literal word:
tests/test_jobenv_print_env.py proves it with Hypothesis under dash). The
paths go out FIRST, before the login, so a failing job still finds its files
(the component runs the doctor with them).
"""

from __future__ import annotations

import os
import shutil
import stat
import sys
from pathlib import Path

from reactor_ci.errors import UsageError

__all__ = ["DIR_ENV", "job_paths", "seed_docker_config", "shell_assignment"]

DIR_ENV = "REACTOR_CI_DIR"
_NAME_CHARS = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_")


def shell_assignment(name: str, value: str) -> str:
    """``export NAME='value'`` that any POSIX shell's ``eval`` reads back as exactly ``value``.

    Single quotes keep every byte literal but ``'``, written as ``'\\''``. A NUL cannot live in
    a shell variable: refused.
    """
    if not name or not set(name) <= _NAME_CHARS or name[0].isdigit():
        raise ValueError(f"not a variable name: {name!r}")
    if "\0" in value:
        raise UsageError(f"{name} would hold a NUL byte", "report this: no reactor-ci value holds one.")
    return f"export {name}='" + value.replace("'", "'\\''") + "'"


def job_dir() -> Path:
    """``$REACTOR_CI_DIR``: the private (0700, ours) directory the component made for this job."""
    raw = os.environ.get(DIR_ENV, "")
    if not raw.strip() or not os.path.isabs(raw):
        raise UsageError(
            f"--print-env needs {DIR_ENV}: the job's private directory (an absolute path)",
            "run it from the GitLab component, or create one with `mktemp -d` and export it.",
            code="no_job_dir",
        )
    info = os.lstat(raw) if os.path.lexists(raw) else None
    if info is None or not stat.S_ISDIR(info.st_mode) or info.st_uid != os.geteuid() or info.st_mode & 0o077:
        raise UsageError(
            f"{DIR_ENV} must be a private directory of this user (mode 700, not a symlink)",
            "create it with `mktemp -d` (as the component does) and export it.",
            code="no_job_dir",
        )
    return Path(raw)


def job_paths(directory: Path) -> dict[str, str]:
    """The job-scoped settings, name -> value; the job's own values win where it set any."""
    defaults = {
        "REACTOR_CREDENTIALS": directory / "credentials",
        "DOCKER_CONFIG": directory / "docker",
        "REACTOR_CI_HELPER_LOG": directory / "helper.log",
        "REACTOR_CI_DOTENV": directory / "outputs.env",
    }
    # The credentials and the Docker config are ALWAYS the job's (that is the point); the log and
    # the dotenv the job may point elsewhere (a dotenv declared as an artifact).
    keep = ("REACTOR_CI_HELPER_LOG", "REACTOR_CI_DOTENV")
    return {
        name: (os.environ[name] if name in keep and os.environ.get(name, "").strip() else str(path))
        for name, path in defaults.items()
    }


def seed_docker_config(source: Path, target: Path) -> None:
    """``target`` as a copy of ``source``'s config.json plus a symlink to each other entry."""
    target.mkdir(mode=0o700, exist_ok=True)
    if not source.is_dir():
        return
    for entry in sorted(source.iterdir()):
        if entry.name == "config.json":
            if entry.is_file():
                shutil.copyfile(entry, target / "config.json")
                os.chmod(target / "config.json", 0o600)
        elif not (target / entry.name).exists():
            (target / entry.name).symlink_to(entry)


def prepare(provider_env: dict[str, str]) -> dict[str, str]:
    """Seed the Docker config, set the job's paths here (and in ``provider_env``), print them."""
    directory = job_dir()
    seed = os.environ.get("DOCKER_CONFIG", "").strip() or os.path.join(os.path.expanduser("~"), ".docker")
    paths = job_paths(directory)
    seed_docker_config(Path(os.path.abspath(seed)), Path(paths["DOCKER_CONFIG"]))
    os.environ.update(paths)
    provider_env.update(paths)
    emit({DIR_ENV: str(directory), **paths})
    return paths


def write_jwt(jwt: str) -> str:
    """The JWT in ``$REACTOR_CI_DIR/jwt`` (0600); returns the path."""
    from reactor_ci.fsutil import atomic_write_text

    path = job_dir() / "jwt"
    atomic_write_text(path, jwt, mode=0o600)
    return str(path)


def emit(values: dict[str, str]) -> None:
    """The assignments on stdout, at once (a later failure must not lose them)."""
    sys.stdout.write("".join(shell_assignment(name, value) + "\n" for name, value in values.items()))
    sys.stdout.flush()
