"""The component's shell, run by strict POSIX shells (dash, busybox ash), as GitLab runs images without bash.

gitlab-ci-local (tests/test_gitlab_ci_local.py) runs jobs with bash; GitLab's
Docker executor falls back to ``sh`` (dash on Debian images, busybox ash on
Alpine), so the ``before_script``/``after_script`` of templates/reactor-auth.yml
must be plain POSIX. Here they run under ``dash -e`` and ``busybox ash -e`` (with
busybox's applets first on PATH, as on Alpine) with the variables the
component sets, against the emulator, including the job-directory safety
checks (a directory or symlink planted at the job's path is refused).
"""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.emulator_fixtures import EmulatorProcess
from tests.parts import require_tool
from tests.test_gitlab_ci_local import build_wheel

REPO_ROOT = Path(__file__).resolve().parent.parent
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


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_wheel(tmp_path_factory)


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
        self.job_dir = self.tmpdir / f"reactor-ci-{JOB_ID}"
        keep = ("PATH", "LANG", "LC_ALL", "PYENV_ROOT", "PYENV_VERSION")
        self.env = {k: v for k, v in os.environ.items() if k in keep}
        self.env.update(HOME=str(self.home), TMPDIR=str(self.tmpdir), CI_JOB_ID=JOB_ID, GITLAB_CI="true")
        if applets:
            self.env["PATH"] = f"{applets}:{self.env['PATH']}"
        self.env.update(job_variables({"api-url": emulator.url, "install": str(wheel), **inputs}))
        self.comp = component()

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


@pytest.mark.parametrize("plant", ["symlink", "foreign-dir"])
def test_planted_job_dir_is_refused(
    tmp_path: Path, emulator: EmulatorProcess, wheel: Path, plant: str, shell: Any
) -> None:
    """Job ids are guessable: a directory or symlink another user put at the path is never used or removed."""
    job = Job(tmp_path, emulator, wheel, shell)
    elsewhere = tmp_path / "attacker"
    elsewhere.mkdir(mode=0o777)
    if plant == "symlink":
        job.job_dir.symlink_to(elsewhere)
    else:
        if os.geteuid() != 0:
            pytest.skip("needs root to create a directory owned by another user")
        job.job_dir.mkdir()
        os.chown(job.job_dir, 65534, 65534)
    proc = job.run("before_script", 'echo "OUT must-not-run"', REACTOR_API_KEY=emulator.partner_key)
    assert proc.returncode == 1, proc.stderr
    assert "is not a directory of this user: refusing to store credentials there" in proc.stderr
    assert "must-not-run" not in proc.stdout
    assert list(elsewhere.iterdir()) == []
    assert job.run("after_script").returncode == 0
    assert job.job_dir.is_symlink() or job.job_dir.is_dir(), "after_script removed someone else's path"
    assert emulator.stats()["requests"] == {}, "the key was sent before the job dir was safe"


def test_default_install_is_this_release() -> None:
    """The component's default pin, and the docs' pins, follow the package version."""
    import re

    version = re.search(r'^version = "([^"]+)"', (REPO_ROOT / "pyproject.toml").read_text(), re.MULTILINE)
    assert version
    pin = f"reactor-ci=={version.group(1)}"
    assert component()["spec"]["install"]["default"] == pin
    for doc in ("gitlab.md", "other-ci.md"):
        text = (REPO_ROOT / "docs" / doc).read_text()
        pins = {p.rstrip(".") for p in re.findall(r"reactor-ci==[0-9][0-9A-Za-z.+-]*", text)}
        assert pins <= {pin}, f"docs/{doc} pins {pins - {pin}}"


def test_unwritable_tmpdir_is_explained(tmp_path: Path, emulator: EmulatorProcess, wheel: Path) -> None:
    job = Job(tmp_path, emulator, wheel)
    proc = job.run("before_script", TMPDIR=str(tmp_path / "missing"), REACTOR_API_KEY=emulator.partner_key)
    assert proc.returncode == 1, proc.stderr
    assert "must be a writable directory (set TMPDIR to one)" in proc.stderr


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
