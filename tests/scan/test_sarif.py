"""SARIF that code scanning accepts: the OASIS 2.1.0 schema WITH format checking, hostile names, history.

The schema is vendored (tests/data/, see its README): draft 4 has no
``uri-reference`` format of its own, so the validator uses jsonschema's full
``FormatChecker()``, which checks ``uri``, ``uri-reference`` and ``date-time``
(rfc3987 is in the ``jsonschema[format]`` dev extra).
"""

from __future__ import annotations

import json
import os
import re
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit

import jsonschema
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from reactor_ci import __version__
from reactor_ci.scan import report, sarif
from reactor_ci.scan.finding import Finding
from reactor_ci.scan.rules import RULES, SEVERITY_LEVELS
from tests.repo import REPO_ROOT
from tests.scan_helpers import fake_key, git, init_repo, run_cli

SCHEMA_PATH = REPO_ROOT / "tests" / "data" / "sarif-schema-2.1.0.json"
# Names a repository really can hold: space, non-ASCII, TAB, quotes, %, #, ?, and a newline.
HOSTILE_NAMES = [
    "dir with space é/leak.env",
    "tab\there.env",
    "quote\"s and 'single'.env",
    "100% sure#frag?query.env",
    "new\nline.env",
    "colon:first.env",
    "::warning file=x::INJECTED.env",
]


@pytest.fixture(autouse=True)
def _outside_git(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Unit tests render from a directory no work tree contains (%SRCROOT% is then the cwd)."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("GIT_CEILING_DIRECTORIES", str(tmp_path.parent))


@pytest.fixture(scope="module")
def validator() -> jsonschema.Draft4Validator:
    schema = json.loads(SCHEMA_PATH.read_text(encoding="utf-8"))
    jsonschema.Draft4Validator.check_schema(schema)
    return jsonschema.Draft4Validator(schema, format_checker=jsonschema.FormatChecker())


def _errors(validator: jsonschema.Draft4Validator, doc: Any) -> list[str]:
    return [f"{list(e.absolute_path)}: {e.message}" for e in validator.iter_errors(doc)]


def test_the_validator_really_checks_uri_reference(validator: jsonschema.Draft4Validator) -> None:
    # The bug of issue 10: a raw name with a space passed the schema but not its format.
    doc = json.loads(report.to_sarif([Finding("reactor-partner-key", "d", "a.py", 1, 1, fake_key())]))
    doc["runs"][0]["results"][0]["locations"][0]["physicalLocation"]["artifactLocation"]["uri"] = "dir with space/a"
    assert any("uri-reference" in e for e in _errors(validator, doc))


def test_driver_rules_and_levels(validator: jsonschema.Draft4Validator) -> None:
    findings = [Finding(r.id, r.description, f"{r.id}.txt", 1, 1, fake_key()) for r in RULES]
    doc = json.loads(report.to_sarif(findings))
    assert _errors(validator, doc) == []
    driver = doc["runs"][0]["tool"]["driver"]
    assert driver["version"] == driver["semanticVersion"] == __version__
    assert urlsplit(driver["informationUri"]).scheme == "https"
    by_id = {r["id"]: r for r in driver["rules"]}
    for rule in RULES:
        level, score = SEVERITY_LEVELS[rule.severity]
        assert by_id[rule.id]["defaultConfiguration"]["level"] == level
        assert by_id[rule.id]["properties"]["security-severity"] == score
        assert rule.fix[1:40] in by_id[rule.id]["help"]["text"]  # capitalised in the advice
        assert "rewriting history" in by_id[rule.id]["help"]["text"]
    for result in doc["runs"][0]["results"]:
        rule = next(r for r in RULES if r.id == result["ruleId"])
        assert result["level"] == SEVERITY_LEVELS[rule.severity][0]
        assert driver["rules"][result["ruleIndex"]]["id"] == rule.id


def test_hostile_names_are_valid_uri_references_that_round_trip(validator: jsonschema.Draft4Validator) -> None:
    findings = [Finding("reactor-partner-key", "d", name, 2, 3, fake_key()) for name in HOSTILE_NAMES]
    findings.append(Finding("reactor-app-key", "d", "/abs/dir é/k.env", 1, 1, fake_key("rk_")))
    doc = json.loads(report.to_sarif(findings))
    assert _errors(validator, doc) == []
    locations = [r["locations"][0]["physicalLocation"]["artifactLocation"] for r in doc["runs"][0]["results"]]
    for name, loc in zip(HOSTILE_NAMES, locations):
        assert loc["uriBaseId"] == "%SRCROOT%"
        assert unquote(loc["uri"]) == name
        assert not any(c in loc["uri"] for c in " \t\n\"'#?é") and ":" not in loc["uri"]
    assert locations[-1] == {"uri": "file:///abs/dir%20%C3%A9/k.env"}


def test_non_utf8_name_keeps_its_bytes(validator: jsonschema.Draft4Validator) -> None:
    name = os.fsdecode(b"latin1-\xe9.env")  # a surrogate-escaped byte, as os.fsdecode gives it
    doc = json.loads(report.to_sarif([Finding("reactor-partner-key", "d", name, 1, 1, fake_key())]))
    assert _errors(validator, doc) == []
    uri = doc["runs"][0]["results"][0]["locations"][0]["physicalLocation"]["artifactLocation"]["uri"]
    assert uri == "latin1-%E9.env"


@settings(max_examples=300, deadline=None)
@given(st.text(min_size=1, max_size=40))
def test_any_name_gives_a_valid_uri_reference(name: str) -> None:
    uri, base = sarif.artifact_uri(name)
    checker = jsonschema.FormatChecker()
    assert checker.conforms(uri, "uri-reference"), uri
    if base is None:
        assert uri.startswith("file:///") and unquote(uri[len("file://") :], errors="surrogateescape") == name
    else:
        assert unquote(uri, errors="surrogateescape") == name


@pytest.mark.parametrize(
    ("remote", "expected"),
    [
        ("https://x-access-token:ghs_CANARYcanary123@github.com/acme/app.git", "https://github.com/acme/app.git"),
        ("git@github.com:acme/app.git", "ssh://github.com/acme/app.git"),
        ("ssh://git@gitlab.example:2222/acme/app.git", "ssh://gitlab.example:2222/acme/app.git"),
        ("https://host/dir with space/r?token=abc#frag", "https://host/dir%20with%20space/r"),
        ("/local/path/only", None),
        ("ftp://host/r", None),
    ],
)
def test_remote_urls_lose_credentials(remote: str, expected: str | None) -> None:
    assert sarif._clean_remote(remote) == expected


_URL_PART = st.text(max_size=20)


@settings(max_examples=300, deadline=None)
@given(
    st.sampled_from(["https://", "http://", "ssh://", "git://", "ftp://", "", "git@"]),
    _URL_PART,
    _URL_PART,
    _URL_PART,
)
def test_any_remote_gives_a_credential_free_uri_or_none(scheme: str, user: str, host: str, path: str) -> None:
    secret = "ghs_" + "S3cr3t" * 4
    remote = f"{scheme}{user}:{secret}@{host}/{path}" if scheme != "git@" else f"git@{host}:{path}{secret}x"
    cleaned = sarif._clean_remote(remote)
    if cleaned is None:
        return
    assert jsonschema.FormatChecker().conforms(cleaned, "uri"), cleaned
    assert "@" not in cleaned.split("/")[2]  # no user-info left in the authority
    if scheme != "git@":
        assert secret not in cleaned


def test_repository_uri_fallbacks(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    no_ci = {"GITHUB_SERVER_URL": "", "GITHUB_REPOSITORY": "", "CI_PROJECT_URL": ""}
    outside = tmp_path / "not a repo"
    outside.mkdir()
    monkeypatch.chdir(outside)
    monkeypatch.setenv("GIT_CEILING_DIRECTORIES", str(tmp_path))
    assert sarif.repository_uri(no_ci) is None
    repo = init_repo(str(tmp_path / "répo one"))
    monkeypatch.chdir(repo)
    uri = sarif.repository_uri(no_ci)
    assert uri is not None and uri.startswith("file:///") and uri.endswith("/r%C3%A9po%20one/")
    assert (
        sarif.repository_uri({"CI_PROJECT_URL": "https://gitlab.example/acme/app"}) == "https://gitlab.example/acme/app"
    )


def _history_repo(root: Path) -> tuple[str, str, str, str]:
    """A repo whose key was added in one commit (under a hostile name) and deleted in the next."""
    repo = init_repo(str(root / "repo"))
    token = "ghs_" + fake_key("", 36)
    git(repo, "remote", "add", "origin", f"https://x-access-token:{token}@github.com/acme/app.git")
    Path(repo, "README.md").write_text("hello\n")
    git(repo, "add", ".")
    git(repo, "commit", "-qm", "base")
    key = fake_key()
    name = "dïr with space/set%\ttings #1.py"  # non-ASCII, space, TAB, '%', '#'
    os.makedirs(os.path.join(repo, "dïr with space"))
    Path(repo, name).write_text(f"# config\n\nKEY = '{key}'\n")
    git(repo, "add", ".")
    git(repo, "commit", "-qm", "leak")
    leak = git(repo, "rev-parse", "HEAD").strip()
    Path(repo, name).write_text("# config\n")
    git(repo, "commit", "-qam", "remove")
    return repo, key, leak, token


def test_history_findings_carry_their_commit(tmp_path: Path, validator: jsonschema.Draft4Validator) -> None:
    repo, key, leak, token = _history_repo(tmp_path)
    env = {"GITHUB_SERVER_URL": "", "GITHUB_REPOSITORY": "", "CI_PROJECT_URL": ""}
    proc = run_cli(["--all-history", "--format", "sarif"], cwd=repo, env=env)
    assert proc.returncode == 1, proc.stderr
    doc = json.loads(proc.stdout)
    assert _errors(validator, doc) == []
    run = doc["runs"][0]
    (result,) = run["results"]
    location = result["locations"][0]["physicalLocation"]
    # Where the key was ADDED: that commit's path and line (HEAD no longer has it).
    assert location["artifactLocation"]["uri"] == "d%C3%AFr%20with%20space/set%25%09tings%20%231.py"
    assert unquote(location["artifactLocation"]["uri"]) == "dïr with space/set%\ttings #1.py"
    assert location["region"]["startLine"] == 3
    assert result["properties"]["commit"] == leak
    assert result["partialFingerprints"]["reactorCiCommit/v1"] == leak
    assert "rewriting history" in result["message"]["text"]
    assert run["versionControlProvenance"] == [{"repositoryUri": "https://github.com/acme/app.git", "revisionId": leak}]
    out = proc.stdout + proc.stderr
    assert key not in out and key[3:] not in out and token not in out


def test_history_provenance_prefers_the_ci_repository(tmp_path: Path, validator: jsonschema.Draft4Validator) -> None:
    repo, _key, leak, _token = _history_repo(tmp_path)
    env = {"GITHUB_SERVER_URL": "https://github.com", "GITHUB_REPOSITORY": "acme/app", "GITHUB_ACTIONS": ""}
    proc = run_cli(["--since", "HEAD~2", "--format", "sarif"], cwd=repo, env=env)
    doc = json.loads(proc.stdout)
    assert _errors(validator, doc) == []
    assert doc["runs"][0]["versionControlProvenance"] == [
        {"repositoryUri": "https://github.com/acme/app", "revisionId": leak}
    ]


def test_cli_sarif_with_hostile_names_validates(tmp_path: Path, validator: jsonschema.Draft4Validator) -> None:
    root = tmp_path / "tree"
    keys = []
    for name in HOSTILE_NAMES:
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        keys.append(fake_key())
        path.write_text(f"k = '{keys[-1]}'\n")
    proc = run_cli(["--format", "sarif", "."], cwd=str(root))
    assert proc.returncode == 1, proc.stderr
    doc = json.loads(proc.stdout)
    assert _errors(validator, doc) == []
    uris = sorted(
        unquote(r["locations"][0]["physicalLocation"]["artifactLocation"]["uri"]) for r in doc["runs"][0]["results"]
    )
    assert uris == sorted(HOSTILE_NAMES)
    assert "versionControlProvenance" not in doc["runs"][0]  # not a history scan
    assert doc["runs"][0]["originalUriBaseIds"] == {"%SRCROOT%": {"uri": root.as_uri() + "/"}}
    for key in keys:
        assert key not in proc.stdout + proc.stderr


def test_paths_are_relative_to_the_repository_top(tmp_path: Path, validator: jsonschema.Draft4Validator) -> None:
    """Run from a subdirectory, a path scan still gives GitHub top-relative URIs."""
    repo = Path(init_repo(str(tmp_path / "repo top")))
    sub = repo / "svc é" / "config"
    sub.mkdir(parents=True)
    (sub / "a.env").write_text(f"K={fake_key()}\n")
    (repo / "top.env").write_text(f"K={fake_key()}\n")
    outside = tmp_path / "elsewhere.env"
    outside.write_text(f"K={fake_key()}\n")
    proc = run_cli(["--format", "sarif", "a.env", "../../top.env", str(outside)], cwd=str(sub))
    assert proc.returncode == 1, proc.stderr
    doc = json.loads(proc.stdout)
    assert _errors(validator, doc) == []
    run = doc["runs"][0]
    assert run["originalUriBaseIds"] == {"%SRCROOT%": {"uri": repo.as_uri() + "/"}}
    locations = sorted(
        json.dumps(r["locations"][0]["physicalLocation"]["artifactLocation"], sort_keys=True) for r in run["results"]
    )
    assert locations == sorted(
        json.dumps(loc, sort_keys=True)
        for loc in (
            {"uri": "svc%20%C3%A9/config/a.env", "uriBaseId": "%SRCROOT%"},
            {"uri": "top.env", "uriBaseId": "%SRCROOT%"},
            {"uri": outside.as_uri()},
        )
    )
    # JSON and text keep the paths as the user named them (relative to the cwd).
    paths = sorted(
        f["path"] for f in json.loads(run_cli(["--format", "json", "a.env"], cwd=str(sub)).stdout)["findings"]
    )
    assert paths == ["a.env"]
    # GitHub annotations resolve file= from the repository top too.
    text = run_cli(["a.env", "../../top.env"], cwd=str(sub), env={"GITHUB_ACTIONS": "true"})
    files = sorted(re.findall(r"^::error file=([^,]*),", text.stdout, re.MULTILINE))
    assert files == ["svc é/config/a.env", "top.env"]
    assert "a.env:1:3: reactor-partner-key" in text.stdout  # the text lines keep the user's spelling
    # --staged gives top-relative paths already: not prefixed twice.
    git(str(repo), "add", "-A")
    staged = json.loads(run_cli(["--staged", "--format", "sarif"], cwd=str(sub)).stdout)
    assert _errors(validator, staged) == []
    uris = sorted(
        r["locations"][0]["physicalLocation"]["artifactLocation"]["uri"] for r in staged["runs"][0]["results"]
    )
    assert uris == ["svc%20%C3%A9/config/a.env", "top.env"]
