"""Set up reactor-ci in a private venv for the GitHub Action.

Run BY PATH with the runner's own Python, before reactor-ci is installed::

    python3 -I reactor_ci/ci/bootstrap.py --venv DIR --bin DIR

Stdlib only, and nothing here imports ``reactor_ci``.  It does what
``python3 -m venv`` + ``pip install <action folder>`` would do, about three
times faster (measured in bench/bench_action.py):

1. ``venv`` WITHOUT pip: ~0.1 s, where ensurepip costs 3-6 s;
2. the runtime dependencies from pyproject.toml, with the fastest installer
   there is: ``uv`` when on PATH, else the interpreter's own pip driving the
   venv through ``pip --python`` (pip >= 22.3), else ensurepip in the venv;
3. the ``reactor_ci`` package copied into site-packages with a minimal
   ``.dist-info`` (no wheel build: that needs setuptools downloaded into an
   isolated build env, another ~3 s);
4. the console scripts written into ``--bin`` ONLY, so a later step that puts
   that directory on PATH gets ``reactor-ci`` and ``docker-credential-reactor``
   but keeps its own ``python``.

A second run with the same source and version is a no-op (the action may run
twice in a job, for a partner key and an app key).
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import subprocess
import sys
import sysconfig
import time
import venv
from pathlib import Path

MIN_PYTHON = (3, 10)
PACKAGE = "reactor_ci"
MARKER = ".reactor-ci-bootstrap.json"
# Never hand the key to an installer: it has no business seeing it.
_SECRET_ENV = ("REACTOR_API_KEY", "INPUT_API_KEY")


def _fail(message: str, code: int = 2) -> None:
    print(f"::error title=Reactor auth setup::{message}" if _on_github() else f"error: {message}", file=sys.stderr)
    raise SystemExit(code)


def _on_github() -> bool:
    return os.environ.get("GITHUB_ACTIONS", "").lower() == "true"


# -- pyproject.toml (tomllib is 3.11+; runners may have 3.10) ----------------------
def _toml_strings(block: str) -> list[str]:
    return [a or b for a, b in re.findall(r"\"([^\"]*)\"|'([^']*)'", block)]


# Installed by setuptools `script-files` (a plain launcher that starts faster
# than a console-script wrapper), not `[project.scripts]`; the bootstrap
# writes the same kind of launcher for it.
PLAIN_SCRIPTS = {"docker-credential-reactor": "reactor_ci.docker.helper:main"}


def read_project(pyproject: Path) -> dict[str, object]:
    """``name``, ``version``, ``dependencies`` and ``scripts`` of ``[project]``."""
    text = pyproject.read_text(encoding="utf-8")
    try:
        import tomllib
    except ImportError:  # Python 3.10: a small reader for the keys we need
        return _read_project_fallback(text)
    data = tomllib.loads(text)
    project = data["project"]
    return {
        "name": project["name"],
        "version": project["version"],
        "dependencies": list(project.get("dependencies", [])),
        "scripts": dict(project.get("scripts", {})),
    }


def _section(text: str, name: str) -> str:
    match = re.search(rf"(?ms)^\[{re.escape(name)}\][ \t]*$(.*?)(?=^\[|\Z)", text)
    return match.group(1) if match else ""


def _read_project_fallback(text: str) -> dict[str, object]:
    project = _section(text, "project")
    scalars = dict(re.findall(r"(?m)^(name|version)\s*=\s*[\"']([^\"']*)[\"']", project))
    deps_match = re.search(r"(?ms)^dependencies\s*=\s*\[(.*?)\][ \t]*(?:#.*)?$", project)
    deps = _toml_strings(deps_match.group(1)) if deps_match else []
    scripts = dict(
        re.findall(r"(?m)^[\"']?([A-Za-z0-9_.\-]+)[\"']?\s*=\s*[\"']([^\"']+)[\"']", _section(text, "project.scripts"))
    )
    return {"name": scalars["name"], "version": scalars["version"], "dependencies": deps, "scripts": scripts}


# -- steps -------------------------------------------------------------------------
def _clean_env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in _SECRET_ENV}
    env.setdefault("PIP_DISABLE_PIP_VERSION_CHECK", "1")
    env.setdefault("PIP_NO_INPUT", "1")
    return env


def _run(cmd: list[str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(cmd, env=_clean_env(), capture_output=True, text=True, check=False, stdin=subprocess.DEVNULL)


def _installers(python: Path) -> list[tuple[str, list[str]]]:
    """Candidate commands (label, argv prefix before the requirements), fastest first."""
    found: list[tuple[str, list[str]]] = []
    uv = shutil.which("uv")
    if uv:
        found.append(("uv", [uv, "pip", "install", "--quiet", "--python", str(python)]))
    found.append(
        (
            "pip --python",
            [sys.executable, "-m", "pip", "--python", str(python), "install", "--quiet", "--no-input", "--no-compile"],
        )
    )
    return found


def install_requirements(python: Path, requirements: list[str]) -> str:
    """Install ``requirements`` into the venv of ``python``; return the installer used."""
    if not requirements:
        return "none"
    errors: list[str] = []
    for label, prefix in _installers(python):
        result = _run([*prefix, *requirements])
        if result.returncode == 0:
            return label
        errors.append(f"--- {label} (exit {result.returncode})\n{result.stdout}{result.stderr}".strip())
    # Last resort: pip inside the venv itself (ensurepip: slow but always there... almost).
    result = _run([str(python), "-m", "ensurepip", "--default-pip"])
    if result.returncode == 0:
        result = _run([str(python), "-m", "pip", "install", "--quiet", "--no-input", *requirements])
        if result.returncode == 0:
            return "ensurepip + pip"
    errors.append(f"--- venv pip (exit {result.returncode})\n{result.stdout}{result.stderr}".strip())
    sys.stderr.write("\n".join(errors)[-6000:] + "\n")
    _fail(
        "could not install reactor-ci's dependencies (" + ", ".join(requirements) + "). "
        "The runner needs network access to PyPI (or a PIP_INDEX_URL mirror). Output above.",
        code=1,
    )
    raise AssertionError("unreachable")


def site_packages(venv_dir: Path) -> Path:
    return Path(sysconfig.get_path("purelib", vars={"base": str(venv_dir), "platbase": str(venv_dir)}))


def copy_package(source: Path, site: Path, project: dict[str, object]) -> None:
    target = site / PACKAGE
    if target.exists():
        shutil.rmtree(target)
    shutil.copytree(source / PACKAGE, target, ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
    name = str(project["name"])
    version = str(project["version"])
    dist = site / f"{name.replace('-', '_')}-{version}.dist-info"
    if dist.exists():
        shutil.rmtree(dist)
    dist.mkdir()
    (dist / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {name}\nVersion: {version}\n", encoding="utf-8")
    (dist / "INSTALLER").write_text("reactor-ci-bootstrap\n", encoding="utf-8")
    scripts = dict(project["scripts"])  # type: ignore[call-overload]
    entry = "[console_scripts]\n" + "".join(f"{k} = {v}\n" for k, v in scripts.items())
    (dist / "entry_points.txt").write_text(entry, encoding="utf-8")
    files = [p.relative_to(site).as_posix() for p in target.rglob("*") if p.is_file()]
    files += [f"{dist.name}/{n}" for n in ("METADATA", "INSTALLER", "entry_points.txt")]
    (dist / "RECORD").write_text("".join(f"{f},,\n" for f in [*files, f"{dist.name}/RECORD"]), encoding="utf-8")


def _shebang(python: Path) -> str:
    text = str(python)
    # Linux caps a #! line at 127 bytes and splits on spaces: fall back to sh then.
    if len(text) < 120 and " " not in text:
        return f"#!{text}\n"
    quoted = text.replace("'", "'\"'\"'")
    return f"#!/bin/sh\n'''exec' '{quoted}' \"$0\" \"$@\"\n' '''\n"


def write_scripts(bin_dir: Path, python: Path, scripts: dict[str, str]) -> list[str]:
    bin_dir.mkdir(parents=True, exist_ok=True)
    written = []
    for name, target in scripts.items():
        module, _, attr = target.partition(":")
        path = bin_dir / name
        path.write_text(
            _shebang(python) + f"import sys\nfrom {module} import {attr}\nsys.exit({attr}())\n", encoding="utf-8"
        )
        path.chmod(0o755)
        written.append(name)
    return written


def bootstrap(source: Path, venv_dir: Path, bin_dir: Path) -> dict[str, object]:
    started = time.monotonic()
    project = read_project(source / "pyproject.toml")
    python = venv_dir / "bin" / "python"
    marker = venv_dir / MARKER
    key = {"source": str(source.resolve()), "version": project["version"], "python": sys.version.split()[0]}
    if marker.is_file() and python.exists():
        try:
            if json.loads(marker.read_text())["key"] == key and (bin_dir / "reactor-ci").exists():
                return {"reused": True, "seconds": time.monotonic() - started, **key}
        except (ValueError, KeyError):
            pass
    venv.EnvBuilder(with_pip=False, clear=True, symlinks=True).create(venv_dir)
    t_venv = time.monotonic()
    installer = install_requirements(python, [str(d) for d in project["dependencies"]])  # type: ignore[attr-defined]
    t_deps = time.monotonic()
    copy_package(source, site_packages(venv_dir), project)
    wanted = {**PLAIN_SCRIPTS, **dict(project["scripts"])}  # type: ignore[call-overload]
    scripts = write_scripts(bin_dir, python, wanted)
    info = {
        "reused": False,
        "installer": installer,
        "scripts": scripts,
        "venv_seconds": round(t_venv - started, 3),
        "deps_seconds": round(t_deps - t_venv, 3),
        "seconds": round(time.monotonic() - started, 3),
        **key,
    }
    marker.write_text(json.dumps({"key": key, "info": info}), encoding="utf-8")
    return info


def _heredoc(name: str, value: str) -> str:
    import uuid

    while True:
        delimiter = f"ghadelimiter_{uuid.uuid4()}"
        if delimiter not in value:
            return f"{name}<<{delimiter}\n{value}\n{delimiter}\n"


def export_to_github(bin_dir: Path, env_names: list[str]) -> None:
    """Put ``bin_dir`` on later steps' PATH and pass ``env_names`` on (non-secret values only).

    Done here, not in the action's bash, so the action holds no shell write to
    $GITHUB_ENV/$GITHUB_PATH at all (zizmor's github-env audit).
    """
    path_file = os.environ.get("GITHUB_PATH")
    env_file = os.environ.get("GITHUB_ENV")
    if not path_file or not env_file:
        _fail("GITHUB_PATH/GITHUB_ENV are not set: --github works only inside a GitHub Actions job", code=1)
        return
    with open(path_file, "a", encoding="utf-8") as handle:
        handle.write(f"{bin_dir}\n")
    with open(env_file, "a", encoding="utf-8") as handle:
        for name in env_names:
            if name in _SECRET_ENV:
                raise ValueError(f"refusing to export {name}")
            if name in os.environ:
                handle.write(_heredoc(name, os.environ[name]))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Set up reactor-ci in a private venv.")
    parser.add_argument("--venv", required=True, type=Path, help="the venv to create")
    parser.add_argument("--bin", required=True, type=Path, help="where the console scripts go")
    parser.add_argument(
        "--source", type=Path, default=Path(__file__).resolve().parents[2], help="the reactor-ci source tree"
    )
    parser.add_argument("--json", action="store_true", help="print what was done as JSON on stdout")
    parser.add_argument(
        "--github",
        action="store_true",
        help="GitHub Actions: add --bin to $GITHUB_PATH and pass REACTOR_API_URL to later steps",
    )
    args = parser.parse_args(argv)
    if sys.version_info < MIN_PYTHON:
        _fail(
            f"reactor-ci needs Python >= {'.'.join(map(str, MIN_PYTHON))}; {sys.executable} is "
            f"{sys.version.split()[0]}. Install a newer python3 on the runner, or point the action's "
            "`python` input at one.",
        )
    if not (args.source / "pyproject.toml").is_file() or not (args.source / PACKAGE).is_dir():
        _fail(f"{args.source} is not the reactor-ci source tree (no pyproject.toml / {PACKAGE}/)")
    info = bootstrap(args.source, args.venv, args.bin)
    if args.github:
        export_to_github(args.bin, ["REACTOR_API_URL"])
    if args.json:
        print(json.dumps(info))
    elif info["reused"]:
        print(f"reactor-ci {info['version']}: reusing {args.venv}", file=sys.stderr)
    else:
        print(
            f"reactor-ci {info['version']} set up in {info['seconds']:.1f} s "
            f"(venv {info['venv_seconds']:.1f} s, dependencies via {info['installer']} {info['deps_seconds']:.1f} s) "
            f"on Python {info['python']}",
            file=sys.stderr,
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
