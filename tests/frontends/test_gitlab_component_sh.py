"""The component's shell, run by strict POSIX shells (dash, busybox ash), as GitLab runs images without bash.

gitlab-ci-local (tests/e2e/test_gitlab_ci_local.py) runs jobs with bash; GitLab's
Docker executor falls back to ``sh`` (dash on Debian images, busybox ash on
Alpine), so the ``before_script``/``after_script`` of templates/reactor-auth.yml
must be plain POSIX. Here they run under ``dash -e`` and ``busybox ash -e`` (with
busybox's applets first on PATH, as on Alpine) with the variables the
component sets, against the emulator, including issue 13's rule: the job
directory is always a fresh ``mktemp -d``; a directory, venv or ``reactor-ci``
planted ahead of the job is never used, run, or removed.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.emulator_fixtures import EmulatorProcess
from tests.parts import require_tool
from tests.repo import REPO_ROOT

JOB_ID = "4242"


def component() -> dict[str, Any]:
    spec, jobs = yaml.safe_load_all((REPO_ROOT / "templates" / "reactor-auth.yml").read_text())
    (job,) = jobs.values()
    return {"spec": spec["spec"]["inputs"], "job": job}


def job_variables(inputs: dict[str, str]) -> dict[str, str]:
    """The hidden job's variables with the inputs interpolated, as GitLab does."""
    comp = component()
    values = {
        name: str(spec.get("default", "")).lower() if spec.get("type") == "boolean" else str(spec.get("default", ""))
        for name, spec in comp["spec"].items()
    }
    values.update(inputs)
    out = {}
    for name, template in comp["job"]["variables"].items():
        text = str(template)
        for key, value in values.items():
            text = text.replace(f"$[[ inputs.{key} ]]", value)
        out[name] = text
    return out


@pytest.fixture(params=["dash", "busybox"])
def shell(request: pytest.FixtureRequest, tmp_path: Path) -> tuple[list[str], str | None]:
    """``sh -e`` as Debian images (dash) and Alpine images (busybox ash, with busybox's own userland) run it."""
    if request.param == "dash":
        return [require_tool("dash", "apt-get install dash"), "-e"], None
    busybox = require_tool("busybox", "apt-get install busybox")
    applets = tmp_path / "busybox-bin"
    applets.mkdir()
    subprocess.run([busybox, "--install", "-s", str(applets)], check=True)
    return [busybox, "ash", "-e"], str(applets)


class Job:
    """One job's worth of shell: before_script + script in one ``sh -e``, after_script in another."""

    def __init__(
        self,
        tmp_path: Path,
        emulator: EmulatorProcess,
        wheel: Path,
        shell: tuple[list[str], str | None] | None = None,
        **inputs: str,
    ) -> None:
        self.sh, applets = shell or ([require_tool("dash", "apt-get install dash"), "-e"], None)
        self.home = tmp_path / "home"
        self.tmpdir = tmp_path / "tmp"
        self.home.mkdir()
        self.tmpdir.mkdir()
        keep = ("PATH", "LANG", "LC_ALL", "PYENV_ROOT", "PYENV_VERSION")
        self.env = {k: v for k, v in os.environ.items() if k in keep}
        self.env.update(HOME=str(self.home), TMPDIR=str(self.tmpdir), CI_JOB_ID=JOB_ID, GITLAB_CI="true")
        if applets:
            self.env["PATH"] = f"{applets}:{self.env['PATH']}"
        self.env.update(job_variables({"api-url": emulator.url, "install": str(wheel), **inputs}))
        self.comp = component()

    @property
    def job_dir(self) -> Path:
        """This job's private directory: the one (mode 0700, unpredictable name) whose ``job`` file holds our id."""
        mine = [
            p
            for p in self.tmpdir.glob("reactor-ci.*")
            if (p / "job").is_file()
            and not p.is_symlink()
            and (p / "job").read_text().strip() == JOB_ID
            and p.stat().st_uid == os.geteuid()
        ]
        assert len(mine) <= 1, mine
        return mine[0] if mine else self.tmpdir / "reactor-ci.none"

    def run(self, part: str, script: str = "", **env: str) -> subprocess.CompletedProcess[str]:
        text = "\n".join(self.comp["job"][part]) + "\n" + script
        return subprocess.run(
            [*self.sh, "-c", text],
            env={**self.env, **env},
            capture_output=True,
            text=True,
            timeout=300,
            check=False,
        )


@pytest.mark.slow
def test_partner_login_and_logout(tmp_path: Path, emulator: EmulatorProcess, wheel: Path, shell: Any) -> None:
    job = Job(tmp_path, emulator, wheel, shell)
    status_file = tmp_path / "status.json"
    proc = job.run(
        "before_script",
        f'set -x\nreactor-ci status --json > {status_file}\necho "docker=$DOCKER_CONFIG"',
        REACTOR_API_KEY=emulator.partner_key,
    )
    assert proc.returncode == 0, proc.stderr
    assert json.loads(status_file.read_text())["state"] == "valid"
    assert f"docker={job.job_dir}/docker" in proc.stdout
    assert (job.job_dir / "credentials").exists()
    assert oct(job.job_dir.stat().st_mode & 0o777) == "0o700"
    creds = json.loads((job.job_dir / "credentials").read_text())
    for secret in (emulator.partner_key, creds["registry_token"]):
        assert secret not in proc.stdout + proc.stderr

    after = job.run("after_script")
    assert after.returncode == 0, after.stderr
    assert not job.job_dir.exists()


@pytest.mark.slow
def test_app_token_with_xtrace(tmp_path: Path, emulator: EmulatorProcess, wheel: Path, shell: Any) -> None:
    """``set -x`` in the job: the component turns it off around the key and JWT, and back on after.

    The key comes from another variable (the api-key-variable input).
    """
    job = Job(tmp_path, emulator, wheel, shell, **{"token-lifetime": "900", "api-key-variable": "REACTOR_APP_KEY"})
    comp_before = "\n".join(job.comp["job"]["before_script"])
    proc = subprocess.run(
        [
            *job.sh,
            "-c",
            f'set -x\n{comp_before}\ncase $- in *x*) echo "xtrace=on";; esac\nset +x\n'
            'printf %s "$REACTOR_JWT" > "$HOME/jwt"',
        ],
        env={**job.env, "REACTOR_APP_KEY": emulator.app_key},
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr
    jwt = (job.home / "jwt").read_text()
    assert emulator.verify_jwt(jwt)["valid"]
    assert "xtrace=on" in proc.stdout
    assert jwt not in proc.stdout + proc.stderr
    assert emulator.app_key not in proc.stdout + proc.stderr
    assert (job.job_dir / "jwt").read_text() == jwt
    assert job.run("after_script").returncode == 0
    assert not job.job_dir.exists()


def _fake(path: Path, witness: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(f'#!/bin/sh\nprintf %s "$REACTOR_API_KEY" > {witness}.$$\necho FAKE RAN >&2\n')
    path.chmod(0o755)


@pytest.mark.slow
def test_planted_dirs_venvs_and_executables_never_run(
    tmp_path: Path, emulator: EmulatorProcess, wheel: Path, shell: Any
) -> None:
    """Issue 13's reproduction and its relatives: an earlier job (same user, guessable job id) planted the old
    fixed job dir with a venv, a look-alike dir of the new naming with our job id, a symlink, and a
    ``reactor-ci`` on PATH. None of them runs; the key reaches no file but the credentials store; after_script
    removes only this job's directory."""
    job = Job(tmp_path, emulator, wheel, shell)
    witness = tmp_path / "witness"
    old = job.tmpdir / f"reactor-ci-{JOB_ID}"
    for rel in ("venv/bin/reactor-ci", "venv/bin/python", "bin/reactor-ci", "bin/docker-credential-reactor"):
        _fake(old / rel, witness)
    lookalike = job.tmpdir / "reactor-ci.AAAAAAAAAA"
    for rel in ("venv/bin/reactor-ci", "venv/bin/python", "bin/reactor-ci"):
        _fake(lookalike / rel, witness)
    (lookalike / "job").write_text(f"{JOB_ID}\n")
    elsewhere = tmp_path / "attacker"
    elsewhere.mkdir(mode=0o777)
    (job.tmpdir / "reactor-ci.BBBBBBBBBB").symlink_to(elsewhere)
    path_dir = tmp_path / "on-path"
    _fake(path_dir / "reactor-ci", witness)
    _fake(path_dir / "docker-credential-reactor", witness)
    if os.geteuid() == 0:  # a look-alike of another user's: after_script must leave it alone
        os.chown(lookalike, 65534, 65534)
    path = f"{path_dir}:{job.env['PATH']}"
    proc = job.run(
        "before_script",
        'reactor-ci status >/dev/null\necho "cli=$(command -v reactor-ci)"',
        REACTOR_API_KEY=emulator.partner_key,
        PATH=path,
    )
    assert proc.returncode == 0, proc.stderr
    assert "FAKE RAN" not in proc.stderr and not list(tmp_path.glob("witness*"))
    home = job.job_dir
    assert home.parent == job.tmpdir and home not in (old, lookalike) and home.name != "reactor-ci.BBBBBBBBBB"
    assert oct(home.stat().st_mode & 0o777) == "0o700"
    assert f"cli={home}/bin/reactor-ci" in proc.stdout
    assert list(elsewhere.iterdir()) == []
    # the key: only in the credentials store
    holding = [
        p
        for p in tmp_path.rglob("*")
        if p.is_file() and not p.is_symlink() and emulator.partner_key.encode() in p.read_bytes()
    ]
    assert holding == [home / "credentials"], holding
    after = job.run("after_script", PATH=path)
    assert after.returncode == 0, after.stderr
    assert not home.exists()
    assert (job.tmpdir / "reactor-ci.BBBBBBBBBB").is_symlink() and old.is_dir()
    if os.geteuid() == 0:
        assert lookalike.is_dir(), "after_script removed another user's directory"
    assert not list(tmp_path.glob("witness*"))


def test_default_install_is_this_release() -> None:
    """The component's default install is this release's git tag (a source that exists before PyPI does);
    the docs use the same line. At the first PyPI release it becomes `reactor-ci==VERSION`: one line each."""
    import re

    version = re.search(r'^version = "([^"]+)"', (REPO_ROOT / "pyproject.toml").read_text(), re.MULTILINE)
    assert version
    pin = f"reactor-ci @ git+https://github.com/reactor/auth-action@v{version.group(1)}"
    assert component()["spec"]["install"]["default"] == pin
    for doc in ("gitlab.md", "other-ci.md", "../README.md"):
        text = (REPO_ROOT / "docs" / doc).read_text()
        assert "reactor-ci==" not in text.replace("reactor-ci==VERSION", ""), f"docs/{doc} pins a PyPI release"
        tags = set(re.findall(r"auth-action@(v[0-9][0-9A-Za-z.+-]*)", text))
        assert tags <= {f"v{version.group(1)}", "v1"}, f"{doc} installs {tags}"


def test_unwritable_tmpdir_is_explained(tmp_path: Path, emulator: EmulatorProcess, wheel: Path) -> None:
    job = Job(tmp_path, emulator, wheel)
    proc = job.run("before_script", TMPDIR=str(tmp_path / "missing"), REACTOR_API_KEY=emulator.partner_key)
    assert proc.returncode == 1, proc.stderr
    assert "cannot create a private directory in" in proc.stderr
    assert "must be a writable directory (set TMPDIR to one)" in proc.stderr
    assert "Traceback" not in proc.stderr


@pytest.mark.slow
def test_echoed_inputs_are_inert(tmp_path: Path, emulator: EmulatorProcess, wheel: Path) -> None:
    """Issue 13.3: the python and install inputs are echoed through the escaping, never raw."""
    marker = "\x1b[0Ksection_start:1:evil\r\x1b[0K##vso[task.setvariable]x"
    job = Job(tmp_path, emulator, wheel)
    proc = job.run("before_script", REACTOR_API_KEY=emulator.partner_key, REACTOR_CI_PYTHON=f"py{marker}")
    assert proc.returncode == 1
    assert "section_start:1:evil" in proc.stderr  # shown, but inert:
    assert "\r" not in proc.stderr and "\x1b[0Ksection" not in proc.stderr and "##vso" not in proc.stderr
    job2 = Job(tmp_path / "2", emulator, wheel) if (tmp_path / "2").mkdir() is None else None
    assert job2 is not None
    proc = job2.run(
        "before_script", REACTOR_API_KEY=emulator.partner_key, REACTOR_CI_INSTALL=f"/nonexistent/{marker}.whl"
    )
    assert proc.returncode == 1
    assert "could not install reactor-ci" in proc.stderr
    assert "\r" not in proc.stderr and "\x1b[0Ksection" not in proc.stderr and "##vso" not in proc.stderr


def test_key_kind_is_checked_before_installing(tmp_path: Path, emulator: EmulatorProcess) -> None:
    """Issue 10.5: a wrong key fails at once (no install: the install input is unusable here), naming the
    user's variable, not REACTOR_API_KEY."""
    job = Job(
        tmp_path,
        emulator,
        Path("/nonexistent/never-installed.whl"),
        **{"api-key-variable": "MY_KEY", "key-kind": "app"},
    )
    for value, expected in (
        (emulator.partner_key, "MY_KEY holds an rp_ partner key, but this job's key-kind is app"),
        ("ghp_not_a_key_0123456789", "MY_KEY is not a Reactor API key"),
        ("", "MY_KEY is empty or not set"),
    ):
        proc = job.run("before_script", MY_KEY=value)
        assert proc.returncode == 2, proc.stderr
        assert expected in proc.stderr
        assert "REACTOR_API_KEY" not in proc.stderr
        assert not list(job.tmpdir.iterdir()), "something was set up before the key was checked"
        if value:
            assert value not in proc.stdout + proc.stderr


@pytest.mark.slow
def test_users_docker_config_is_kept_and_untouched(
    tmp_path: Path, emulator: EmulatorProcess, wheel: Path, shell: Any
) -> None:
    """Other logins, plugins (buildx), contexts and TLS certs still work in the job; the user's files never change."""
    job = Job(tmp_path, emulator, wheel, shell)
    user = job.home / ".docker"
    (user / "cli-plugins").mkdir(parents=True)
    (user / "cli-plugins" / "docker-buildx").write_text("#!/bin/sh\n")
    (user / "contexts" / "meta").mkdir(parents=True)
    (user / "ca.pem").write_text("CA\n")
    original = {"auths": {"other.example.com": {"auth": "b3RoZXI6bG9naW4="}}, "currentContext": "remote"}
    (user / "config.json").write_text(json.dumps(original))
    before = {p.relative_to(user): p.read_bytes() for p in user.rglob("*") if p.is_file()}

    proc = job.run(
        "before_script",
        'ls "$DOCKER_CONFIG/cli-plugins/docker-buildx" "$DOCKER_CONFIG/ca.pem"',
        REACTOR_API_KEY=emulator.partner_key,
    )
    assert proc.returncode == 0, proc.stderr
    job_config = json.loads((job.job_dir / "docker" / "config.json").read_text())
    assert job_config["auths"] == original["auths"]
    assert job_config["currentContext"] == "remote"
    assert job_config["credHelpers"] == {emulator.registry_host: "reactor"}
    assert (job.job_dir / "docker" / "contexts").is_symlink()

    assert job.run("after_script").returncode == 0
    assert not job.job_dir.exists()
    after = {p.relative_to(user): p.read_bytes() for p in user.rglob("*") if p.is_file()}
    assert after == before, "the user's ~/.docker changed"


@pytest.mark.slow
@pytest.mark.parametrize(("kind", "exit_code"), [("partner", 3), ("app", 3)])
def test_auth_failure_runs_the_doctor_from_this_jobs_venv(
    tmp_path: Path, emulator: EmulatorProcess, wheel: Path, kind: str, exit_code: int
) -> None:
    # A key the API does not know: exit 3, and the doctor (run from the venv this job just made,
    # never from a directory found later) explains it in the same log. Bad input (exit 2) runs no doctor.
    unknown = ("rp_" if kind == "partner" else "rk_") + "Zq7Wm2" * 5 + "x9"
    job = Job(tmp_path, emulator, wheel)
    proc = job.run("before_script", REACTOR_API_KEY=unknown)
    assert proc.returncode == exit_code, proc.stderr
    assert "reactor-ci doctor: API" in proc.stderr
    assert re.search(r"FAIL +key .*invalid", proc.stderr), proc.stderr
    assert unknown not in proc.stdout + proc.stderr and unknown[3:] not in proc.stdout + proc.stderr

    (tmp_path / "bad").mkdir()
    bad = Job(tmp_path / "bad", emulator, wheel)
    proc = bad.run("before_script", REACTOR_API_KEY=emulator.app_key, REACTOR_CI_TOKEN_LIFETIME="soon")
    assert proc.returncode == 2, proc.stderr
    assert "reactor-ci doctor" not in proc.stderr
