"""docs/other-ci.md's pipelines, run for real: each CI's shell steps as that CI runs them.

There is no Azure agent, Buildkite agent, CircleCI, Jenkins or Bitbucket here,
so each test plays the CI's part that matters: the detection variable, the
shell it runs steps with, how a step's environment reaches the next one
(Azure: ``$(macros)`` and the ``##vso`` commands; CircleCI: ``$BASH_ENV``), the
"always" cleanup; a fake ``buildkite-agent`` records what reactor-ci asks it
to redact, and Azure's ``task.setsecret`` lines are collected the same way.
Everything else is real: the documented commands, copied from the page
(only the pinned install swapped for a wheel of this checkout), a venv, reactor-ci against the emulator with a real
registry, dockerd, ``docker build`` and ``docker push`` through the
credential helper. Then the canaries: no key, registry token or its Docker
``auth`` form in any output, and nothing left behind.
"""

from __future__ import annotations

import base64
import json
import os
import re
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.emulator_fixtures import EmulatorProcess
from tests.leaks import assert_no_secret, files_holding
from tests.repo import REPO_ROOT

# The documented install: this release's git tag today, `reactor-ci==X.Y.Z` after the first PyPI upload.
PIN = re.compile(
    r"reactor-ci @ git\+https://github\.com/reactor/auth-action@v[0-9][0-9A-Za-z.+-]*[0-9A-Za-z]"
    r"|reactor-ci==[0-9][0-9A-Za-z.+-]*[0-9A-Za-z]"
)

pytest_plugins = ["tests.docker_fixtures"]
pytestmark = pytest.mark.real("dockerd")


def example(schema: str) -> Any:
    text = (REPO_ROOT / "docs" / "other-ci.md").read_text()
    match = re.search(rf"<!-- schema: {re.escape(schema)} -->\n```yaml\n(.*?)^```", text, re.DOTALL | re.MULTILINE)
    assert match, f"docs/other-ci.md lost its {schema} example"
    return yaml.safe_load(match.group(1))


class Agent:
    """The machine a CI job runs on: a clean env, a temp HOME/TMPDIR, a build context, a fake CI agent."""

    def __init__(self, tmp_path: Path, emu: EmulatorProcess, dockerd: Any, wheel: Path) -> None:
        self.emu = emu
        self.wheel = wheel
        self.home = tmp_path / "home"
        self.tmp = tmp_path / "tmp"
        self.work = tmp_path / "checkout"
        self.fakebin = tmp_path / "fakebin"
        for d in (self.home, self.tmp, self.work, self.fakebin):
            d.mkdir()
        (self.work / "hello.txt").write_text(f"hello from {tmp_path.name}\n")
        (self.work / "Dockerfile").write_text("FROM scratch\nCOPY hello.txt /hello.txt\n")
        keep = ("PATH", "LANG", "LC_ALL", "PYENV_ROOT", "PYENV_VERSION")
        self.env = {k: v for k, v in os.environ.items() if k in keep}
        self.env.update(
            HOME=str(self.home),
            TMPDIR=str(self.tmp),
            PATH=f"{self.fakebin}:{self.env['PATH']}",
            DOCKER_HOST=str(dockerd.host),
            DOCKER_BUILDKIT="0",  # no buildx here; the legacy builder needs no network for FROM scratch
            REACTOR_API_URL=emu.url,
            REACTOR_API_KEY=emu.partner_key,
        )
        self.outputs: list[str] = []

    def script(self, text: str, moved: dict[str, Path] | None = None) -> str:
        """The documented text, with the release pin swapped for this checkout's wheel (and fixed paths moved)."""
        text = PIN.sub(str(self.wheel), text)
        for old, new in (moved or {}).items():
            text = text.replace(old, str(new))
        return text

    def run(self, argv: list[str], **env: str) -> subprocess.CompletedProcess[str]:
        proc = subprocess.run(
            argv,
            cwd=self.work,
            env={**self.env, **env},
            stdin=subprocess.DEVNULL,
            capture_output=True,
            text=True,
            timeout=300,
            check=False,
        )
        self.outputs += [proc.stdout, proc.stderr]
        return proc

    def pushed(self, tag: str) -> bool:
        """`docker push` of my-model:<tag> reached the registry (it prints `<tag>: digest: sha256:…`)."""
        return (
            re.search(rf"^{re.escape(tag)}: digest: sha256:[0-9a-f]{{64}}", "\n".join(self.outputs), re.M) is not None
        )

    def assert_clean(self, secrets: dict[str, str]) -> None:
        assert_no_secret(self.outputs, secrets, "the pipeline's output")
        for root in (self.home, self.tmp, self.work):
            assert files_holding(root, secrets) == [], f"secret left under {root}"
        # the helper's one-line-per-call log may go there (docs/other-ci.md says so); nothing else
        reactor_home = self.home / ".reactor"
        left = {p.name for p in reactor_home.iterdir()} if reactor_home.exists() else set()
        assert left <= {"helper.log"}, f"~/.reactor holds {left}"


@pytest.fixture
def agent(tmp_path: Path, emulator_with_registry: EmulatorProcess, dockerd: Any, wheel: Path) -> Iterator[Agent]:
    yield Agent(tmp_path, emulator_with_registry, dockerd, wheel)


def credential_secrets(creds_file: Path, prefix: str = "") -> dict[str, str]:
    creds = json.loads(creds_file.read_text())
    user = creds.get("username") or creds["partner_id"]
    token = creds["registry_token"]
    return {
        f"{prefix}registry token": token,
        f"{prefix}docker auth": base64.b64encode(f"{user}:{token}".encode()).decode(),
    }


def test_buildkite_command_step(agent: Agent) -> None:
    """The Buildkite step: one `bash -e -c` command; masking through `buildkite-agent redactor add` on stdin."""
    recorder = agent.fakebin / "buildkite-agent"
    log = agent.tmp.parent / "agent"
    log.mkdir()
    recorder.write_text(
        f'#!/bin/sh\nn=$(ls {log} | wc -l); printf "%s\\n" "$*" > {log}/$n.argv; cat > {log}/$n.stdin\n'
    )
    recorder.chmod(0o755)
    step = example("vendor.buildkite")["steps"][0]
    proc = agent.run(
        ["/bin/bash", "-e", "-c", agent.script(step["command"])],
        BUILDKITE="true",
        BUILDKITE_BUILD_NUMBER="7",
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert agent.pushed("7"), proc.stdout + proc.stderr

    calls = sorted(log.glob("*.argv"))
    assert calls, "reactor-ci never asked the agent to redact anything"
    assert {p.read_text().strip() for p in calls} == {"redactor add --format json"}, "a value went on argv"
    # One call per batch of secrets: a JSON object, one value per line of each.
    redacted = {value for p in log.glob("*.stdin") for value in json.loads(p.read_text()).values()}
    assert agent.emu.partner_key in redacted
    tokens = [v for v in redacted if v.startswith("rrt_")]
    assert tokens, redacted
    secrets = {"partner key": agent.emu.partner_key}
    for i, token in enumerate(tokens):
        secrets[f"registry token {i}"] = token
        secrets[f"docker auth {i}"] = base64.b64encode(f"{agent.emu.partner_id}:{token}".encode()).decode()
    assert secrets[f"docker auth {0}"] in redacted, "the Docker auth form was not redacted"
    agent.assert_clean(secrets)
    assert not [p for p in agent.tmp.iterdir()], "the trap left the job dir behind"


def test_circleci_steps(agent: Agent, tmp_path: Path) -> None:
    """The CircleCI job: each `run` a new `bash -eo pipefail`, paths carried in $BASH_ENV, logout `when: always`."""
    job = example("vendor.circle-ci")["jobs"]["release"]
    bash_env = tmp_path / "bash_env"
    bash_env.touch()
    runs = [s["run"] for s in job["steps"] if isinstance(s, dict) and "run" in s]
    assert [r["name"] for r in runs] == ["Reactor login", "Build and push", "Reactor logout"]
    secrets = {"partner key": agent.emu.partner_key}
    rci = None
    for run in runs:
        if run["name"] == "Reactor logout":
            (rci,) = agent.tmp.glob("reactor-ci.*")  # the login's fresh mktemp dir
            secrets |= credential_secrets(rci / "credentials")
        proc = agent.run(
            ["/bin/bash", "-eo", "pipefail", "-c", agent.script(run["command"])],
            CIRCLECI="true",
            CIRCLE_TAG="v1.0.0",
            BASH_ENV=str(bash_env),
        )
        assert proc.returncode == 0, f"{run['name']}:\n{proc.stdout}{proc.stderr}"
    assert agent.pushed("v1.0.0"), agent.outputs
    assert rci is not None and not rci.exists(), "the logout step left the job dir"
    agent.assert_clean(secrets)


def test_bitbucket_step(agent: Agent, tmp_path: Path) -> None:
    """The Bitbucket step: script lines in one shell, `after-script` in another, whatever the outcome."""
    step = example("vendor.bitbucket-pipelines")["pipelines"]["tags"]["v*"][0]["step"]
    script = "set -e\n" + "\n".join(step["script"])
    env = {"BITBUCKET_BUILD_NUMBER": "3", "BITBUCKET_TAG": "v2", "BITBUCKET_STEP_UUID": "{5b0a-step}"}
    # another step's directory (same user): after-script must leave it alone
    other = agent.tmp / "reactor-ci.OTHERSTEP0"
    other.mkdir(mode=0o700)
    (other / "step").write_text("{another-step}\n")
    proc = agent.run(["/bin/bash", "-c", agent.script(script)], **env)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    (rci,) = [p for p in agent.tmp.glob("reactor-ci.*") if p != other]
    secrets = {"partner key": agent.emu.partner_key, **credential_secrets(rci / "credentials")}
    after = agent.run(["/bin/bash", "-c", agent.script("\n".join(step["after-script"]))], **env)
    assert after.returncode == 0, after.stderr
    assert agent.pushed("v2"), agent.outputs
    assert not rci.exists(), "after-script left the job dir"
    assert other.is_dir(), "after-script removed another step's directory"
    shutil.rmtree(other)
    agent.assert_clean(secrets)


def test_jenkins_pipeline(agent: Agent, tmp_path: Path) -> None:
    """The Jenkinsfile's two `sh` scripts: `#!/bin/sh -e` (no xtrace), the key bound as by withCredentials."""
    text = (REPO_ROOT / "docs" / "other-ci.md").read_text()
    groovy = re.search(r"```groovy\n(.*?)^```", text, re.DOTALL | re.MULTILINE)
    assert groovy
    stage, post = re.findall(r"sh '''(.*?)'''", groovy.group(1), re.DOTALL)
    assert stage.startswith("#!/bin/sh -e\n") and post.startswith("#!/bin/sh\n"), "a script lost its shebang"
    env = {"JENKINS_URL": "http://jenkins.example/", "BUILD_NUMBER": "5", "BUILD_TAG": "jenkins-my-model-5"}
    env["WORKSPACE_TMP"] = str(tmp_path / "workspace@tmp")
    secrets = {"partner key": agent.emu.partner_key}
    # the stage script reads the credentials before its trap removes them: capture them as a step would
    capture = tmp_path / "credentials-capture"
    stage = stage.replace("docker push", f'cp "$REACTOR_CREDENTIALS" {capture}; docker push', 1)
    for name, body in (("stage", stage), ("post", post)):
        script = tmp_path / f"{name}.sh"
        script.write_text(agent.script(body))
        script.chmod(0o755)
        proc = agent.run([str(script)], **env)
        assert proc.returncode == 0, f"{name}:\n{proc.stdout}{proc.stderr}"
        if name == "stage":
            assert not list(Path(env["WORKSPACE_TMP"]).glob("reactor-ci.*")), "the trap left the job dir"
    secrets |= credential_secrets(capture)
    capture.unlink()
    assert agent.pushed("5"), agent.outputs
    agent.assert_clean(secrets)


def _azure_unescape(value: str) -> str:
    return value.replace("%3B", ";").replace("%0D", "\r").replace("%0A", "\n").replace("%5D", "]")


def test_azure_pipeline(agent: Agent, tmp_path: Path) -> None:
    """The Azure steps, with what the agent does between them: macros, ##vso commands, secret masking.

    Every secret must be announced with ##vso[task.setsecret] and appear nowhere else in the output.
    """
    steps = example("vendor.azure-pipelines")["steps"]
    temp = tmp_path / "agent-temp"
    temp.mkdir()
    macros = {"Agent.TempDirectory": str(temp), "Build.BuildNumber": "20261124.1", "REACTOR_API_KEY": "unused"}
    env_vars: dict[str, str] = {}
    path_prefix: list[str] = []
    setsecret: list[str] = []
    stdout_lines: list[str] = []
    for step in steps:
        script = agent.script(step["bash"])
        script = re.sub(r"\$\(([\w.]+)\)", lambda m: macros.get(m.group(1), m.group(0)), script)
        env = {"TF_BUILD": "True", "AGENT_TEMPDIRECTORY": str(temp), **env_vars}
        if path_prefix:
            env["PATH"] = ":".join([*reversed(path_prefix), agent.env["PATH"]])
        for name, value in step.get("env", {}).items():
            env[name] = agent.emu.partner_key if value == "$(REACTOR_API_KEY)" else value
        if "REACTOR_API_KEY" not in step.get("env", {}):
            env["REACTOR_API_KEY"] = ""  # secret variables reach only the steps that map them
        proc = agent.run(["/bin/bash", "--noprofile", "--norc", "-e", "-o", "pipefail", "-c", script], **env)
        assert proc.returncode == 0, f"{step.get('name', step['bash'][:40])}:\n{proc.stdout}{proc.stderr}"
        # The agent reads logging commands from both streams (NodeHandler.cs hooks
        # ErrorDataReceived like OutputDataReceived); reactor-ci writes its own to stderr.
        for line in proc.stdout.splitlines() + proc.stderr.splitlines():
            stdout_lines.append(line)
            command = re.match(r"##vso\[([\w.]+)(?: ([^\]]*))?\](.*)$", line)
            if not command:
                continue
            kind, props, value = (
                command.group(1),
                dict(p.split("=", 1) for p in (command.group(2) or "").split(";") if "=" in p),
                _azure_unescape(command.group(3)),
            )
            if kind == "task.setsecret":
                setsecret.append(value)
            elif kind == "task.prependpath":
                path_prefix.append(value)
            elif kind == "task.setvariable" and props.get("isOutput") == "true":
                macros[f"{step['name']}.{props['variable']}"] = value
            elif kind == "task.setvariable":
                macros[props["variable"]] = value
                env_vars[props["variable"].upper().replace(".", "_")] = value

    assert agent.pushed("20261124.1"), agent.outputs
    assert macros["reactor.registry"] == agent.emu.registry
    creds = temp / "reactor-ci" / "credentials"
    assert env_vars["REACTOR_CREDENTIALS"] == str(creds)
    assert env_vars["DOCKER_CONFIG"].startswith(str(temp))
    assert not creds.exists(), "the always() logout step left the credentials"
    # masking: the key, the registry token and its Docker auth form were all announced...
    assert agent.emu.partner_key in setsecret
    token = next(v for v in setsecret if v.startswith("rrt_"))
    secrets = {"partner key": agent.emu.partner_key, "registry token": token}
    secrets["docker auth"] = base64.b64encode(f"{agent.emu.partner_id}:{token}".encode()).decode()
    assert secrets["docker auth"] in setsecret
    # ...and appear in no other line of any step's output
    assert any(line.startswith("##vso[task.setsecret]") for line in stdout_lines)
    agent.outputs = [
        "\n".join(line for line in out.splitlines() if not line.startswith("##vso[task.setsecret]"))
        for out in agent.outputs
    ]
    agent.assert_clean(secrets)
