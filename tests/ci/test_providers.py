"""Pure unit tests of reactor_ci.ci: every provider with a fake env and tmp files."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from reactor_ci import ci, redact
from reactor_ci.ci import azure, buildkite, github, gitlab
from reactor_ci.errors import UsageError


def parse_heredocs(text: str) -> dict[str, str]:
    """Parse GitHub's ``name<<DELIM`` file format the way the runner does."""
    out: dict[str, str] = {}
    lines = text.split("\n")
    i = 0
    while i < len(lines):
        line = lines[i]
        if not line:
            i += 1
            continue
        name, _, delim = line.partition("<<")
        assert delim, line
        j = lines.index(delim, i + 1)
        out[name] = "\n".join(lines[i + 1 : j])
        i = j + 1
    return out


# -- detection -----------------------------------------------------------------


@pytest.mark.parametrize(
    ("env", "name"),
    [
        ({}, "local"),
        ({"GITHUB_ACTIONS": "true"}, "github"),
        ({"GITHUB_ACTIONS": "true", "ACT": "true"}, "github"),
        ({"GITHUB_ACTIONS": "false"}, "local"),
        ({"GITLAB_CI": "true"}, "gitlab"),
        ({"GITLAB_CI": "false"}, "local"),  # gitlab-ci-local
        ({"TF_BUILD": "True"}, "azure"),
        ({"BUILDKITE": "true"}, "buildkite"),
        ({"CIRCLECI": "true"}, "circleci"),
        ({"JENKINS_URL": "https://jenkins.example/"}, "jenkins"),
        ({"JENKINS_URL": ""}, "local"),
        ({"BITBUCKET_BUILD_NUMBER": "42"}, "bitbucket"),
        ({"GITHUB_ACTIONS": "true", "GITLAB_CI": "true"}, "github"),
        ({"GITHUB_ACTIONS": "true", "REACTOR_CI_PROVIDER": "local"}, "local"),
        ({"REACTOR_CI_PROVIDER": "gitlab"}, "gitlab"),
    ],
)
def test_detect(env: dict[str, str], name: str) -> None:
    provider = ci.detect(env)
    assert provider.name == name
    assert isinstance(provider, ci.Provider)


def test_detect_defaults_to_os_environ(monkeypatch: pytest.MonkeyPatch) -> None:
    for var in (*(variable for variable, _ in ci._MARKERS.values()), ci.OVERRIDE_VAR):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("CIRCLECI", "true")
    assert ci.detect().name == "circleci"


def test_detect_rejects_unknown_override() -> None:
    with pytest.raises(UsageError, match="REACTOR_CI_PROVIDER") as caught:
        ci.detect({"REACTOR_CI_PROVIDER": "travis"})
    assert caught.value.exit_code == 2
    assert caught.value.fix is not None and all(name in caught.value.fix for name in ("local", *ci.PROVIDERS))


def test_can_mask_table() -> None:
    assert ci.detect({"GITHUB_ACTIONS": "true"}).can_mask
    assert ci.detect({"TF_BUILD": "True"}).can_mask
    for env in (
        {},
        {"GITLAB_CI": "true"},
        {"CIRCLECI": "true"},
        {"JENKINS_URL": "x"},
        {"BITBUCKET_BUILD_NUMBER": "1"},
    ):
        assert not ci.detect(env).can_mask


def test_package_is_import_light() -> None:
    code = (
        "import sys; import reactor_ci.ci as c; p = c.detect({'GITHUB_ACTIONS': 'true'});"
        "heavy = {'httpx', 'filelock', 'tenacity', 'docker', 'yaml', 'subprocess'} & set(sys.modules);"
        "print(sorted(heavy))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"


# -- base / local ----------------------------------------------------------------


def test_local_is_silent_except_annotations(capsys: pytest.CaptureFixture[str]) -> None:
    p = ci.detect({})
    p.mask("rp_secretsecret")
    p.set_output("jwt", "value")
    p.set_env("X", "y")
    p.add_summary("# hi")
    with p.group("title"):
        pass
    assert p.job_temp_dir() is None
    p.annotate("error", "it broke", file="a.py", line=3, col=2, title="T")
    p.annotate("debug", "hidden")
    captured = capsys.readouterr()
    assert captured.out == ""
    assert captured.err == "reactor-ci: error: a.py:3:2: T: it broke\n"


def test_annotate_rejects_unknown_level() -> None:
    with pytest.raises(ValueError):
        ci.detect({}).annotate("fatal", "x")


def test_install_masking_noop_when_cannot_mask(capsys: pytest.CaptureFixture[str]) -> None:
    ci.install_masking(ci.detect({"GITLAB_CI": "true"}))
    redact.register("rp_abcdefghijkl")
    assert capsys.readouterr() == ("", "")


# -- GitHub ----------------------------------------------------------------------


@pytest.fixture
def gh_env(tmp_path: Path) -> dict[str, str]:
    files = {}
    for var in ("GITHUB_OUTPUT", "GITHUB_ENV", "GITHUB_STEP_SUMMARY"):
        f = tmp_path / var.lower()
        f.write_text("")
        files[var] = str(f)
    return {"GITHUB_ACTIONS": "true", "RUNNER_TEMP": str(tmp_path / "runner-temp"), **files}


def test_github_mask_goes_to_stderr_one_line_per_call(
    gh_env: dict[str, str], capsys: pytest.CaptureFixture[str]
) -> None:
    p = ci.detect(gh_env)
    p.mask("line-one-secret\n\n   \r\nline-two-secret\r\n")
    captured = capsys.readouterr()
    assert captured.out == ""
    assert captured.err == "::add-mask::line-one-secret\n::add-mask::line-two-secret\n"


def test_github_mask_escapes_percent(gh_env: dict[str, str], capsys: pytest.CaptureFixture[str]) -> None:
    # The runner unescapes %25 -> %, so a literal "%0A" in a secret must be sent as %250A.
    ci.detect(gh_env).mask("abc%0Adef")
    assert capsys.readouterr().err == "::add-mask::abc%250Adef\n"


def test_install_masking_masks_known_and_later_secrets(
    gh_env: dict[str, str], capsys: pytest.CaptureFixture[str]
) -> None:
    redact.register("rp_before_install_1234")
    ci.install_masking(ci.detect(gh_env))
    redact.register("rp_after_install_5678")
    redact.register_basic_auth("acme", "registry-token-9999")
    err = capsys.readouterr().err
    assert "::add-mask::rp_before_install_1234\n" in err
    assert "::add-mask::rp_after_install_5678\n" in err
    assert "::add-mask::registry-token-9999\n" in err
    import base64

    assert f"::add-mask::{base64.b64encode(b'acme:registry-token-9999').decode()}\n" in err


def test_github_outputs_and_env_heredoc(gh_env: dict[str, str]) -> None:
    p = ci.detect(gh_env)
    p.set_output("partner-id", "acme")
    p.set_output("multi", "a\nb\nc")
    p.set_env("REACTOR_CREDENTIALS", "/tmp/x/credentials")
    outputs = parse_heredocs(Path(gh_env["GITHUB_OUTPUT"]).read_text())
    assert outputs == {"partner-id": "acme", "multi": "a\nb\nc"}
    assert parse_heredocs(Path(gh_env["GITHUB_ENV"]).read_text()) == {"REACTOR_CREDENTIALS": "/tmp/x/credentials"}
    delims = re.findall(r"<<(\S+)", Path(gh_env["GITHUB_OUTPUT"]).read_text())
    assert len(set(delims)) == 2 and all(d.startswith("ghadelimiter_") for d in delims)


def test_github_heredoc_delimiter_never_in_value(gh_env: dict[str, str], monkeypatch: pytest.MonkeyPatch) -> None:
    # Force the first random delimiter to collide with the value: a new one must be drawn.
    import uuid

    uuids = iter([uuid.UUID(int=1), uuid.UUID(int=1), uuid.UUID(int=2)])
    monkeypatch.setattr(uuid, "uuid4", lambda: next(uuids))
    evil = f"x\nghadelimiter_{uuid.UUID(int=1)}\nINJECTED=1"
    p = ci.detect(gh_env)
    p.set_output("value", evil)
    text = Path(gh_env["GITHUB_OUTPUT"]).read_text()
    assert f"value<<ghadelimiter_{uuid.UUID(int=2)}\n" in text
    assert parse_heredocs(text) == {"value": evil}


@pytest.mark.parametrize("name", ["", "a b", "a\nb", "a<<b", "a=b"])
def test_github_rejects_bad_names(gh_env: dict[str, str], name: str) -> None:
    with pytest.raises(ValueError):
        ci.detect(gh_env).set_output(name, "v")


def test_github_without_files_warns(capsys: pytest.CaptureFixture[str]) -> None:
    p = ci.detect({"GITHUB_ACTIONS": "true"})
    p.set_output("jwt", "eyJ-secret")
    p.set_env("A", "b")
    p.add_summary("x")
    err = capsys.readouterr().err
    assert "::warning::GITHUB_OUTPUT is not set; output jwt not recorded" in err
    assert "eyJ-secret" not in err


def test_github_summary_appends_and_scrubs(gh_env: dict[str, str]) -> None:
    redact.register("registry-token-secret-0000")
    p = ci.detect(gh_env)
    p.add_summary("## Reactor\n| org | acme |")
    p.add_summary("token registry-token-secret-0000 and key rp_unregistered_abcdef")
    text = Path(gh_env["GITHUB_STEP_SUMMARY"]).read_text()
    assert text.startswith("## Reactor\n| org | acme |\n")
    assert "registry-token-secret-0000" not in text
    assert "rp_unregistered_abcdef" not in text


def test_github_summary_capped_at_one_mib(gh_env: dict[str, str], capsys: pytest.CaptureFixture[str]) -> None:
    p = ci.detect(gh_env)
    path = Path(gh_env["GITHUB_STEP_SUMMARY"])
    p.add_summary("é" * (github.SUMMARY_LIMIT // 2 + 10))  # > 1 MiB in bytes
    assert path.stat().st_size <= github.SUMMARY_LIMIT
    path.read_text(encoding="utf-8")  # still valid UTF-8
    assert "summary truncated" in path.read_text()
    p.add_summary("more")
    assert path.stat().st_size <= github.SUMMARY_LIMIT
    assert "step summary is full" in capsys.readouterr().err


def test_github_annotation_escaping(gh_env: dict[str, str], capsys: pytest.CaptureFixture[str]) -> None:
    p = ci.detect(gh_env)
    p.annotate("error", "100% bad\r\nnext: a, b", file="dir,x/a:b.py", line=3, col=7, title="T: 50%,\nx")
    p.annotate("warning", "plain")
    p.annotate("info", "note")
    p.annotate("debug", "dbg", file="ignored.py")
    lines = capsys.readouterr().err.splitlines()
    assert lines == [
        # A title is one line (its break shown as \n); a message keeps its lines, CR made visible.
        "::error file=dir%2Cx/a%3Ab.py,line=3,col=7,title=T%3A 50%25%2C\\nx::100%25 bad\\r%0Anext: a, b",
        "::warning::plain",
        "::notice::note",
        "::debug::dbg",
    ]


def test_github_annotation_never_prints_secret(gh_env: dict[str, str], capsys: pytest.CaptureFixture[str]) -> None:
    redact.register("the-registry-token-xyz")
    ci.detect(gh_env).annotate("error", "push failed with the-registry-token-xyz", title="rk_abcdefghijk")
    err = capsys.readouterr().err
    assert "the-registry-token-xyz" not in err and "rk_abcdefghijk" not in err


def test_github_job_temp_and_group(gh_env: dict[str, str], capsys: pytest.CaptureFixture[str]) -> None:
    p = ci.detect(gh_env)
    assert p.job_temp_dir() == Path(gh_env["RUNNER_TEMP"])
    with p.group("Log in: 50%"):
        print("inside", file=sys.stderr)
    assert capsys.readouterr().err == "::group::Log in: 50%25\ninside\n::endgroup::\n"


def test_github_settle_waits_only_after_a_mask(gh_env: dict[str, str]) -> None:
    import time

    p = ci.detect(gh_env)
    assert isinstance(p, github.GitHub)
    t0 = time.monotonic()
    p.settle()
    assert time.monotonic() - t0 < 0.05
    p.mask("some-secret-value")
    p.settle()
    assert time.monotonic() - t0 >= 0.15


# -- GitLab ----------------------------------------------------------------------


def test_gitlab_never_writes_secrets(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    p = ci.detect({"GITLAB_CI": "true"})
    p.set_output("partner-id", "acme")  # no REACTOR_CI_DOTENV: nothing written anywhere
    assert list(tmp_path.iterdir()) == []
    dotenv = tmp_path / "reactor.env"
    p = ci.detect({"GITLAB_CI": "true", "REACTOR_CI_DOTENV": str(dotenv)})
    redact.register("eyJhbGciOi.secretpart.sig")
    p.set_output("partner-id", "acme")
    p.set_output("registry", "registry.reactor.inc/acme")
    p.set_output("jwt", "eyJhbGciOi.secretpart.sig")
    p.set_output("other", "rk_unregisteredkey123")
    p.set_output("multi", "a\nb")
    p.set_env("X", "y")
    text = dotenv.read_text()
    assert text == "REACTOR_PARTNER_ID=acme\nREACTOR_REGISTRY=registry.reactor.inc/acme\n"
    assert capsys.readouterr() == ("", "")
    assert p.job_temp_dir() is None


def test_gitlab_sections(capsys: pytest.CaptureFixture[str]) -> None:
    with ci.detect({"GITLAB_CI": "true"}).group("Reactor login"):
        pass
    err = capsys.readouterr().err
    assert re.fullmatch(
        r"\x1b\[0Ksection_start:\d+:reactor_ci_Reactor_login\[collapsed=true\]\r\x1b\[0KReactor login\n"
        r"\x1b\[0Ksection_end:\d+:reactor_ci_Reactor_login\r\x1b\[0K\n",
        err,
    )
    assert gitlab.dotenv_name("registry-token-expiry") == "REACTOR_REGISTRY_TOKEN_EXPIRY"


# -- Azure -----------------------------------------------------------------------


def test_azure(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    p = ci.detect({"TF_BUILD": "True", "AGENT_TEMPDIRECTORY": str(tmp_path)})
    assert p.job_temp_dir() == tmp_path
    ci.install_masking(p)
    redact.register("jwt-line-one\njwt;line]two")
    p.set_output("jwt", "jwt-line-one\njwt;line]two")
    p.set_output("partner-id", "acme")
    p.set_env("REACTOR_CREDENTIALS", "/t/credentials")
    p.annotate("error", "bad; thing]", file="a;b.py", line=2, col=1, title="T")
    p.annotate("notice", "fyi")
    p.add_summary("# Reactor")
    captured = capsys.readouterr()
    assert captured.out == ""  # stdout is the user's: machine output only (issue 19.1)
    out = captured.err.splitlines()
    assert "##vso[task.setsecret]jwt-line-one" in out
    assert "##vso[task.setsecret]jwt%3Bline%5Dtwo" in out
    assert "##vso[task.setvariable variable=jwt;isOutput=true;issecret=true]jwt-line-one%0Ajwt%3Bline%5Dtwo" in out
    assert "##vso[task.setvariable variable=partner_id;isOutput=true]acme" in out
    assert "##vso[task.setvariable variable=REACTOR_CREDENTIALS]/t/credentials" in out
    assert "##vso[task.logissue type=error;sourcepath=a%3Bb.py;linenumber=2;columnnumber=1]T: bad%3B thing%5D" in out
    assert "fyi" in out
    summaries = list(tmp_path.glob("reactor-ci-summary-*.md"))
    assert len(summaries) == 1 and summaries[0].read_text() == "# Reactor"
    assert f"##vso[task.uploadsummary]{summaries[0]}" in out
    with pytest.raises(ValueError):
        p.set_output("bad name", "x")
    assert azure.escape("a\r\n") == "a%0D%0A"


# -- Buildkite -------------------------------------------------------------------


def _fake_agent(tmp_path: Path, exit_code: int = 0) -> Path:
    bindir = tmp_path / "bin"
    bindir.mkdir()
    log = tmp_path / "agent.log"
    agent = bindir / "buildkite-agent"
    agent.write_text(
        "#!/bin/sh\n"
        f'printf "ARGV:%s\\n" "$*" >> "{log}"\n'
        f'printf "STDIN:" >> "{log}"; /bin/cat >> "{log}"; printf "\\n" >> "{log}"\n'
        f"exit {exit_code}\n"
    )
    agent.chmod(0o755)
    return log


def test_buildkite_masks_via_stdin(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    log = _fake_agent(tmp_path)
    p = ci.detect({"BUILDKITE": "true", "PATH": str(tmp_path / "bin")})
    assert p.can_mask and isinstance(p, buildkite.Buildkite)
    p.mask("secret-line-one\nsecret-line-two")
    text = log.read_text()
    # one agent call for both lines: a JSON object whose values are the lines
    assert text.count("ARGV:") == 1 and "ARGV:redactor add --format json\n" in text
    stdin = text.split("STDIN:", 1)[1].rstrip("\n")
    assert sorted(json.loads(stdin).values()) == ["secret-line-one", "secret-line-two"]
    # the secret never on argv
    assert all("secret" not in line for line in text.splitlines() if line.startswith("ARGV"))
    with p.group("Login"):
        pass
    assert capsys.readouterr().err == "--- Login\n"  # stdout is the user's (issue 19.1)


def test_buildkite_agent_failure_warns_without_value(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    _fake_agent(tmp_path, exit_code=3)
    ci.detect({"BUILDKITE": "true", "PATH": str(tmp_path / "bin")}).mask("secret-value-abc")
    err = capsys.readouterr().err
    assert "exited 3" in err and "secret-value-abc" not in err


def test_buildkite_without_agent_cannot_mask(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    p = ci.detect({"BUILDKITE": "true", "PATH": str(tmp_path)})
    assert not p.can_mask
    p.mask("secret-value-abc")
    assert capsys.readouterr() == ("", "")


@pytest.mark.parametrize("env", [{"CIRCLECI": "true"}, {"JENKINS_URL": "https://j/"}, {"BITBUCKET_BUILD_NUMBER": "7"}])
def test_no_mask_providers_are_silent(env: dict[str, str], capsys: pytest.CaptureFixture[str]) -> None:
    p = ci.detect(env)
    ci.install_masking(p)
    redact.register("rp_secretsecretsecret")
    p.mask("rp_secretsecretsecret")
    p.set_output("jwt", "secret")
    p.set_env("A", "b")
    p.add_summary("x")
    assert capsys.readouterr() == ("", "")
    assert p.job_temp_dir() is None


@given(value=st.text(max_size=60))
@settings(max_examples=300, deadline=None)
def test_provider_override_is_known_or_exit_2_inert(value: str) -> None:
    from reactor_ci import logsafe

    try:
        name = ci.detect_name({"REACTOR_CI_PROVIDER": value})
    except UsageError as exc:
        assert exc.exit_code == 2 and exc.fix is not None
        assert logsafe.block(exc.message) == exc.message  # already inert: no line break, no CI command
        return
    assert name in ("local", *ci.PROVIDERS)
    assert name == (value.strip().lower() or "local")
