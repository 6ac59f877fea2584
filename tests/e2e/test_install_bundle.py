"""The action bundle: the lock, the committed wheels, and bundle/bootstrap.py's offline set-up.

bootstrap.py runs BY PATH with the runner's Python before reactor-ci exists
(stdlib only); the tests load it the same way.  What they hold it to:

* the committed bundle is never stale against the lock (names, versions, hashes),
  and the lock satisfies pyproject.toml's runtime dependencies (+ the docker extra);
* set-up is offline (no installer runs; a dead proxy and PIP_NO_INDEX change nothing);
* every set-up is a fresh private directory; a planted directory, venv or
  ``reactor-ci`` is never run, and the reuse shortcut follows only ``REACTOR_CI_HOME``;
* a read-only RUNNER_TEMP is an ``::error`` that names the directory and the fix.
"""

from __future__ import annotations

import importlib.util
import json
import os
import re
import stat
import subprocess
import sys
from pathlib import Path
from types import ModuleType

import pytest
import tomllib
from hypothesis import given
from hypothesis import strategies as st
from packaging.requirements import Requirement

from tests.repo import REPO_ROOT

BOOTSTRAP = REPO_ROOT / "bundle" / "bootstrap.py"
KEY = "rp_bundlecanary_0123456789abcdef"


def _load(path: Path, name: str) -> ModuleType:
    loader = importlib.machinery.SourceFileLoader(name, str(path))
    spec = importlib.util.spec_from_loader(name, loader)
    assert spec is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    loader.exec_module(module)
    return module


boot = _load(BOOTSTRAP, "reactor_bootstrap")
bundle_script = _load(REPO_ROOT / "scripts" / "bundle", "reactor_bundle_script")


def offline_env(runner_temp: Path, **extra: str) -> dict[str, str]:
    """A runner's env with no way out: no index, a dead proxy, and a key that must reach nothing."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("REACTOR_", "GITHUB_", "PIP_"))}
    env.update(
        RUNNER_TEMP=str(runner_temp),
        REACTOR_API_KEY=KEY,
        PIP_NO_INDEX="1",
        UV_OFFLINE="1",
        HTTPS_PROXY="http://127.0.0.1:9",
        HTTP_PROXY="http://127.0.0.1:9",
        **extra,
    )
    return env


def run_bootstrap(runner_temp: Path, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-I", str(BOOTSTRAP), "--json", *args],
        env=offline_env(runner_temp, **env),
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
    )


# -- the lock and the committed bundle -------------------------------------------------------------------
def test_committed_bundle_matches_the_lock() -> None:
    """Fails when a wheel is missing, extra, or differs from its locked hash: run scripts/bundle."""
    assert bundle_script.problems() == []


def test_gitlab_component_carries_the_lock() -> None:
    """The component is one file: its REACTOR_CI_CONSTRAINTS is the lock's pins (scripts/bundle writes it)."""
    assert bundle_script.component_problems() == []
    pins = bundle_script.constraints().split()
    assert len(pins) == len(boot.read_lock(REPO_ROOT / "bundle" / "requirements.txt"))
    assert all(re.fullmatch(r"[a-z0-9-]+==[0-9][0-9a-z.]*", pin) for pin in pins), pins


def test_stale_component_constraints_are_reported(tmp_path: Path) -> None:
    component = tmp_path / "reactor-auth.yml"
    text = (REPO_ROOT / "templates" / "reactor-auth.yml").read_text()
    component.write_text(text.replace("httpx==", "httpx==0.0.0+", 1))
    assert bundle_script.component_problems(component) == [
        "reactor-auth.yml: REACTOR_CI_CONSTRAINTS differs from the lock"
    ]
    bundle_script.write_component(component)
    assert component.read_text() == text


def test_staleness_check_names_each_difference(tmp_path: Path) -> None:
    fake = tmp_path / "bundle"
    (fake / "wheels").mkdir(parents=True)
    lock = boot.read_lock(REPO_ROOT / "bundle" / "requirements.txt")
    first, second = lock[0], lock[1]
    (fake / "requirements.txt").write_text(
        f"{first.name}=={first.version} --hash=sha256:{first.sha256}\n"
        f"{second.name}=={second.version} --hash=sha256:{second.sha256}\n"
    )
    (fake / "wheels" / first.wheel).write_bytes(b"not the locked wheel")
    (fake / "wheels" / "extra-1.0-py3-none-any.whl").write_bytes(b"")
    assert bundle_script.problems(fake) == [
        "extra-1.0-py3-none-any.whl: in bundle/wheels but not in the lock",
        f"{first.wheel}: sha256 differs from the lock",
        f"{second.wheel}: locked but missing from bundle/wheels",
    ]
    proc = subprocess.run(
        [sys.executable, str(REPO_ROOT / "scripts" / "bundle"), "--check"], capture_output=True, text=True, check=False
    )
    assert proc.returncode == 0, proc.stderr


def test_lock_satisfies_pyproject_and_holds_only_pure_wheels() -> None:
    project = tomllib.loads((REPO_ROOT / "pyproject.toml").read_text())["project"]
    lock = {e.name: e for e in boot.read_lock(REPO_ROOT / "bundle" / "requirements.txt")}
    wanted = [*project["dependencies"], *project["optional-dependencies"]["docker"]]
    for text in wanted:
        req = Requirement(text)
        name = boot.normalize(req.name)
        assert name in lock, f"{name} (pyproject) is not in the lock"
        assert req.specifier.contains(lock[name].version), f"lock pins {name}=={lock[name].version}, not {req}"
    for entry in lock.values():
        assert entry.wheel.endswith("-py3-none-any.whl")
        assert (REPO_ROOT / "bundle" / "wheels" / entry.wheel).is_file()


def test_every_locked_wheel_supports_the_oldest_python() -> None:
    """The action promises Python 3.10: no locked wheel may require more."""
    import zipfile

    from packaging.specifiers import SpecifierSet

    for entry in boot.read_lock(REPO_ROOT / "bundle" / "requirements.txt"):
        with zipfile.ZipFile(REPO_ROOT / "bundle" / "wheels" / entry.wheel) as archive:
            (meta,) = [n for n in archive.namelist() if n.endswith(".dist-info/METADATA")]
            text = archive.read(meta).decode()
        requires = [line.split(":", 1)[1].strip() for line in text.splitlines() if line.startswith("Requires-Python:")]
        if requires:
            assert SpecifierSet(requires[0]).contains("3.10"), f"{entry.wheel} needs Python {requires[0]}"


def test_lock_reader_rejects_what_it_cannot_honour(tmp_path: Path) -> None:
    lock = tmp_path / "requirements.txt"
    for bad in (
        "httpx>=0.27 --hash=sha256:" + "0" * 64,  # not pinned
        "httpx==0.28.1",  # no hash
        "httpx==0.28.1 --hash=sha256:" + "0" * 64 + " --hash=sha256:" + "1" * 64,  # a second hash: which wheel?
        'httpx==0.28.1 ; sys_platform == "linux" --hash=sha256:' + "0" * 64,  # a marker we do not evaluate
    ):
        lock.write_text(bad + "\n")
        with pytest.raises(boot.SetupError):
            boot.read_lock(lock)


@given(st.integers(3, 3), st.integers(0, 20), st.sampled_from(["<", "<=", ">", ">=", "==", "!="]))
def test_marker_evaluation_agrees_with_packaging(major: int, minor: int, op: str) -> None:
    from packaging.markers import Marker

    marker = f'python_version {op} "3.11"'
    expected = Marker(marker).evaluate({"python_version": f"{major}.{minor}"})
    assert boot._marker_applies(marker, (major, minor)) is expected


# -- set-up: offline, private, never reusing what it did not create ------------------------------------------
def test_offline_setup_then_reuse_only_through_this_jobs_variable(tmp_path: Path) -> None:
    runner_temp = tmp_path / "temp"
    runner_temp.mkdir()
    first = run_bootstrap(runner_temp)
    assert first.returncode == 0, first.stderr
    info = json.loads(first.stderr.splitlines()[-1])
    home = Path(first.stdout.strip())
    assert home == Path(info["home"]) and home.parent == runner_temp
    assert home.name.startswith("reactor-ci.") and home.name != "reactor-ci."
    assert stat.S_IMODE(home.stat().st_mode) == 0o700
    assert info["reused"] is False and "docker==7.2.0" in info["installed"]
    assert sorted(p.name for p in (home / "bin").iterdir()) == [
        "docker-credential-reactor",
        "reactor-ci",
        "reactor-ci-scan",
    ]
    # the docker SDK is there: `reactor-ci push` can run in the action (issue 8)
    python = home / "venv" / "bin" / "python"
    probe = subprocess.run(
        [
            str(python),
            "-c",
            "import docker, httpx, filelock, tenacity, reactor_ci; "
            "import importlib.metadata as m; print(m.version('reactor-ci'))",
        ],
        capture_output=True,
        text=True,
        check=True,
    )
    assert probe.stdout.strip() == info["version"]
    version = subprocess.run(
        [str(home / "bin" / "reactor-ci"), "--version"], capture_output=True, text=True, check=False
    )
    assert version.returncode == 0 and version.stdout.strip() == f"reactor-ci {info['version']}"
    # without REACTOR_CI_HOME a second run never looks at the first directory: a new one
    again = run_bootstrap(runner_temp)
    assert again.returncode == 0 and Path(again.stdout.strip()) != home
    # this job's variable: reused
    reuse = run_bootstrap(runner_temp, REACTOR_CI_HOME=str(home))
    assert reuse.returncode == 0, reuse.stderr
    assert json.loads(reuse.stderr.splitlines()[-1])["reused"] is True
    assert Path(reuse.stdout.strip()) == home
    # nothing anywhere holds the key
    for path in runner_temp.rglob("*"):
        if path.is_file() and not path.is_symlink():
            assert KEY.encode() not in path.read_bytes(), path


def _plant(runner_temp: Path, witness: Path) -> list[Path]:
    """A previous job's leftovers: a fake job dir, venv and reactor-ci that would record the key."""
    fake = f"#!/bin/sh\nprintf '%s' \"$REACTOR_API_KEY\" > {witness}\n"
    planted = []
    for rel in (
        "reactor-ci/bin/reactor-ci",
        "reactor-ci/venv/bin/reactor-ci",
        "reactor-ci/venv/bin/python",
        "reactor-ci.planted/bin/reactor-ci",
        "reactor-ci.planted/venv/bin/python",
    ):
        path = runner_temp / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(fake)
        path.chmod(0o755)
        planted.append(path)
    (runner_temp / "reactor-ci.planted").chmod(0o700)
    return planted


@pytest.mark.parametrize("variable", ["", "planted", "symlink", "group-writable", "outside", "wrong-marker"])
def test_planted_directories_are_never_reused(tmp_path: Path, variable: str) -> None:
    runner_temp = tmp_path / "temp"
    runner_temp.mkdir()
    witness = tmp_path / "witness"
    _plant(runner_temp, witness)
    planted = runner_temp / "reactor-ci.planted"
    # make the planted dir look as much like ours as possible: a marker with the right key
    key = boot.setup_key(REPO_ROOT, REPO_ROOT / "bundle" / "requirements.txt")
    key["python"] = sys.executable
    (planted / boot.MARKER).write_text(json.dumps({"key": key}))
    target = {
        "": "",
        "planted": str(planted),
        "symlink": str(runner_temp / "reactor-ci.link"),
        "group-writable": str(planted),
        "outside": str(tmp_path / "reactor-ci.outside"),
        "wrong-marker": str(planted),
    }[variable]
    if variable == "symlink":
        (runner_temp / "reactor-ci.link").symlink_to(planted)
    if variable == "group-writable":
        planted.chmod(0o770)
    if variable == "outside":
        (tmp_path / "reactor-ci.outside").mkdir(mode=0o700)
    if variable == "wrong-marker":
        (planted / boot.MARKER).write_text(json.dumps({"key": {**key, "lock": "0" * 64}}))
    env = {"REACTOR_CI_HOME": target} if target else {}
    proc = run_bootstrap(runner_temp, **env)
    assert proc.returncode == 0, proc.stderr
    home = Path(proc.stdout.strip())
    info = json.loads(proc.stderr.splitlines()[-1])
    if variable == "planted":
        # a dir that passes every check AND carries this set-up's marker is, by design, this job's:
        # only this job's GITHUB_ENV can name it. It is the "planted" one only in this test's words.
        assert info["reused"] is True
        return
    assert info["reused"] is False
    assert home not in (planted, runner_temp / "reactor-ci") and home.parent == runner_temp
    subprocess.run(
        [str(home / "bin" / "reactor-ci"), "--version"], env=offline_env(runner_temp), check=True, capture_output=True
    )
    assert not witness.exists(), "a planted executable ran"


def test_read_only_runner_temp_is_a_clear_error(tmp_path: Path) -> None:
    runner_temp = tmp_path / "ro"
    runner_temp.mkdir()
    runner_temp.chmod(0o500)
    try:
        if os.access(runner_temp, os.W_OK):
            # root ignores the mode bits: a file where the directory should be fails the same way
            runner_temp.chmod(0o700)
            runner_temp.rmdir()
            runner_temp.write_text("")
        proc = run_bootstrap(runner_temp, GITHUB_ACTIONS="true")
    finally:
        if runner_temp.is_dir():
            runner_temp.chmod(0o700)
    assert proc.returncode == 1
    assert proc.stdout == ""
    assert "Traceback" not in proc.stderr
    (error,) = proc.stderr.splitlines()
    assert error.startswith("::error title=Reactor auth setup::cannot create a private directory in RUNNER_TEMP")
    assert str(runner_temp) in error and "fix the permissions" in error


def test_corrupt_bundle_is_refused(tmp_path: Path) -> None:
    bundle = tmp_path / "bundle"
    (bundle / "wheels").mkdir(parents=True)
    lock = boot.read_lock(REPO_ROOT / "bundle" / "requirements.txt")
    entry = lock[0]
    (bundle / "requirements.txt").write_text(f"{entry.name}=={entry.version} --hash=sha256:{entry.sha256}\n")
    (bundle / "wheels" / entry.wheel).write_bytes(b"tampered")
    with pytest.raises(boot.SetupError, match="does not match its sha256"):
        boot.install_bundle(bundle, tmp_path / "site")


def test_refuses_a_non_source_tree(tmp_path: Path) -> None:
    proc = subprocess.run(
        [sys.executable, "-I", str(BOOTSTRAP), "--source", str(tmp_path), "--runner-temp", str(tmp_path)],
        capture_output=True,
        text=True,
        check=False,
        env={"PATH": os.environ["PATH"], "GITHUB_ACTIONS": "true"},
    )
    assert proc.returncode == 2
    assert proc.stderr.startswith("::error title=Reactor auth setup::")
    assert "Traceback" not in proc.stderr


# -- the small parts -------------------------------------------------------------------------------------------
def test_shebang_short_and_long(tmp_path: Path) -> None:
    assert boot._shebang(Path("/venv/bin/python")) == "#!/venv/bin/python\n"
    long = Path("/x" * 70) / "python"
    assert boot._shebang(long).startswith("#!/bin/sh\n'''exec' '")
    spaced = tmp_path / "with space" / "bin"
    spaced.mkdir(parents=True)
    python = spaced / "python"
    python.symlink_to(sys.executable)
    (tmp_path / "bin").mkdir()
    boot.write_scripts(tmp_path / "bin", python, {"hello": "platform:python_version"})
    out = subprocess.run([str(tmp_path / "bin" / "hello")], capture_output=True, text=True, check=False)
    assert out.returncode == 1  # python_version() returns a str: sys.exit(str) prints it, exit 1
    assert out.stderr.strip() == sys.version.split()[0]


def test_export_to_github_uses_heredocs_and_never_exports_the_key(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    env_file, path_file = tmp_path / "env", tmp_path / "path"
    env_file.touch()
    path_file.touch()
    monkeypatch.setenv("GITHUB_ENV", str(env_file))
    monkeypatch.setenv("GITHUB_PATH", str(path_file))
    boot.export_to_github(tmp_path, {"REACTOR_API_URL": "http://127.0.0.1:1"})
    assert path_file.read_text() == f"{tmp_path / 'bin'}\n"
    lines = env_file.read_text().splitlines()
    assert lines[0].startswith("REACTOR_API_URL<<ghadelimiter_") and lines[1] == "http://127.0.0.1:1"
    assert lines[2] == lines[0].split("<<")[1] and len(lines) == 3
    with pytest.raises(ValueError):
        boot.export_to_github(tmp_path, {"REACTOR_API_KEY": KEY})


def test_github_setup_hands_the_api_url_and_the_registry_allow_list_to_later_steps(tmp_path: Path) -> None:
    # The credential helper runs in LATER steps (docker push): it must refresh against the same API
    # and hand the token only to the registry hosts this step allowed.
    runner_temp = tmp_path / "temp"
    runner_temp.mkdir()
    env_file, path_file = tmp_path / "env", tmp_path / "path"
    env_file.touch()
    path_file.touch()
    proc = run_bootstrap(
        runner_temp,
        "--source",
        str(REPO_ROOT),
        "--github",
        GITHUB_ENV=str(env_file),
        GITHUB_PATH=str(path_file),
        REACTOR_API_URL="https://api.staging.example",
        REACTOR_CI_REGISTRY_HOSTS="registry.staging.example",
    )
    assert proc.returncode == 0, proc.stderr
    text = env_file.read_text()
    assert "\nhttps://api.staging.example\n" in text and "\nregistry.staging.example\n" in text
    assert KEY not in text and KEY not in path_file.read_text()
