"""The doctor against a real dockerd, a real registry and the real docker CLI.

The classic: the helper is installed in a venv whose ``bin`` is not on PATH.
docker finds no ``docker-credential-reactor``, pushes anonymously, and the
registry answers "denied"; nothing in that message names the cause. The
doctor must name it, and once PATH is fixed report all clear and the same
push must work. ``docker_world`` greps every output for the key and tokens.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:
    from tests.docker_fixtures import DockerWorld

pytestmark = pytest.mark.real("dockerd + docker-registry + docker CLI")
pytest_plugins = ["tests.docker_fixtures"]

NO_VENV_ON_PATH = {"PATH": "/usr/local/bin:/usr/bin:/bin"}


def test_doctor_explains_the_anonymous_denied_push(docker_world: DockerWorld) -> None:
    world = docker_world
    world.login("--docker-login")
    image = world.image("doctor")

    push = world.docker("push", image, extra_env=NO_VENV_ON_PATH)
    assert push.code != 0, push
    assert "denied" in push.output or "unauthorized" in push.output, push

    doc = world.reactor_ci("doctor", "--json", extra_env=NO_VENV_ON_PATH)
    data = json.loads(doc.stdout)
    failed = [d for d in data if d["status"] == "fail"]
    assert [d["check"] for d in failed] == ["helper"], doc
    assert "ANONYMOUSLY" in failed[0]["detail"] and "export PATH=" in failed[0]["fix"]
    assert doc.code == 5, doc

    healthy = world.reactor_ci("doctor", "--json")
    assert healthy.code == 0, healthy
    report = {d["check"]: d for d in json.loads(healthy.stdout) if d["status"] == "ok"}
    assert world.engine.host.removeprefix("unix://") in report["docker-daemon"]["detail"]
    assert "from the stored credentials" in report["key"]["detail"]
    assert world.docker("push", image).code == 0
