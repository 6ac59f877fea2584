"""A hostile environment: numeric settings that are not numbers, no HOME, a HOME that is not there.

The real `reactor-ci` and helper run as subprocesses; Hypothesis checks that the
one settings reader, its fast-path twin and the error agree for any value.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from reactor_ci import settings
from reactor_ci.errors import UsageError
from tests.adversarial.test_store import HOST, KEY, TOKEN, _good, _helper, _write
from tests.clirun import Result, base_env, run
from tests.leaks import assert_no_secret

NUMERIC = sorted(settings.SPECS)


@pytest.mark.parametrize("value", ["nan", "inf", "-inf", "-1", "ten", "1e400", "0x10", ""])
@pytest.mark.parametrize(
    "name", [settings.HTTP_TIMEOUT, settings.RETRY_ATTEMPTS, settings.MIN_TOKEN_LIFETIME, settings.RETRY_MAX_SECONDS]
)
def test_bad_numeric_settings_are_exit_2_naming_the_variable(tmp_path: Path, name: str, value: str) -> None:
    # A blank value means unset, so the login goes on to the (dead) API: the OTHER retry knobs are
    # injected so that its retries take milliseconds, not the default backoff's ~9 s.
    knobs = {settings.RETRY_ATTEMPTS: "1", settings.RETRY_MAX_SECONDS: "0", settings.HTTP_TIMEOUT: "0.5"}
    fast = {k: v for k, v in knobs.items() if k != name} if value == "" else {}
    env = base_env(tmp_path, "http://127.0.0.1:9", REACTOR_API_KEY=KEY, **{**fast, name: value})
    result = run(["login"], env, timeout=60)
    assert "Traceback" not in result.output and "internal error" not in result.output
    assert_no_secret([result.output], [KEY, KEY[3:]])
    if value == "":  # blank means unset: the default, then the (unreachable) API answers
        assert result.code == 4, result.output
        return
    assert result.code == 2, result.output
    assert name in result.stderr and "fix:" in result.stderr


@given(
    raw=st.one_of(st.text(max_size=20), st.floats().map(repr), st.integers().map(str)), name=st.sampled_from(NUMERIC)
)
def test_one_reader_for_every_numeric_setting(raw: str, name: str) -> None:
    env = {name: raw}
    peeked = settings.peek(name, env)
    try:
        value = settings.get(name, env)
    except UsageError as exc:
        assert peeked is None and name in exc.message and name in (exc.fix or "")
        assert int(exc.exit_code) == 2
        return
    assert peeked == value
    _default, low, high, integer, _ = settings.SPECS[name]
    assert low <= value <= high and value == value
    assert not integer or value == int(value)


def _bare(argv: list[str], env: dict[str, str], stdin: str | None = None) -> Result:
    proc = subprocess.run(
        argv, env=env, input=stdin, capture_output=True, text=True, timeout=60,
        stdin=None if stdin is not None else subprocess.DEVNULL,
    )  # fmt: skip
    return Result(proc.returncode, proc.stdout, proc.stderr)


@pytest.mark.parametrize("command", ["login", "status", "logout"])
@pytest.mark.parametrize("home", ["unset", "missing"])
def test_no_home_is_exit_2_naming_the_fix(tmp_path: Path, command: str, home: str) -> None:
    # `env -i`: nothing but what we pass. Python's passwd fallback would be /root.
    env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "REACTOR_API_KEY": KEY, "PYTHONPATH": os.getcwd()}
    missing = tmp_path / "no-such-home"
    if home == "missing":
        env["HOME"] = str(missing)
    passwd_home = Path(os.path.expanduser("~root")) / ".reactor" / "credentials"
    before = passwd_home.exists()
    result = _bare([sys.executable, "-m", "reactor_ci", command], env)
    assert result.code == 2, result.output
    assert "HOME" in result.stderr and "REACTOR_CREDENTIALS" in result.stderr
    assert "Traceback" not in result.output
    assert not missing.exists()  # never created
    assert passwd_home.exists() == before  # never the passwd home either


def test_no_home_with_explicit_credentials_works(tmp_path: Path) -> None:
    creds = tmp_path / "job" / "credentials"
    _write(creds, _good())
    env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "REACTOR_CREDENTIALS": str(creds)}
    got = _helper(env)
    assert got.code == 0 and json.loads(got.stdout)["Secret"] == TOKEN, got.output
    assert (tmp_path / "job" / "helper.log").exists()  # beside the credentials, not in a guessed HOME


def test_helper_without_home_says_so(tmp_path: Path) -> None:
    env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin")}
    got = _helper(env, stdin=HOST)
    assert got.code == 1 and "HOME" in got.stdout and "REACTOR_CREDENTIALS" in got.stdout, got.output


@pytest.mark.parametrize("configured", ["~/creds/credentials", "~"])
def test_tilde_paths_need_a_usable_home(tmp_path: Path, configured: str) -> None:
    env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "REACTOR_CREDENTIALS": configured}
    result = _bare([sys.executable, "-m", "reactor_ci", "status"], {**env, "PYTHONPATH": os.getcwd()})
    assert result.code == 2 and "HOME" in result.stderr, result.output
    got = _helper(env)
    assert got.code == 1 and "HOME" in got.stdout, got.output
    home = tmp_path / "home"
    home.mkdir()
    _write(home / "creds" / "credentials", _good())
    got = _helper({**env, "HOME": str(home), "REACTOR_CREDENTIALS": "~/creds/credentials"})
    assert got.code == 0 and json.loads(got.stdout)["Secret"] == TOKEN, got.output


@pytest.mark.parametrize("value", ["https://staging.example.com", "staging.example.com/acme", "a b", "x:99999"])
def test_a_malformed_registry_allow_list_is_exit_2(tmp_path: Path, value: str) -> None:
    env = base_env(tmp_path, "http://127.0.0.1:9", REACTOR_API_KEY=KEY, REACTOR_CI_REGISTRY_HOSTS=f"ok.example,{value}")
    result = run(["login"], env, timeout=60)
    assert result.code == 2 and "REACTOR_CI_REGISTRY_HOSTS" in result.stderr and "fix:" in result.stderr, result.output


@pytest.mark.parametrize("command", [["status"], ["token"], ["docker-login"], ["login"]])
def test_every_setting_is_checked_at_the_first_command_not_where_used(tmp_path: Path, command: list[str]) -> None:
    # The push progress interval is used only by `push`, hours later: a typo in
    # it must fail the job's first command, with the variable named.
    env = base_env(tmp_path, "http://127.0.0.1:9", REACTOR_API_KEY=KEY, **{settings.PROGRESS_INTERVAL: "nan"})
    result = run(command, env, timeout=60)
    assert result.code == 2, result.output
    assert settings.PROGRESS_INTERVAL in result.stderr and "fix:" in result.stderr
    assert_no_secret([result.output], [KEY, KEY[3:]])


def test_logout_runs_even_with_a_bad_setting(tmp_path: Path) -> None:
    # logout is the `if: always()` cleanup: a bad setting must not keep a credentials file alive.
    env = base_env(tmp_path, "http://127.0.0.1:9", **{settings.PROGRESS_INTERVAL: "nan"})
    result = run(["logout"], env, timeout=60)
    assert result.code == 0, result.output
