"""``reactor-ci auth``: the one entry of the GitHub Action and the GitLab component.

Flows run the real CLI against the real emulator over loopback HTTP; input
errors run against a closed port, which proves they fail before any network
call. Every test greps everything printed for the canary secrets.
"""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from reactor_ci import auth
from reactor_ci.errors import UsageError
from reactor_ci.keys import KeyKind
from tests.clirun import Result, base_env, run
from tests.leaks import assert_no_secret

# Nothing listens on port 9 (discard) on loopback: a validation error must come
# before any request, or the test sees exit 4 instead of 2.
CLOSED_API = "http://127.0.0.1:9"
PARTNER = "rp_" + "Cq7Hx2Lm9Pz4Tn6Vb8Rw1Ks3"
APP = "rk_" + "Dm4Jy8Nq2Wx6Fz1Gc5Hv7Bt9"


@pytest.fixture
def home(tmp_path: Path) -> Path:
    h = tmp_path / "home"
    h.mkdir()
    return h


def _github(tmp_path: Path, **extra: str) -> dict[str, str]:
    runner_temp = tmp_path / "runner_temp"
    runner_temp.mkdir(exist_ok=True)
    for name in ("gh_output", "gh_env", "summary"):
        (tmp_path / name).touch()
    return {
        "GITHUB_ACTIONS": "true",
        "GITHUB_OUTPUT": str(tmp_path / "gh_output"),
        "GITHUB_ENV": str(tmp_path / "gh_env"),
        "GITHUB_STEP_SUMMARY": str(tmp_path / "summary"),
        "RUNNER_TEMP": str(runner_temp),
        **extra,
    }


def _unmasked(result: Result) -> str:
    """Everything printed except the ``::add-mask::`` lines, whose job is to carry the secret."""
    return "\n".join(line for line in result.output.splitlines() if not line.startswith("::add-mask::"))


def _outputs(path: Path) -> dict[str, str]:
    """Parse GitHub's ``name<<DELIM`` file."""
    found: dict[str, str] = {}
    lines = path.read_text().split("\n")
    i = 0
    while i < len(lines):
        if "<<" in lines[i]:
            name, delim = lines[i].split("<<", 1)
            end = lines.index(delim, i + 1)
            found[name] = "\n".join(lines[i + 1 : end])
            i = end
        i += 1
    return found


# -- flows on the emulator -------------------------------------------------------


def test_partner_key_in_the_action_logs_in_and_registers_the_helper(emulator: Any, home: Path, tmp_path: Path) -> None:
    env = base_env(
        home,
        emulator.url,
        REACTOR_API_KEY=emulator.partner_key,
        **_github(tmp_path, GITHUB_ACTION_PATH=str(tmp_path)),
    )
    result = run(["auth", "--docker-login", "", "--token-lifetime", "", "--key-name", "api-key input"], env)
    assert result.code == 0, result.output
    outputs = _outputs(tmp_path / "gh_output")
    assert outputs["key-kind"] == "partner"
    assert outputs["partner-id"] == emulator.partner_id and outputs["registry"] == emulator.registry
    assert outputs["registry-token-expiry"].endswith("Z")
    cred = tmp_path / "runner_temp" / "reactor-ci" / "credentials"
    token = json.loads(cred.read_text())["registry_token"]
    docker = json.loads((tmp_path / "runner_temp" / "reactor-ci-docker-config" / "config.json").read_text())
    assert docker["credHelpers"] == {emulator.registry_host: "reactor"}
    exported = (tmp_path / "gh_env").read_text()
    assert str(cred) in exported and "DOCKER_CONFIG" in exported
    # Inside the action the user cannot edit our shell: no eval advice.
    assert "eval" not in result.output and "exported to later steps" in result.output
    summary = (tmp_path / "summary").read_text()
    assert "credential helper registered" in summary
    assert f"::add-mask::{emulator.partner_key}" in result.output
    assert_no_secret([_unmasked(result), summary, exported, json.dumps(outputs)], [token, emulator.partner_key])


def test_partner_key_without_docker_login_and_with_a_lifetime(emulator: Any, home: Path) -> None:
    env = base_env(home, emulator.url, REACTOR_API_KEY=emulator.partner_key)
    result = run(["auth", "--docker-login", "FALSE", "--token-lifetime", "900", "--json"], env)
    assert result.code == 0, result.output
    assert "token-lifetime applies to app keys (rk_) only; ignored" in result.stderr
    assert not (home / ".docker" / "config.json").exists()
    doc = json.loads(result.stdout)
    assert doc["kind"] == "partner" and doc["partner_id"] == emulator.partner_id
    token = json.loads((home / ".reactor" / "credentials").read_text())["registry_token"]
    assert_no_secret([result.output], [token, emulator.partner_key])


def test_app_key_mints_a_jwt_with_the_lifetime_asked(emulator: Any, home: Path, tmp_path: Path) -> None:
    env = base_env(home, emulator.url, REACTOR_API_KEY=emulator.app_key, **_github(tmp_path))
    before = time.time()
    result = run(["auth", "--docker-login", "auto", "--token-lifetime", " 900\n"], env)
    assert result.code == 0, result.output
    outputs = _outputs(tmp_path / "gh_output")
    assert outputs["key-kind"] == "app" and outputs["jwt"].startswith("eyJ")
    assert 890 <= int(outputs["jwt-expires-at"]) - before <= 910 + (time.time() - before)
    jwt = outputs["jwt"]
    assert f"::add-mask::{jwt}" in result.output
    assert result.stdout == ""  # never on stdout unless asked
    assert not (tmp_path / "runner_temp" / "reactor-ci-docker-config").exists()
    assert_no_secret([_unmasked(result)], [jwt, emulator.app_key])


def test_app_key_prints_the_jwt_for_the_gitlab_component(emulator: Any, home: Path, tmp_path: Path) -> None:
    env = base_env(
        home, emulator.url, MY_APP_KEY=emulator.app_key, GITLAB_CI="true", REACTOR_CI_DOTENV=str(tmp_path / "o.env")
    )
    result = run(["auth", "--key-env", "MY_APP_KEY", "--print"], env)
    assert result.code == 0, result.output
    jwt = result.stdout.strip()
    assert jwt.startswith("eyJ") and jwt.count(".") == 2
    dotenv = (tmp_path / "o.env").read_text()
    assert "REACTOR_KEY_KIND=app" in dotenv and "REACTOR_JWT_EXPIRES_AT=" in dotenv
    assert_no_secret([result.stderr, dotenv], [jwt, emulator.app_key])


def test_a_key_the_server_refuses_is_named_as_the_user_knows_it(emulator: Any, home: Path) -> None:
    emulator.revoke(emulator.partner_key)
    env = base_env(home, emulator.url, RELEASE_KEY=emulator.partner_key)
    result = run(["auth", "--key-env", "RELEASE_KEY"], env)
    assert result.code == 3, result.output
    assert "RELEASE_KEY: " in result.stderr and "fix:" in result.stderr
    assert_no_secret([result.output], [emulator.partner_key])


# -- input errors: exit 2 before any network call --------------------------------


@pytest.mark.parametrize(
    ("key", "args", "needles"),
    [
        (
            APP,
            ["--docker-login", "true", "--key-name", "api-key input"],
            ["api-key input holds an app key", "cannot push"],
        ),
        (PARTNER, ["--docker-login", "maybe"], ["--docker-login must be auto, true or false"]),
        (APP, ["--token-lifetime", "0"], ["positive whole number"]),
        (APP, ["--token-lifetime", "-5"], ["positive whole number"]),
        (APP, ["--token-lifetime", "1.5"], ["positive whole number"]),
        (APP, ["--token-lifetime", "abc"], ["positive whole number"]),
        (APP, ["--token-lifetime", "٣"], ["positive whole number"]),  # a non-ASCII digit
        (APP, ["--token-lifetime", "9" * 40], ["positive whole number"]),
        (APP, ["--key-kind", "partner", "--key-name", "MY_VAR"], ["MY_VAR holds an rk_ app key", "partner key"]),
        (PARTNER, ["--key-kind", "app"], ["REACTOR_API_KEY holds an rp_ partner key"]),
        ("sk_" + "x" * 20, ["--key-name", "api-key input"], ["the key in api-key input", "not a Reactor key"]),
        ("", ["--key-name", "api-key input"], ["api-key input is empty or not set"]),
        (PARTNER, ["--key-env", "1BAD"], ["--key-env must be the name of an environment variable"]),
        (PARTNER, ["--key-env", "MISSING_VAR"], ["MISSING_VAR is empty or not set"]),
        (PARTNER, ["--key-name", "a\nb" * 60], ["--key-name must be a short printable label"]),
    ],
)
def test_bad_inputs_exit_2_with_the_fix(home: Path, key: str, args: list[str], needles: list[str]) -> None:
    result = run(["auth", *args], base_env(home, CLOSED_API, REACTOR_API_KEY=key))
    assert result.code == 2, result.output
    for needle in needles:
        assert needle in result.stderr, result.stderr
    assert "fix:" in result.stderr and "Traceback" not in result.output
    assert not (home / ".reactor").exists()
    assert_no_secret([result.output], [PARTNER, APP])


@pytest.mark.parametrize("flag", ["--key-name", "--key-env"])
def test_a_key_given_as_a_name_is_refused_and_never_echoed(home: Path, flag: str) -> None:
    result = run(["auth", flag, PARTNER], base_env(home, CLOSED_API, REACTOR_API_KEY=APP))
    assert result.code == 2
    assert "must be the NAME of the variable" in result.stderr and "revoke it" in result.stderr
    assert_no_secret([result.output], [PARTNER, PARTNER[3:]])


def test_empty_key_gets_the_ci_specific_reason(home: Path, tmp_path: Path) -> None:
    github = base_env(
        home,
        CLOSED_API,
        REACTOR_API_KEY="  \n",
        **_github(tmp_path, GITHUB_EVENT_NAME="pull_request", GITHUB_ACTOR="dependabot[bot]"),
    )
    result = run(["auth", "--key-name", "api-key input"], github)
    assert result.code == 2
    assert "api-key input is empty or not set" in result.output
    assert "pull requests from forks" in result.output and "Dependabot secrets" in result.output
    gitlab = run(["auth", "--key-env", "RK"], base_env(home, CLOSED_API, GITLAB_CI="true"))
    assert gitlab.code == 2 and "RK is empty" in gitlab.stderr and "Protected variables" in gitlab.stderr


@pytest.mark.parametrize("url", ["https://api.reactor.inc\nhttps://evil.example", "ftp://api.reactor.inc"])
def test_bad_api_url(home: Path, url: str) -> None:
    result = run(["auth"], base_env(home, REACTOR_API_KEY=PARTNER, REACTOR_API_URL=url))
    assert result.code == 2 and "REACTOR_API_URL" in result.stderr and "fix:" in result.stderr


def test_github_output_that_is_a_directory_exits_2_naming_it(home: Path, tmp_path: Path) -> None:
    env = base_env(home, CLOSED_API, REACTOR_API_KEY=PARTNER, **_github(tmp_path, GITHUB_OUTPUT=str(tmp_path)))
    result = run(["auth"], env)
    assert result.code == 2, result.output
    assert "GITHUB_OUTPUT" in result.output and "is a directory" in result.output
    assert "internal error" not in result.output


# -- the input parsers, as properties ---------------------------------------------

_SECRETISH = st.text(alphabet=st.characters(blacklist_categories=["Cs"]), max_size=30)


@given(raw=_SECRETISH | st.sampled_from(["", " 900 ", "0", "-1", "1e3", "０", "٣", "9" * 12, "true"]))
@settings(max_examples=300, deadline=None)
def test_lifetime_is_a_positive_int_or_exit_2_without_the_value(raw: str) -> None:
    try:
        value = auth._lifetime(raw, KeyKind.APP)
    except UsageError as exc:
        assert exc.exit_code == 2
        assert "(value not shown)" in exc.message  # it may be a key pasted into the wrong input
        return
    assert value is None if not raw.strip() else (isinstance(value, int) and value > 0 and str(value) == raw.strip())


@given(raw=_SECRETISH | st.sampled_from(["", "auto", "TRUE", " false ", "yes", "1"]), kind=st.sampled_from(KeyKind))
@settings(max_examples=300, deadline=None)
def test_docker_login_is_a_bool_or_exit_2(raw: str, kind: KeyKind) -> None:
    try:
        value = auth._docker_login(raw, kind, "api-key input")
    except UsageError as exc:
        assert exc.exit_code == 2
        assert raw.strip().lower() not in ("", "auto", "false")
        assert "(value not shown)" in exc.message or raw.strip().lower() == "true"
        return
    assert value is (raw.strip().lower() == "true" or (raw.strip().lower() in ("", "auto") and kind is KeyKind.PARTNER))


@given(junk=st.lists(_SECRETISH, max_size=4))
@settings(max_examples=200, deadline=None)
def test_the_parser_never_echoes_an_argument(junk: list[str]) -> None:
    from reactor_ci.cli import build_parser

    secret = "rp_" + "Qw3Er5Ty7Ui9Op1As2Df4Gh6"
    argv = ["auth", "--key-kind", secret, *junk] if len(junk) % 2 else ["auth", *junk, secret]
    with pytest.raises((UsageError, SystemExit)) as caught:
        build_parser(argv[0]).parse_args(argv)
    if isinstance(caught.value, UsageError):
        assert caught.value.exit_code == 2
        assert secret not in str(caught.value) and secret[3:] not in str(caught.value)


def test_outside_the_action_the_same_step_advice_is_printed(emulator: Any, home: Path, tmp_path: Path) -> None:
    # A user's own `run:` step can eval the exports; inside our action (previous test) it cannot.
    env = base_env(home, emulator.url, REACTOR_API_KEY=emulator.partner_key, **_github(tmp_path))
    result = run(["login", "--docker-login"], env)
    assert result.code == 0, result.output
    assert 'eval "$(reactor-ci docker-login --print-env)"' in result.output
