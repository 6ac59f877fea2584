"""``scan --verify`` against the real emulator: states, every format, only REACTOR_API_URL, bounded.

Each test starts its own emulator process (tests/emulator_fixtures.py) and
reads its request log, so "which key went where, how often" is observed on
the server side, over real loopback HTTP.
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path

import pytest

from reactor_ci.scan import verify
from reactor_ci.scan.finding import Finding
from tests.emulator_fixtures import EmulatorProcess
from tests.leaks import assert_no_secret
from tests.scan_helpers import fake_key, git, init_repo, run_cli

STRIPE = "rk_live_" + fake_key("", 30)


def _env(emulator: EmulatorProcess, **extra: str) -> dict[str, str]:
    return {"REACTOR_API_URL": emulator.url, "NO_PROXY": "*", "no_proxy": "*", "GITHUB_ACTIONS": "", **extra}


def _tree(root: Path, emulator: EmulatorProcess) -> dict[str, str]:
    """One file per state, a duplicate of the live key, and a Stripe key; returns state -> key."""
    revoked = emulator.new_key("partner")
    emulator.revoke(revoked)
    expired = emulator.new_key("app")
    emulator.expire(expired)
    keys = {
        "live-partner": emulator.partner_key,
        "live-app": emulator.app_key,
        "revoked": revoked,
        "expired": expired,
        "invalid": fake_key("rp_"),
    }
    root.mkdir(parents=True, exist_ok=True)
    for name, key in keys.items():
        (root / f"{name}.env").write_text(f"KEY={key}\n")
    (root / "copy of live.env").write_text(f"AGAIN={emulator.partner_key}\n")
    (root / "stripe.env").write_text(f"STRIPE={STRIPE}\n")
    return keys


def _assert_no_key(text: str, keys: dict[str, str]) -> None:
    assert_no_secret([text], [*keys.values(), STRIPE])


def test_verify_states_in_every_format(tmp_path: Path, emulator: EmulatorProcess) -> None:
    keys = _tree(tmp_path / "tree", emulator)
    emulator.reset_stats()
    proc = run_cli(["--verify", "--format", "json", "."], cwd=str(tmp_path / "tree"), env=_env(emulator))
    assert proc.returncode == 1, proc.stderr
    states = {f["path"]: f.get("verified") for f in json.loads(proc.stdout)["findings"]}
    assert states == {
        "live-partner.env": "live",
        "copy of live.env": "live",
        "live-app.env": "live",
        "revoked.env": "revoked",
        "expired.env": "expired",
        "invalid.env": "invalid",
        "stripe.env": None,  # never verified, never sent
    }
    assert "verified 5 distinct key(s) against" in proc.stderr and "2 live" in proc.stderr
    # Server side: one call per DISTINCT Reactor key, the harmless one for its kind, no Stripe key.
    requests = emulator.requests()
    assert sorted((r["method"], r["path"]) for r in requests) == [
        ("GET", "/v1/partner"),
        ("GET", "/v1/partner"),
        ("GET", "/v1/partner"),
        ("POST", "/tokens"),
        ("POST", "/tokens"),
    ]
    assert all(r["body"] == {"expires_after": 60} for r in requests if r["path"] == "/tokens")
    sent = {str(r.get("key", "")) for r in requests}  # redacted by the emulator: prefix + last 4
    assert not any(k.endswith(STRIPE[-4:]) for k in sent)
    assert {k[-4:] for k in sent} == {v[-4:] for v in keys.values()}
    assert emulator.stats()["registry_tokens_issued"] == 0  # no registry token minted by a check
    outputs = [proc.stdout, proc.stderr]

    for fmt, live_says in (
        ("text", "[verified: live, revoke it now]"),
        ("sarif", '"verified": "live"'),
        ("github", "LIVE key"),
    ):
        out = run_cli(["--verify", "--format", fmt, "."], cwd=str(tmp_path / "tree"), env=_env(emulator))
        assert out.returncode == 1, out.stderr
        assert live_says in out.stdout and "revoke it now" in out.stdout
        assert "fix [reactor-partner-key, verified live]: VERIFIED LIVE" in out.stderr
        assert "fix [reactor-partner-key, verified invalid]:" in out.stderr
        outputs += [out.stdout, out.stderr]
    text = outputs[2]
    assert "live-partner.env:1:5: reactor-partner-key" in text and "[verified: revoked]" in text
    assert len(text.splitlines()) == 7
    _assert_no_key("\n".join(outputs) + emulator.log(), keys)


def test_without_verify_no_network_call_and_no_httpx(tmp_path: Path, emulator: EmulatorProcess) -> None:
    keys = _tree(tmp_path / "tree", emulator)
    emulator.reset_stats()
    for fmt in ("text", "json", "sarif", "github"):
        proc = run_cli(["--format", fmt, "."], cwd=str(tmp_path / "tree"), env=_env(emulator))
        assert proc.returncode == 1
        assert "verified" not in proc.stdout
        _assert_no_key(proc.stdout + proc.stderr, keys)
    assert emulator.requests() == []
    probe = (
        "import sys; from reactor_ci.scan.cli import main; rc = main(['--format', 'sarif', '-q', '.']); "
        "sys.stdout.flush(); "
        "print('\\nMODULES', sorted(m for m in ('httpx', 'reactor_ci.api', 'reactor_ci.scan.verify') if m in sys.modules))"
    )
    proc = subprocess.run(
        [sys.executable, "-c", probe],
        cwd=str(tmp_path / "tree"),
        capture_output=True,
        text=True,
        timeout=60,
        env={**_env(emulator), "PATH": "/usr/bin:/bin"},
    )
    assert proc.stdout.rstrip().endswith("MODULES []"), proc.stdout[-300:] + proc.stderr
    assert emulator.requests() == []


def test_verify_with_nothing_to_verify_sends_nothing(tmp_path: Path, emulator: EmulatorProcess) -> None:
    (tmp_path / "pay.py").write_text(f"S = '{STRIPE}'\n")
    emulator.reset_stats()
    proc = run_cli(["--verify", "pay.py"], cwd=str(tmp_path), env=_env(emulator))
    assert proc.returncode == 1
    assert emulator.requests() == []
    assert STRIPE not in proc.stdout + proc.stderr


def test_server_failure_is_unknown_and_not_retried(tmp_path: Path, emulator: EmulatorProcess) -> None:
    (tmp_path / "k.env").write_text(f"K={emulator.partner_key}\n")
    emulator.inject_fault(path="/v1/partner", status=503, count=1)
    emulator.reset_stats()
    proc = run_cli(["--verify", "--format", "json", "k.env"], cwd=str(tmp_path), env=_env(emulator))
    assert json.loads(proc.stdout)["findings"][0]["verified"] == "unknown"
    assert len(emulator.requests()) == 1
    assert "treat it as live" in proc.stderr


def test_a_stalled_server_cannot_hold_the_scan(tmp_path: Path, emulator: EmulatorProcess) -> None:
    (tmp_path / "k.env").write_text(f"K={emulator.partner_key}\nA={emulator.app_key}\n")
    emulator.inject_fault(path="/v1/partner", delay=60, count=1)
    started = time.monotonic()
    proc = run_cli(
        ["--verify", "--format", "json", "k.env"],
        cwd=str(tmp_path),
        env=_env(emulator, REACTOR_CI_VERIFY_MAX_SECONDS="2"),
    )
    elapsed = time.monotonic() - started
    assert elapsed < 15, elapsed
    assert [f["verified"] for f in json.loads(proc.stdout)["findings"]] == ["unknown", "unknown"]


def test_bad_settings_exit_2_before_any_key_is_sent(tmp_path: Path, emulator: EmulatorProcess) -> None:
    (tmp_path / "k.env").write_text(f"K={emulator.partner_key}\n")
    emulator.reset_stats()
    for env in (
        {"REACTOR_API_URL": "http://203.0.113.7:8080"},  # plain http off loopback: the key would travel in clear
        {"REACTOR_API_URL": "ftp://example"},
        {"REACTOR_API_URL": emulator.url, "REACTOR_CI_VERIFY_MAX_SECONDS": "nan"},
        {"REACTOR_API_URL": emulator.url, "REACTOR_CI_VERIFY_MAX_SECONDS": "-1"},
    ):
        proc = run_cli(["--verify", "k.env"], cwd=str(tmp_path), env=env)
        assert proc.returncode == 2, (env, proc.stderr)
        assert "Traceback" not in proc.stderr and emulator.partner_key not in proc.stdout + proc.stderr
    assert emulator.requests() == []


def test_rate_limit_dedupe_and_key_cap(emulator: EmulatorProcess) -> None:
    secrets = [fake_key("rp_") for _ in range(6)]
    findings = [Finding("reactor-partner-key", "d", f"f{i}.env", 1, 1, s) for i, s in enumerate(secrets * 2)]
    emulator.reset_stats()
    started = time.monotonic()
    result = verify.verify_findings(findings, api_url=emulator.url, rate=4.0, total_seconds=30.0)
    elapsed = time.monotonic() - started
    assert elapsed >= 5 / 4.0 - 0.05  # 6 calls at 4/s: 5 intervals
    assert result.counts == {"invalid": 6}
    assert len(emulator.requests()) == 6  # each duplicate checked once
    assert {f.verified for f in findings} == {"invalid"}

    emulator.reset_stats()
    capped = [Finding("reactor-app-key", "d", "a", 1, 1, fake_key("rk_")) for _ in range(4)]
    result = verify.verify_findings(capped, api_url=emulator.url, rate=50.0, max_keys=2, total_seconds=30.0)
    assert len(emulator.requests()) == 2
    assert result.counts == {"invalid": 2, "unknown": 2} and result.skipped == 2
    assert [f.verified for f in capped] == ["invalid", "invalid", "unknown", "unknown"]


@pytest.mark.parametrize("state", ["revoke", "expire"])
def test_state_changes_are_seen(emulator: EmulatorProcess, state: str) -> None:
    key = emulator.new_key("partner")
    f = Finding("reactor-partner-key", "d", "a", 1, 1, key)
    verify.verify_findings([f], api_url=emulator.url, total_seconds=30.0)
    assert f.verified == "live"
    getattr(emulator, state)(key)
    verify.verify_findings([f], api_url=emulator.url, total_seconds=30.0)
    assert f.verified == {"revoke": "revoked", "expire": "expired"}[state]


def test_deadline_abandons_a_call_that_never_returns() -> None:
    # A server that drips one byte a second defeats per-read timeouts; the worker thread does not.
    def slow() -> str:
        time.sleep(30)
        return "live"

    started = time.monotonic()
    assert verify._call_with_deadline(slow, 0.3) == "unknown"
    assert time.monotonic() - started < 2
    assert verify._call_with_deadline(lambda: "revoked", 5) == "revoked"

    def boom() -> str:
        raise RuntimeError("client bug")

    assert verify._call_with_deadline(boom, 5) == "unknown"


def test_verify_a_key_found_in_history(tmp_path: Path, emulator: EmulatorProcess) -> None:
    repo = init_repo(str(tmp_path / "repo"))
    Path(repo, "deploy.env").write_text(f"REACTOR_API_KEY={emulator.partner_key}\n")
    git(repo, "add", ".")
    git(repo, "commit", "-qm", "leak")
    Path(repo, "deploy.env").write_text("REACTOR_API_KEY=${{ secrets.KEY }}\n")
    git(repo, "commit", "-qam", "remove")
    proc = run_cli(["--all-history", "--verify"], cwd=repo, env=_env(emulator))
    assert proc.returncode == 1, proc.stderr
    assert "deploy.env:1:17: reactor-partner-key" in proc.stdout and "[verified: live, revoke it now]" in proc.stdout
    assert "fix [reactor-partner-key, git history, verified live]: VERIFIED LIVE" in proc.stderr
    assert "rewriting history" in proc.stderr
    assert emulator.partner_key not in proc.stdout + proc.stderr


def test_a_redirect_never_carries_the_key_elsewhere(tmp_path: Path, emulator: EmulatorProcess) -> None:
    """The API answers 307 to another (loopback) server: the key must not follow it."""
    import http.server
    import threading

    seen: list[str] = []

    class Recorder(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            seen.append(f"{self.path} {dict(self.headers)}")
            self.send_response(200)
            self.end_headers()

        do_POST = do_GET

        def log_message(self, *args: object) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Recorder)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        elsewhere = f"http://127.0.0.1:{server.server_address[1]}/steal"
        for path in ("/v1/partner", "/tokens"):
            emulator.inject_fault(path=path, status=307, headers={"Location": elsewhere}, body="", count=1)
        (tmp_path / "k.env").write_text(f"P={emulator.partner_key}\nA={emulator.app_key}\n")
        proc = run_cli(["--verify", "--format", "json", "k.env"], cwd=str(tmp_path), env=_env(emulator))
        assert [f["verified"] for f in json.loads(proc.stdout)["findings"]] == ["unknown", "unknown"]
    finally:
        server.shutdown()
        server.server_close()
    assert seen == []
