"""Pure unit tests of reactor_ci.docker: config.json editing, the helper protocol, push parsing.

No docker, no API: credentials files in tmp dirs and fake streams. The real
engine, registry, CLI and skopeo are in tests/e2e/test_docker_integration.py.
"""

from __future__ import annotations

import ast
import io
import json
import os
import stat
import subprocess
import sys
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from reactor_ci import fastread, redact
from reactor_ci.credentials import Credentials, CredentialsStore
from reactor_ci.docker import cli as dcli
from reactor_ci.docker import config, fastpath, helper, push
from reactor_ci.errors import DockerError, UsageError

KEY = "rp_unitcanary_0123456789abcdef"
TOKEN = "regtok-unit-canary-ZZZZ-0123456789"
HOST = "127.0.0.1:5999"


def _creds(token: str = TOKEN, *, left: float = 11 * 3600, lifetime: float = 12 * 3600) -> Credentials:
    now = datetime.now(timezone.utc)
    return Credentials(
        api_key=KEY,
        partner_id="sandbox",
        registry=f"{HOST}/sandbox",
        registry_token=token,
        registry_token_expiry=now + timedelta(seconds=left),
        username="sandbox-user",
        issued_at=now + timedelta(seconds=left - lifetime),
    )


@pytest.fixture
def home(home: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """conftest's private home (a refresh must fail: nothing listens at its API URL), for a test registry."""
    monkeypatch.setenv("REACTOR_CI_REGISTRY_HOSTS", HOST)  # the test registry is not under *.reactor.inc
    return home


def _run(action: str, stdin: str, monkeypatch: pytest.MonkeyPatch | None = None) -> tuple[int, str]:
    """The protocol layer with in-memory streams (docker-credential-helpers' HandleCommand shape)."""
    out = io.StringIO()
    code = helper.handle(helper.ReactorHelper(), action, io.StringIO(stdin), out)
    return code, out.getvalue().rstrip("\n")


# -- config.json ---------------------------------------------------------------


def test_set_helper_keeps_every_other_entry_and_is_private(tmp_path: Path) -> None:
    path = tmp_path / "config.json"
    original = {
        "auths": {"ghcr.io": {"auth": "Z2g6dG9r"}, HOST: {"auth": "c3RhbGU6c2VjcmV0"}},
        "credsStore": "desktop",
        "credHelpers": {"gcr.io": "gcloud"},
        "proxies": {"default": {"httpProxy": "http://proxy:3128"}},
        "currentContext": "ctx",
        "futureKey": [1, 2, 3],
    }
    path.write_text(json.dumps(original))
    config.set_helper(tmp_path, HOST)
    data = json.loads(path.read_text())
    assert data["credHelpers"] == {"gcr.io": "gcloud", HOST: "reactor"}
    assert data["auths"] == {"ghcr.io": {"auth": "Z2g6dG9r"}}  # the stale static secret is gone
    for key in ("credsStore", "proxies", "currentContext", "futureKey"):
        assert data[key] == original[key]
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".config.")]  # no temp left behind


def test_static_registers_base64_first_and_replaces_the_helper(tmp_path: Path) -> None:
    config.set_helper(tmp_path, HOST)
    config.set_static(tmp_path, HOST, "sandbox-user", TOKEN)
    data = json.loads((tmp_path / "config.json").read_text())
    encoded = data["auths"][HOST]["auth"]
    assert "credHelpers" not in data
    assert encoded in redact.registered() and TOKEN in redact.registered()
    assert redact.scrub(f"x {encoded} {TOKEN} y").count("***") == 2


def test_remove_is_idempotent_and_scoped(tmp_path: Path) -> None:
    assert config.remove(tmp_path) is False  # no file: nothing to do
    (tmp_path / "config.json").write_text(json.dumps({"credHelpers": {"gcr.io": "gcloud"}}))
    config.set_helper(tmp_path, HOST)
    assert config.remove(tmp_path, [HOST]) is True
    assert config.remove(tmp_path, [HOST]) is False
    assert json.loads((tmp_path / "config.json").read_text()) == {"credHelpers": {"gcr.io": "gcloud"}}
    config.set_static(tmp_path, HOST, "u", TOKEN)
    assert config.remove(tmp_path, [HOST]) is True
    assert "auths" not in json.loads((tmp_path / "config.json").read_text())


def test_corrupt_config_is_never_overwritten(tmp_path: Path) -> None:
    path = tmp_path / "config.json"
    path.write_text("{not json")
    with pytest.raises(UsageError, match="not valid JSON"):
        config.set_helper(tmp_path, HOST)
    assert path.read_text() == "{not json"


def test_job_scoped_dir_copies_config_and_links_the_rest(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    user = tmp_path / "user"
    (user / "cli-plugins").mkdir(parents=True)
    (user / "buildx").mkdir()
    (user / "config.json").write_text(json.dumps({"auths": {"ghcr.io": {"auth": "eA=="}}}))
    monkeypatch.setenv("DOCKER_CONFIG", str(user))
    exported: dict[str, str] = {}

    class FakeProvider:
        def job_temp_dir(self) -> Path:
            return tmp_path / "runner-temp"

        def set_env(self, name: str, value: str) -> None:
            exported[name] = value

        def in_action(self) -> bool:
            return False

    directory = dcli.export_docker_config_dir(FakeProvider())  # type: ignore[arg-type]
    assert directory == tmp_path / "runner-temp" / config.JOB_DIR_NAME
    assert exported == {"DOCKER_CONFIG": str(directory)} and os.environ["DOCKER_CONFIG"] == str(directory)
    config.set_helper(directory, HOST)
    job = json.loads((directory / "config.json").read_text())
    assert job["auths"] == {"ghcr.io": {"auth": "eA=="}} and job["credHelpers"] == {HOST: "reactor"}
    assert "credHelpers" not in json.loads((user / "config.json").read_text())  # user's file untouched
    assert (directory / "cli-plugins").is_symlink() and (directory / "buildx").resolve() == (user / "buildx")


def test_docker_login_and_logout(home: Path, capsys: pytest.CaptureFixture[str]) -> None:
    creds = _creds()
    path = dcli.docker_login(creds=creds)
    assert json.loads(path.read_text())["credHelpers"] == {HOST: "reactor"}
    path = dcli.docker_login(static=True, creds=creds)
    assert "EXPIRES" in capsys.readouterr().err
    dcli.docker_logout(HOST)
    assert json.loads(path.read_text()) == {}
    dcli.docker_logout(None)  # idempotent, and without knowing the host
    out, err = capsys.readouterr()
    assert TOKEN not in out + err and KEY not in out + err


# -- the helper protocol (in-process) -----------------------------------------


def test_get_cached_list_store_erase_version(home: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    CredentialsStore().save(_creds())
    code, out = _run("get", HOST, monkeypatch)
    assert code == 0
    assert json.loads(out) == {"ServerURL": HOST, "Username": "sandbox-user", "Secret": TOKEN}
    code, out = _run("get", f"https://{HOST}/v2/\n", monkeypatch)  # other clients send URLs
    assert code == 0 and json.loads(out)["Secret"] == TOKEN
    assert _run("list", "", monkeypatch) == (0, json.dumps({HOST: "sandbox-user"}))
    store_in = json.dumps({"ServerURL": HOST, "Username": "x", "Secret": "typed-secret-123456"})
    assert _run("store", store_in, monkeypatch) == (0, "")
    assert _run("erase", HOST, monkeypatch) == (0, "")
    assert _run("erase", HOST, monkeypatch) == (0, "")
    code, out = _run("version", "", monkeypatch)
    assert code == 0 and "reactor-ci" in out
    assert _run("bogus", "", monkeypatch)[0] == 1
    stored = (home / "creds").read_text() + (home / "helper.log").read_text()
    assert "typed-secret-123456" not in stored  # `store` never writes the secret anywhere
    assert TOKEN not in (home / "helper.log").read_text()


def test_get_unknown_host_and_no_credentials(home: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    assert _run("get", HOST, monkeypatch) == (1, helper.NOT_FOUND)
    assert "reactor-ci login" in (home / "helper.log").read_text()
    CredentialsStore().save(_creds())
    assert _run("get", "ghcr.io", monkeypatch) == (1, helper.NOT_FOUND)
    assert _run("list", "", monkeypatch)[0] == 0


def test_get_failed_refresh_is_explicit(home: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # Expired and the API is unreachable: an error on stdout (not "not found"),
    # and a log line that says docker will fall back to anonymous.
    CredentialsStore().save(_creds(left=-5))
    monkeypatch.setenv("REACTOR_API_URL", "http://127.0.0.1:9")
    monkeypatch.setenv("REACTOR_CI_RETRY_ATTEMPTS", "1")
    code, out = _run("get", HOST, monkeypatch)
    assert code == 1 and out != helper.NOT_FOUND and out.startswith("reactor-ci:")
    logged = (home / "helper.log").read_text()
    assert "refresh FAILED" in logged and "anonymous" in logged
    assert TOKEN not in out + logged and KEY not in out + logged


def test_corrupt_credentials_reported_on_stdout(home: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (home / "creds").write_text("{broken")
    code, out = _run("get", HOST, monkeypatch)
    assert code == 1 and "not valid JSON" in out


def test_cached_get_imports_nothing_heavy(home: Path) -> None:
    """The fast path adds only our own small modules and the C json scanner.

    Not even ``re``, ``typing`` or ``json``: each costs milliseconds on every
    ``docker push`` (see bench/bench_helper.py).
    """
    CredentialsStore().save(_creds())
    probe = (
        "import sys\n"
        "before = set(sys.modules)\n"
        "from reactor_ci.docker.helper import main\n"
        "code = main(['get'])\n"
        "sys.stderr.write(repr(sorted(set(sys.modules) - before)))\n"
        "sys.exit(code)\n"
    )
    proc = subprocess.run(
        [sys.executable, "-c", probe], input=HOST, capture_output=True, text=True, env=dict(os.environ), check=False
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    added = set(ast.literal_eval(proc.stderr))
    allowed = {
        "reactor_ci",
        "reactor_ci.docker",
        "reactor_ci.docker.helper",
        "reactor_ci.docker.fastpath",
        "reactor_ci.fastread",
        "reactor_ci.errorboundary",
        "reactor_ci.citables",  # data only (the provider override's name), stdlib-free
        "reactor_ci.settings",
        "_json",
        "__future__",
    }
    assert added <= allowed, sorted(added - allowed)
    assert json.loads(proc.stdout)["Secret"] == TOKEN


# -- push: parsing, classification, progress ----------------------------------


def test_parse_image_and_namespace() -> None:
    assert push.parse_image(f"{HOST}/sandbox/m:v1") == push.ImageRef(f"{HOST}/sandbox/m", "v1")
    assert push.parse_image(f"{HOST}/sandbox/m") == push.ImageRef(f"{HOST}/sandbox/m", "latest")
    with pytest.raises(UsageError):
        push.parse_image(f"{HOST}/sandbox/m@sha256:" + "0" * 64)
    creds = _creds()
    push.check_namespace(push.parse_image(f"{HOST}/sandbox/team/m:v1"), creds)
    for bad in (f"{HOST}/other/m:v1", "docker.io/sandbox/m:v1", "m:v1", f"{HOST}/sandboxx/m"):
        with pytest.raises(UsageError, match="docker tag") as info:
            push.check_namespace(push.parse_image(bad), creds)
        assert info.value.exit_code == 2


def test_stream_errors_are_classified() -> None:
    ref = push.parse_image(f"{HOST}/sandbox/m:v1")
    progress = push.Progress(io.StringIO(), mode="none")
    unauthorized: list[dict[str, Any]] = [
        {"status": "Preparing", "id": "abc"},
        {"errorDetail": {"message": "unauthorized: expired"}, "error": "unauthorized: expired"},
    ]
    with pytest.raises(push.AuthFailure) as auth:
        push.consume(iter(unauthorized), ref, _creds(), progress)
    assert auth.value.exit_code == 5 and "reactor-ci login" in str(auth.value)
    denied = [{"error": "denied: requested access to the resource is denied"}]
    with pytest.raises(DockerError, match="namespace") as den:
        push.consume(iter(denied), ref, _creds(), progress)
    assert not isinstance(den.value, push.AuthFailure)
    with pytest.raises(DockerError, match="without a digest"):
        push.consume(iter([{"status": "Pushed", "id": "abc"}]), ref, _creds(), progress)
    ok: list[dict[str, Any]] = [
        {"status": "Pushed", "id": "abc"},
        {"status": "v1: digest: sha256:ab size: 5"},
        {"aux": {"Tag": "v1", "Digest": "sha256:ab", "Size": 5}},
    ]
    assert push.consume(iter(ok), ref, _creds(), progress) == ("sha256:ab", 5)


def test_plain_progress_is_throttled_and_tty_redraws() -> None:
    now = [0.0]
    out = io.StringIO()
    progress = push.Progress(out, mode="plain", interval=10, clock=lambda: now[0])
    for i in range(100):
        now[0] = i * 0.5  # 50 s of uploading, an event every half second
        progress.update({"status": "Pushing", "id": "l1", "progressDetail": {"current": i, "total": 100}})
    progress.update({"status": "Pushed", "id": "l1"})
    lines = out.getvalue().splitlines()
    assert 5 <= len(lines) <= 7 and lines[-1] == "l1: Pushed"
    tty = io.StringIO()
    progress = push.Progress(tty, mode="tty")
    progress.update({"status": "Pushing", "id": "l1", "progressDetail": {"current": 5, "total": 10}})
    progress.update({"status": "Pushing", "id": "l2", "progressDetail": {"current": 1, "total": 10}})
    progress.update({"status": "Pushed", "id": "l1"})
    assert "\x1b[2A" in tty.getvalue() and "[====" in tty.getvalue()


class _FakeSession:
    def __init__(self) -> None:
        self.calls: list[bool] = []
        self.token = TOKEN

    def fresh(self, *, min_remaining: float | None = None, force: bool = False) -> Credentials:
        self.calls.append(force)
        if force:
            self.token = TOKEN + "-new"
        return _creds(self.token)


class _FakeClient:
    def __init__(self) -> None:
        self.auths: list[dict[str, Any]] = []

    def inspect_image(self, ref: str) -> dict[str, Any]:
        return {"Id": ref}

    def push(self, repo: str, tag: str, **kw: Any) -> Any:
        self.auths.append(kw["auth_config"])
        if len(self.auths) == 1:
            return iter([{"error": "unauthorized: authentication required"}])
        return iter([{"status": "Pushed", "id": "l"}, {"aux": {"Tag": tag, "Digest": "sha256:" + "1" * 64, "Size": 9}}])


def test_push_refreshes_once_and_retries_on_unauthorized() -> None:
    session, client, out = _FakeSession(), _FakeClient(), io.StringIO()
    results = push.push_images(
        [f"{HOST}/sandbox/m:v1"],
        session=session,
        client=client,
        progress=push.Progress(io.StringIO(), mode="plain"),
        out=out,
        scan=False,  # the fake client has no image to export; the scan is tested in test_push_scan*.py
    )
    assert session.calls == [False, False, True]
    assert [a["password"] for a in client.auths] == [TOKEN, TOKEN + "-new"]
    assert out.getvalue() == f"{HOST}/sandbox/m@sha256:{'1' * 64}\n"
    outputs: dict[str, str] = {}
    push.write_outputs(results, outputs.__setitem__)
    assert outputs["digest"] == "sha256:" + "1" * 64
    assert json.loads(outputs["digests"]) == {f"{HOST}/sandbox/m:v1": "sha256:" + "1" * 64}


# -- the helper's fast path agrees with the session's rule --------------------


def test_fast_json_matches_json() -> None:
    samples = [
        '{"a": "b", "n": 1, "f": 1.5, "l": [1, {"x": null}], "t": true}',
        '  \n{"unicode": "\\u00e9\\ud83d\\ude00", "esc": "a\\"b\\\\c"}\n',
        "[]",
        '"s"',
    ]
    for text in samples:
        assert fastread.loads(text) == json.loads(text)
    for bad in ('{"a": 1} x', "{", '{"a": NaN}', '{"a": "\x01"}', ""):
        with pytest.raises((ValueError, StopIteration)):
            fastread.loads(bad)
    value = {"ServerURL": "h:1", "Username": 'ü"\\', "Secret": "a\nb\u2028"}
    assert json.loads(fastread.dumps(value)) == value


def test_fast_epoch_matches_datetime() -> None:
    import random

    from reactor_ci.timeutil import parse_time

    rng = random.Random(7)
    for _ in range(2000):
        ts = rng.randint(0, 4_102_444_800)  # 1970 .. 2100
        text = datetime.fromtimestamp(ts, tz=timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
        assert fastread.epoch(text) == parse_time(text).timestamp() == ts
        assert fastread.epoch(text.replace("Z", "+00:00")) == ts
    for odd in ("2025-01-01T12:00:00.5Z", "2025-01-01T12:00:00+02:00", "2025-13-01T00:00:00Z", "soon", 12):
        assert fastread.epoch(odd) is None


_MINIMUMS = st.one_of(
    st.sampled_from(["", "0", "2", "3600", "50000", "nan", "inf", "-1", "ten", "1e400", " 60 ", "2592001"]),
    st.integers(min_value=0, max_value=30 * 86400).map(str),
    st.floats(allow_nan=True, allow_infinity=True).map(repr),
)


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    minimum=_MINIMUMS,
    lifetime=st.one_of(st.none(), st.integers(min_value=-100, max_value=3 * 86400)),
    left=st.integers(min_value=-86400, max_value=3 * 86400),
    now=st.integers(min_value=5 * 86400, max_value=4_000_000_000),
)
def test_fast_decision_agrees_with_the_session(
    minimum: str, lifetime: int | None, left: int, now: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The fast path serves exactly when Session would NOT refresh; a bad setting always goes slow."""
    from reactor_ci import settings as rsettings
    from reactor_ci.session import Session

    monkeypatch.setenv("REACTOR_CI_MIN_TOKEN_LIFETIME", minimum)
    monkeypatch.setenv("REACTOR_CI_REGISTRY_HOSTS", HOST)
    expiry = datetime.fromtimestamp(now + left, tz=timezone.utc)
    creds = Credentials(
        api_key=KEY, partner_id="sandbox", registry=f"{HOST}/sandbox", registry_token=TOKEN,
        registry_token_expiry=expiry,
        issued_at=expiry - timedelta(seconds=lifetime) if lifetime is not None else None,
    )  # fmt: skip
    verdict, answer, _ = fastpath.decide(creds.to_json(), HOST, float(now))
    try:
        session = Session(CredentialsStore(Path("/nonexistent")))
    except UsageError:
        assert rsettings.peek(rsettings.MIN_TOKEN_LIFETIME) is None
        assert verdict == "slow"
        return
    refresh = session.needs_refresh(creds, now=float(now))
    assert (verdict == "serve") == (not refresh), (minimum, lifetime, left)
    if answer is not None:
        assert answer == {"Username": "sandbox", "Secret": TOKEN}
    assert fastpath.decide({"registry": "x"}, HOST, float(now))[0] == "slow"


def test_fast_path_never_serves_a_foreign_registry(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("REACTOR_CI_REGISTRY_HOSTS", raising=False)
    monkeypatch.delenv("REACTOR_CI_MIN_TOKEN_LIFETIME", raising=False)
    data = _creds().to_json()
    assert fastpath.decide(data, HOST, time.time())[0] == "slow"  # 127.0.0.1 not allowed by default
    data["registry"] = "ghcr.io/victim"
    assert fastpath.decide(data, "ghcr.io", time.time())[0] == "slow"
    data["registry"] = "registry.reactor.inc/acme"
    assert fastpath.decide(data, "registry.reactor.inc", time.time())[0] == "serve"


def test_fast_path_leaves_odd_files_to_the_full_path(home: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    CredentialsStore().save(_creds())
    path = home / "creds"
    assert fastpath.fast_get(HOST, time.time())[0] == "serve"
    assert fastpath.fast_get("ghcr.io", time.time())[0] == "other-host"
    path.chmod(0o644)  # the full path warns and tightens it
    assert fastpath.fast_get(HOST, time.time())[0] == "slow"
    code, out = _run("get", HOST, monkeypatch)
    assert code == 0 and json.loads(out)["Secret"] == TOKEN
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    link = home / "link"
    link.symlink_to(path)
    monkeypatch.setenv("REACTOR_CREDENTIALS", str(link))
    assert fastpath.fast_get(HOST, time.time())[0] == "slow"
    code, out = _run("get", HOST, monkeypatch)
    assert code == 1 and "symlink" in out


def test_a_symlinked_config_is_updated_through_the_link(tmp_path: Path) -> None:
    """Dotfiles managers link ~/.docker/config.json: the link must survive, the target change."""
    dotfiles = tmp_path / "dotfiles"
    dotfiles.mkdir()
    target = dotfiles / "docker-config.json"
    target.write_text(json.dumps({"auths": {"ghcr.io": {"auth": "Z2g6dG9r"}}}))
    config_dir = tmp_path / "docker"
    config_dir.mkdir()
    (config_dir / "config.json").symlink_to(target)
    config.set_helper(config_dir, HOST)
    assert (config_dir / "config.json").is_symlink()
    data = json.loads(target.read_text())
    assert data["credHelpers"] == {HOST: "reactor"} and data["auths"] == {"ghcr.io": {"auth": "Z2g6dG9r"}}
    assert config.remove(config_dir, [HOST])
    assert (config_dir / "config.json").is_symlink() and "credHelpers" not in json.loads(target.read_text())


def test_docker_config_without_home_is_exit_2(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.delenv("DOCKER_CONFIG", raising=False)
    monkeypatch.delenv("HOME", raising=False)
    with pytest.raises(UsageError) as info:
        config.user_config_dir()
    assert "DOCKER_CONFIG" in (info.value.fix or "")
    monkeypatch.setenv("HOME", str(tmp_path / "missing"))
    with pytest.raises(UsageError):
        config.user_config_dir()
    assert not (tmp_path / "missing").exists()
    monkeypatch.setenv("DOCKER_CONFIG", str(tmp_path / "explicit"))
    assert config.user_config_dir() == tmp_path / "explicit"
