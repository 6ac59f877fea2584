"""The Docker story on real parts: dockerd 20.10, the docker CLI, distribution 2.8
behind the emulator's realm, skopeo, and the installed ``docker-credential-reactor``.

Each test gets a fresh emulator + registry and a temp HOME (``docker_world``);
teardown greps every output and the helper log for the key and tokens.
Short registry-token TTLs stand in for the 12 h of production; the realm's
bearer lives >= 60 s, so the tests play on the REGISTRY token's expiry, which
is what the engine sends (as Basic auth) to the realm on every new push.
"""

from __future__ import annotations

import json
import re
import subprocess
import threading
import time
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from tests.parts import require_tool

if TYPE_CHECKING:
    from tests.docker_fixtures import DockerWorld

pytestmark = pytest.mark.real("dockerd + docker-registry + docker CLI")
# The fixtures (dockerd, docker_world) live in tests/docker_fixtures.py.
pytest_plugins = ["tests.docker_fixtures"]

DIGEST = re.compile(r"sha256:[0-9a-f]{64}")


def _short_ttl(world: DockerWorld, ttl: int) -> None:
    world.emulator.config(registry_token_ttl=ttl)
    # The production default (refresh below 1 h left) would refresh on every
    # call with a 12 s token; the half-life rule is what these tests exercise.
    world.env["REACTOR_CI_MIN_TOKEN_LIFETIME"] = "2"


def _issued(world: DockerWorld) -> int:
    return int(world.emulator.stats()["registry_tokens_issued"])


# 1 ---------------------------------------------------------------------------------
def test_login_docker_login_then_plain_docker_push(docker_world: DockerWorld) -> None:
    w = docker_world
    w.login()
    r = w.reactor_ci("docker-login")
    assert r.code == 0, r
    config = json.loads((w.docker_config / "config.json").read_text())
    assert config["credHelpers"] == {w.registry_host: "reactor"}
    assert "auths" not in config  # no secret on disk in helper mode

    image = w.image("model")
    r = w.docker("push", image)
    assert r.code == 0, r
    assert DIGEST.search(r.stdout), r
    assert f"get {w.registry_host}: cached token" in w.helper_log()

    # And back: a pull goes through the helper too.
    assert w.docker("rmi", image).code == 0
    r = w.docker("pull", image)
    assert r.code == 0, r

    # `docker login` / `docker logout` through the helper: accepted, nothing stored.
    creds = w.credentials()
    user = creds.get("registry_username") or creds["partner_id"]
    r = w.docker("login", "-u", user, "--password-stdin", w.registry_host, stdin=creds["registry_token"] + "\n")
    assert r.code == 0, r
    assert f"store {w.registry_host}: ignored" in w.helper_log()
    assert json.loads((w.docker_config / "config.json").read_text())["credHelpers"] == {w.registry_host: "reactor"}
    r = w.docker("logout", w.registry_host)
    assert r.code == 0, r
    assert f"erase {w.registry_host}" in w.helper_log()

    # `reactor-ci logout` removes our entry (and only ours) from config.json.
    r = w.reactor_ci("logout")
    assert r.code == 0, r
    assert w.registry_host not in (w.docker_config / "config.json").read_text()


def test_ci_job_scoped_docker_config(docker_world: DockerWorld, tmp_path: Path) -> None:
    """In CI the registration lands in a copy under RUNNER_TEMP, exported via GITHUB_ENV."""
    from tests.docker_fixtures import reactor_ci_argv

    w = docker_world
    w.login()
    user_cfg = w.docker_config / "config.json"
    user_cfg.parent.mkdir(parents=True)
    user_cfg.write_text(json.dumps({"auths": {"ghcr.io": {"auth": "dXNlcjpwYXNz"}}, "proxies": {}}))
    runner_temp = tmp_path / "runner-temp"
    runner_temp.mkdir()
    github_env = tmp_path / "github-env"
    github_env.touch()
    ci_env = {
        "REACTOR_CI_PROVIDER": "github",
        "GITHUB_ACTIONS": "true",
        "RUNNER_TEMP": str(runner_temp),
        "GITHUB_ENV": str(github_env),
    }
    r = w.reactor_ci("docker-login", extra_env=ci_env)
    assert r.code == 0, r
    job_dir = runner_temp / "reactor-ci-docker-config"
    assert "DOCKER_CONFIG<<" in github_env.read_text() and str(job_dir) in github_env.read_text()
    job_cfg = json.loads((job_dir / "config.json").read_text())
    assert job_cfg["credHelpers"] == {w.registry_host: "reactor"}
    assert job_cfg["auths"] == {"ghcr.io": {"auth": "dXNlcjpwYXNz"}}  # seeded from the user's config
    assert "credHelpers" not in json.loads(user_cfg.read_text())  # the user's own file is untouched

    # A later step sees DOCKER_CONFIG from GITHUB_ENV: a plain docker push works.
    r = w.docker("push", w.image("job"), extra_env={"DOCKER_CONFIG": str(job_dir)})
    assert r.code == 0, r

    # The same step (one shell script): eval the exports, then push.
    script = 'eval "$("$@" docker-login --print-env)" && test "$DOCKER_CONFIG" = "$JOB_DIR" && docker push "$IMG"'
    r = w.run(
        ["bash", "-c", script, "sh", *reactor_ci_argv()],
        extra_env={**ci_env, "JOB_DIR": str(job_dir), "IMG": w.image("same-step")},
    )
    assert r.code == 0, r


# 2 ---------------------------------------------------------------------------------
def test_push_after_token_expiry_helper_refreshes_static_fails(docker_world: DockerWorld) -> None:
    """The headline problem and its fix, side by side."""
    w = docker_world
    ttl = 12
    _short_ttl(w, ttl)
    w.login()
    assert w.reactor_ci("docker-login").code == 0  # helper, in DOCKER_CONFIG
    static_dir = w.home / "static-docker-config"
    r = w.reactor_ci("docker-login", "--static", "--docker-config", str(static_dir))
    assert r.code == 0, r
    assert "EXPIRES" in r.stderr
    static_cfg = json.loads((static_dir / "config.json").read_text())
    assert list(static_cfg["auths"]) == [w.registry_host]
    helper_image, static_image = w.image("helper-pushed"), w.image("static-pushed")

    # The "hours-long build": both tokens are dead when the push starts.
    w.wait_until_expired(margin=1.0)
    issued = _issued(w)

    r = w.docker("push", helper_image)
    assert r.code == 0, r
    assert _issued(w) == issued + 1  # the helper refreshed, exactly once
    log = w.helper_log()
    assert "refreshing" in log and "serving a token with" in log
    left = w.credentials()  # the push started with at least half a lifetime
    from reactor_ci.timeutil import parse_time

    assert parse_time(left["registry_token_expiry"]).timestamp() - time.time() > ttl / 2 - 3

    r = w.docker("push", static_image, extra_env={"DOCKER_CONFIG": str(static_dir)})
    assert r.code != 0, r
    assert "unauthorized" in r.output.lower(), r


def test_server_invalidated_token_recovers_with_docker_login_refresh(docker_world: DockerWorld) -> None:
    """Issue 10.4: the registry drops a token before its recorded expiry; the documented fix works."""
    w = docker_world
    w.login()
    assert w.reactor_ci("docker-login").code == 0
    image = w.image("invalidated")
    w.emulator.expire_registry_tokens()
    # The helper cannot know: by the recorded expiry the token has hours left.
    r = w.docker("push", image)
    assert r.code != 0, r

    issued = _issued(w)
    r = w.reactor_ci("docker-login", "--refresh")
    assert r.code == 0, r
    assert _issued(w) == issued + 1 and "Fetched a new registry token" in r.stderr
    r = w.docker("push", image)
    assert r.code == 0, r

    # `reactor-ci login` is the other documented fix: it never reuses a stored token.
    w.emulator.expire_registry_tokens()
    issued = _issued(w)
    w.login()
    assert _issued(w) == issued + 1
    assert w.docker("push", w.image("invalidated", "v2")).code == 0


# 3 ---------------------------------------------------------------------------------
def test_push_into_another_org_is_denied(docker_world: DockerWorld) -> None:
    w = docker_world
    w.emulator.new_org("otherorg")
    w.login()
    assert w.reactor_ci("docker-login").code == 0
    foreign = w.image("stolen", namespace="otherorg")

    r = w.docker("push", foreign)
    assert r.code != 0, r
    assert "denied" in r.output.lower(), r

    r = w.reactor_ci("push", foreign)  # refused before any upload, with the fix
    assert r.code == 2, r
    assert "outside your organisation's namespace" in r.stderr and f"{w.registry}/stolen" in r.stderr


# 4 ---------------------------------------------------------------------------------
def test_revoked_key_keeps_pushing_until_the_token_dies(docker_world: DockerWorld) -> None:
    w = docker_world
    ttl = 14
    _short_ttl(w, ttl)
    w.login()
    assert w.reactor_ci("docker-login").code == 0
    w.emulator.revoke(w.emulator.partner_key)

    # Past half-life: the helper tries to refresh, is refused (revoked), and
    # keeps serving the live token: active work is not interrupted.
    expiry = json.loads(w.credentials_path.read_text())["registry_token_expiry"]
    from reactor_ci.timeutil import parse_time

    time.sleep(max(0.0, parse_time(expiry).timestamp() - time.time() - ttl / 2 + 1.5))
    r = w.docker("push", w.image("still-works"))
    assert r.code == 0, r
    assert "could not refresh" in w.helper_log() and "revoked" in w.helper_log()

    # Once the token is dead: docker fails, and the helper log says why and what to do.
    w.wait_until_expired(margin=1.0)
    dead = w.image("after-expiry")
    r = w.docker("push", dead)
    assert r.code != 0, r
    log = w.helper_log()
    assert "refresh FAILED" in log and "revoked" in log and "generate a new key" in log
    # reactor-ci push surfaces the real cause (not docker's anonymous 'denied'), exit 3.
    r = w.reactor_ci("push", dead)
    assert r.code == 3, r
    assert "revoked" in r.stderr and "fix:" in r.stderr


# 5 ---------------------------------------------------------------------------------
def test_skopeo_copy_through_the_helper(docker_world: DockerWorld) -> None:
    skopeo = require_tool("skopeo", "apt-get install skopeo")
    w = docker_world
    _short_ttl(w, 8)
    w.login()
    assert w.reactor_ci("docker-login").code == 0
    source = w.image("src")
    archive = w.home / "image.tar"
    assert w.docker("save", "-o", str(archive), source).code == 0
    w.wait_until_expired(margin=0.5)  # so skopeo's `get` has to refresh

    target = f"{w.registry}/copied:v1"
    r = w.run([skopeo, "copy", "--dest-tls-verify=false", f"docker-archive:{archive}", f"docker://{target}"])
    assert r.code == 0, r
    assert "refreshing" in w.helper_log()
    r = w.run([skopeo, "inspect", "--tls-verify=false", f"docker://{target}"])
    assert r.code == 0, r
    assert DIGEST.search(json.loads(r.stdout)["Digest"])


# 6 ---------------------------------------------------------------------------------
def test_twenty_parallel_gets_at_expiry_refresh_once(docker_world: DockerWorld) -> None:
    w = docker_world
    _short_ttl(w, 6)
    w.login()
    old = w.credentials()["registry_token"]
    w.wait_until_expired(margin=0.3)
    issued = _issued(w)

    bad: list[str] = []
    reads = [0]
    stop = threading.Event()

    def watch() -> None:
        # Every instant: the file is either the old or the new complete JSON.
        while not stop.is_set():
            try:
                text = w.credentials_path.read_text()
                json.loads(text)
                reads[0] += 1
            except FileNotFoundError:
                bad.append("missing")
            except ValueError:
                bad.append(text[:40])

    watcher = threading.Thread(target=watch, daemon=True)
    watcher.start()
    from tests.docker_fixtures import scripts_dir

    helper = str(scripts_dir() / "docker-credential-reactor")
    # Start all 20, let them block on stdin (imports done), then release them
    # together: the closest a test gets to "20 builds ask at the same moment".
    procs = [
        subprocess.Popen([helper, "get"], env=w.env, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                         stderr=subprocess.PIPE, text=True)
        for _ in range(20)
    ]  # fmt: skip
    time.sleep(1.0)
    for p in procs:
        assert p.stdin is not None
        p.stdin.write(w.registry_host)
        p.stdin.close()
    results = [(p.wait(60), p.stdout.read() if p.stdout else "", p.stderr.read() if p.stderr else "") for p in procs]
    stop.set()
    watcher.join(5)

    for code, out, err in results:
        assert code == 0, (out, err)
        assert err == ""
    secrets = {json.loads(out)["Secret"] for _, out, _ in results}
    new = w.credentials()["registry_token"]
    assert secrets == {new} and new != old
    assert _issued(w) == issued + 1, w.emulator.stats()
    assert not bad, bad
    assert reads[0] > 0


# 7 ---------------------------------------------------------------------------------
def test_reactor_ci_push_progress_digest_outputs_and_errors(docker_world: DockerWorld, tmp_path: Path) -> None:
    w = docker_world
    w.login()  # no docker-login: reactor-ci push passes the credentials itself
    first, second = w.image("model", "v1"), w.image("model", "v2")
    outputs = tmp_path / "github-output"
    outputs.touch()
    ci_env = {"REACTOR_CI_PROVIDER": "github", "GITHUB_ACTIONS": "true", "GITHUB_OUTPUT": str(outputs)}

    r = w.reactor_ci("push", first, second, extra_env=ci_env)
    assert r.code == 0, r
    pushed = dict(line.split("@", 1) for line in r.stdout.split())
    repo = first.rsplit(":", 1)[0]
    assert set(pushed) == {repo} and DIGEST.fullmatch(pushed[repo])
    assert len(r.stdout.splitlines()) == 2
    assert "Pushed" in r.stderr and "pushing " in r.stderr  # plain progress lines in a CI log
    assert "\x1b[" not in r.stderr
    text = outputs.read_text()
    assert "digest<<" in text and "digests<<" in text
    digests_json = text.split("digests<<", 1)[1].splitlines()[1]
    digests = json.loads(digests_json)
    assert set(digests) == {first, second}
    # The digest printed is what the registry holds.
    r2 = w.docker("inspect", "--format", "{{json .RepoDigests}}", first)
    assert digests[first] in r2.stdout

    # Terminal mode: per-layer lines redrawn in place.
    r = w.reactor_ci("push", "--progress", "tty", w.image("model", "v3"))
    assert r.code == 0, r
    assert "\x1b[" in r.stderr

    # The registry forgets our token behind our back: unauthorized -> one refresh -> success.
    w.emulator.expire_registry_tokens()
    issued = _issued(w)
    r = w.reactor_ci("push", w.image("model", "v4"))
    assert r.code == 0, r
    assert "fetching a new one and retrying" in r.stderr
    assert _issued(w) == issued + 1

    # An image that does not exist: exit 5 with the fix.
    r = w.reactor_ci("push", f"{w.registry}/nope:v1")
    assert r.code == 5, r
    assert "does not exist locally" in r.stderr and "docker tag" in r.stderr
