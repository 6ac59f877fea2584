"""Issue 10.4 on real parts: a registry token the server revoked, seen through `docker push`.

dockerd + the emulator's real registry + the installed helper. The realm's
refusal reaches the user through docker as `unauthorized: <details>`; the
details say "revoked by server" (not "expired") and name the command that
recovers, and that command does recover.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:
    from tests.docker_fixtures import DockerWorld

pytestmark = pytest.mark.real("dockerd + docker-registry + docker CLI")
pytest_plugins = ["tests.docker_fixtures"]


def test_revoked_token_push_says_revoked_and_login_recovers(docker_world: DockerWorld) -> None:
    w = docker_world
    w.login("--docker-login")
    first = w.docker("push", w.image("model", "v1"))
    assert first.code == 0, first
    token = w.credentials()["registry_token"]
    assert w.emulator.control("POST", "registry-tokens/revoke", {"registry_token": token}) == {"revoked": 1}

    denied = w.docker("push", w.image("model", "v2"))
    assert denied.code != 0, denied
    assert "revoked by server" in denied.output, denied
    assert "expired" not in denied.output
    assert "reactor-ci login" in denied.output  # the fix it names...

    w.login()  # ...is the fix: a NEW token from the API
    assert w.credentials()["registry_token"] != token
    again = w.docker("push", w.image("model", "v3"))
    assert again.code == 0, again
    realm = w.emulator.stats()["realm"]
    assert realm["denied_revoked"] >= 1 and realm["denied_expired"] == 0
