"""The GitLab CI/CD component end to end: a real pipeline run by gitlab-ci-local.

A temporary git repo (origin on gitlab.com, as the component path requires)
holds a copy of reactor-ci and a ``.gitlab-ci.yml`` that includes
``templates/reactor-auth.yml`` as a component at ``$CI_COMMIT_SHA`` and
installs reactor-ci from the project itself. The keys come from the project
variables file, never from argv.

gitlab-ci-local masks NOTHING, so grepping its whole log and its job logs for
the canaries tests our own discipline: nothing we run ever prints a secret.
"""

from __future__ import annotations

import base64
import json
import os
import re
import shutil
import subprocess
import textwrap
import time
from pathlib import Path

import pytest

from tests.emulator_fixtures import EmulatorProcess
from tests.parts import require_tool

REPO_ROOT = Path(__file__).resolve().parent.parent
TIMEOUT = 600

pytestmark = pytest.mark.real("gitlab-ci-local")
pytest_plugins = ["tests.docker_fixtures"]


def make_project(root: Path, ci_yaml: str, variables: dict[str, str]) -> Path:
    require_tool("rsync", "apt-get install rsync")
    repo = root / "project"
    repo.mkdir(parents=True)
    shutil.copytree(REPO_ROOT / "reactor_ci", repo / "reactor_ci", ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copytree(REPO_ROOT / "templates", repo / "templates")
    shutil.copy2(REPO_ROOT / "pyproject.toml", repo / "pyproject.toml")
    (repo / "README.md").write_text("reactor-ci test project\n")
    (repo / ".gitignore").write_text(".gitlab-ci-local/\n.gitlab-ci-local-variables.yml\nbuild/\n*.egg-info/\n")
    (repo / ".gitlab-ci.yml").write_text(textwrap.dedent(ci_yaml))
    # Project variables (Settings > CI/CD > Variables), from a file: never on argv.
    var_file = repo / ".gitlab-ci-local-variables.yml"
    var_file.write_text("".join(f"{k}: {json.dumps(v)}\n" for k, v in variables.items()))
    var_file.chmod(0o600)
    git = ["git", "-c", "user.email=ci@example.com", "-c", "user.name=ci", "-c", "commit.gpgsign=false"]
    subprocess.run([*git, "init", "-q", "-b", "main"], cwd=repo, check=True)
    subprocess.run([*git, "add", "-A"], cwd=repo, check=True)
    subprocess.run([*git, "commit", "-q", "-m", "test"], cwd=repo, check=True)
    subprocess.run(["git", "remote", "add", "origin", "https://gitlab.com/reactor/reactor-ci.git"], cwd=repo,
                   check=True)
    return repo


def run_pipeline(repo: Path, home: Path, tmpdir: Path) -> tuple[int, str]:
    gcl = require_tool("gitlab-ci-local", "npm install -g gitlab-ci-local@4.73.0 (node 20)")
    home.mkdir(parents=True, exist_ok=True)
    tmpdir.mkdir(parents=True, exist_ok=True)
    drop = ("REACTOR_", "DOCKER_", "GITLAB_", "CI_", "GITHUB_")
    env = {k: v for k, v in os.environ.items() if not k.startswith(drop) and k != "CI"}
    env.update(HOME=str(home), TMPDIR=str(tmpdir))
    proc = subprocess.run(
        [gcl, "--force-shell-executor", "--color=false", "--concurrency", "4"],
        cwd=repo, env=env, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
        timeout=TIMEOUT, check=False,
    )
    return proc.returncode, proc.stdout.decode("utf-8", "replace")


def job_log(output: str, job: str) -> str:
    return "\n".join(line for line in output.splitlines() if re.match(rf"{re.escape(job)}\s", line))


def whole_log(repo: Path, output: str) -> str:
    """gitlab-ci-local's stdout plus every file it wrote (job logs, generated scripts)."""
    parts = [output]
    state = repo / ".gitlab-ci-local"
    for sub in ("output", "scripts"):
        for path in sorted((state / sub).rglob("*")) if (state / sub).exists() else []:
            if path.is_file():
                parts.append(path.read_text(errors="replace"))
    return "\n".join(parts)


def files_holding(root: Path, canaries: dict[str, str]) -> list[str]:
    hits = []
    for path in root.rglob("*"):
        if path.is_symlink() or not path.is_file():
            continue
        data = path.read_bytes()
        hits += [f"{path}: {name}" for name, value in canaries.items() if value.encode() in data]
    return hits


CAPTURE = """\
    - |
      # test only: hand the secrets to the test, never print them
      if [ -f "$REACTOR_CREDENTIALS" ]; then cp "$REACTOR_CREDENTIALS" "$CAPTURE_DIR/credentials-$CI_JOB_NAME.json"; fi
      if [ -n "${REACTOR_JWT:-}" ]; then printf '%s' "$REACTOR_JWT" > "$CAPTURE_DIR/jwt-$CI_JOB_NAME"; fi
"""


@pytest.fixture(scope="module")
def reactor_ci_wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A wheel of this checkout, built once: parallel jobs must not build in one tree."""
    import sys

    src = tmp_path_factory.mktemp("wheel-src")
    shutil.copytree(REPO_ROOT / "reactor_ci", src / "reactor_ci", ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copy2(REPO_ROOT / "pyproject.toml", src / "pyproject.toml")
    (src / "README.md").write_text("reactor-ci\n")
    out = tmp_path_factory.mktemp("wheels")
    subprocess.run([sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "-w", str(out), str(src)], check=True,
                   capture_output=True)
    (wheel,) = out.glob("reactor_ci-*.whl")
    return wheel


def pipeline(url: str, capture: Path, docker_host: str | None, wheel: Path) -> str:
    push = ""
    if docker_host:
        push = f"""\
    - mkdir -p "$TMPDIR/rootfs" && echo hi > "$TMPDIR/rootfs/hi.txt"
    - tar -C "$TMPDIR/rootfs" -c . | DOCKER_HOST={docker_host} docker import - "$REACTOR_REGISTRY/gl-test:1"
    - DOCKER_HOST={docker_host} docker push "$REACTOR_REGISTRY/gl-test:1"
    - echo "OUT pushed=yes"
"""
    return f"""\
include:
  - component: gitlab.com/reactor/reactor-ci/reactor-auth@$CI_COMMIT_SHA
    inputs:
      api-url: {url}
      install: {wheel}
      token-lifetime: "28800"

variables:
  CAPTURE_DIR: {capture}

partner:
  extends: .reactor-auth
  variables:
    REACTOR_API_KEY: $PARTNER_KEY
  script:
{CAPTURE}\
    - echo "OUT registry=$REACTOR_REGISTRY"
    - echo "OUT partner-id=$REACTOR_PARTNER_ID"
    - echo "OUT expiry=$REACTOR_REGISTRY_TOKEN_EXPIRY"
    - echo "OUT helper=$(command -v docker-credential-reactor)"
    - echo "OUT python=$(command -v python3)"
    - case "$REACTOR_CREDENTIALS" in "$TMPDIR"/reactor-ci-*) echo "OUT job-scoped=yes";; esac
    - reactor-ci status
{push}
app:
  extends: .reactor-auth
  variables:
    REACTOR_API_KEY: $APP_KEY
  script:
{CAPTURE}\
    - echo "OUT jwt-length=${{#REACTOR_JWT}}"
    - echo "OUT jwt-expires-at=$REACTOR_JWT_EXPIRES_AT"

not-a-key:
  extends: .reactor-auth
  allow_failure: true
  variables:
    REACTOR_API_KEY: $NOT_A_KEY
  script:
    - echo "OUT must-not-run"

missing-key:
  extends: .reactor-auth
  allow_failure: true
  variables:
    REACTOR_API_KEY: ""
  script:
    - echo "OUT must-not-run"

unknown-key:
  extends: .reactor-auth
  allow_failure: true
  variables:
    REACTOR_API_KEY: $UNKNOWN_KEY
  script:
    - echo "OUT must-not-run"
"""


def outputs(text: str) -> dict[str, str]:
    return dict(re.findall(r"> OUT ([\w-]+)=(.*)$", text, flags=re.MULTILINE))


def _run_case(tmp_path: Path, emu: EmulatorProcess, docker_host: str | None, wheel: Path) -> None:
    capture = tmp_path / "capture"
    capture.mkdir()
    secrets = {
        "PARTNER_KEY": emu.partner_key,
        "APP_KEY": emu.app_key,
        "NOT_A_KEY": "ghp_not_a_reactor_key_0123456789",
        "UNKNOWN_KEY": "rp_" + "U" * 32,
    }
    repo = make_project(tmp_path, pipeline(emu.url, capture, docker_host, wheel), secrets)
    home, tmpdir = tmp_path / "home", tmp_path / "tmp"
    rc, out = run_pipeline(repo, home, tmpdir)
    assert rc == 0, out

    partner = outputs(job_log(out, "partner"))
    assert partner["registry"] == emu.registry, out
    assert partner["partner-id"] == emu.partner_id
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", partner["expiry"])
    assert partner["job-scoped"] == "yes"
    assert partner["helper"].startswith(str(tmpdir))
    assert not partner["python"].startswith(str(tmpdir)), "the component changed the job's python"
    if docker_host:
        assert partner.get("pushed") == "yes", job_log(out, "partner")

    app = outputs(job_log(out, "app"))
    jwt = (capture / "jwt-app").read_text()
    assert int(app["jwt-length"]) == len(jwt) > 20
    assert emu.verify_jwt(jwt)
    assert abs(int(app["jwt-expires-at"]) - (time.time() + 6 * 3600)) < 300
    assert re.search(r"asked for a 28800s token but the server granted", job_log(out, "app")), job_log(out, "app")

    for job, expected in {
        "not-a-key": "REACTOR_API_KEY is not a Reactor API key: partner keys start with rp_",
        "missing-key": "REACTOR_API_KEY is empty or not set",
        "unknown-key": "rejected the key as invalid",
    }.items():
        log = job_log(out, job)
        assert expected in log, f"{job}:\n{log}"
        assert "OUT must-not-run" not in log

    creds = json.loads((capture / "credentials-partner.json").read_text())
    canaries = {
        **secrets,
        "registry token": creds["registry_token"],
        "docker auth": base64.b64encode(
            f"{creds.get('username') or creds['partner_id']}:{creds['registry_token']}".encode()
        ).decode(),
        "jwt": jwt,
    }
    log = whole_log(repo, out)
    for name, value in canaries.items():
        assert value not in log, f"{name} leaked into gitlab-ci-local's log"
    # after_script removed every job-scoped dir; nothing secret in HOME or TMPDIR
    assert not list(tmpdir.glob("reactor-ci-*")), list(tmpdir.iterdir())
    assert files_holding(home, canaries) == []
    assert files_holding(tmpdir, canaries) == []


def test_component_pipeline(tmp_path: Path, emulator: EmulatorProcess, reactor_ci_wheel: Path) -> None:
    """Partner and app jobs, wrong keys explained, no canary in any log or left-over file."""
    _run_case(tmp_path, emulator, None, reactor_ci_wheel)


def test_component_pipeline_with_docker_push(
    tmp_path: Path, emulator_with_registry: EmulatorProcess, dockerd: object, reactor_ci_wheel: Path
) -> None:
    """The same, plus a plain `docker push` through the credential helper."""
    _run_case(tmp_path, emulator_with_registry, str(dockerd.host), reactor_ci_wheel)  # type: ignore[attr-defined]


def test_component_spec_is_valid_yaml() -> None:
    import yaml

    docs = list(yaml.safe_load_all((REPO_ROOT / "templates" / "reactor-auth.yml").read_text()))
    assert len(docs) == 2
    spec, jobs = docs
    assert set(spec["spec"]["inputs"]) == {"api-url", "docker-login", "token-lifetime", "install", "python"}
    script = "\n".join(jobs[".reactor-auth"]["before_script"])
    assert "$[[" not in script, "an input is interpolated into shell text"
