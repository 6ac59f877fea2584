from __future__ import annotations

import json
import os
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from reactor_ci import redact

# The variables that move reactor-ci off the test's private home, CI detection or settings.
_SCRUBBED = (
    "REACTOR_API_KEY",
    "REACTOR_CI_MIN_TOKEN_LIFETIME",
    "REACTOR_CI_REGISTRY_HOSTS",
    "REACTOR_CI_DEBUG",
    "GITHUB_ACTIONS",
    "GITLAB_CI",
    "TF_BUILD",
    "BUILDKITE",
    "CIRCLECI",
    "JENKINS_URL",
    "BITBUCKET_BUILD_NUMBER",
)
STAMP = "%Y-%m-%dT%H:%M:%SZ"


@pytest.fixture(autouse=True)
def _fresh_redaction_registry() -> None:
    # The registry of known secrets is process-wide by design; tests must not
    # see each other's secrets.
    redact._reset_for_tests()


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A private HOME with every reactor-ci path inside it, no CI, and an API nothing listens on.

    Test files that need more (a registry host, an emulator URL) set it on top; a file's own
    ``home`` fixture overrides this one.
    """
    for name in _SCRUBBED:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("HOME", str(tmp_path))
    monkeypatch.setenv("REACTOR_CREDENTIALS", str(tmp_path / "creds"))
    monkeypatch.setenv("REACTOR_CI_HELPER_LOG", str(tmp_path / "helper.log"))
    monkeypatch.setenv("DOCKER_CONFIG", str(tmp_path / "docker"))
    monkeypatch.setenv("REACTOR_CI_PROVIDER", "local")
    monkeypatch.setenv("REACTOR_API_URL", "http://127.0.0.1:9")  # nothing listens: a refresh fails
    return tmp_path


CredentialsWriter = Callable[..., Path]


def credentials_json(*, left: float = 11 * 3600, lifetime: float | None = 12 * 3600, **fields: Any) -> dict[str, Any]:
    """A credentials file's JSON: valid by default, ``left`` seconds to expiry; any field overridden
    (``None`` drops it)."""
    now = time.time()
    data: dict[str, Any] = {
        "api_key": "rp_conftestcanary_0123456789abcdef",
        "partner_id": "sandbox",
        "registry": "registry.reactor.inc/sandbox",
        "registry_token": "regtok-conftest-canary-0123456789",
        "registry_token_expiry": time.strftime(STAMP, time.gmtime(now + left)),
    }
    if lifetime is not None:
        data["registry_token_issued_at"] = time.strftime(STAMP, time.gmtime(now + left - lifetime))
    data.update(fields)
    return {k: v for k, v in data.items() if v is not None}


@pytest.fixture
def write_credentials(home: Path) -> CredentialsWriter:
    """Write a credentials file (JSON of :func:`credentials_json`, or raw ``text``) as the store would:
    mode 0600 at ``$REACTOR_CREDENTIALS``. Returns its path."""

    def write(text: str | bytes | None = None, **kwargs: Any) -> Path:
        path = Path(os.environ["REACTOR_CREDENTIALS"])
        if text is None:
            text = json.dumps(credentials_json(**kwargs))
        payload = text.encode("utf-8", "surrogatepass") if isinstance(text, str) else text
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "wb") as handle:
            handle.write(payload)
        return path

    return write


@pytest.fixture(scope="session")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """This checkout's wheel, built once per session (the GitLab component and other-CI jobs install it)."""
    from tests.wheel import build_wheel

    return build_wheel(tmp_path_factory)


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Seconds-long (``slow``) tests first, in their collected order: with ``-n 2`` the run then ends
    on short tests on both cores instead of one core finishing a long test alone."""
    items.sort(key=lambda item: item.get_closest_marker("slow") is None)


# Real-part fixtures live beside the tests that need them.
pytest_plugins = ["tests.emulator_fixtures", "tests.sdk_wheel"]
