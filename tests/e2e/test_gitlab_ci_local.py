"""The GitLab CI/CD component end to end: real pipelines run by gitlab-ci-local.

A temporary git repo (origin on gitlab.com, as the component path requires)
holds a copy of ``templates/`` and a ``.gitlab-ci.yml`` that includes
``templates/reactor-auth.yml`` as a component at ``$CI_COMMIT_SHA`` (and, in
one test, with ``include: local:`` and the copy-paste snippet of
docs/gitlab.md). Jobs install reactor-ci from a wheel of this checkout, built
once per module. The keys come from the project variables file
(``.gitlab-ci-local-variables.yml``, GitLab's Settings > CI/CD > Variables),
never from argv.

gitlab-ci-local masks NOTHING, so grepping its whole log, its job logs and
every file left in the project dir (artifacts, dotenv reports), HOME and
TMPDIR for the canaries tests our own discipline: nothing we run ever prints
or stores a secret where it could leak.
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
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.emulator_fixtures import EmulatorProcess
from tests.leaks import assert_no_secret, files_holding
from tests.parts import require_tool
from tests.repo import REPO_ROOT

TIMEOUT = 600
ORIGIN = "https://gitlab.com/reactor/auth-action.git"
COMPONENT = "gitlab.com/reactor/auth-action/reactor-auth@$CI_COMMIT_SHA"
VARIABLES_FILE = ".gitlab-ci-local-variables.yml"

pytestmark = pytest.mark.real("gitlab-ci-local")
pytest_plugins = ["tests.docker_fixtures"]


# -- the project and the run -------------------------------------------------------------------------------
def make_project(root: Path, ci_yaml: str, variables: dict[str, str]) -> Path:
    require_tool("rsync", "apt-get install rsync")
    repo = root / "project"
    repo.mkdir(parents=True)
    shutil.copytree(REPO_ROOT / "templates", repo / "templates")
    (repo / "README.md").write_text("reactor-ci test project\n")
    (repo / ".gitignore").write_text(f".gitlab-ci-local/\n{VARIABLES_FILE}\n")
    (repo / ".gitlab-ci.yml").write_text(ci_yaml)
    # Project variables (Settings > CI/CD > Variables), from a file: never on argv.
    var_file = repo / VARIABLES_FILE
    var_file.write_text("".join(f"{k}: {json.dumps(v)}\n" for k, v in variables.items()))
    var_file.chmod(0o600)
    git = ["git", "-c", "user.email=ci@example.com", "-c", "user.name=ci", "-c", "commit.gpgsign=false"]
    subprocess.run([*git, "init", "-q", "-b", "main"], cwd=repo, check=True)
    subprocess.run([*git, "add", "-A"], cwd=repo, check=True)
    subprocess.run([*git, "commit", "-q", "-m", "test"], cwd=repo, check=True)
    subprocess.run(["git", "remote", "add", "origin", ORIGIN], cwd=repo, check=True)
    for key, value in (("user.name", "ci"), ("user.email", "ci@example.com")):
        subprocess.run(["git", "config", key, value], cwd=repo, check=True)
    return repo


@dataclass
class Run:
    rc: int
    out: str
    repo: Path
    home: Path
    tmpdir: Path
    seconds: float

    def job(self, name: str) -> str:
        """The lines gitlab-ci-local printed for job ``name`` (``name   > text``)."""
        return "\n".join(line for line in self.out.splitlines() if re.match(rf"{re.escape(name)}\s", line))

    def outputs(self, name: str) -> dict[str, str]:
        return dict(re.findall(r"> OUT ([\w-]+)=(.*)$", self.job(name), flags=re.MULTILINE))

    def whole_log(self) -> str:
        """gitlab-ci-local's stdout plus every file it wrote (job logs, generated scripts)."""
        parts = [self.out]
        state = self.repo / ".gitlab-ci-local"
        parts += [p.read_text(errors="replace") for p in sorted(state.rglob("*")) if p.is_file()]
        return "\n".join(parts)


def run_pipeline(tmp_path: Path, ci_yaml: str, variables: dict[str, str]) -> Run:
    gcl = require_tool("gitlab-ci-local", "npm install -g gitlab-ci-local@4.73.0 (node 20)")
    repo = make_project(tmp_path, ci_yaml, variables)
    home, tmpdir = tmp_path / "home", tmp_path / "tmp"
    home.mkdir(exist_ok=True)  # a test may plant an earlier job's leftovers first
    tmpdir.mkdir(exist_ok=True)
    drop = ("REACTOR_", "DOCKER_", "GITLAB_", "CI_", "GITHUB_", "RUNNER_")
    env = {k: v for k, v in os.environ.items() if not k.startswith(drop) and k != "CI"}
    env.update(HOME=str(home), TMPDIR=str(tmpdir))
    started = time.monotonic()
    proc = subprocess.run(
        [gcl, "--force-shell-executor", "--color=false", "--concurrency", "6"],
        cwd=repo,
        env=env,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        timeout=TIMEOUT,
        check=False,
    )
    return Run(proc.returncode, proc.stdout.decode("utf-8", "replace"), repo, home, tmpdir, time.monotonic() - started)


def assert_no_leak(run: Run, canaries: dict[str, str]) -> None:
    assert_no_secret([run.whole_log()], canaries, "gitlab-ci-local's output")
    # The variables file is the test's stand-in for GitLab's settings: the one place keys belong.
    skip = (run.repo / VARIABLES_FILE,)
    assert files_holding(run.repo, canaries, skip) == [], "a secret was left in the project dir (artifacts?)"
    assert files_holding(run.home, canaries) == []
    assert files_holding(run.tmpdir, canaries) == []
    # after_script removed every job-scoped dir, whatever the job's outcome
    assert not list(run.tmpdir.glob("reactor-ci.*")), sorted(p.name for p in run.tmpdir.iterdir())


def registry_canaries(creds_file: Path) -> dict[str, str]:
    creds = json.loads(creds_file.read_text())
    user = creds.get("username") or creds["partner_id"]
    return {
        "registry token": creds["registry_token"],
        "docker auth": base64.b64encode(f"{user}:{creds['registry_token']}".encode()).decode(),
    }


# Test only: hand the secrets to the test through files outside the project, never print them.
CAPTURE = """\
    - |
      if [ -f "$REACTOR_CREDENTIALS" ]; then cp "$REACTOR_CREDENTIALS" "$CAPTURE_DIR/credentials-$CI_JOB_NAME.json"; fi
      if [ -n "${REACTOR_JWT:-}" ]; then printf '%s' "$REACTOR_JWT" > "$CAPTURE_DIR/jwt-$CI_JOB_NAME"; fi
"""

MUST_NOT_RUN = '    - echo "OUT must-not-run=yes"\n'


def failing(name: str, extends: str, variables: str) -> str:
    return f"""
{name}:
  stage: login
  extends: {extends}
  allow_failure: true
  variables:
{textwrap.indent(textwrap.dedent(variables).strip(), "    ")}
  script:
{MUST_NOT_RUN}"""


# -- the component: partner and app flows, wrong use, cleanup, no leak ---------------------------------------
def component_pipeline(url: str, capture: Path, wheel: Path) -> str:
    return f"""\
stages: [login, use]

include:
  - component: {COMPONENT}
    inputs:
      api-url: {url}
      install: {wheel}
  # The same component again, for the app key: its own hidden job and key variable.
  - component: {COMPONENT}
    inputs:
      name: reactor-app
      api-key-variable: APP_KEY
      key-kind: app
      api-url: {url}
      install: {wheel}
      token-lifetime: 28800

variables:
  CAPTURE_DIR: {capture}

partner:
  stage: login
  extends: .reactor-auth
  variables:
    REACTOR_API_KEY: $PARTNER_KEY
    # non-secret outputs handed to later jobs through a dotenv report
    REACTOR_CI_DOTENV: reactor.env
  artifacts:
    reports:
      dotenv: reactor.env
  script:
{CAPTURE}\
    - reactor-ci status --json > "$CAPTURE_DIR/status.json"
    - cp "$DOCKER_CONFIG/config.json" "$CAPTURE_DIR/docker-config.json"
    - echo "OUT registry=$REACTOR_REGISTRY"
    - echo "OUT partner-id=$REACTOR_PARTNER_ID"
    - echo "OUT expiry=$REACTOR_REGISTRY_TOKEN_EXPIRY"
    - echo "OUT helper=$(command -v docker-credential-reactor)"
    - echo "OUT python=$(command -v python3)"
    - echo "OUT umask=$(umask)"
    - echo "OUT docker-config=$DOCKER_CONFIG"
    - case "$REACTOR_CREDENTIALS" in "$TMPDIR"/reactor-ci.*) echo "OUT job-scoped=yes";; esac
    - reactor-ci status

later:
  stage: use
  needs: [partner]
  script:
    - echo "OUT registry=$REACTOR_REGISTRY"
    - echo "OUT credentials=${{REACTOR_CREDENTIALS:-none}}"

plain:
  stage: login
  script:
    - echo "OUT umask=$(umask)"

app:
  stage: login
  extends: .reactor-app
  variables:
    REACTOR_CI_DOTENV: app.env
  artifacts:
    reports:
      dotenv: app.env
  before_script:
    # xtrace on: the component must switch it off around everything that handles the key and JWT
    - set -x
    - !reference [.reactor-app, before_script]
  script:
    # xtrace restored for the job's own commands (which then must not expand $REACTOR_JWT themselves)
    - case $- in *x*) echo "OUT xtrace=restored";; esac
    - set +x
{CAPTURE}\
    - echo "OUT jwt-length=${{#REACTOR_JWT}}"
    - echo "OUT jwt-expires-at=$REACTOR_JWT_EXPIRES_AT"
    - if cmp -s "$REACTOR_JWT_FILE" "$CAPTURE_DIR/jwt-app"; then echo "OUT jwt-file=same"; fi
    - echo "OUT jwt-file-mode=$(stat -c %a "$REACTOR_JWT_FILE")"

app-later:
  stage: use
  needs: [app]
  script:
    - echo "OUT jwt=${{REACTOR_JWT:-none}}"
    - echo "OUT jwt-expires-at=${{REACTOR_JWT_EXPIRES_AT:-none}}"

# A failing job, with its own after_script that keeps the component's: logout still runs.
broken-build:
  stage: login
  extends: .reactor-auth
  allow_failure: true
  variables:
    REACTOR_API_KEY: $PARTNER_KEY
    REACTOR_CI_DOCKER_LOGIN: "false"
  script:
    - echo "OUT reached=$REACTOR_PARTNER_ID"
    - exit 7
  after_script:
    - echo "OUT own-after-script=yes"
    - !reference [.reactor-auth, after_script]
{WRONG_USE_JOBS}"""


WRONG_USE_JOBS = "".join(
    [
        failing("not-a-key", ".reactor-auth", "REACTOR_API_KEY: $NOT_A_KEY"),
        failing("missing-key", ".reactor-auth", 'REACTOR_API_KEY: ""'),
        failing("unknown-key", ".reactor-auth", "REACTOR_API_KEY: $UNKNOWN_KEY"),
        failing("stripe-key", ".reactor-auth", "REACTOR_API_KEY: $STRIPE_KEY"),
        # .reactor-app has key-kind: app; point it at the partner key
        failing("partner-as-app", ".reactor-app", "REACTOR_CI_API_KEY_VARIABLE: PARTNER_KEY"),
        failing("app-as-partner", ".reactor-auth", "REACTOR_API_KEY: $APP_KEY\nREACTOR_CI_KEY_KIND: partner"),
        # the key itself where its variable's name belongs: refused without printing it
        failing("key-as-name", ".reactor-auth", "REACTOR_CI_API_KEY_VARIABLE: $PARTNER_KEY"),
    ]
)


def test_component_pipeline(tmp_path: Path, emulator: EmulatorProcess, wheel: Path) -> None:
    """Partner and app jobs, outputs to later jobs, wrong keys explained, cleanup, no canary anywhere."""
    capture = tmp_path / "capture"
    capture.mkdir()
    secrets = {
        "PARTNER_KEY": emulator.partner_key,
        "APP_KEY": emulator.app_key,
        "NOT_A_KEY": "ghp_not_a_reactor_key_0123456789",
        "UNKNOWN_KEY": "rp_" + "U" * 32,
        "STRIPE_KEY": "rk_live_" + "S" * 24,
    }
    run = run_pipeline(tmp_path, component_pipeline(emulator.url, capture, wheel), secrets)
    assert run.rc == 0, run.out

    # (a) partner key: logged in, helper registered in the job's own DOCKER_CONFIG, status valid
    partner = run.outputs("partner")
    assert partner["registry"] == emulator.registry, run.job("partner")
    assert partner["partner-id"] == emulator.partner_id
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", partner["expiry"])
    assert partner["job-scoped"] == "yes"
    assert partner["docker-config"].startswith(str(run.tmpdir / "reactor-ci."))
    assert partner["helper"].startswith(str(run.tmpdir))
    assert not partner["python"].startswith(str(run.tmpdir)), "the component changed the job's python"
    assert partner["umask"] == run.outputs("plain")["umask"], "the component changed the job's umask"
    status = json.loads((capture / "status.json").read_text())
    assert status["state"] == "valid"
    assert status["partner_id"] == emulator.partner_id
    assert status["registry"] == emulator.registry
    assert status["expires_in_seconds"] > 3600
    docker_config = json.loads((capture / "docker-config.json").read_text())
    assert docker_config["credHelpers"] == {emulator.registry_host: "reactor"}
    assert "auths" not in docker_config or emulator.registry_host not in docker_config["auths"]
    # non-secret outputs reach a later job through the dotenv report; the credentials don't
    later = run.outputs("later")
    assert later == {"registry": emulator.registry, "credentials": "none"}, run.job("later")

    # (b) app key: a JWT in the job, clamped to 6 h with a warning, only its expiry leaves the job
    app = run.outputs("app")
    jwt = (capture / "jwt-app").read_text()
    assert int(app["jwt-length"]) == len(jwt) > 20
    assert emulator.verify_jwt(jwt)["valid"]
    assert app["xtrace"] == "restored"
    assert app["jwt-file"] == "same"
    assert app["jwt-file-mode"] == "600"
    assert abs(int(app["jwt-expires-at"]) - (time.time() + 6 * 3600)) < 300
    assert "asked for a 28800s token but the server granted" in run.job("app"), run.job("app")
    assert run.outputs("app-later") == {"jwt": "none", "jwt-expires-at": app["jwt-expires-at"]}

    # (c) wrong use: the job fails with the reason and the fix, before the user's script runs
    for job, (code, expected) in {
        "not-a-key": (2, "REACTOR_API_KEY is not a Reactor API key: partner keys start with rp_, app keys with rk_"),
        "missing-key": (2, "REACTOR_API_KEY is empty or not set"),
        "unknown-key": (3, "rejected the key as invalid"),
        "stripe-key": (2, "is a Stripe restricted key"),
        # checked before anything is installed, naming the job's key variable (issue 10.5)
        "partner-as-app": (2, "PARTNER_KEY holds an rp_ partner key, but this job's key-kind is app"),
        "app-as-partner": (2, "REACTOR_API_KEY holds an rk_ app key, but this job's key-kind is partner"),
        "key-as-name": (2, "api-key-variable holds a key: it must be the NAME of the CI/CD variable"),
        "broken-build": (7, "OUT reached="),
    }.items():
        log = run.job(job)
        assert expected in log, f"{job}:\n{log}"
        assert "OUT must-not-run" not in log, log
        # allow_failure: gitlab-ci-local reports "finished in … WARN <exit code>"
        assert re.search(rf"finished in .*WARN {code}\b", log), f"{job}:\n{log}"

    # (e) a failing job still logs out through its own after_script
    broken = run.outputs("broken-build")
    assert broken["reached"] == emulator.partner_id
    assert broken["own-after-script"] == "yes"

    # (d) canaries: keys, registry token, its docker auth form, JWT: nowhere in any output or file left behind
    canaries = {**secrets, **registry_canaries(capture / "credentials-partner.json"), "jwt": jwt}
    assert_no_leak(run, canaries)


# -- a real `docker push` through the credential helper -----------------------------------------------------
def test_component_docker_push(
    tmp_path: Path, emulator_with_registry: EmulatorProcess, dockerd: object, wheel: Path
) -> None:
    """A plain `docker push` in the job's script, authenticated by the helper the component registered.

    Registry tokens live 30 min here: at push time less than the helper's hour is left (as after a long
    build), so the helper must fetch a fresh token right before the push, inside the job.
    """
    emu = emulator_with_registry
    emu.config(registry_token_ttl=1800)
    capture = tmp_path / "capture"
    capture.mkdir()
    docker_host = str(dockerd.host)  # type: ignore[attr-defined]
    ci_yaml = f"""\
include:
  - component: {COMPONENT}
    inputs:
      api-url: {emu.url}
      install: {wheel}

variables:
  CAPTURE_DIR: {capture}
  DOCKER_HOST: {docker_host}

push:
  extends: .reactor-auth
  script:
{CAPTURE}\
    - mkdir -p "$TMPDIR/rootfs" && echo hi > "$TMPDIR/rootfs/hi.txt"
    - tar -C "$TMPDIR/rootfs" -c . | docker import - "$REACTOR_REGISTRY/gl-test:$CI_JOB_ID"
    - docker push "$REACTOR_REGISTRY/gl-test:$CI_JOB_ID"
    - echo "OUT pushed=yes"
    - cp "$REACTOR_CREDENTIALS" "$CAPTURE_DIR/credentials-after-push.json"
"""
    secrets = {"REACTOR_API_KEY": emu.partner_key}
    run = run_pipeline(tmp_path, ci_yaml, secrets)
    assert run.rc == 0, run.out
    assert run.outputs("push").get("pushed") == "yes", run.job("push")
    stats = emu.stats()
    assert stats["realm"]["granted"] >= 1
    assert stats["registry_tokens_issued"] >= 2, "the helper did not refresh the token before the push"
    at_login = registry_canaries(capture / "credentials-push.json")
    at_push = registry_canaries(capture / "credentials-after-push.json")
    assert at_login["registry token"] != at_push["registry token"]
    canaries = {**secrets, **at_login, **{f"{k} (refreshed)": v for k, v in at_push.items()}}
    assert_no_leak(run, canaries)
    assert not (run.home / ".reactor").exists(), "the helper wrote to ~/.reactor"


# -- without the component syntax: include: local, and the copy-paste snippet of docs/gitlab.md -------------
def docs_snippet(marker: str) -> str:
    """The ```yaml block right after ``<!-- test: MARKER -->`` in docs/gitlab.md."""
    text = (REPO_ROOT / "docs" / "gitlab.md").read_text()
    match = re.search(rf"<!-- test: {re.escape(marker)} -->\s*```yaml\n(.*?)```", text, re.DOTALL)
    assert match, f"docs/gitlab.md lost its '{marker}' snippet"
    return match.group(1)


def test_local_include_and_copy_paste(tmp_path: Path, emulator: EmulatorProcess, wheel: Path) -> None:
    """`include: local:` with inputs, and the documented no-component snippet, both log in and clean up."""
    capture = tmp_path / "capture"
    capture.mkdir()
    import yaml

    # The snippet as a user pastes it, with the two lines they edit: the pin, and the API (the emulator).
    snippet = yaml.safe_load(docs_snippet("copy-paste"))
    assert snippet["variables"]["REACTOR_CI_INSTALL"].startswith("reactor-ci @ git+https://github.com/reactor/")
    snippet["variables"].update(REACTOR_CI_INSTALL=str(wheel), REACTOR_API_URL=emulator.url, CAPTURE_DIR=str(capture))
    ci_yaml = f"""\
{yaml.safe_dump(snippet, sort_keys=False, width=1000)}
include:
  - local: templates/reactor-auth.yml
    inputs:
      name: local-auth
      api-url: {emulator.url}
      install: {wheel}

local-include:
  extends: .local-auth
  script:
{CAPTURE}\
    - reactor-ci status --json > "$CAPTURE_DIR/status-local.json"

copy-paste:
  extends: .reactor-login
  script:
{CAPTURE}\
    - reactor-ci status --json > "$CAPTURE_DIR/status-copy.json"
    - echo "OUT helper=$(grep -c '"reactor"' "$DOCKER_CONFIG/config.json")"
"""
    # Only the key is a project variable: those win over YAML variables (and inputs), as on GitLab.
    secrets = {"REACTOR_API_KEY": emulator.partner_key}
    run = run_pipeline(tmp_path, ci_yaml, secrets)
    assert run.rc == 0, run.out
    for name in ("local", "copy"):
        status = json.loads((capture / f"status-{name}.json").read_text())
        assert status["state"] == "valid", status
        assert status["credentials_path"].startswith(str(run.tmpdir)), status
    assert run.outputs("copy-paste")["helper"] == "1", run.job("copy-paste")
    canaries = {"partner key": emulator.partner_key}
    for job in ("local-include", "copy-paste"):
        canaries |= {f"{job} {k}": v for k, v in registry_canaries(capture / f"credentials-{job}.json").items()}
    assert_no_leak(run, canaries)


def test_component_spec() -> None:
    """Inputs as documented, and none of them interpolated into shell text."""
    import yaml

    docs = list(yaml.safe_load_all((REPO_ROOT / "templates" / "reactor-auth.yml").read_text()))
    assert len(docs) == 2
    spec, jobs = docs
    inputs = spec["spec"]["inputs"]
    assert set(inputs) == {
        "name",
        "api-key-variable",
        "key-kind",
        "api-url",
        "docker-login",
        "token-lifetime",
        "models",
        "sessions",
        "max-sessions",
        "max-session-duration",
        "install",
        "python",
    }
    for name in inputs:
        assert f"`{name}`" in (REPO_ROOT / "docs" / "gitlab.md").read_text(), f"input {name} is not documented"
    (job,) = jobs.values()
    for part in ("before_script", "after_script"):
        script = "\n".join(job[part])
        assert "$[[" not in script, f"an input is interpolated into shell text ({part})"


# -- issue 13 under gitlab-ci-local: the reproduction from the issue, and its relatives --------------------------
PLANTED = """\
include:
  - component: {component}
    inputs:
      api-url: {url}
      install: {wheel}

planted:
  extends: .reactor-auth
  variables:
    CI_JOB_ID: "4242"
  script:
    - reactor-ci status >/dev/null && echo "OUT status=ok"
    - echo "OUT cli=$(command -v reactor-ci)"
    - echo "OUT dir=$REACTOR_CI_DIR"
"""


def test_planted_job_dir_venv_and_reactor_ci_never_run(tmp_path: Path, emulator: EmulatorProcess, wheel: Path) -> None:
    """Issue 13: `$TMPDIR/reactor-ci-4242/venv/bin/reactor-ci` planted by an earlier job (same user, guessable
    job id), a look-alike of the new naming holding job id 4242, and a `reactor-ci` on the job's PATH: none
    runs, the job logs in from its own fresh directory, and the key reaches no file but the credentials
    store (which after_script removes)."""
    tmpdir = tmp_path / "tmp"
    tmpdir.mkdir()
    witness = tmp_path / "witness"
    fake = f'#!/bin/sh\nprintf %s "$REACTOR_API_KEY" > {witness}.$$\necho FAKE RAN >&2\n'
    planted = [
        tmpdir / "reactor-ci-4242" / "venv" / "bin" / "reactor-ci",
        tmpdir / "reactor-ci-4242" / "venv" / "bin" / "python",
        tmpdir / "reactor-ci-4242" / "bin" / "reactor-ci",
        tmpdir / "reactor-ci.AAAAAAAAAA" / "venv" / "bin" / "reactor-ci",
        tmpdir / "reactor-ci.AAAAAAAAAA" / "bin" / "reactor-ci",
        tmp_path / "home" / ".local" / "bin" / "reactor-ci",
    ]
    for path in planted:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(fake)
        path.chmod(0o755)
    (tmpdir / "reactor-ci.AAAAAAAAAA" / "job").write_text("4242\n")
    (tmpdir / "reactor-ci.AAAAAAAAAA").chmod(0o700)
    ci_yaml = PLANTED.format(component=COMPONENT, url=emulator.url, wheel=wheel)
    ci_yaml = ci_yaml.replace(
        "  script:\n",
        f'  before_script:\n    - export PATH="{tmp_path}/home/.local/bin:$PATH"\n'
        "    - !reference [.reactor-auth, before_script]\n  script:\n",
        1,
    )
    run = run_pipeline(tmp_path, ci_yaml, {"REACTOR_API_KEY": emulator.partner_key})
    assert run.rc == 0, run.out
    got = run.outputs("planted")
    assert got.get("status") == "ok", run.job("planted")
    assert "FAKE RAN" not in run.out and not list(tmp_path.glob("witness*")), run.job("planted")
    assert got["dir"].startswith(str(tmpdir / "reactor-ci.")) and not got["dir"].endswith("AAAAAAAAAA")
    assert got["cli"] == f"{got['dir']}/bin/reactor-ci"
    assert all(p.exists() for p in planted if "AAAAAAAAAA" not in str(p)), "a planted file was touched"
    # the look-alike holds our job id: after_script removes it with ours (it is this user's, and stale)
    leftovers = sorted(p.name for p in tmpdir.iterdir())
    assert leftovers == ["reactor-ci-4242"], leftovers
    canaries = {"partner key": emulator.partner_key}
    log = run.whole_log()
    assert emulator.partner_key not in log
    skip = (run.repo / VARIABLES_FILE,)
    assert files_holding(tmp_path, canaries, skip) == []
