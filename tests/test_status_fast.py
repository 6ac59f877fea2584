"""`reactor-ci status`'s stdlib fast path: byte-identical to the full path, or it defers.

The fast path (reactor_ci/status_fast.py) either returns None ("the full path
decides") or prints EXACTLY what the full path prints -- stdout, stderr, exit
code. Hypothesis drives both over credentials files and environments; each
"slow" trigger has its own test; and a subprocess proves the fast path loads
none of the modules it exists to avoid.
"""

from __future__ import annotations

import ast
import contextlib
import importlib
import itertools
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from reactor_ci import cli, redact, status, status_fast
from reactor_ci.citables import CANNOT_MASK, JOB_TEMP, MARKERS, OVERRIDE_VAR, marked
from reactor_ci.settings import SPECS

# The runs below patch time.time; import the full path's modules first, so none binds the fake clock
# at import time (Session's default clock is `time.time` as it was then).
importlib.import_module("reactor_ci.status")
importlib.import_module("reactor_ci.session")
for _name in MARKERS:
    importlib.import_module(f"reactor_ci.ci.{_name}")

#: The variables CI detection reads (any value sends status_fast to the full path or to a CI's rules).
CI_MARKERS = (*(variable for variable, _ in MARKERS.values()), OVERRIDE_VAR)
NO_MASK = tuple(MARKERS[name][0] for name in sorted(CANNOT_MASK))
NOW = 1_800_000_000.0  # fixed, so both paths see the same clock
TOKEN = "canaryRegistryToken0123456789abcdef"  # pragma: allowlist secret
KEY = "rp_canaryPartnerKey0123456789abcdef"  # pragma: allowlist secret
STAMP = "%Y-%m-%dT%H:%M:%SZ"
# What the full path's environment may hold; cleared around every run.
_TOUCHED = (
    *CI_MARKERS,
    *SPECS,
    "REACTOR_CREDENTIALS",
    "REACTOR_API_URL",
    "REACTOR_CI_REGISTRY_HOSTS",
    "REACTOR_CI_DEBUG",
    *JOB_TEMP.values(),
)
#: Where the job-scoped worlds put their file: ``$RUNNER_TEMP``/``$AGENT_TEMPDIRECTORY`` point here.
JOB_TEMP_DIR = "{home}/job-temp"


def _stamp(offset: float) -> str:
    return time.strftime(STAMP, time.gmtime(NOW + offset))


def _valid_file(**changes: Any) -> dict[str, Any]:
    data: dict[str, Any] = {
        "api_key": KEY,
        "partner_id": "acme",
        "registry": "registry.reactor.inc/acme",
        "registry_token": TOKEN,
        "registry_token_expiry": _stamp(10 * 3600),
        "registry_token_issued_at": _stamp(-2 * 3600),
    }
    data.update(changes)
    return {k: v for k, v in data.items() if v is not None}


_HOME_NUMBERS = itertools.count()


def _new_home() -> Path:
    """A fresh 0700 directory whose path cannot look like a key: digits, not mkdtemp's random name.

    mkdtemp draws from ``[a-z0-9_]``, so about one home in 5,000 was named ``…rp_x…``/``…rk_x…``;
    the fast path rightly leaves output naming something key-shaped to the full path (scrub's
    call), and a test asserting "answered fast" failed at random (seen under ``-n 2``).
    """
    base = Path(tempfile.gettempdir())
    assert not any(shape in str(base) for shape in ("rp_", "rk_", "eyJ")), f"TMPDIR looks like a key: {base}"
    while True:
        home = base / f"status-fast-{os.getpid()}-{next(_HOME_NUMBERS)}"
        with contextlib.suppress(FileExistsError):
            home.mkdir(mode=0o700)
            return home


@contextlib.contextmanager
def _world(
    content: object, env: dict[str, str], *, file_mode: int = 0o600, dir_mode: int = 0o700
) -> Iterator[dict[str, str]]:
    """A fresh HOME with ``~/.reactor/credentials`` holding ``content`` (bytes/str written as is, else JSON)."""
    home = _new_home()
    try:
        directory = home / ".reactor"
        directory.mkdir(mode=0o700)
        if content is not None:
            path = directory / "credentials"
            raw = content if isinstance(content, (bytes, str)) else json.dumps(content)
            path.write_bytes(raw if isinstance(raw, bytes) else raw.encode())
            path.chmod(file_mode)
        directory.chmod(dir_mode)
        # The same file where a CI's job temp dir keeps it (paths.credentials_path: <temp>/reactor-ci/).
        job = home / "job-temp" / "reactor-ci"
        job.mkdir(parents=True, mode=0o700)
        if content is not None:
            (job / "credentials").write_bytes((directory / "credentials").read_bytes())
            (job / "credentials").chmod(file_mode)
        job.chmod(dir_mode)
        full_env = {"HOME": str(home), **{k: v.replace("{home}", str(home)) for k, v in env.items()}}
        yield full_env
    finally:
        with contextlib.suppress(OSError):
            (home / ".reactor").chmod(0o700)
        with contextlib.suppress(OSError):
            (home / "job-temp" / "reactor-ci").chmod(0o700)
        shutil.rmtree(home, ignore_errors=True)


def _run(main: Any, argv: list[str], env: dict[str, str], capsys: pytest.CaptureFixture[str]) -> tuple[Any, str, str]:
    redact._reset_for_tests()  # each real run is a fresh process: no secret registered before it
    with pytest.MonkeyPatch.context() as mp:
        for name in _TOUCHED:
            mp.delenv(name, raising=False)
        for name, value in env.items():
            mp.setenv(name, value)
        mp.setattr(time, "time", lambda: NOW)
        capsys.readouterr()
        code = main(argv)
        out, err = capsys.readouterr()
    _registered_by_last_run.clear()
    _registered_by_last_run.update(redact.registered())
    redact._reset_for_tests()
    return code, out, err


_registered_by_last_run: set[str] = set()


def _full(argv: list[str]) -> int:
    """cli.main with the fast path switched off: the reference."""
    original = status_fast.run
    status_fast.run = lambda _argv: None  # type: ignore[assignment]
    try:
        return cli.main(argv)
    finally:
        status_fast.run = original


def _compare(argv: list[str], env: dict[str, str], capsys: pytest.CaptureFixture[str]) -> bool:
    """Run both; when the fast path answers, it must match the full path byte for byte. True if it answered."""
    fast = _run(status_fast.run, argv, env, capsys)
    if fast[0] is None:
        assert fast[1:] == ("", ""), "the fast path printed something, then deferred"
        return False
    full = _run(_full, argv, env, capsys)
    assert fast == full
    # The canaries this world holds as secrets (a partner id that merely equals another world's key
    # body is not one): what the full path registered.
    secrets = [canary for canary in (TOKEN, KEY, KEY[3:]) if canary in _registered_by_last_run]
    for stream in fast[1:]:
        # The mask commands name the secret (that is how masking works); nothing else may.
        shown = "\n".join(line for line in stream.splitlines() if not line.startswith(_MASK_PREFIXES))
        assert not [secret for secret in secrets if secret in shown]
    return True


_MASK_PREFIXES = ("::add-mask::", "##vso[task.setsecret]")
ARGVS = [["status"], ["status", "--json"], ["-q", "status"], ["-q", "status", "--json"], ["--quiet", "status"]]


@pytest.mark.parametrize("argv", ARGVS)
@pytest.mark.parametrize("issued", [True, False])
def test_the_simple_case_is_answered_fast_and_identically(
    argv: list[str], issued: bool, capsys: pytest.CaptureFixture[str]
) -> None:
    # Without issued_at (the official CLI's files), 5 h left of the 12 h default lifetime is "expiring":
    # printed as such, exit 0, no warning -- answered fast too.
    for left in (10 * 3600, 5 * 3600):
        issued_at = _stamp(-2 * 3600) if issued else None
        data = _valid_file(registry_token_expiry=_stamp(left), registry_token_issued_at=issued_at)
        with _world(data, {}) as env:
            assert _compare(argv, env, capsys), argv


# -- Hypothesis: any file, any environment ---------------------------------------------------
_PLAIN = st.text(alphabet="abcdefghijklmnopqrstuvwxyzABC0123456789-._ /@", min_size=1, max_size=16)
_TEXT = st.one_of(
    _PLAIN,
    _PLAIN,
    st.sampled_from(["acme", "Acme Corp", "a-b_c.d", "##vso[task]", "::warning::x", "rp_abcdefghij", "eyJabc"]),
    st.text(alphabet=st.characters(codec="utf-8"), max_size=12),
    st.text(alphabet="abcrpk_-#:/.eyJ \n", max_size=14),
)
_REGISTRY = st.one_of(
    st.sampled_from(
        [
            "registry.reactor.inc/acme",
            "Registry.Reactor.Inc/Acme",
            "registry.reactor.inc",
            "127.0.0.1:5000/acme",
            "ghcr.io/acme",
            "registry.reactor.inc//x",
            "https://registry.reactor.inc/x",
        ]
    ),
    _PLAIN.map(lambda name: f"registry.reactor.inc/{name}"),
    _TEXT,
)
_OFFSET = st.one_of(st.integers(-3 * 86400, 3 * 86400), st.sampled_from([0, 1, -1, 3600, 6 * 3600, 12 * 3600]))


@st.composite
def _times(draw: st.DrawFn) -> object:
    offset = draw(_OFFSET)
    shape = draw(st.sampled_from(["canonical", "offset", "lower", "fraction", "epoch", "junk"]))
    text = _stamp(offset)
    if shape == "offset":
        return text[:-1] + "+00:00"
    if shape == "lower":
        return text.lower()
    if shape == "fraction":
        return text[:-1] + ".5Z"
    if shape == "epoch":
        return NOW + offset
    if shape == "junk":
        return draw(st.one_of(_TEXT, st.none(), st.integers()))
    return text


@st.composite
def _files(draw: st.DrawFn) -> object:
    if draw(st.integers(0, 9)) == 0:
        return draw(st.sampled_from([b"", b"{", b"[]", b"null", b"\xff\xfe", b'{"api_key": NaN}', "\ufeff{}"]))
    # Mostly a good file with a few fields drawn from the odd ones, so both paths get exercised.
    data: dict[str, object] = _valid_file(
        registry_token_expiry=_stamp(draw(st.one_of(_OFFSET, st.integers(1, 3 * 86400)))),
        registry_token_issued_at=_stamp(draw(_OFFSET)) if draw(st.booleans()) else None,
    )
    secret = st.one_of(st.sampled_from([KEY, TOKEN, "rk_" + "x" * 20, "short", "acme", ""]), _TEXT)
    odd: dict[str, st.SearchStrategy[object]] = {
        "api_key": secret,
        "partner_id": st.one_of(_TEXT, st.sampled_from([TOKEN, KEY[3:], "acme"])),
        "registry": _REGISTRY,
        "registry_token": secret,
        "registry_token_expiry": _times(),
        "registry_token_issued_at": _times(),
        "registry_username": st.one_of(_TEXT, st.integers()),
        "extra": st.one_of(st.integers(), _TEXT, st.lists(st.integers(), max_size=3)),
    }
    for name in draw(st.lists(st.sampled_from(sorted(odd)), max_size=2)):
        data[name] = draw(odd[name])
    if draw(st.integers(0, 5)) == 0:
        data[draw(st.sampled_from(sorted(data)))] = draw(st.one_of(st.none(), st.integers(), st.just("")))
    return data


_SETTING_VALUES = st.sampled_from(["", " ", "0", "1", "5", "3600", " 7200 ", "nan", "inf", "-1", "ten", "1e9", "2.5"])


@st.composite
def _envs(draw: st.DrawFn) -> dict[str, str]:
    env: dict[str, str] = {}
    if draw(st.booleans()):
        env[draw(st.sampled_from(sorted(SPECS)))] = draw(_SETTING_VALUES)
    if draw(st.integers(0, 5)) == 0:
        env[draw(st.sampled_from(CI_MARKERS))] = draw(st.sampled_from(["true", "false", "1", ""]))
    if draw(st.integers(0, 3)) == 0:
        env[draw(st.sampled_from(CI_MARKERS))] = draw(st.sampled_from(["true", "false", "x"]))
        env["REACTOR_CREDENTIALS"] = "{home}/.reactor/credentials"
    if draw(st.integers(0, 3)) == 0:
        env.update(
            GITHUB_ACTIONS=draw(st.sampled_from(["true", "TRUE", "1"])),
            REACTOR_CREDENTIALS="{home}/.reactor/credentials",
        )
    if draw(st.integers(0, 1)) == 0:
        # Every CI as it really runs: its marker, no explicit path (job-scoped where the CI has a job temp dir).
        variable, expected = MARKERS[draw(st.sampled_from(sorted(MARKERS)))]
        env[variable] = draw(st.sampled_from([expected or "42", (expected or "x").upper(), "false"]))
    if draw(st.booleans()):
        env[draw(st.sampled_from(sorted(JOB_TEMP.values())))] = draw(
            st.sampled_from([JOB_TEMP_DIR, JOB_TEMP_DIR + "/", "{home}/job-temp/.", "{home}/no-such-dir", ""])
        )
    if draw(st.integers(0, 3)) == 0:
        env["REACTOR_CREDENTIALS"] = draw(
            st.sampled_from(
                [
                    "{home}/.reactor/credentials",
                    "{home}//.reactor/credentials",
                    "{home}/.reactor/./credentials",
                    " {home}/.reactor/credentials ",
                    "~/.reactor/credentials",
                    "~",
                    "~nobody/x",
                    "{home}/.reactor/missing",
                ]
            )
        )
    if draw(st.booleans()):
        env["REACTOR_API_URL"] = draw(st.sampled_from(["http://127.0.0.1:9", "https://api.reactor.inc", ""]))
    if draw(st.booleans()):
        env["REACTOR_CI_REGISTRY_HOSTS"] = draw(st.sampled_from(["ghcr.io", "127.0.0.1:5000", "x/y", ""]))
    return env


@pytest.mark.slow
@settings(max_examples=1500, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    content=_files(),
    env=_envs(),
    argv=st.sampled_from([*ARGVS, *ARGVS, ["status", "--js"], ["status", "-q"], ["--version"]]),
    modes=st.sampled_from([(0o600, 0o700)] * 4 + [(0o400, 0o755), (0o644, 0o700), (0o600, 0o777), (0o600, 0o720)]),
)
def test_fast_is_none_or_byte_identical(
    content: object,
    env: dict[str, str],
    argv: list[str],
    modes: tuple[int, int],
    capsys: pytest.CaptureFixture[str],
) -> None:
    with _world(content, env, file_mode=modes[0], dir_mode=modes[1]) as full_env:
        event(f"answered fast ({marked(full_env)})" if _compare(argv, full_env, capsys) else "deferred")


# -- each reason to defer ----------------------------------------------------------------------
def _defers(content: object, env: dict[str, str], argv: list[str] | None = None, **modes: int) -> None:
    with _world(content, env, **modes) as full_env, pytest.MonkeyPatch.context() as mp:
        for name in _TOUCHED:
            mp.delenv(name, raising=False)
        assert status_fast.render(["status", "--json"] if argv is None else argv, full_env, NOW) is None


@pytest.mark.parametrize(
    "argv", [[], ["status", "--js"], ["status", "-q"], ["status", "--json", "--json"], ["-qq", "status"], ["login"]]
)
def test_defers_other_arguments(argv: list[str]) -> None:
    _defers(_valid_file(), {}, argv)


@pytest.mark.parametrize("marker", CI_MARKERS)
def test_defers_on_an_override_or_two_cis(marker: str) -> None:
    # REACTOR_CI_PROVIDER (which may be an error) and several markers at once: detection is the full path's
    _defers(_valid_file(), {marker: "true", "REACTOR_CI_PROVIDER": "github"})
    if marker != "GITHUB_ACTIONS":
        _defers(_valid_file(), {"GITHUB_ACTIONS": "true", marker: "true", "REACTOR_CI_PROVIDER": "local"})


# An agent stand-in recording each call (argv, stdin). AGENT_MODE: ok; old (rejects --format json,
# as an agent before it would); fail (every call exits 3).
_RECORDING_AGENT = """#!/bin/sh
printf 'ARGV:%s\\n' "$*" >> "$AGENT_LOG"
printf 'STDIN:' >> "$AGENT_LOG"; cat >> "$AGENT_LOG"; printf '\\n' >> "$AGENT_LOG"
case "$AGENT_MODE:$*" in
  old:*json*) echo "invalid format: json" >&2; exit 1 ;;
  fail:*) exit 3 ;;
esac
exit 0
"""


def _agent_calls(log: Path) -> list[tuple[str, str]]:
    """(argv, stdin) of each recorded call."""
    calls = []
    for record in log.read_text().split("ARGV:")[1:]:
        argv, stdin = record.split("\nSTDIN:", 1)
        calls.append((argv, stdin.removesuffix("\n")))
    return calls


@pytest.mark.parametrize("mode", ["ok", "old", "fail"])
@pytest.mark.parametrize("argv", ARGVS)
def test_buildkite_with_its_agent_masks_through_it_as_the_full_path_does(
    mode: str, argv: list[str], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Buildkite masks through ``buildkite-agent redactor add`` (the rule its provider calls, loaded
    only then): ONE call, a JSON object whose values are the lines the per-line calls used to send;
    the per-line ``--format none`` calls when the agent rejects json; the same calls and the same
    warnings on both paths."""
    agent = tmp_path / "bin" / "buildkite-agent"
    agent.parent.mkdir()
    agent.write_text(_RECORDING_AGENT)
    agent.chmod(0o755)
    logs = tmp_path / "fast.log", tmp_path / "full.log"
    env = {"BUILDKITE": "true", "PATH": f"{agent.parent}:{os.environ['PATH']}", "AGENT_MODE": mode}
    with _world(_valid_file(), env) as full_env:
        fast = _run(status_fast.run, argv, {**full_env, "AGENT_LOG": str(logs[0])}, capsys)
        full = _run(_full, argv, {**full_env, "AGENT_LOG": str(logs[1])}, capsys)
    assert fast == full
    assert logs[0].read_text() == logs[1].read_text()
    # What the per-line calls sent, one value each: the key, its body, the token, Docker's auth.
    lines = {KEY, KEY[3:], TOKEN, redact.basic_auth("acme", TOKEN)}
    calls = _agent_calls(logs[0])
    assert calls[0][0] == "redactor add --format json"
    assert set(json.loads(calls[0][1]).values()) == lines
    per_line = calls[1:]
    if mode == "ok":
        assert per_line == []
    else:  # the fallback: one --format none call per line, as before
        assert {a for a, _ in per_line} == {"redactor add --format none"}
        assert sorted(v for _, v in per_line) == sorted(lines)
    warnings = [line for line in fast[2].splitlines() if "buildkite-agent" in line]
    assert warnings == (["reactor-ci: warning: buildkite-agent redactor add exited 3"] * 4 if mode == "fail" else [])
    for secret in lines:
        assert secret not in fast[1] + fast[2]


# -- every CI reactor-ci supports, as its jobs really run --------------------------------------
_CI_ENVS = {
    "github": {"GITHUB_ACTIONS": "true"},
    "gitlab": {"GITLAB_CI": "true"},
    "azure": {"TF_BUILD": "True"},
    "buildkite": {"BUILDKITE": "true"},
    "circleci": {"CIRCLECI": "true"},
    "jenkins": {"JENKINS_URL": "http://jenkins.example/"},
    "bitbucket": {"BITBUCKET_BUILD_NUMBER": "7"},
    "local": {},
}


@pytest.mark.parametrize("argv", ARGVS)
@pytest.mark.parametrize("where", ["explicit", "job temp", "default"])
@pytest.mark.parametrize("name", sorted(_CI_ENVS))
def test_every_ci_is_answered_fast_with_its_masks(
    name: str, where: str, argv: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    """With $REACTOR_CREDENTIALS (a step after the action), in the job temp dir (a job that logged in
    without it), or at ~/.reactor: answered fast, byte-identical, the provider's masks included."""
    env = dict(_CI_ENVS[name])
    if where == "explicit":
        env["REACTOR_CREDENTIALS"] = "{home}/.reactor/credentials"
    elif where == "job temp" and name in JOB_TEMP:
        env[JOB_TEMP[name]] = JOB_TEMP_DIR
    with _world(_valid_file(registry_username="robot$acme;x]"), env) as full_env:
        assert _compare(argv, full_env, capsys), (name, where)
        _, _, err = _run(status_fast.run, argv, full_env, capsys)
    masks = {"github": f"::add-mask::{KEY}\n", "azure": f"##vso[task.setsecret]{KEY}\n"}
    assert (masks[name] in err) if name in masks else not err.startswith(_MASK_PREFIXES)


def test_a_job_scoped_file_is_read_from_the_job_temp_dir(capsys: pytest.CaptureFixture[str]) -> None:
    env = {"TF_BUILD": "True", "AGENT_TEMPDIRECTORY": JOB_TEMP_DIR}
    with _world(_valid_file(), env) as full_env:
        answer = status_fast.render(["status", "--json"], full_env, NOW)
        assert answer is not None and answer[0] is not None
        assert json.loads(answer[0])["credentials_path"] == f"{full_env['HOME']}/job-temp/reactor-ci/credentials"


@pytest.mark.parametrize("marker", NO_MASK)
@pytest.mark.parametrize("argv", ARGVS)
def test_a_ci_that_cannot_mask_with_an_explicit_path_is_answered(
    marker: str, argv: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    env = {marker: "true", "REACTOR_CREDENTIALS": "{home}/.reactor/credentials"}
    with _world(_valid_file(), env) as full_env:
        assert _compare(argv, full_env, capsys)


@pytest.mark.parametrize("argv", ARGVS)
@pytest.mark.parametrize("username", [None, "robot$acme", "a%b\rc"])
def test_github_with_exported_credentials_is_answered_with_its_masks(
    argv: list[str], username: str | None, capsys: pytest.CaptureFixture[str]
) -> None:
    """The action exports REACTOR_CREDENTIALS to later steps: `status` there is answered fast,
    with the same ::add-mask:: lines (stderr) the full path's GitHub provider writes."""
    env = {"GITHUB_ACTIONS": "true", "REACTOR_CREDENTIALS": "{home}/.reactor/credentials"}
    with _world(_valid_file(registry_username=username), env) as full_env:
        assert _compare(argv, full_env, capsys)
        _, _, err = _run(status_fast.run, argv, full_env, capsys)
    assert f"::add-mask::{KEY}\n" in err and f"::add-mask::{TOKEN}\n" in err


@pytest.mark.parametrize("name", sorted(SPECS))
@pytest.mark.parametrize("value", ["nan", "-1", "ten", "inf", "1e99"])
def test_defers_on_any_bad_setting(name: str, value: str) -> None:
    _defers(_valid_file(), {name: value})


@pytest.mark.parametrize(
    "path", ["~", "~nobody/credentials", "{home}//.reactor/credentials", "{home}/.reactor/./credentials", "rel/./x"]
)
def test_defers_on_paths_pathlib_would_rewrite(path: str) -> None:
    _defers(_valid_file(), {"REACTOR_CREDENTIALS": path})


@pytest.mark.parametrize("directory", ["xrp_abc123", "rk_abcdefgh", "eyJabcd"])
def test_defers_when_the_path_looks_like_a_key(directory: str) -> None:
    """A path naming something key-shaped (``mkdtemp`` can draw ``…rp_x…``) is scrub's to judge:
    the fast path leaves it to the full path, which answers it (the cause of a flaky test)."""
    with _world(_valid_file(), {}) as env:
        odd = Path(env["HOME"]) / directory
        odd.mkdir(mode=0o700)
        (odd / "credentials").write_bytes((Path(env["HOME"]) / ".reactor" / "credentials").read_bytes())
        (odd / "credentials").chmod(0o600)
        env["REACTOR_CREDENTIALS"] = str(odd / "credentials")
        assert status_fast.render(["status", "--json"], env, NOW) is None
        assert status_fast.render(["status"], env, NOW) is None


def test_defers_without_a_usable_home() -> None:
    _defers(_valid_file(), {"HOME": ""})
    _defers(_valid_file(), {"HOME": "relative/home"})
    _defers(_valid_file(), {"HOME": "/nonexistent-home-for-status-fast"})


@pytest.mark.parametrize(("file_mode", "dir_mode"), [(0o644, 0o700), (0o604, 0o700), (0o600, 0o777), (0o600, 0o770)])
def test_defers_on_loose_modes(file_mode: int, dir_mode: int) -> None:
    _defers(_valid_file(), {}, file_mode=file_mode, dir_mode=dir_mode)


def test_defers_on_a_symlink_a_directory_or_no_file(tmp_path: Path) -> None:
    _defers(None, {})  # missing: exit 3 from the full path
    real = tmp_path / "real"
    real.write_text(json.dumps(_valid_file()))
    real.chmod(0o600)
    with _world(None, {}) as env:
        link = Path(env["HOME"]) / ".reactor" / "credentials"
        link.symlink_to(real)
        assert status_fast.render(["status"], env, NOW) is None
        link.unlink()
        link.mkdir()
        assert status_fast.render(["status"], env, NOW) is None


@pytest.mark.parametrize(
    "content",
    [
        b"{",
        b"[]",
        b"\xff",
        '{"api_key": NaN}',
        json.dumps(_valid_file()) + " " * (256 * 1024),
        _valid_file(api_key=None),
        _valid_file(registry_token=""),
        _valid_file(partner_id=7),
        _valid_file(partner_id="x" * 4097),
    ],
)
def test_defers_on_damaged_files(content: object) -> None:
    _defers(content, {})


@pytest.mark.parametrize(
    "changes",
    [
        {"registry_token_expiry": _stamp(-1)},  # expired: exit 3
        {"registry_token_expiry": _stamp(0)},
        {"registry_token_expiry": _stamp(3600)[:-1] + "+00:00"},  # valid, but format_time would rewrite it
        {"registry_token_expiry": _stamp(3600).lower()},
        {"registry_token_expiry": NOW + 3600},
        {"registry_token_issued_at": "yesterday"},
        {"registry_token_issued_at": 5},
        {"registry": "ghcr.io/acme"},  # foreign: the full path refuses (exit 2)
    ],
)
def test_defers_on_times_and_registries_it_does_not_simply_echo(changes: dict[str, Any]) -> None:
    _defers(_valid_file(**changes), {})


@pytest.mark.parametrize(
    "changes",
    [
        {"partner_id": "acmé"},  # non-ASCII: logsafe/json escaping is the full path's
        {"partner_id": "a\nb"},
        {"partner_id": "##vso[task.setvariable]x"},
        {"partner_id": TOKEN},  # scrub would redact it
        {"partner_id": "x" + KEY[3:]},
        {"partner_id": "rp_lookslikeakey"},
        {"registry": "eyjabc.reactor.inc/eyJx"},
        {"api_key": "rp_ümlaut-key-1234"},
    ],
)
def test_defers_when_scrub_or_logsafe_would_change_a_byte(changes: dict[str, Any]) -> None:
    _defers(_valid_file(**changes), {}, ["status"])
    _defers(_valid_file(**changes), {}, ["status", "--json"])


# -- no copies: the fast path calls the real rules ---------------------------------------------
def test_the_fast_path_imports_the_rules_it_prints_with() -> None:
    assert (status_fast.document, status_fast.lines) == (status.document, status.lines)
    assert (status_fast.new_forms, status_fast.unchanged_by_scrub) == (redact.new_forms, redact.unchanged_by_scrub)


# -- what it imports ----------------------------------------------------------------------------
@pytest.mark.parametrize("name", sorted(_CI_ENVS))
def test_the_fast_path_imports_nothing_heavy(name: str) -> None:
    """Not argparse, json, re, typing, pathlib, dataclasses, datetime, enum: that is the whole point.
    On every CI (the job-scoped file where the CI has a job temp dir; Buildkite without its agent)."""
    expiry = time.strftime(STAMP, time.gmtime(time.time() + 10 * 3600))  # a real clock here
    ci_env = {**_CI_ENVS[name], **({JOB_TEMP[name]: JOB_TEMP_DIR} if name in JOB_TEMP else {})}
    if name == "buildkite":
        ci_env["PATH"] = "/nonexistent-bin"
    with _world(_valid_file(registry_token_expiry=expiry, registry_token_issued_at=None), ci_env) as env:
        probe = (
            "import sys\n"
            "before = set(sys.modules)\n"
            "from reactor_ci.cli import main\n"
            "code = main(['status', '--json'])\n"
            "sys.stderr.write(repr(sorted(set(sys.modules) - before)))\n"
            "sys.exit(code)\n"
        )
        clean = {k: v for k, v in os.environ.items() if k not in _TOUCHED}
        proc = subprocess.run(
            [sys.executable, "-c", probe], capture_output=True, text=True, env={**clean, **env}, check=False
        )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert json.loads(proc.stdout)["state"] == "valid"  # answered (the full path would add modules)
    added = set(ast.literal_eval(proc.stderr.splitlines()[-1]))  # after the CI's mask lines
    allowed = {
        "reactor_ci",
        "reactor_ci.cli",
        "reactor_ci.status_fast",
        "reactor_ci.status",
        "reactor_ci.fastread",
        "reactor_ci.settings",
        "reactor_ci.citables",
        "reactor_ci.redact",
        "reactor_ci.timeutil",
        "_json",
        "binascii",
        "math",
        "__future__",
        # Buildkite: the agent's one rule (os, time, select), which finds it on PATH or not.
        *(["reactor_ci.buildkite_agent", "select"] if name == "buildkite" else []),
    }
    assert added <= allowed, sorted(added - allowed)


@pytest.mark.parametrize("text", ["{not json", '{"a": }', "[1,", '{"a" 1}', '"\\x"', "{"])
def test_the_scanner_without_json_imported_raises_value_error(text: str) -> None:
    """The C scanner raises SystemError for a syntax error when json.decoder was never imported
    (it looks JSONDecodeError up in sys.modules): the fast readers must see a ValueError."""
    probe = (
        "import sys\n"
        "from reactor_ci.fastread import loads\n"
        "assert 'json' not in sys.modules\n"
        "try:\n"
        "    loads(sys.argv[1])\n"
        "except (ValueError, StopIteration):\n"
        "    sys.exit(0)\n"
        "sys.exit(9)\n"
    )
    proc = subprocess.run([sys.executable, "-c", probe, text], capture_output=True, text=True, check=False)
    assert proc.returncode == 0, proc.stderr
