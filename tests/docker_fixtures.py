"""Real-part fixtures for the Docker tests: a private dockerd, and a "world" per test.

``dockerd`` (session scope) starts the Debian dockerd exactly as
/work/shared/docker-notes.md says: its own data/exec roots under a SHORT
/tmp/rcd-XXXX path (unix socket paths are limited to ~108 bytes), vfs, no
bridge, no iptables, in its own session, stopped by pid.

``docker_world`` (per test) joins it with a fresh emulator + real registry and
a temp HOME / DOCKER_CONFIG / credentials file, runs the real commands
(``reactor-ci``, ``docker``, ``skopeo``, ``docker-credential-reactor``) and, at
teardown, greps everything they printed plus the helper log for the partner
key and every registry token seen: the canary check.
"""

from __future__ import annotations

import contextlib
import json
import os
import subprocess
import sys
import sysconfig
import time
import uuid
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from reactor_ci.emulator import dockerd as dockerd_lifecycle
from reactor_ci.emulator.dockerd import Dockerd
from tests.emulator_fixtures import EmulatorProcess
from tests.leaks import assert_no_secret
from tests.parts import missing, require_tool

__all__ = ["DockerWorld", "Dockerd", "Run", "docker_world", "dockerd", "make_image", "scripts_dir"]

DOCKERD_START_TIMEOUT = 90.0
# Variables a CI runner would set: the tests must behave the same inside one.
_CI_VARS = ("CI", "ACT", "TF_BUILD", "BUILDKITE", "CIRCLECI", "JENKINS_URL", "BITBUCKET_BUILD_NUMBER")
_CI_PREFIXES = ("REACTOR_", "GITHUB_", "GITLAB_", "RUNNER_", "DOCKER_", "AZURE_", "BUILDKITE_")


def scripts_dir() -> Path:
    """Where pip put the console scripts of this interpreter (the real installed helper)."""
    return Path(sysconfig.get_path("scripts"))


@pytest.fixture(scope="session")
def dockerd() -> Iterator[Dockerd]:
    """The session's private engine: the one lifecycle in reactor_ci/emulator/dockerd.py."""
    require_tool("dockerd", "apt-get install docker.io")
    require_tool("docker", "apt-get install docker.io")
    reason = dockerd_lifecycle.why_unavailable()
    if reason:
        missing(reason)
    try:
        engine = dockerd_lifecycle.start(timeout=DOCKERD_START_TIMEOUT)
    except dockerd_lifecycle.DockerdError as exc:
        raise AssertionError(str(exc)) from None
    try:
        yield engine
    finally:
        dockerd_lifecycle.stop(engine)


def make_image(env: Mapping[str, str], ref: str, content: str | None = None) -> str:
    """A tiny single-layer image from a tarball (no network here): ``docker import``.

    Unique content per call by default, so each image has its own layer and a
    push really uploads something.
    """
    payload = (content if content is not None else f"reactor-ci test {uuid.uuid4()}\n").encode()
    try:
        dockerd_lifecycle.import_image(env, ref, payload)
    except dockerd_lifecycle.DockerdError as exc:
        raise AssertionError(str(exc)) from None
    return ref


@dataclass
class Run:
    argv: list[str]
    code: int
    stdout: str
    stderr: str

    @property
    def output(self) -> str:
        return self.stdout + self.stderr

    def __str__(self) -> str:
        return f"$ {' '.join(self.argv)}\n-> {self.code}\n--- stdout\n{self.stdout}\n--- stderr\n{self.stderr}"


@dataclass
class DockerWorld:
    emulator: EmulatorProcess
    engine: Dockerd
    home: Path
    env: dict[str, str]
    runs: list[Run] = field(default_factory=list)
    tokens: set[str] = field(default_factory=set)

    # -- paths -------------------------------------------------------------------
    @property
    def registry(self) -> str:
        return self.emulator.registry  # host:port/namespace

    @property
    def registry_host(self) -> str:
        return self.emulator.registry_host

    @property
    def credentials_path(self) -> Path:
        return Path(self.env["REACTOR_CREDENTIALS"])

    @property
    def docker_config(self) -> Path:
        return Path(self.env["DOCKER_CONFIG"])

    @property
    def helper_log_path(self) -> Path:
        return Path(self.env["REACTOR_CI_HELPER_LOG"])

    def helper_log(self) -> str:
        return self.helper_log_path.read_text() if self.helper_log_path.exists() else ""

    def credentials(self) -> dict[str, Any]:
        data: dict[str, Any] = json.loads(self.credentials_path.read_text())
        self.tokens.add(str(data["registry_token"]))
        return data

    # -- running things -----------------------------------------------------------
    def run(
        self,
        argv: Sequence[str],
        *,
        stdin: str | None = None,
        extra_env: Mapping[str, str] | None = None,
        timeout: float = 180,
        secret_output: bool = False,
    ) -> Run:
        """Run a real command in this world; record its output for the canary check.

        ``secret_output`` marks a command whose stdout IS a secret by contract
        (the helper's ``get``): its stdout is not canary-checked.
        """
        env = {**self.env, **(extra_env or {})}
        proc = subprocess.run(
            list(argv),
            env=env,
            input=stdin,
            stdin=None if stdin is not None else subprocess.DEVNULL,
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )
        result = Run(list(argv), proc.returncode, proc.stdout, proc.stderr)
        self.runs.append(Run(result.argv, result.code, "" if secret_output else result.stdout, result.stderr))
        with contextlib.suppress(FileNotFoundError, ValueError, KeyError):
            self.credentials()
        return result

    def reactor_ci(self, *args: str, **kw: Any) -> Run:
        return self.run([*reactor_ci_argv(), *args], **kw)

    def docker(self, *args: str, **kw: Any) -> Run:
        return self.run(["docker", *args], **kw)

    def helper(self, action: str, stdin: str = "", **kw: Any) -> Run:
        return self.run(["docker-credential-reactor", action], stdin=stdin, secret_output=action == "get", **kw)

    def login(self, *extra: str) -> Run:
        result = self.reactor_ci("login", *extra, extra_env={"REACTOR_API_KEY": self.emulator.partner_key})
        assert result.code == 0, result
        return result

    def image(self, name: str, tag: str = "v1", *, namespace: str | None = None) -> str:
        ns = namespace or self.registry.split("/", 1)[1]
        return make_image(self.env, f"{self.registry_host}/{ns}/{name}:{tag}")

    def wait_until_expired(self, margin: float = 1.0) -> None:
        """Sleep until the stored registry token is dead (by the server's expiry)."""
        from reactor_ci.timeutil import parse_time

        expiry = parse_time(self.credentials()["registry_token_expiry"]).timestamp()
        delay = expiry - time.time() + margin
        if delay > 0:
            time.sleep(delay)

    # -- the canary -----------------------------------------------------------------
    def assert_no_secret_leaked(self) -> None:
        secrets = {s for s in (self.emulator.partner_key, *self.tokens) if s}
        # `::add-mask::VALUE` is GitHub's masking command: the runner consumes
        # that line and never shows it; it is the one place a value must appear.
        sources = [(" ".join(r.argv), _without_mask_commands(r.output)) for r in self.runs]
        sources.append(("helper log", self.helper_log()))
        for where, text in sources:
            assert_no_secret([text], secrets, where)


def _without_mask_commands(text: str) -> str:
    return "\n".join(line for line in text.splitlines() if not line.startswith("::add-mask::"))


def reactor_ci_argv() -> list[str]:
    """The installed ``reactor-ci`` script (what users run), else ``python -m reactor_ci``."""
    script = scripts_dir() / "reactor-ci"
    return [str(script)] if script.exists() else [sys.executable, "-m", "reactor_ci"]


def world_env(home: Path, emulator: EmulatorProcess, engine: Dockerd) -> dict[str, str]:
    scripts = scripts_dir()
    if not (scripts / "docker-credential-reactor").exists():
        missing(f"docker-credential-reactor is not installed in {scripts}: pip install -e /work/main")
    env = {k: v for k, v in os.environ.items() if not k.startswith(_CI_PREFIXES) and k not in _CI_VARS}
    env.update(
        HOME=str(home),
        # The installed console scripts first: docker finds the helper by PATH.
        PATH=os.pathsep.join([str(scripts), env.get("PATH", "/usr/local/bin:/usr/bin:/bin")]),
        DOCKER_HOST=engine.host,
        DOCKER_CONFIG=str(home / "docker-config"),
        REACTOR_API_URL=emulator.url,
        # The emulator's registry is 127.0.0.1:PORT, not *.reactor.inc: allow it
        # (core's registry-host allow-list), as the demo and `--detach` do.
        REACTOR_CI_REGISTRY_HOSTS=emulator.registry_host,
        REACTOR_CREDENTIALS=str(home / ".reactor" / "credentials"),
        REACTOR_CI_HELPER_LOG=str(home / "helper.log"),
        REACTOR_CI_PROVIDER="local",
        REACTOR_CI_RETRY_MAX_SECONDS="10",
        # The old CLI would nag about "docker scan" etc.; keep output deterministic.
        DOCKER_CLI_HINTS="false",
    )
    return env


@pytest.fixture
def docker_world(dockerd: Dockerd, emulator_with_registry: EmulatorProcess, tmp_path: Path) -> Iterator[DockerWorld]:
    home = tmp_path / "home"
    home.mkdir()
    world = DockerWorld(emulator_with_registry, dockerd, home, world_env(home, emulator_with_registry, dockerd))
    yield world
    world.assert_no_secret_leaked()
