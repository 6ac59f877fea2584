"""login / status / token / logout against the real emulator over loopback HTTP.

Every test greps everything the CLI printed for the canary secrets: the keys,
the registry token (read back from the store), and JWTs where they were not
explicitly asked for on stdout.
"""

from __future__ import annotations

import base64
import json
import os
import stat
import time
from pathlib import Path
from typing import Any

import pytest

from tests.clirun import Result, base_env, run
from tests.leaks import assert_no_secret


@pytest.fixture
def home(tmp_path: Path) -> Path:
    h = tmp_path / "home"
    h.mkdir()
    return h


def _secrets(emulator: Any, home: Path, *extra: str) -> list[str]:
    found = [emulator.partner_key, emulator.app_key, *extra]
    cred = home / ".reactor" / "credentials"
    if cred.exists():
        data = json.loads(cred.read_text())
        found.append(data["registry_token"])
        user = data.get("registry_username") or data["partner_id"]
        found.append(base64.b64encode(f"{user}:{data['registry_token']}".encode()).decode())
    return found


def _login(emulator: Any, home: Path, **env: str) -> Result:
    env.setdefault("REACTOR_API_KEY", emulator.partner_key)
    return run(["login"], base_env(home, emulator.url, **env))


def test_login_status_logout(emulator: Any, home: Path) -> None:
    env = base_env(home, emulator.url)
    first = _login(emulator, home, REACTOR_API_KEY=f"{emulator.partner_key}\n")  # paste error: accepted
    assert first.code == 0, first.stderr
    cred = home / ".reactor" / "credentials"
    data = json.loads(cred.read_text())
    assert data["api_key"] == emulator.partner_key
    assert data["partner_id"] == emulator.partner_id
    assert data["registry"] == emulator.registry
    assert data["registry_token_expiry"].endswith("Z")
    assert stat.S_IMODE(cred.stat().st_mode) == 0o600
    assert stat.S_IMODE(cred.parent.stat().st_mode) == 0o700
    assert "Logged in to Reactor as" in first.stderr

    status = run(["status", "--json"], env)
    assert status.code == 0
    doc = json.loads(status.stdout)
    assert doc["partner_id"] == emulator.partner_id
    assert doc["registry"] == emulator.registry
    assert doc["state"] == "valid"
    assert 43000 < doc["expires_in_seconds"] <= 43200
    human = run(["status"], env)
    assert human.code == 0 and "rp_…" + emulator.partner_key[-4:] in human.stderr

    logout = run(["logout"], env)
    again = run(["logout"], env)
    assert logout.code == 0 and again.code == 0
    assert not cred.exists()
    missing = run(["status", "--json"], env)
    assert missing.code == 3
    assert json.loads(missing.stdout)["state"] == "missing"
    assert "reactor-ci login" in missing.stderr
    assert_no_secret([r.output for r in (first, status, human, logout, again, missing)], _secrets(emulator, home))


def test_login_keeps_unknown_fields_of_the_official_cli(emulator: Any, home: Path) -> None:
    cred = home / ".reactor" / "credentials"
    cred.parent.mkdir(mode=0o700)
    cred.write_text(json.dumps({"telemetry": False, "api_key": "rp_old", "partner_id": "x"}))
    os.chmod(cred, 0o600)
    result = _login(emulator, home)
    assert result.code == 0, result.stderr
    data = json.loads(cred.read_text())
    assert data["telemetry"] is False
    assert data["api_key"] == emulator.partner_key


def test_api_key_from_stdin(emulator: Any, home: Path) -> None:
    result = run(["login", "--api-key-stdin"], base_env(home, emulator.url), stdin=emulator.partner_key + "\n")
    assert result.code == 0, result.stderr
    assert_no_secret([result.output], _secrets(emulator, home))


def test_status_expired_and_expiring(emulator: Any, home: Path) -> None:
    assert _login(emulator, home).code == 0
    cred = home / ".reactor" / "credentials"
    data = json.loads(cred.read_text())
    data.pop("registry_token_issued_at", None)
    data["registry_token_expiry"] = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(time.time() + 600))
    cred.write_text(json.dumps(data))
    expiring = run(["status", "--json"], base_env(home))
    assert expiring.code == 0 and json.loads(expiring.stdout)["state"] == "expiring"
    data["registry_token_expiry"] = "2020-01-01T00:00:00Z"
    cred.write_text(json.dumps(data))
    expired = run(["status", "--json"], base_env(home))
    assert expired.code == 3
    assert json.loads(expired.stdout)["state"] == "expired"
    human = run(["status"], base_env(home))
    assert human.code == 3 and "EXPIRED" in human.stderr and "docker-login" in human.stderr


def test_token_json_and_clamping(emulator: Any, home: Path) -> None:
    env = base_env(home, emulator.url, REACTOR_API_KEY=emulator.app_key)
    short = run(["token", "--expires-after", "900", "--json"], env)
    assert short.code == 0, short.stderr
    doc = json.loads(short.stdout)
    assert set(doc) == {"jwt", "expires_at"}
    assert abs(doc["expires_at"] - (time.time() + 900)) < 30
    assert "clamped" not in short.stderr
    assert_no_secret([short.stderr], [doc["jwt"], emulator.app_key])

    long = run(["token", "--expires-after", str(24 * 3600), "--json"], env)
    assert long.code == 0
    doc2 = json.loads(long.stdout)
    assert doc2["expires_at"] <= time.time() + 6 * 3600 + 5
    assert "clamped" in long.stderr and "6 h" in long.stderr

    plain = run(["token"], env)
    assert plain.code == 0 and plain.stdout == ""  # no JWT on stdout unless asked
    raw = run(["token", "--print"], env)
    assert raw.stdout.count(".") == 2 and raw.stdout.startswith("eyJ")
    assert_no_secret([long.stderr, plain.output, raw.stderr], [doc2["jwt"], raw.stdout.strip(), emulator.app_key])


def test_token_on_github_masks_first_and_sets_outputs(emulator: Any, home: Path, tmp_path: Path) -> None:
    out_file = tmp_path / "gh_output"
    out_file.touch()
    env = base_env(
        home,
        emulator.url,
        REACTOR_API_KEY=emulator.app_key,
        GITHUB_ACTIONS="true",
        GITHUB_OUTPUT=str(out_file),
        GITHUB_ENV=str(tmp_path / "gh_env"),
        GITHUB_STEP_SUMMARY=str(tmp_path / "summary"),
        RUNNER_TEMP=str(tmp_path / "runner_temp"),
    )
    result = run(["token", "--expires-after", "100000"], env)
    assert result.code == 0, result.output
    outputs = out_file.read_text()
    assert "jwt<<" in outputs and "jwt-expires-at<<" in outputs
    jwt = outputs.split("jwt<<", 1)[1].split("\n")[1]
    assert jwt.startswith("eyJ")
    assert f"::add-mask::{emulator.app_key}" in result.output
    assert f"::add-mask::{jwt}" in result.output
    assert "::warning" in result.output and "clamped" in result.output
    # Nothing but the mask commands may carry the secrets.
    without_masks = "\n".join(line for line in result.output.splitlines() if not line.startswith("::add-mask::"))
    assert_no_secret([without_masks], [jwt, emulator.app_key])


def test_login_on_github_is_job_scoped(emulator: Any, home: Path, tmp_path: Path) -> None:
    runner_temp = tmp_path / "runner_temp"
    runner_temp.mkdir()
    gh_env = tmp_path / "gh_env"
    gh_out = tmp_path / "gh_out"
    env = base_env(
        home,
        emulator.url,
        REACTOR_API_KEY=emulator.partner_key,
        GITHUB_ACTIONS="true",
        GITHUB_OUTPUT=str(gh_out),
        GITHUB_ENV=str(gh_env),
        GITHUB_STEP_SUMMARY=str(tmp_path / "summary"),
        RUNNER_TEMP=str(runner_temp),
    )
    result = run(["login"], env)
    assert result.code == 0, result.output
    cred = runner_temp / "reactor-ci" / "credentials"
    assert cred.exists()
    assert not (home / ".reactor" / "credentials").exists()
    assert str(cred) in gh_env.read_text()
    outputs = gh_out.read_text()
    for name in ("partner-id", "registry", "registry-token-expiry"):
        assert f"{name}<<" in outputs
    summary = (tmp_path / "summary").read_text()
    assert emulator.partner_id in summary and emulator.registry in summary
    token = json.loads(cred.read_text())["registry_token"]
    assert f"::add-mask::{token}" in result.output
    assert_no_secret([summary, outputs, gh_env.read_text()], [token, emulator.partner_key])


@pytest.mark.parametrize(
    ("key", "code", "needle"),
    [
        ("", 2, "empty"),
        ("rp_abc def ghi jkl", 2, "whitespace"),
        ('"rp_abcdefghijklmnop"', 2, "quote"),
        ("sk_abcdefghijklmnopqrst", 2, "not a Reactor key"),
        ("rk_live_abcdefghijklmnopqrstuvwx", 2, "Stripe"),
    ],
)
def test_bad_keys(emulator: Any, home: Path, key: str, code: int, needle: str) -> None:
    result = run(["login"], base_env(home, emulator.url, REACTOR_API_KEY=key))
    assert result.code == code
    assert needle in result.stderr
    assert "fix:" in result.stderr
    assert not (home / ".reactor" / "credentials").exists()
    if len(key) > 8:
        assert_no_secret([result.output], [key.strip('"')])


def test_app_key_for_login_and_partner_key_for_token(emulator: Any, home: Path) -> None:
    login = run(["login"], base_env(home, emulator.url, REACTOR_API_KEY=emulator.app_key))
    assert login.code == 2 and "rp_ partner key" in login.stderr
    token = run(["token"], base_env(home, emulator.url, REACTOR_API_KEY=emulator.partner_key))
    assert token.code == 2 and "rk_ app key" in token.stderr
    assert_no_secret([login.output, token.output], [emulator.app_key, emulator.partner_key])


def test_server_side_key_errors(emulator: Any, home: Path) -> None:
    unknown = run(["login"], base_env(home, emulator.url, REACTOR_API_KEY="rp_" + "N0tAKnownKey1234567890abcdefghij"))
    assert unknown.code == 3 and "invalid" in unknown.stderr and "Dashboard" in unknown.stderr
    expired_key = emulator.new_key("partner")
    emulator.expire(expired_key)
    expired = run(["login"], base_env(home, emulator.url, REACTOR_API_KEY=expired_key))
    assert expired.code == 3 and "expired" in expired.stderr and "generate a new key" in expired.stderr
    revoked_key = emulator.new_key("partner")
    emulator.revoke(revoked_key)
    revoked = run(["login"], base_env(home, emulator.url, REACTOR_API_KEY=revoked_key))
    assert revoked.code == 3 and "revoked" in revoked.stderr
    assert_no_secret([r.output for r in (unknown, expired, revoked)], [expired_key, revoked_key])


def test_corrupt_credentials_file_is_not_overwritten(emulator: Any, home: Path) -> None:
    cred = home / ".reactor" / "credentials"
    cred.parent.mkdir(mode=0o700)
    cred.write_text("{not json")
    os.chmod(cred, 0o600)
    result = _login(emulator, home)
    assert result.code == 2
    assert "not valid JSON" in result.stderr and "will not overwrite" in result.stderr
    assert cred.read_text() == "{not json"
    assert run(["status"], base_env(home)).code == 2


def test_symlinked_and_directory_paths(emulator: Any, home: Path, tmp_path: Path) -> None:
    target = tmp_path / "target"
    target.write_text("")
    link = tmp_path / "link"
    link.symlink_to(target)
    linked = _login(emulator, home, REACTOR_CREDENTIALS=str(link))
    assert linked.code == 2 and "symlink" in linked.stderr
    assert target.read_text() == ""
    directory = tmp_path / "dir"
    directory.mkdir()
    as_dir = _login(emulator, home, REACTOR_CREDENTIALS=str(directory))
    assert as_dir.code == 2 and "directory" in as_dir.stderr


def test_unwritable_home(emulator: Any, tmp_path: Path) -> None:
    blocker = tmp_path / "not-a-dir"
    blocker.write_text("")
    result = run(["login"], base_env(blocker, emulator.url, REACTOR_API_KEY=emulator.partner_key))
    assert result.code == 2
    assert "REACTOR_CREDENTIALS" in result.stderr
    assert_no_secret([result.output], [emulator.partner_key])


def test_git_worktree_warning(emulator: Any, home: Path, tmp_path: Path) -> None:
    repo = tmp_path / "repo"
    (repo / ".git").mkdir(parents=True)
    result = _login(emulator, home, REACTOR_CREDENTIALS=str(repo / "creds.json"))
    assert result.code == 0
    assert "git work tree" in result.stderr


def test_world_readable_file_is_tightened(emulator: Any, home: Path) -> None:
    assert _login(emulator, home).code == 0
    cred = home / ".reactor" / "credentials"
    os.chmod(cred, 0o644)
    result = run(["status"], base_env(home))
    assert result.code == 0 and "readable by other users" in result.stderr
    assert stat.S_IMODE(cred.stat().st_mode) == 0o600


def test_plain_http_to_a_remote_host_is_refused(home: Path) -> None:
    result = run(
        ["login"],
        base_env(home, "http://api.example.invalid", REACTOR_API_KEY="rp_" + "A1b2C3d4E5f6G7h8I9j0K1l2M3n4O5p6"),
    )
    assert result.code == 2 and "in clear" in result.stderr


def test_usage_errors_exit_2(home: Path) -> None:
    assert run(["nope"], base_env(home)).code == 2
    assert run(["token", "--expires-after", "-5"], base_env(home, REACTOR_API_KEY="rk_x")).code == 2
