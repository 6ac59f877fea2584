"""Set up reactor-ci for the GitHub Action, offline, in a private job directory.

Run BY PATH with the runner's own Python, before reactor-ci exists::

    python3 -I bundle/bootstrap.py --source ACTION_DIR [--github] [--json]

Stdlib only; nothing here imports ``reactor_ci``.  The action ref carries all
it runs, like a JavaScript action's committed ``dist/``:

* ``reactor_ci/`` -- the package itself, from the action ref (never rebuilt, so
  it can never be stale against the bundle);
* ``bundle/requirements.txt`` -- the ONE lock of the runtime dependencies, exact
  versions and sha256 hashes;
* ``bundle/wheels/`` -- exactly those pure-Python (``py3-none-any``) wheels.

Set-up makes no network request and runs no installer: a venv WITHOUT pip
(~0.05 s; ensurepip alone costs 3-6 s), each wheel checked against its lock
hash and unzipped into site-packages (a pure wheel's install is an unzip),
``reactor_ci`` linked beside them, and the console scripts written into
``HOME/bin`` ONLY, so a later step that puts that directory on PATH gets
``reactor-ci`` and ``docker-credential-reactor`` but keeps its own ``python``.

Where (issue 13: never run what someone else could have planted):

* every set-up is a fresh ``mkdtemp`` (mode 0700, a name nobody can predict)
  under ``$RUNNER_TEMP``; an existing ``$RUNNER_TEMP/reactor-ci`` or any other
  directory there is never looked at;
* the "second run in the same job is a no-op" shortcut (a partner key and an
  app key in one job) follows ``REACTOR_CI_HOME``, which only this job's
  ``$GITHUB_ENV`` can set, and only to a directory that passes
  :func:`_is_private_home` and carries this exact set-up's marker.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import re
import shutil
import stat
import sys
import sysconfig
import tempfile
import time
import venv
import zipfile
from dataclasses import dataclass
from pathlib import Path

MIN_PYTHON = (3, 10)
PACKAGE = "reactor_ci"
BUNDLE = Path(__file__).resolve().parent
LOCK_NAME = "requirements.txt"
WHEELS_NAME = "wheels"
MARKER = ".reactor-ci-bootstrap.json"
HOME_PREFIX = "reactor-ci."
# The only env variable the shortcut trusts: GITHUB_ENV reaches this job's later steps only.
HOME_ENV = "REACTOR_CI_HOME"
# Never handed on: the set-up has no business seeing the key.
_SECRET_ENV = ("REACTOR_API_KEY", "INPUT_API_KEY")
# Console scripts: (name, "module:function").  The helper is a plain launcher
# like the wheel's `script-files` one (no `import re` before main: it runs per push).
SCRIPTS = {
    "reactor-ci": "reactor_ci.cli:main",
    "reactor-ci-scan": "reactor_ci.scan.__main__:main",
    "docker-credential-reactor": "reactor_ci.docker.helper:main",
}


class SetupError(Exception):
    """A failure with the fix in its text; ``code`` is the exit code."""

    def __init__(self, message: str, code: int = 1) -> None:
        super().__init__(message)
        self.code = code


def _on_github() -> bool:
    return os.environ.get("GITHUB_ACTIONS", "").lower() == "true"


def _escape(text: str) -> str:
    # The message part of a workflow command, as @actions/core escapes it: one line, always.
    return text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


# -- the lock ------------------------------------------------------------------------------
@dataclass(frozen=True)
class Locked:
    name: str  # normalized (PEP 503)
    version: str
    sha256: str
    marker: str = ""

    @property
    def wheel(self) -> str:
        """The file name of the pure wheel (PEP 427 escapes ``-`` in the name as ``_``)."""
        return f"{self.name.replace('-', '_')}-{self.version}-py3-none-any.whl"


_REQ = re.compile(r"^([A-Za-z0-9][A-Za-z0-9._-]*)==([A-Za-z0-9.+!_-]+)\s*(?:;\s*(.*?))?\s*$")
_HASH = re.compile(r"--hash=sha256:([0-9a-f]{64})")
_MARKER = re.compile(r"^python_version\s*(<=|>=|<|>|==|!=)\s*[\"'](\d+)\.(\d+)[\"']$")


def normalize(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def read_lock(path: Path) -> list[Locked]:
    """The lock's entries: ``name==version [; marker]`` then exactly one ``--hash=sha256:``."""
    text = path.read_text(encoding="utf-8")
    logical = re.sub(r"\\\r?\n", " ", text)
    entries = []
    for number, raw in enumerate(logical.splitlines(), 1):
        line = raw.split("#", 1)[0].strip() if not raw.lstrip().startswith("#") else ""
        if not line:
            continue
        hashes = _HASH.findall(line)
        spec = _HASH.sub("", line).strip()
        match = _REQ.match(spec)
        if match is None or len(hashes) != 1:
            raise SetupError(f"{path}: entry {number} is not `name==version [; marker] --hash=sha256:...`: {spec!r}")
        marker = match.group(3) or ""
        if marker:
            _marker_applies(marker)  # refuse a marker we cannot evaluate now, not on some runner later
        entries.append(Locked(normalize(match.group(1)), match.group(2), hashes[0], marker))
    return entries


def _marker_applies(marker: str, version: tuple[int, int] | None = None) -> bool:
    """``python_version OP "X.Y"`` clauses joined by ``and``: all the lock needs, no `packaging`."""
    current = version or (sys.version_info[0], sys.version_info[1])
    result = True
    for clause in re.split(r"\s+and\s+", marker.strip()):
        match = _MARKER.match(clause.strip())
        if match is None:
            raise SetupError(f"unsupported environment marker in the lock: {marker!r} (only python_version)")
        op, wanted = match.group(1), (int(match.group(2)), int(match.group(3)))
        result &= {
            "<": current < wanted,
            "<=": current <= wanted,
            ">": current > wanted,
            ">=": current >= wanted,
            "==": current == wanted,
            "!=": current != wanted,
        }[op]
    return result


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


# -- the private job directory ---------------------------------------------------------------
def _is_private_home(path: Path, runner_temp: Path) -> bool:
    """Ours: a real directory (no symlink) directly in RUNNER_TEMP, named like ours, owned by us, mode 0700."""
    try:
        info = os.lstat(path)
        parent_ok = path.parent.resolve() == runner_temp.resolve()
    except OSError:
        return False
    return (
        parent_ok
        and path.name.startswith(HOME_PREFIX)
        and stat.S_ISDIR(info.st_mode)
        and info.st_uid == os.geteuid()
        and stat.S_IMODE(info.st_mode) & 0o077 == 0
    )


def check_runner_temp(runner_temp: Path) -> None:
    """Refuse a RUNNER_TEMP other users can write without the sticky bit (issue 19.6).

    There, another account can rename our private directory away and put its
    own in its place -- with a ``bin/reactor-ci`` that then receives the key.
    The sticky bit (``/tmp``'s 1777) forbids renaming what others own.
    """
    try:
        info = os.stat(runner_temp)
    except OSError:
        return  # missing or unreadable: _fresh_home says so
    mode = stat.S_IMODE(info.st_mode)
    if mode & 0o022 and not mode & stat.S_ISVTX:
        raise SetupError(
            f"RUNNER_TEMP ({runner_temp}) is writable by other users (mode {mode:o}) without the sticky bit: "
            "another account could swap the private directory this step creates and run its own reactor-ci "
            "with your key. On a self-hosted runner make its _work/_temp directory writable by the runner's "
            "user only (chmod 700), or set the sticky bit (chmod +t).",
            code=2,
        )


def _identity(path: Path) -> tuple[int, int]:
    info = os.lstat(path)
    return info.st_dev, info.st_ino


def verify_home(home: Path, runner_temp: Path, identity: tuple[int, int]) -> None:
    """Right before the directory is handed over: still the one we made (inode), ours, 0700, and so is bin/."""
    try:
        same = _identity(home) == identity and _is_private_home(home, runner_temp)
        script = os.lstat(home / "bin" / "reactor-ci")
        same = same and stat.S_ISREG(script.st_mode) and script.st_uid == os.geteuid()
    except OSError:
        same = False
    if not same:
        raise SetupError(
            f"{home} is no longer the directory this step created (owner, mode or inode changed): another "
            f"account may have replaced it. Nothing was run from it. Make RUNNER_TEMP ({runner_temp}) private "
            "to the runner's user.",
            code=1,
        )


def _fresh_home(runner_temp: Path) -> Path:
    try:
        return Path(tempfile.mkdtemp(prefix=HOME_PREFIX, dir=runner_temp))  # mode 0700, unpredictable name
    except OSError as exc:
        raise SetupError(
            f"cannot create a private directory in RUNNER_TEMP ({runner_temp}): {exc.strerror or exc}. "
            "The runner's temp directory must exist and be writable by the user the runner runs as: on a "
            "self-hosted runner fix the permissions of its _work/_temp directory (or its disk space).",
            code=1,
        ) from None


def setup_key(source: Path, lock_path: Path) -> dict[str, str]:
    """What a reusable set-up must match: the action ref's files and this interpreter."""
    return {
        "source": str(source.resolve()),
        "version": package_version(source),
        "lock": sha256_of(lock_path),
        "python": sys.executable,
        "python_version": sys.version.split()[0],
    }


def package_version(source: Path) -> str:
    """``__version__`` of the package at ``source`` (read, not imported)."""
    text = (source / PACKAGE / "__init__.py").read_text(encoding="utf-8")
    match = re.search(r"^__version__\s*=\s*[\"']([^\"']+)[\"']", text, re.MULTILINE)
    if match is None:
        raise SetupError(f"{source / PACKAGE / '__init__.py'} has no __version__")
    return match.group(1)


# -- installing ----------------------------------------------------------------------------------
def site_packages(venv_dir: Path) -> Path:
    return Path(sysconfig.get_path("purelib", vars={"base": str(venv_dir), "platbase": str(venv_dir)}))


def _extract_wheel(wheel: Path, site: Path) -> None:
    """Unzip a pure wheel into ``site``: what pip does for one, minus the resolver and the network."""
    root = site.resolve()
    with zipfile.ZipFile(wheel) as archive:
        for member in archive.infolist():
            name = member.filename
            parts = name.split("/")
            if ".data" in parts[0] and parts[0].endswith(".data"):
                # purelib/platlib land in site-packages; scripts, headers and data are not ours to place.
                if len(parts) < 3 or parts[1] not in ("purelib", "platlib"):
                    continue
                name = "/".join(parts[2:])
            target = (site / name).resolve()
            if not target.is_relative_to(root) or name.startswith("/"):
                raise SetupError(f"{wheel.name}: member {member.filename!r} escapes site-packages; rebuild the bundle")
            if member.is_dir():
                target.mkdir(parents=True, exist_ok=True)
                continue
            target.parent.mkdir(parents=True, exist_ok=True)
            with archive.open(member) as src, open(target, "wb") as dst:
                shutil.copyfileobj(src, dst)
    for dist_info in site.glob("*.dist-info"):
        installer = dist_info / "INSTALLER"
        if not installer.exists():
            installer.write_text("reactor-ci-bootstrap\n", encoding="utf-8")


def install_bundle(bundle: Path, site: Path) -> list[str]:
    """Every lock entry for this Python, hash-checked then unzipped; returns ``name==version`` installed."""
    lock = read_lock(bundle / LOCK_NAME)
    installed = []
    for entry in lock:
        if entry.marker and not _marker_applies(entry.marker):
            continue
        wheel = bundle / WHEELS_NAME / entry.wheel
        if not wheel.is_file():
            raise SetupError(f"the action bundle lacks {entry.wheel} (locked in {LOCK_NAME}): run scripts/bundle")
        if sha256_of(wheel) != entry.sha256:
            raise SetupError(
                f"{entry.wheel} does not match its sha256 in {LOCK_NAME}: the action ref is corrupt or was "
                "changed without scripts/bundle. Use a released tag of the action."
            )
        _extract_wheel(wheel, site)
        installed.append(f"{entry.name}=={entry.version}")
    return installed


def link_package(source: Path, site: Path, version: str) -> None:
    """``reactor_ci`` of the action ref itself (a symlink: nothing to copy, nothing to go stale), with the
    minimal metadata ``importlib.metadata`` needs for ``reactor-ci --version``."""
    (site / PACKAGE).symlink_to((source / PACKAGE).resolve(), target_is_directory=True)
    dist = site / f"reactor_ci-{version}.dist-info"
    dist.mkdir()
    (dist / "METADATA").write_text(f"Metadata-Version: 2.1\nName: reactor-ci\nVersion: {version}\n", encoding="utf-8")
    (dist / "INSTALLER").write_text("reactor-ci-bootstrap\n", encoding="utf-8")
    entry = "[console_scripts]\n" + "".join(f"{k} = {v}\n" for k, v in SCRIPTS.items())
    (dist / "entry_points.txt").write_text(entry, encoding="utf-8")


def _shebang(python: Path) -> str:
    text = str(python)
    # Linux caps a #! line at 127 bytes and splits on spaces: fall back to sh then.
    if len(text) < 120 and " " not in text:
        return f"#!{text}\n"
    quoted = text.replace("'", "'\"'\"'")
    return f"#!/bin/sh\n'''exec' '{quoted}' \"$0\" \"$@\"\n' '''\n"


def write_scripts(bin_dir: Path, python: Path, scripts: dict[str, str]) -> list[str]:
    bin_dir.mkdir(mode=0o700, exist_ok=True)
    for name, target in scripts.items():
        module, _, attr = target.partition(":")
        path = bin_dir / name
        path.write_text(
            _shebang(python) + f"import sys\nfrom {module} import {attr}\nsys.exit({attr}())\n", encoding="utf-8"
        )
        path.chmod(0o700)
    return sorted(scripts)


def _reusable(home: Path, runner_temp: Path, key: dict[str, str]) -> bool:
    if not _is_private_home(home, runner_temp):
        return False
    try:
        marker = json.loads((home / MARKER).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return False
    return isinstance(marker, dict) and marker.get("key") == key and (home / "bin" / "reactor-ci").is_file()


def bootstrap(source: Path, runner_temp: Path, bundle: Path = BUNDLE) -> dict[str, object]:
    started = time.monotonic()
    key = setup_key(source, bundle / LOCK_NAME)
    check_runner_temp(runner_temp)
    previous = os.environ.get(HOME_ENV, "").strip()
    if previous and _reusable(Path(previous), runner_temp, key):
        return {"reused": True, "home": previous, "seconds": round(time.monotonic() - started, 3), **key}
    home = _fresh_home(runner_temp)
    identity = _identity(home)
    venv_dir = home / "venv"
    python = venv_dir / "bin" / "python"
    venv.EnvBuilder(with_pip=False, symlinks=True).create(venv_dir)
    t_venv = time.monotonic()
    site = site_packages(venv_dir)
    installed = install_bundle(bundle, site)
    link_package(source, site, key["version"])
    t_deps = time.monotonic()
    scripts = write_scripts(home / "bin", python, SCRIPTS)
    info: dict[str, object] = {
        "reused": False,
        "home": str(home),
        "installed": installed,
        "scripts": scripts,
        "venv_seconds": round(t_venv - started, 3),
        "install_seconds": round(t_deps - t_venv, 3),
        "seconds": round(time.monotonic() - started, 3),
        **key,
    }
    (home / MARKER).write_text(json.dumps({"key": key, "info": info}), encoding="utf-8")
    verify_home(home, runner_temp, identity)
    return info


# -- GitHub ------------------------------------------------------------------------------------------
def _heredoc(name: str, value: str) -> str:
    import uuid

    while True:
        delimiter = f"ghadelimiter_{uuid.uuid4()}"
        if delimiter not in value:
            return f"{name}<<{delimiter}\n{value}\n{delimiter}\n"


def export_to_github(home: Path, env: dict[str, str]) -> None:
    """Put ``home/bin`` on later steps' PATH and hand ``env`` (non-secret values only) to them.

    Done here, not in the action's bash, so the action holds no shell write to
    $GITHUB_ENV/$GITHUB_PATH at all (zizmor's github-env audit).
    """
    path_file = os.environ.get("GITHUB_PATH")
    env_file = os.environ.get("GITHUB_ENV")
    if not path_file or not env_file:
        raise SetupError("GITHUB_PATH/GITHUB_ENV are not set: --github works only inside a GitHub Actions job")
    for name in env:
        if name in _SECRET_ENV:
            raise ValueError(f"refusing to export {name}")
    with open(path_file, "a", encoding="utf-8") as handle:
        handle.write(f"{home / 'bin'}\n")
    with open(env_file, "a", encoding="utf-8") as handle:
        for name, value in env.items():
            handle.write(_heredoc(name, value))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Set up reactor-ci from the action bundle, offline.")
    parser.add_argument("--source", type=Path, default=BUNDLE.parent, help="the action ref (holds reactor_ci/)")
    parser.add_argument("--runner-temp", type=Path, help="where the private job directory goes (default $RUNNER_TEMP)")
    parser.add_argument("--json", action="store_true", help="print what was done as JSON on stderr")
    parser.add_argument(
        "--github",
        action="store_true",
        help="GitHub Actions: export bin/ to $GITHUB_PATH, REACTOR_CI_HOME to $GITHUB_ENV",
    )
    args = parser.parse_args(argv)
    try:
        if sys.version_info < MIN_PYTHON:
            raise SetupError(
                f"reactor-ci needs Python >= {'.'.join(map(str, MIN_PYTHON))}; {sys.executable} is "
                f"{sys.version.split()[0]}. Install a newer python3 on the runner (e.g. actions/setup-python "
                "before this step), or point the action's `python` input at one.",
                code=2,
            )
        if not (args.source / PACKAGE / "__init__.py").is_file():
            raise SetupError(f"{args.source} is not the action's source tree (no {PACKAGE}/)", code=2)
        runner_temp = args.runner_temp or Path(os.environ.get("RUNNER_TEMP", "").strip() or "/nonexistent")
        if not runner_temp.is_absolute():
            raise SetupError(f"RUNNER_TEMP must be an absolute directory, not {str(runner_temp)!r}", code=2)
        info = bootstrap(args.source, runner_temp)
        if args.github:
            env = {HOME_ENV: str(info["home"])}
            # The credential helper refreshes in later steps against the same API, and hands the
            # token only to the registry hosts this step allowed.
            for name in ("REACTOR_API_URL", "REACTOR_CI_REGISTRY_HOSTS"):
                if os.environ.get(name):
                    env[name] = os.environ[name]
            export_to_github(Path(str(info["home"])), env)
    except SetupError as exc:
        text = str(exc)
        print(
            f"::error title=Reactor auth setup::{_escape(text)}" if _on_github() else f"error: {text}", file=sys.stderr
        )
        return exc.code
    if args.json:
        print(json.dumps(info), file=sys.stderr)
    elif not info["reused"]:
        print(
            f"reactor-ci {info['version']} set up offline from the action bundle in {info['seconds']:.2f} s "
            f"(Python {info['python_version']})",
            file=sys.stderr,
        )
    # The one line on stdout: the private directory, for the action's shell.
    print(info["home"])
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
