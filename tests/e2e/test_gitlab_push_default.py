"""`reactor-ci push` in the GitLab component with its DEFAULT install (issue 20), under gitlab-ci-local.

The default install is this release's git tag (served from a local repository through git's
``insteadOf``), resolved against a local package index that serves exactly the locked wheels
(tests/e2e/test_gitlab_install.py builds both). A partner job then pushes with ``reactor-ci push`` (the
docker SDK, which the component installs for partner keys at the lock's version) to the emulator's
registry through a real dockerd, and an app-key job shows the SDK is installed only where it is used.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.e2e.test_gitlab_ci_local import COMPONENT, assert_no_leak, registry_canaries, run_pipeline
from tests.e2e.test_gitlab_install import UPSTREAM, _packages, _upstream_clone, package_index
from tests.emulator_fixtures import EmulatorProcess
from tests.parts import require_tool
from tests.repo import REPO_ROOT
from tests.wheel import build_wheel

pytestmark = pytest.mark.real("gitlab-ci-local")
pytest_plugins = ["tests.docker_fixtures"]


def test_reactor_ci_push_with_the_default_install(
    tmp_path: Path,
    emulator_with_registry: EmulatorProcess,
    dockerd: object,
    tmp_path_factory: pytest.TempPathFactory,
) -> None:
    require_tool("git")
    emu = emulator_with_registry
    capture = tmp_path / "capture"
    capture.mkdir()
    wheel = build_wheel(tmp_path_factory)
    upstream = _upstream_clone(tmp_path)
    docker_host = str(dockerd.host)  # type: ignore[attr-defined]
    with package_index(_packages(tmp_path, wheel)) as index:
        ci_yaml = f"""\
include:
  - component: {COMPONENT}
    inputs:
      api-url: {emu.url}
  - component: {COMPONENT}
    inputs:
      name: reactor-app
      api-key-variable: APP_KEY
      api-url: {emu.url}

variables:
  PIP_CONFIG_FILE: /dev/null
  PIP_INDEX_URL: {index}
  PIP_NO_CACHE_DIR: "1"
  PIP_FIND_LINKS: ""
  PIP_EXTRA_INDEX_URL: ""
  GIT_CONFIG_COUNT: "1"
  GIT_CONFIG_KEY_0: url.file://{upstream}.insteadOf
  GIT_CONFIG_VALUE_0: {UPSTREAM}
  DOCKER_HOST: {docker_host}
  CAPTURE_DIR: {capture}

push:
  extends: .reactor-auth
  script:
    - if [ -f "$REACTOR_CREDENTIALS" ]; then cp "$REACTOR_CREDENTIALS" "$CAPTURE_DIR/credentials.json"; fi
    - mkdir -p "$TMPDIR/rootfs-$CI_JOB_ID" && echo hi > "$TMPDIR/rootfs-$CI_JOB_ID/hi.txt"
    - tar -C "$TMPDIR/rootfs-$CI_JOB_ID" -c . | docker import - "$REACTOR_REGISTRY/gl-sdk:$CI_JOB_ID" >/dev/null
    - reactor-ci push "$REACTOR_REGISTRY/gl-sdk:$CI_JOB_ID"
    - echo "OUT pushed=yes"
    - echo "OUT sdk=$("$REACTOR_CI_DIR/venv/bin/python" -c 'import docker; print(docker.__version__)')"

app:
  extends: .reactor-app
  script:
    - if "$REACTOR_CI_DIR/venv/bin/python" -c 'import docker' 2>/dev/null; then echo "OUT sdk=yes"; else echo "OUT sdk=no"; fi
"""
        run = run_pipeline(tmp_path, ci_yaml, {"REACTOR_API_KEY": emu.partner_key, "APP_KEY": emu.app_key})
    assert run.rc == 0, run.out
    got = run.outputs("push")
    assert got.get("pushed") == "yes", run.job("push")
    lock = (REPO_ROOT / "bundle" / "requirements.txt").read_text()
    assert f"docker=={got['sdk']}" in lock, got  # the extra, at the one lock's version
    assert run.outputs("app").get("sdk") == "no", run.job("app")
    assert emu.stats()["realm"]["granted"] >= 1
    canaries = {
        "partner key": emu.partner_key,
        "app key": emu.app_key,
        **registry_canaries(capture / "credentials.json"),
    }
    assert_no_leak(run, canaries)
