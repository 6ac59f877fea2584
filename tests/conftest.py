from __future__ import annotations

import pytest

from reactor_ci import redact


@pytest.fixture(autouse=True)
def _fresh_redaction_registry() -> None:
    # The registry of known secrets is process-wide by design; tests must not
    # see each other's secrets.
    redact._reset_for_tests()


# Real-part fixtures live beside the tests that need them.
pytest_plugins = ["tests.emulator_fixtures", "tests.sdk_wheel"]
