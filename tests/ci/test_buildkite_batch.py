"""Buildkite masks a batch of secrets in ONE ``buildkite-agent redactor add --format json`` call.

reactor_ci/buildkite_agent.py runs the agent (os.posix_spawn + a pipe, a timeout, output discarded);
the provider and status's fast path both call it; redact.register_many hands a registration's values
over at once. Real processes throughout: shell stand-ins for the agent, which record what they read.
"""

from __future__ import annotations

import ast
import json
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from reactor_ci import buildkite_agent, ci, redact
from reactor_ci.citables import mask_lines
from reactor_ci.credentials import Credentials

SECRET = "canaryBatchSecret0123456789"  # pragma: allowlist secret


def _agent(tmp_path: Path, body: str) -> str:
    path = tmp_path / "bin" / "buildkite-agent"
    path.parent.mkdir(exist_ok=True)
    path.write_text("#!/bin/sh\n" + body)
    path.chmod(0o755)
    return str(path)


def _recorder(tmp_path: Path) -> tuple[str, Path]:
    log = tmp_path / "agent.log"
    body = f'printf "ARGV:%s\\n" "$*" >> {log}; printf "STDIN:" >> {log}; /bin/cat >> {log}; printf "\\n" >> {log}\n'
    return _agent(tmp_path, body), log


@pytest.fixture(autouse=True)
def _fresh_registry() -> Iterator[None]:
    redact._reset_for_tests()
    yield
    redact._reset_for_tests()


# -- the JSON the agent reads ---------------------------------------------------------------------
@settings(max_examples=200, deadline=None)
@given(st.lists(st.text(min_size=1), min_size=1, max_size=8))
def test_the_json_object_holds_each_line_once_stripped(lines: list[str]) -> None:
    """Quotes, backslashes, control and non-ASCII characters: a JSON parser reads back each line, as
    the agent's ``--format none`` kept it (surrounding space trimmed), under distinct keys."""
    data = buildkite_agent.payload(lines)
    assert data.isascii()
    decoded = json.loads(data)
    assert list(decoded.values()) == [line.strip() for line in lines]
    assert len(decoded) == len(lines)


def test_one_call_for_every_line_of_every_value(tmp_path: Path) -> None:
    agent, log = _recorder(tmp_path)
    values = [SECRET, "line-one-secret\n\nline-two-secret\n", SECRET]  # a repeat, a blank line
    assert buildkite_agent.add(agent, values, {"PATH": "/usr/bin:/bin"}) == []
    text = log.read_text()
    assert text.count("ARGV:") == 1 and "ARGV:redactor add --format json\n" in text
    sent = json.loads(text.split("STDIN:", 1)[1])
    expected = [line for value in values for line in mask_lines(value)]
    assert sorted(sent.values()) == sorted(set(expected))
    assert SECRET not in text.split("STDIN:", 1)[0], "a value went on argv"


def test_nothing_to_mask_starts_nothing(tmp_path: Path) -> None:
    agent, log = _recorder(tmp_path)
    assert buildkite_agent.add(agent, ["", "\n  \n"], {}) == []
    assert not log.exists()


# -- failures: a warning naming what failed, never the value; never a hang -------------------------
def test_an_agent_that_rejects_json_gets_one_call_per_line(tmp_path: Path) -> None:
    log = tmp_path / "agent.log"
    agent = _agent(
        tmp_path,
        f'printf "%s|" "$*" >> {log}; cat >> {log}; printf "\\n" >> {log}\n'
        'case "$*" in *json*) echo "invalid format: json" >&2; exit 1 ;; esac\n',
    )
    assert buildkite_agent.add(agent, ["first-secret\nsecond-secret"], {}) == []
    calls = log.read_text().splitlines()
    assert calls[0].startswith("redactor add --format json|")
    assert calls[1:] == ["redactor add --format none|first-secret", "redactor add --format none|second-secret"]


def test_a_failing_agent_warns_once_per_line_without_the_value(
    tmp_path: Path, capfd: pytest.CaptureFixture[str]
) -> None:
    # It prints what it read on both streams: none of that may reach ours.
    agent = _agent(tmp_path, "cat; cat >&2; echo leaked-output; echo leaked-output >&2; exit 3\n")
    warnings = buildkite_agent.add(agent, [f"{SECRET}\nsecond-{SECRET}"], {})
    assert warnings == ["reactor-ci: warning: buildkite-agent redactor add exited 3"] * 2
    out, err = capfd.readouterr()
    assert (out, err) == ("", "")


def test_an_agent_that_cannot_start_is_one_warning(tmp_path: Path) -> None:
    agent = _agent(tmp_path, "exit 0\n")
    Path(agent).write_text("#!/nonexistent/interpreter\n")
    warnings = buildkite_agent.add(agent, [SECRET, "another-secret"], {})
    assert warnings == ["reactor-ci: warning: buildkite-agent redactor add failed: FileNotFoundError"]


def test_a_stuck_agent_is_killed_at_the_timeout(tmp_path: Path) -> None:
    pid_file = tmp_path / "pid"
    agent = _agent(tmp_path, f"echo $$ > {pid_file}\nexec sleep 30\n")
    # More than a pipe holds, never read: writing must not block past the timeout either.
    values = [f"{SECRET}-{i:06d}-" + "x" * 100 for i in range(2000)]
    started = time.monotonic()
    warnings = buildkite_agent.add(agent, values, {}, timeout=0.5)
    assert time.monotonic() - started < 5
    assert warnings == ["reactor-ci: warning: buildkite-agent redactor add failed: TimeoutExpired"]
    with pytest.raises(ProcessLookupError):  # killed and reaped
        os.kill(int(pid_file.read_text()), 0)


def test_an_agent_that_exits_without_reading(tmp_path: Path) -> None:
    agent = _agent(tmp_path, "exit 0\n")
    assert buildkite_agent.add(agent, ["y" * 200_000], {}) == []


# -- which agent -----------------------------------------------------------------------------------
def test_find_takes_an_executable_file_from_an_absolute_path_entry(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    agent = _agent(tmp_path, "exit 0\n")
    not_exec, a_dir = tmp_path / "plain", tmp_path / "dir"
    (not_exec).mkdir()
    (not_exec / "buildkite-agent").write_text("#!/bin/sh\n")
    (a_dir / "buildkite-agent").mkdir(parents=True)
    bindir = str(Path(agent).parent)
    assert buildkite_agent.find({"PATH": f"{not_exec}:{a_dir}:{bindir}"}) == agent
    assert buildkite_agent.find({"PATH": f"{not_exec}:{a_dir}"}) is None
    assert buildkite_agent.find({"PATH": ""}) is None
    # A relative entry (".", or an empty one) would run whatever the checkout holds: never.
    monkeypatch.chdir(bindir)
    assert buildkite_agent.find({"PATH": ".::bin"}) is None


# -- the full path: one registration, one call ----------------------------------------------------
def test_loading_credentials_masks_everything_in_one_call(tmp_path: Path) -> None:
    _, log = _recorder(tmp_path)
    provider = ci.detect({"BUILDKITE": "true", "PATH": str(tmp_path / "bin")})
    ci.install_masking(provider)
    data = {
        "api_key": "rp_" + SECRET,
        "partner_id": "acme",
        "registry": "registry.reactor.inc/acme",
        "registry_token": "token-" + SECRET,
        "registry_token_expiry": "2030-01-01T00:00:00Z",
    }
    creds = Credentials.from_json(data)
    creds.register_secrets()  # already known: no second call
    text = log.read_text()
    assert text.count("ARGV:") == 1
    sent = set(json.loads(text.split("STDIN:", 1)[1]).values())
    assert sent == {"rp_" + SECRET, SECRET, "token-" + SECRET, redact.basic_auth("acme", "token-" + SECRET)}


@settings(max_examples=100, deadline=None)
@given(st.lists(st.one_of(st.none(), st.text(min_size=0, max_size=20)), max_size=6))
def test_register_many_shows_what_register_one_by_one_would(values: list[str | None]) -> None:
    """The batch listener sees, in one list, exactly the values (and order) single registrations
    show a value listener one by one."""
    redact._reset_for_tests()
    one_by_one: list[str] = []
    redact.add_listener(one_by_one.append)
    for value in values:
        redact.register(value)
    redact._reset_for_tests()
    batches: list[list[str]] = []
    redact.add_batch_listener(batches.append)
    redact.register_many(*values)
    assert batches == ([one_by_one] if one_by_one else [])


# -- status's fast path: one call, and still nothing heavy imported -------------------------------
def test_status_fast_path_with_the_agent_runs_it_once_and_imports_nothing_heavy(tmp_path: Path) -> None:
    """With the agent on PATH the fast path adds only the agent module and ``select`` (C) to its
    imports -- not subprocess, shutil, the ci package, json or re -- and starts the agent once."""
    agent, log = _recorder(tmp_path)
    home = tmp_path / "home"
    (home / ".reactor").mkdir(parents=True, mode=0o700)
    expiry = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(time.time() + 10 * 3600))
    data = {
        "api_key": "rp_" + SECRET,
        "partner_id": "acme",
        "registry": "registry.reactor.inc/acme",
        "registry_token": "token-" + SECRET,
        "registry_token_expiry": expiry,
    }
    cred = home / ".reactor" / "credentials"
    cred.write_text(json.dumps(data))
    cred.chmod(0o600)
    probe = (
        "import sys\n"
        "before = set(sys.modules)\n"
        "from reactor_ci import status_fast\n"
        "code = status_fast.run(['status', '--json'])\n"
        "sys.stderr.write(repr(sorted(set(sys.modules) - before)))\n"
        "sys.exit(3 if code is None else code)\n"
    )
    env = {"HOME": str(home), "PATH": f"{Path(agent).parent}:/usr/bin:/bin", "BUILDKITE": "true"}
    proc = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, env=env, check=False)
    assert proc.returncode == 0, proc.stdout + proc.stderr  # answered by the fast path
    added = set(ast.literal_eval(proc.stderr.splitlines()[-1]))
    assert "reactor_ci.buildkite_agent" in added
    heavy = {"subprocess", "shutil", "reactor_ci.ci", "json", "re", "typing", "pathlib", "signal", "enum"}
    assert not added & heavy, sorted(added & heavy)
    text = log.read_text()
    assert text.count("ARGV:") == 1 and "ARGV:redactor add --format json" in text
    assert SECRET not in proc.stdout + proc.stderr


def test_a_token_utf8_cannot_encode_still_registers_the_key_first() -> None:
    """Batching the Docker auth form in must not skip the key and the token when that form cannot be
    built (a lone surrogate from a JSON escape): they are registered, then loading fails as before."""
    data = {
        "api_key": "rp_" + SECRET,
        "partner_id": "acme",
        "registry": "registry.reactor.inc/acme",
        "registry_token": "token-\ud800-" + SECRET,
        "registry_token_expiry": "2030-01-01T00:00:00Z",
    }
    with pytest.raises(UnicodeEncodeError):
        Credentials.from_json(data)
    assert {"rp_" + SECRET, "token-\ud800-" + SECRET} <= redact.registered()
