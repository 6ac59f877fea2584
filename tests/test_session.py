"""The refresh rule, single-flight refresh across processes, revocation mid-job."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from reactor_ci.api import ReactorAPI
from reactor_ci.credentials import CredentialsStore
from reactor_ci.errors import AuthError
from reactor_ci.keys import ApiKey, KeyKind
from reactor_ci.session import Session


def _session(emulator: Any, path: Path, **kw: Any) -> Session:
    return Session(CredentialsStore(path), ReactorAPI(emulator.url, retry_budget=10), **kw)


def _issued(emulator: Any) -> int:
    return int(emulator.stats()["registry_tokens_issued"])


def test_fresh_token_is_served_from_the_file(emulator: Any, tmp_path: Path) -> None:
    session = _session(emulator, tmp_path / "c", min_remaining=60)
    creds = session.login(ApiKey(emulator.partner_key, KeyKind.PARTNER))
    before = _issued(emulator)
    again = session.fresh()
    assert again.registry_token == creds.registry_token
    assert _issued(emulator) == before


@pytest.mark.slow
def test_refresh_after_half_life(emulator: Any, tmp_path: Path) -> None:
    emulator.config(registry_token_ttl=4)
    session = _session(emulator, tmp_path / "c", min_remaining=0)
    creds = session.login(ApiKey(emulator.partner_key, KeyKind.PARTNER))
    assert session.fresh().registry_token == creds.registry_token
    time.sleep(2.2)  # past half of a 4 s lifetime
    new = session.fresh()
    assert new.registry_token != creds.registry_token
    assert emulator.stats()["registry_tokens_issued"] == 2  # the login's and the refresh's
    assert json.loads((tmp_path / "c").read_text())["registry_token"] == new.registry_token


def test_minimum_lifetime_forces_refresh(emulator: Any, tmp_path: Path) -> None:
    session = _session(emulator, tmp_path / "c", min_remaining=0)
    creds = session.login(ApiKey(emulator.partner_key, KeyKind.PARTNER))
    # A build that needs 13 h of token life left cannot get it from a 12 h token:
    # the refresh happens, and the shortfall is warned about.
    warnings: list[str] = []
    strict = _session(emulator, tmp_path / "c", min_remaining=13 * 3600, warn=warnings.append)
    assert strict.fresh().registry_token != creds.registry_token
    assert any("less than the minimum" in w for w in warnings)


@pytest.mark.slow
def test_revoked_key_keeps_a_live_token_then_fails_clearly(emulator: Any, tmp_path: Path) -> None:
    emulator.config(registry_token_ttl=3)
    warnings: list[str] = []
    session = _session(emulator, tmp_path / "c", min_remaining=0, warn=warnings.append)
    key = emulator.new_key("partner")
    creds = session.login(ApiKey(key, KeyKind.PARTNER))
    emulator.revoke(key)
    time.sleep(1.7)
    kept = session.fresh()
    assert kept.registry_token == creds.registry_token
    assert any("revoked" in w and "generate a new key" in w for w in warnings)
    time.sleep(1.6)
    with pytest.raises(AuthError) as info:
        session.fresh()
    assert "cannot be renewed" in info.value.message and "revoked" in info.value.message
    assert "generate a new key" in (info.value.fix or "")


@pytest.mark.slow
def test_api_down_keeps_a_live_token(emulator: Any, tmp_path: Path) -> None:
    # A 6 s token is due for refresh after 3 s; the failing refresh (two quick attempts, no
    # backoff sleep) then has ~2.8 s before the token expires, enough on a loaded machine.
    emulator.config(registry_token_ttl=6)
    warnings: list[str] = []
    session = Session(
        CredentialsStore(tmp_path / "c"),
        ReactorAPI(emulator.url, max_attempts=2, retry_budget=2, backoff=0.01),
        min_remaining=0,
        warn=warnings.append,
    )
    creds = session.login(ApiKey(emulator.partner_key, KeyKind.PARTNER))
    time.sleep(3.2)
    emulator.inject_fault(path="/v1/registry/token", status=503, count=10)
    assert session.fresh().registry_token == creds.registry_token
    assert warnings and "HTTP 503" in warnings[0]


_WORKER = """
import sys, json
from pathlib import Path
from reactor_ci.api import ReactorAPI
from reactor_ci.credentials import CredentialsStore
from reactor_ci.session import Session
s = Session(CredentialsStore(Path(sys.argv[1])), ReactorAPI(sys.argv[2]), min_remaining=0)
print(s.fresh().registry_token[-6:])
"""


@pytest.mark.slow
def test_parallel_jobs_refresh_once(emulator: Any, tmp_path: Path) -> None:
    emulator.config(registry_token_ttl=4)
    path = tmp_path / "shared-home" / "credentials"
    session = _session(emulator, path, min_remaining=0)
    first = session.login(ApiKey(emulator.partner_key, KeyKind.PARTNER))
    time.sleep(2.2)
    before = _issued(emulator)
    procs = [
        subprocess.Popen([sys.executable, "-c", _WORKER, str(path), emulator.url], stdout=subprocess.PIPE, text=True)
        for _ in range(20)
    ]
    tails = {p.communicate(timeout=60)[0].strip() for p in procs}
    assert all(p.returncode == 0 for p in procs)
    assert _issued(emulator) - before == 1
    assert len(tails) == 1 and first.registry_token[-6:] not in tails
