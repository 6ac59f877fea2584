"""A real distribution 2.8 registry (Debian docker-registry) accepts the realm's bearers."""

from __future__ import annotations

import gzip
import hashlib
import io
import json
import os
import signal
import subprocess
import tarfile
import time
from pathlib import Path
from typing import Any

import httpx
import jwt
import pytest

from reactor_ci.emulator import realm
from tests.emulator_fixtures import EmulatorProcess, start_emulator
from tests.parts import require_tool

H = "Reactor-API-Key"
MANIFEST_V2 = "application/vnd.docker.distribution.manifest.v2+json"


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    # A zombie is dead for our purpose (its parent just has not reaped it).
    try:
        return Path(f"/proc/{pid}/stat").read_text().split()[2] != "Z"
    except OSError:
        return False


def _creds(emu: EmulatorProcess, key: str | None = None) -> tuple[str, str]:
    body = httpx.post(emu.url + "/v1/registry/token", headers={H: key or emu.partner_key}).json()
    return body["username"], body["registry_token"]


def _bearer(emu: EmulatorProcess, creds: tuple[str, str], *scopes: str) -> str:
    params = [("service", emu.state["service"])] + [("scope", s) for s in scopes]
    r = httpx.get(emu.realm, params=params, auth=creds)
    r.raise_for_status()
    return str(r.json()["token"])


def _push_image(reg: httpx.Client, repo: str, tag: str) -> httpx.Response:
    """A minimal but real image: one layer + config blob + schema2 manifest, by HTTP."""
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w") as tar:
        data = b"hello from the emulator\n"
        info = tarfile.TarInfo("hello.txt")
        info.size = len(data)
        tar.addfile(info, io.BytesIO(data))
    layer = gzip.compress(buf.getvalue())
    diff_id = "sha256:" + hashlib.sha256(buf.getvalue()).hexdigest()
    config = json.dumps(
        {"architecture": "amd64", "os": "linux", "config": {}, "rootfs": {"type": "layers", "diff_ids": [diff_id]}}
    ).encode()
    for blob in (layer, config):
        digest = "sha256:" + hashlib.sha256(blob).hexdigest()
        start = reg.post(f"/v2/{repo}/blobs/uploads/")
        assert start.status_code == 202, start.text
        location = start.headers["location"]
        # Location already carries a query (_state=...); append, don't replace.
        sep = "&" if "?" in location else "?"
        put = reg.put(
            f"{location}{sep}digest={digest}", content=blob, headers={"Content-Type": "application/octet-stream"}
        )
        assert put.status_code == 201, put.text
    manifest = {
        "schemaVersion": 2,
        "mediaType": MANIFEST_V2,
        "config": {
            "mediaType": "application/vnd.docker.container.image.v1+json",
            "size": len(config),
            "digest": "sha256:" + hashlib.sha256(config).hexdigest(),
        },
        "layers": [
            {
                "mediaType": "application/vnd.docker.image.rootfs.diff.tar.gzip",
                "size": len(layer),
                "digest": "sha256:" + hashlib.sha256(layer).hexdigest(),
            }
        ],
    }
    return reg.put(
        f"/v2/{repo}/manifests/{tag}", content=json.dumps(manifest).encode(), headers={"Content-Type": MANIFEST_V2}
    )


def test_state_points_at_the_real_registry(emulator_with_registry: EmulatorProcess) -> None:
    emu = emulator_with_registry
    port = emu.registry_host.split(":")[1]
    assert emu.registry_host == f"127.0.0.1:{port}"
    assert emu.registry == f"127.0.0.1:{port}/sandbox"
    assert emu.registry_url == f"http://127.0.0.1:{port}"
    assert _alive(int(emu.state["registry_pid"]))
    # The partner API hands out the same registry the state file names.
    r = httpx.get(emu.url + "/v1/partner", headers={H: emu.partner_key})
    assert r.json()["registry"] == emu.registry
    # The registry delegates to our realm.
    challenge = httpx.get(emu.registry_url + "/v2/").headers["www-authenticate"]
    assert challenge == f'Bearer realm="{emu.realm}",service="{realm.SERVICE}"'
    assert "registry_token" not in (Path(emu.state["registry_log"]).read_text())


def test_login_bearer_opens_v2(emulator_with_registry: EmulatorProcess) -> None:
    emu = emulator_with_registry
    creds = _creds(emu)
    r = httpx.get(
        emu.realm, params={"service": realm.SERVICE, "client_id": "docker", "offline_token": "true"}, auth=creds
    )
    token = r.json()["token"]
    assert httpx.get(f"{emu.registry_url}/v2/", headers={"Authorization": f"Bearer {token}"}).status_code == 200


def test_push_in_own_namespace_and_denied_elsewhere(emulator_with_registry: EmulatorProcess) -> None:
    emu = emulator_with_registry
    creds = _creds(emu)
    own = _bearer(emu, creds, "repository:sandbox/model:push,pull")
    with httpx.Client(base_url=str(emu.registry_url), headers={"Authorization": f"Bearer {own}"}) as reg:
        assert reg.post("/v2/sandbox/model/blobs/uploads/").status_code == 202
        assert _push_image(reg, "sandbox/model", "v1").status_code == 201
        got = reg.get("/v2/sandbox/model/manifests/v1", headers={"Accept": MANIFEST_V2})
        assert got.status_code == 200 and got.json()["schemaVersion"] == 2
        # The same bearer does not cover another repository.
        assert reg.post("/v2/sandbox/other/blobs/uploads/").status_code == 401
    other = _bearer(emu, creds, "repository:other-org/model:push,pull")
    assert jwt.decode(other, options={"verify_signature": False})["access"][0]["actions"] == []
    r = httpx.post(
        f"{emu.registry_url}/v2/other-org/model/blobs/uploads/", headers={"Authorization": f"Bearer {other}"}
    )
    assert r.status_code == 401
    assert r.json()["errors"][0]["code"] == "UNAUTHORIZED"


def test_pull_only_grant_cannot_push(emulator_with_registry: EmulatorProcess) -> None:
    emu = emulator_with_registry
    pull = _bearer(emu, _creds(emu), "repository:sandbox/model:pull")
    r = httpx.post(f"{emu.registry_url}/v2/sandbox/model/blobs/uploads/", headers={"Authorization": f"Bearer {pull}"})
    assert r.status_code == 401


def test_second_org_pushes_only_to_itself(emulator_with_registry: EmulatorProcess) -> None:
    emu = emulator_with_registry
    org = emu.new_org("acme")
    assert org["registry"] == f"{emu.registry_host}/acme"
    creds = _creds(emu, org["partner_key"])
    assert creds[0] == "acme"
    tok = _bearer(emu, creds, "repository:acme/m:push,pull", "repository:sandbox/m:push,pull")
    auth = {"Authorization": f"Bearer {tok}"}
    assert httpx.post(f"{emu.registry_url}/v2/acme/m/blobs/uploads/", headers=auth).status_code == 202
    assert httpx.post(f"{emu.registry_url}/v2/sandbox/m/blobs/uploads/", headers=auth).status_code == 401


def test_forged_bearer_is_rejected(emulator_with_registry: EmulatorProcess) -> None:
    """Same claims and kid, different key: the registry must check the signature."""
    from cryptography.hazmat.primitives.asymmetric import ec

    emu = emulator_with_registry
    genuine = _bearer(emu, _creds(emu), "repository:sandbox/model:push,pull")
    header = jwt.get_unverified_header(genuine)
    claims = jwt.decode(genuine, options={"verify_signature": False})
    forged = jwt.encode(
        claims, ec.generate_private_key(ec.SECP256R1()), algorithm="ES256", headers={"kid": header["kid"]}
    )
    r = httpx.post(f"{emu.registry_url}/v2/sandbox/model/blobs/uploads/", headers={"Authorization": f"Bearer {forged}"})
    assert r.status_code == 401


def test_revoked_key_keeps_pushing_with_issued_token(emulator_with_registry: EmulatorProcess) -> None:
    emu = emulator_with_registry
    creds = _creds(emu)
    emu.revoke(emu.partner_key)
    assert httpx.post(emu.url + "/v1/registry/token", headers={H: emu.partner_key}).status_code == 403
    tok = _bearer(emu, creds, "repository:sandbox/model:push,pull")
    r = httpx.post(f"{emu.registry_url}/v2/sandbox/model/blobs/uploads/", headers={"Authorization": f"Bearer {tok}"})
    assert r.status_code == 202


def test_skopeo_full_token_flow(emulator_with_registry: EmulatorProcess, tmp_path: Path) -> None:
    """A real client walks 401 -> realm (Basic registry token) -> bearer -> registry."""
    skopeo = require_tool("skopeo", "apt-get install skopeo")
    emu = emulator_with_registry
    creds = _creds(emu)
    own = _bearer(emu, creds, "repository:sandbox/tiny:push,pull")
    with httpx.Client(base_url=str(emu.registry_url), headers={"Authorization": f"Bearer {own}"}) as reg:
        assert _push_image(reg, "sandbox/tiny", "v1").status_code == 201
    base = [skopeo, "--insecure-policy", "--tmpdir", str(tmp_path)]
    env = {**os.environ, "HOME": str(tmp_path), "REGISTRY_AUTH_FILE": str(tmp_path / "auth.json")}
    user_pass = f"{creds[0]}:{creds[1]}"

    def run(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([*base, *args], capture_output=True, text=True, timeout=120, env=env)

    inspect = run("inspect", "--tls-verify=false", "--creds", user_pass, f"docker://{emu.registry}/tiny:v1")
    assert inspect.returncode == 0, inspect.stderr
    assert json.loads(inspect.stdout)["Architecture"] == "amd64"
    copy = run(
        "copy",
        "--src-tls-verify=false",
        "--dest-tls-verify=false",
        "--src-creds",
        user_pass,
        "--dest-creds",
        user_pass,
        f"docker://{emu.registry}/tiny:v1",
        f"docker://{emu.registry}/copy:v1",
    )
    assert copy.returncode == 0, copy.stderr
    denied = run(
        "copy",
        "--src-tls-verify=false",
        "--dest-tls-verify=false",
        "--src-creds",
        user_pass,
        "--dest-creds",
        user_pass,
        f"docker://{emu.registry}/tiny:v1",
        f"docker://{emu.registry_host}/other-org/tiny:v1",
    )
    assert denied.returncode != 0
    assert "denied" in denied.stderr.lower() or "unauthorized" in denied.stderr.lower()
    # An expired registry token: the realm's 401 details reach the user.
    emu.expire_registry_tokens(creds[1])
    expired = run("inspect", "--tls-verify=false", "--creds", user_pass, f"docker://{emu.registry}/tiny:v1")
    assert expired.returncode != 0
    assert "registry token expired" in expired.stderr
    # A token the server invalidated before its expiry: a different message (issue 10.4).
    fresh = _creds(emu)
    assert (
        run("inspect", "--tls-verify=false", "--creds", ":".join(fresh), f"docker://{emu.registry}/tiny:v1").returncode
        == 0
    )
    emu.control("POST", "registry-tokens/revoke", {"registry_token": fresh[1]})
    revoked = run("inspect", "--tls-verify=false", "--creds", ":".join(fresh), f"docker://{emu.registry}/tiny:v1")
    assert revoked.returncode != 0
    assert "revoked by server" in revoked.stderr and "expired" not in revoked.stderr
    stats = emu.stats()["realm"]
    assert stats["granted"] >= 4 and stats["denied_expired"] >= 1 and stats["denied_revoked"] >= 1
    assert stats["denied"] == stats["denied_expired"] + stats["denied_revoked"]
    assert creds[1] not in inspect.stderr + copy.stderr + denied.stderr
    assert fresh[1] not in revoked.stderr


def test_sigterm_stops_the_registry(tmp_path: Path) -> None:
    require_tool("docker-registry", "apt-get install docker-registry")
    emu = start_emulator(tmp_path, "--with-registry")
    reg_pid = int(emu.state["registry_pid"])
    assert _alive(reg_pid)
    os.kill(emu.pid, signal.SIGTERM)
    assert emu.proc.wait(15) == 0
    deadline = time.monotonic() + 5
    while _alive(reg_pid) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not _alive(reg_pid)
    assert not Path(emu.state["work_dir"]).exists()


def test_sigkill_of_emulator_still_ends_the_registry(tmp_path: Path) -> None:
    """PR_SET_PDEATHSIG: no orphaned registry even when the emulator is killed -9."""
    require_tool("docker-registry", "apt-get install docker-registry")
    emu = start_emulator(tmp_path, "--with-registry")
    reg_pid = int(emu.state["registry_pid"])
    os.kill(emu.pid, signal.SIGKILL)
    emu.proc.wait(10)
    deadline = time.monotonic() + 10
    while _alive(reg_pid) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not _alive(reg_pid)


def test_python_api_with_registry() -> None:
    require_tool("docker-registry", "apt-get install docker-registry")
    from reactor_ci.emulator.server import Emulator

    with Emulator(with_registry=True) as emu:
        assert emu.registry_proc is not None
        pid = emu.registry_proc.pid
        assert pid is not None and _alive(pid)
        assert emu.registry == f"{emu.registry_proc.host}/sandbox"
        info: dict[str, Any] = emu.info()
        assert info["registry_pid"] == pid and Path(info["realm_cert"]).exists()
    deadline = time.monotonic() + 5
    while _alive(pid) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not _alive(pid)


@pytest.mark.parametrize("bogus", ["/nonexistent/docker-registry"])
def test_missing_registry_binary_is_a_clear_error(bogus: str) -> None:
    from reactor_ci.emulator.registry import RegistryError
    from reactor_ci.emulator.server import Emulator

    emu = Emulator(with_registry=True, registry_binary=bogus)
    with pytest.raises((RegistryError, OSError)):
        emu.start()
    emu.stop()
