"""podman and buildah push through docker-credential-reactor (issue 20), on real parts.

Both read ``credHelpers`` from their auth file (containers-auth.json, the same shape as docker's
config.json), so the helper serves them as it serves docker. Each test runs the Debian packages as
root with private storage (``--root``/``--runroot`` in the test's directory, the ``vfs`` driver: no
overlay mount needed in a sandbox), against the emulator's real registry behind its token realm:

* buildah builds an image from scratch and pushes it with REGISTRY_AUTH_FILE pointing at the config
  `reactor-ci docker-login` wrote;
* podman pushes with an auth file holding only ``credHelpers`` (the docs' recipe), after the stored
  registry token expired, so the helper refreshes it first;
* the same push with an empty auth file and no docker config is refused: the helper is what
  authenticated the others; with the docker config `reactor-ci docker-login` wrote (``$DOCKER_CONFIG``)
  podman falls back to it and pushes.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.emulator_fixtures import EmulatorProcess
from tests.leaks import assert_no_secret
from tests.parts import require_tool

pytestmark = pytest.mark.real("podman + buildah")


class Tools:
    def __init__(self, root: Path, emu: EmulatorProcess) -> None:
        from tests.docker_fixtures import scripts_dir

        self.root = root
        self.emu = emu
        self.home = root / "home"
        self.home.mkdir()
        self.outputs: list[str] = []
        self.env = {k: v for k, v in os.environ.items() if not k.startswith(("REACTOR_", "DOCKER_", "REGISTRY_AUTH"))}
        self.env.update(
            HOME=str(self.home),
            XDG_RUNTIME_DIR=str(root / "run"),
            PATH=os.pathsep.join([str(scripts_dir()), self.env.get("PATH", "/usr/bin:/bin")]),
            DOCKER_CONFIG=str(self.home / "docker-config"),
            REACTOR_API_URL=emu.url,
            REACTOR_CI_REGISTRY_HOSTS=emu.registry_host,
            REACTOR_CI_HELPER_LOG=str(root / "helper.log"),
            REACTOR_CI_PROVIDER="local",
        )
        (root / "run").mkdir(mode=0o700)
        # Private storage; vfs: no overlay mount, which a sandbox may not allow (docs/docker.md).
        # podman refuses a runroot path longer than 50 characters: a short one in /tmp, removed after.
        self.runroot = Path(tempfile.mkdtemp(prefix="rci-pod-", dir="/tmp"))
        self.storage = ["--root", str(root / "storage"), "--runroot", str(self.runroot), "--storage-driver", "vfs"]

    def run(self, argv: list[str], **extra: str) -> subprocess.CompletedProcess[str]:
        proc = subprocess.run(
            argv,
            env={**self.env, **extra},
            capture_output=True,
            text=True,
            timeout=300,
            check=False,
            stdin=subprocess.DEVNULL,
        )
        self.outputs.append(proc.stdout + proc.stderr)
        return proc

    def granted(self) -> int:
        return int(self.emu.stats()["realm"]["granted"])

    def token(self) -> str:
        return str(json.loads((self.home / ".reactor" / "credentials").read_text())["registry_token"])


@pytest.fixture
def tools(tmp_path: Path, emulator_with_registry: EmulatorProcess) -> Iterator[Tools]:
    require_tool("podman", "apt-get install podman")
    require_tool("buildah", "apt-get install buildah")
    t = Tools(tmp_path, emulator_with_registry)
    try:
        login = t.run(["reactor-ci", "login", "--docker-login"], REACTOR_API_KEY=emulator_with_registry.partner_key)
        assert login.returncode == 0, login.stderr
        yield t
    finally:
        shutil.rmtree(t.runroot, ignore_errors=True)


def _build(t: Tools, ref: str) -> None:
    (t.root / "hello.txt").write_text(f"hello {ref}\n")
    made = t.run(["buildah", *t.storage, "from", "scratch"])
    assert made.returncode == 0, made.stderr
    container = made.stdout.strip().splitlines()[-1]
    assert t.run(["buildah", *t.storage, "copy", container, str(t.root / "hello.txt"), "/hello.txt"]).returncode == 0
    committed = t.run(["buildah", *t.storage, "commit", container, ref])
    assert committed.returncode == 0, committed.stderr


def test_buildah_and_podman_push_through_the_helper(tools: Tools) -> None:
    t = tools
    ref = f"{t.emu.registry}/bud:1"
    _build(t, ref)

    # buildah: the auth file IS the config `reactor-ci docker-login` wrote (credHelpers for the host).
    before = t.granted()
    config = Path(t.env["DOCKER_CONFIG"]) / "config.json"
    assert json.loads(config.read_text())["credHelpers"][t.emu.registry_host] == "reactor"
    pushed = t.run(["buildah", *t.storage, "push", "--tls-verify=false", ref], REGISTRY_AUTH_FILE=str(config))
    assert pushed.returncode == 0, pushed.stderr
    assert t.granted() > before

    # podman: an auth file with credHelpers only (docs/docker.md), after the stored token expired; no
    # docker config to fall back on (an empty DOCKER_CONFIG), so only that auth file can authenticate.
    nothing = t.root / "no-docker-config"
    nothing.mkdir()
    auth = t.root / "auth.json"
    auth.write_text(json.dumps({"credHelpers": {t.emu.registry_host: "reactor"}}))
    t.emu.config(registry_token_ttl=3)
    refreshed = t.run(["reactor-ci", "docker-login", "--refresh"])
    assert refreshed.returncode == 0, refreshed.stderr
    old = t.token()
    time.sleep(3.5)
    podman = ["podman", *t.storage, "--cgroup-manager", "cgroupfs", "--events-backend", "file"]
    push = [*podman, "push", "--tls-verify=false"]
    before = t.granted()
    pushed = t.run([*push, "--authfile", str(auth), ref, f"{t.emu.registry}/pod:1"], DOCKER_CONFIG=str(nothing))
    assert pushed.returncode == 0, pushed.stderr
    assert t.granted() > before
    assert t.token() != old, "the helper did not refresh the expired token for podman"

    # Neither the auth file nor a docker config names the helper: anonymous, refused.
    empty = t.root / "empty.json"
    empty.write_text("{}")
    denied = t.run([*push, "--authfile", str(empty), ref, f"{t.emu.registry}/anon:1"], DOCKER_CONFIG=str(nothing))
    assert denied.returncode != 0
    assert "unauthorized" in denied.stderr or "authentication required" in denied.stderr, denied.stderr

    # No auth entry of its own: podman falls back to docker's config at $DOCKER_CONFIG, which
    # `reactor-ci docker-login` wrote (in CI the job-scoped one): that works with no extra set-up.
    fallback = t.run([*push, "--authfile", str(empty), ref, f"{t.emu.registry}/pod:2"])
    assert fallback.returncode == 0, fallback.stderr

    secrets = {"partner key": t.emu.partner_key, "registry token": t.token(), "old registry token": old}
    log = Path(t.env["REACTOR_CI_HELPER_LOG"])
    assert_no_secret([*t.outputs, log.read_text() if log.exists() else ""], secrets, "podman/buildah output")
