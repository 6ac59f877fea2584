"""The repo scan config (issue 21): where it is found, strict validation naming file:line: key, the
allowlists (one filter, every suppression counted), the shipped JSON Schema agreeing with the validator."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import jsonschema
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from reactor_ci.scan import config as scan_config
from reactor_ci.scan.allow import Allowlist, glob_regex
from tests.leaks import assert_no_secret
from tests.repo import REPO_ROOT
from tests.scan_helpers import fake_key, git, init_repo, run_cli

SCHEMA = json.loads((Path(scan_config.__file__).parent / "config.schema.json").read_text())


def write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return path


def planted_repo(root: Path) -> tuple[Path, dict[str, str]]:
    """A repo with a key in src/, in tests/fixtures/ and a 'dummy' key at the top."""
    repo = Path(init_repo(str(root / "repo")))
    keys = {"src": fake_key("rp_"), "fixture": fake_key("rp_"), "dummy": "rk_" + "dummy" + fake_key("", 24)}
    write(repo / "src" / "app.py", f'KEY = "{keys["src"]}"\n')
    write(repo / "tests" / "fixtures" / "creds.env", f"REACTOR_API_KEY={keys['fixture']}\n")
    write(repo / "example.env", f"REACTOR_API_KEY={keys['dummy']}\n")
    return repo, keys


def findings(proc: subprocess.CompletedProcess[str]) -> set[tuple[str, int]]:
    assert proc.returncode in (0, 1), proc.stderr
    return {(f["path"].removeprefix("./"), f["line"]) for f in json.loads(proc.stdout)["findings"]}


# -- finding the file -------------------------------------------------------------------------------------
def test_reactor_ci_toml_at_the_repo_top_applies_to_a_scan_from_a_subdirectory(tmp_path: Path) -> None:
    repo, keys = planted_repo(tmp_path)
    write(repo / ".reactor-ci.toml", '[scan]\nexclude-paths = ["tests/fixtures/"]\nallow-stopwords = ["dummy"]\n')
    proc = run_cli(["--format", "json", "."], cwd=str(repo))
    assert findings(proc) == {("src/app.py", 1)}
    assert "2 findings allowlisted by .reactor-ci.toml" in proc.stderr
    # From a subdirectory: the same file, the globs still relative to the file's directory.
    proc = run_cli(["--format", "json", "."], cwd=str(repo / "tests"))
    assert findings(proc) == set()
    assert "1 finding allowlisted by .reactor-ci.toml" in proc.stderr
    assert_no_secret([proc.stdout, proc.stderr], keys)


def test_pyproject_table_is_read_and_a_pyproject_without_it_is_passed_over(tmp_path: Path) -> None:
    repo, _ = planted_repo(tmp_path)
    write(repo / "pyproject.toml", '[tool.reactor-ci.scan]\nexclude-paths = ["src/**"]\n')
    # A nested project's pyproject without our table does not stop the search.
    write(repo / "src" / "pyproject.toml", '[project]\nname = "x"\n')
    proc = run_cli(["--format", "json", "."], cwd=str(repo / "src"))
    assert findings(proc) == set() and "1 finding allowlisted by pyproject.toml" in proc.stderr
    # .reactor-ci.toml wins over pyproject.toml in the same directory.
    write(repo / ".reactor-ci.toml", "[scan]\n")
    proc = run_cli(["--format", "json", "src"], cwd=str(repo))
    assert findings(proc) == {("src/app.py", 1)} and "allowlisted" not in proc.stderr


def test_the_search_stops_at_the_repo_top_and_outside_a_repo_only_the_scan_root_counts(tmp_path: Path) -> None:
    write(tmp_path / ".reactor-ci.toml", '[scan]\nexclude-paths = ["**"]\n')  # above the repo: never read
    repo, _ = planted_repo(tmp_path)
    assert len(findings(run_cli(["--format", "json", "."], cwd=str(repo)))) == 3
    loose = tmp_path / "loose" / "deeper"
    write(loose / "k.txt", f"{fake_key()}\n")
    assert len(findings(run_cli(["--format", "json", "."], cwd=str(loose)))) == 1
    write(loose / ".reactor-ci.toml", '[scan]\nexclude-paths = ["k.txt"]\n')
    assert findings(run_cli(["--format", "json", "."], cwd=str(loose))) == set()
    assert scan_config.find_config(str(repo)) is None


def test_explicit_config_and_no_config(tmp_path: Path) -> None:
    repo, _ = planted_repo(tmp_path)
    write(repo / ".reactor-ci.toml", '[scan]\nexclude-paths = ["src/"]\n')
    other = write(tmp_path / "team.toml", '[scan]\nexclude-paths = ["example.env"]\n')
    assert findings(run_cli(["--format", "json", "--no-config", "."], cwd=str(repo))) == {
        ("src/app.py", 1),
        ("tests/fixtures/creds.env", 1),
        ("example.env", 1),
    }
    proc = run_cli(["--format", "json", "--config", str(other), "."], cwd=str(repo))
    assert findings(proc) == {("src/app.py", 1), ("tests/fixtures/creds.env", 1)}
    assert "1 finding allowlisted by team.toml" in proc.stderr
    proc = run_cli(["--config", "nope.toml", "."], cwd=str(repo))
    assert proc.returncode == 2 and "--config nope.toml: no such file" in proc.stderr
    proc = run_cli(["--config", str(other), "--no-config", "."], cwd=str(repo))
    assert proc.returncode == 2 and "cannot be combined" in proc.stderr


# -- strict validation: exit 2, file:line: key --------------------------------------------------------------
BAD = [
    ('exclud-paths = ["x"]', "exclud-paths", "unknown key (did you mean exclude-paths?)"),
    ('exclude-paths = "tests/"', "exclude-paths", "must be a list of strings"),
    ("allow-regexes = ['(unclosed']", "allow-regexes", "bad regular expression"),
    ('allow-stopwords = [""]', "allow-stopwords", "1 to 1000 characters"),
    ('allow-commits = ["main"]', "allow-commits", "commit ids"),
    ('registry-hosts = ["https://r.example.com/v2"]', "registry-hosts", "host names"),
    ('disable-rules = ["reactor-partner"]', "disable-rules", "unknown rule 'reactor-partner'"),
    ("max-decode-depth = -1", "max-decode-depth", "0 to 64"),
    ("archive-max-depth = 1.5", "archive-max-depth", "0 to 64"),
    ("archive-max-bytes = 0", "archive-max-bytes", "positive"),
    ("archive-max-ratio = 0.5", "archive-max-ratio", "at least 1"),
    ("archives = 'no'", "archives", "true or false"),
    ("decode = 1", "decode", "true or false"),
]


@pytest.mark.parametrize(("setting", "key", "problem"), BAD, ids=[b[1] + "-" + str(i) for i, b in enumerate(BAD)])
def test_each_bad_key_or_value_is_exit_2_naming_file_line_and_key(
    tmp_path: Path, setting: str, key: str, problem: str
) -> None:
    write(tmp_path / "a.txt", "nothing here\n")
    # The key sits on line 4, after a comment, the table's header and a blank line.
    write(tmp_path / ".reactor-ci.toml", f"# team config\n[scan]\n\n{setting}\n")
    for extra in ([], ["--exit-zero"], ["--exit-code", "0"]):  # errors stay exit 2 whatever is chosen
        proc = run_cli([*extra, "a.txt"], cwd=str(tmp_path))
        assert proc.returncode == 2, proc.stderr
        assert f".reactor-ci.toml:4: {key}: " in proc.stderr, proc.stderr
        assert problem in proc.stderr and "Traceback" not in proc.stderr and "\n  fix: " in proc.stderr
    # The shipped JSON Schema refuses the same value (one exception: a regex the schema cannot check).
    doc = scan_config._toml().loads(f"[scan]\n{setting}\n")["scan"]
    if key != "allow-regexes":
        with pytest.raises(jsonschema.ValidationError):
            jsonschema.validate(doc, SCHEMA, cls=jsonschema.Draft7Validator)


def test_line_numbers_in_pyproject_dotted_keys_and_syntax_errors(tmp_path: Path) -> None:
    write(tmp_path / "a.txt", "x\n")
    write(
        tmp_path / "pyproject.toml",
        '[project]\nname = "x"\nexclude-paths = 1\n\n[tool.reactor-ci.scan]\nallow-regexes = ["ok"]\nexclude-paths = 1\n',
    )
    proc = run_cli(["a.txt"], cwd=str(tmp_path))
    assert proc.returncode == 2 and "pyproject.toml:7: exclude-paths: must be a list" in proc.stderr, proc.stderr
    write(tmp_path / "pyproject.toml", '[tool]\nreactor-ci.scan.decode = "yes"\n')
    proc = run_cli(["a.txt"], cwd=str(tmp_path))
    assert proc.returncode == 2 and "pyproject.toml:2: decode: must be true or false" in proc.stderr, proc.stderr
    write(tmp_path / ".reactor-ci.toml", '[scan]\nexclude-paths = ["a",\n  "b"\nallow-stopwords = []\n')
    proc = run_cli(["a.txt"], cwd=str(tmp_path))
    assert proc.returncode == 2 and re.search(r"\.reactor-ci\.toml:\d+: not valid TOML", proc.stderr), proc.stderr
    write(tmp_path / ".reactor-ci.toml", "[scan]\n\n[other]\nx = 1\n")
    proc = run_cli(["a.txt"], cwd=str(tmp_path))
    assert proc.returncode == 2 and ".reactor-ci.toml:3: other: unknown table or key" in proc.stderr, proc.stderr


def test_a_key_in_the_error_is_inert_and_a_secret_in_the_config_is_not_echoed(tmp_path: Path) -> None:
    key = fake_key()
    write(tmp_path / "a.txt", "x\n")
    write(tmp_path / ".reactor-ci.toml", f'[scan]\n"bad\\nkey::warning" = 1\nallow-commits = ["{key}"]\n')
    proc = run_cli(["a.txt"], cwd=str(tmp_path))
    assert proc.returncode == 2
    assert "\n::warning" not in proc.stderr and "bad\\nkey::warning" in proc.stderr
    write(tmp_path / ".reactor-ci.toml", f'[scan]\nallow-commits = ["{key}"]\n')
    proc = run_cli(["a.txt"], cwd=str(tmp_path))
    assert proc.returncode == 2 and ".reactor-ci.toml:2: allow-commits" in proc.stderr
    assert_no_secret([proc.stdout, proc.stderr], [key])


# -- the schema ------------------------------------------------------------------------------------------
def test_schema_names_exactly_the_keys_the_validator_knows_and_accepts_a_full_config() -> None:
    assert set(SCHEMA["properties"]) == set(scan_config.KEYS)
    from reactor_ci.scan.rules import rule_ids

    assert SCHEMA["properties"]["disable-rules"]["items"]["enum"] == list(rule_ids())
    jsonschema.Draft7Validator.check_schema(SCHEMA)
    full = {
        "exclude-paths": ["tests/fixtures/", "*.pem", "docs/**/*.md"],
        "allow-regexes": ["^rp_test_"],
        "allow-stopwords": ["example"],
        "allow-commits": ["0123abcd"],
        "registry-hosts": ["registry.example.com", ".corp.example"],
        "disable-rules": ["stripe-restricted-key"],
        "max-decode-depth": 3,
        "archive-max-depth": 2,
        "archive-max-bytes": 10_000_000,
        "archive-max-ratio": 100,
        "archives": True,
        "decode": False,
    }
    jsonschema.validate(full, SCHEMA, cls=jsonschema.Draft7Validator)
    parsed = scan_config.parse(full, "x.toml")
    assert parsed.exclude_paths == tuple(full["exclude-paths"])
    assert parsed.limits == {k: full[k] for k in scan_config.LIMIT_KEYS}


def test_docs_publish_the_schema() -> None:
    docs = (REPO_ROOT / "docs" / "scanning.md").read_text()
    assert "reactor_ci/scan/config.schema.json" in docs
    for key in scan_config.KEYS:
        assert f"`{key}`" in docs, key


def test_limits_are_handed_to_the_cli_as_flags_and_a_flag_wins() -> None:
    import argparse

    parsed = scan_config.parse({"max-decode-depth": 3, "archives": False, "decode": True}, "x.toml")
    args = argparse.Namespace(max_decode_depth=None, no_archives=False, no_decode=False)
    parsed.apply_to_args(args)
    assert (args.max_decode_depth, args.no_archives, args.no_decode) == (3, True, False)
    given_flags = argparse.Namespace(max_decode_depth=1, no_archives=False, no_decode=True)
    parsed.apply_to_args(given_flags)
    assert (given_flags.max_decode_depth, given_flags.no_archives, given_flags.no_decode) == (1, True, True)


# -- the allowlists ---------------------------------------------------------------------------------------
def test_allow_regexes_commits_and_registry_hosts(tmp_path: Path) -> None:
    repo = Path(init_repo(str(tmp_path / "repo")))
    keep, allowed = fake_key("rp_"), "rp_test_" + fake_key("", 24)
    write(repo / "a.py", f'A = "{keep}"\nB = "{allowed}"\n')
    git(str(repo), "add", "-A")
    git(str(repo), "commit", "-qm", "keys")
    first = git(str(repo), "rev-parse", "HEAD").strip()
    write(repo / "b.py", f'C = "{fake_key("rk_")}"\n')
    git(str(repo), "add", "-A")
    git(str(repo), "commit", "-qm", "more")
    write(
        repo / ".reactor-ci.toml", f'[scan]\nallow-regexes = ["^rp_test_"]\nallow-commits = ["{first[:10].upper()}"]\n'
    )
    proc = run_cli(["--format", "json", "--all-history"], cwd=str(repo))
    assert findings(proc) == {("b.py", 1)}  # both keys of the allowed commit are dropped
    assert "2 findings allowlisted by .reactor-ci.toml" in proc.stderr
    proc = run_cli(["--format", "json", "a.py", "b.py"], cwd=str(repo))
    assert findings(proc) == {("a.py", 1), ("b.py", 1)}  # commits allowlist history findings only
    # registry-hosts: a Docker login for another registry becomes a finding.
    import base64

    auth = base64.b64encode(b"user:s3cr3tT0kenValue99").decode()
    write(repo / "config.json", json.dumps({"auths": {"registry.corp.example:5000": {"auth": auth}}}))
    assert findings(run_cli(["--format", "json", "config.json"], cwd=str(repo))) == set()
    write(repo / ".reactor-ci.toml", '[scan]\nregistry-hosts = [".corp.example"]\n')
    assert findings(run_cli(["--format", "json", "config.json"], cwd=str(repo))) == {("config.json", 1)}


def test_exclude_paths_in_git_modes_are_relative_to_the_config(tmp_path: Path) -> None:
    repo, _ = planted_repo(tmp_path)
    write(repo / ".reactor-ci.toml", '[scan]\nexclude-paths = ["/tests/fixtures", "example.env"]\n')
    git(str(repo), "add", "-A")
    proc = run_cli(["--format", "json", "--staged"], cwd=str(repo / "src"))
    assert findings(proc) == {("src/app.py", 1)}, proc.stderr
    git(str(repo), "commit", "-qm", "x")
    proc = run_cli(["--format", "json", "--all-history"], cwd=str(repo / "tests"))
    assert findings(proc) == {("src/app.py", 1)}, proc.stderr


GLOBS = [
    ("*.pem", "a.pem", True),
    ("*.pem", "deep/dir/a.pem", True),
    ("*.pem", "a.pem.txt", False),
    ("tests/fixtures/", "tests/fixtures/x/y.env", True),
    ("tests/fixtures", "tests/fixtures/y.env", True),
    ("tests/fixtures", "other/tests/fixtures/y.env", False),
    ("fixtures", "other/fixtures/y.env", True),
    ("docs/**/*.md", "docs/a/b/c.md", True),
    ("docs/**/*.md", "docs/c.md", True),
    ("docs/*.md", "docs/a/c.md", False),
    ("/example.env", "example.env", True),
    ("/example.env", "sub/example.env", False),
    ("key?.txt", "key1.txt", True),
    ("key?.txt", "key/.txt", False),
    ("[ab].txt", "b.txt", True),
    ("[!ab].txt", "b.txt", False),
]


@pytest.mark.parametrize(("pattern", "path", "hit"), GLOBS)
def test_glob_semantics(pattern: str, path: str, hit: bool) -> None:
    assert bool(re.fullmatch(glob_regex(pattern), path, re.DOTALL)) is hit


@settings(max_examples=200, deadline=None)
@given(
    st.lists(
        st.text(
            st.characters(blacklist_characters="/\0*?[]\\!", blacklist_categories=("Cs",)), min_size=1, max_size=12
        ),
        min_size=1,
        max_size=4,
    ),
)
def test_a_literal_glob_matches_its_own_path_and_what_is_below_it(parts: list[str]) -> None:
    path = "/".join(parts)
    regex = re.compile(glob_regex("/" + path), re.DOTALL)
    assert regex.fullmatch(path) and regex.fullmatch(path + "/below.txt")
    assert not regex.fullmatch(path + "x") and not regex.fullmatch("x" + path)


def test_the_filter_counts_each_finding_once() -> None:
    from reactor_ci.scan.finding import Finding

    cfg = scan_config.parse(
        {"exclude-paths": ["x/"], "allow-stopwords": ["DUMMY"]}, os.path.join(os.getcwd(), "c.toml")
    )
    fs = [
        Finding("r", "d", "x/a", 1, 1, "rp_dummy1234"),  # excluded twice over: one suppression
        Finding("r", "d", "y/a", 1, 1, "rp_realkey12345"),
        Finding("r", "d", "y/b", 1, 1, "rp_xDummYx"),
    ]
    kept, dropped = Allowlist(cfg).apply(fs)
    assert [f.path for f in kept] == ["y/a"] and dropped == 2


def test_no_config_no_tomllib_on_the_hot_path(tmp_path: Path) -> None:
    write(tmp_path / "a.py", "x = 1\n")
    code = (
        "import sys; from reactor_ci.scan.cli import main; rc = main(['-q', 'a.py']); "
        "print(rc, sorted(m for m in ('tomllib', 'tomli', 'reactor_ci.scan.allow', 'difflib') if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], cwd=tmp_path, capture_output=True, text=True, check=True).stdout
    assert out.strip() == "0 []"
    write(tmp_path / "pyproject.toml", '[project]\nname = "x"\n')  # not ours: not even parsed
    out = subprocess.run([sys.executable, "-c", code], cwd=tmp_path, capture_output=True, text=True, check=True).stdout
    assert out.strip() == "0 []"


# -- the cache that keeps tomllib off the hot path --------------------------------------------------------
PROBE = (
    "import sys; from reactor_ci.scan.cli import main; rc = main(['-q', '--format', 'json', '.']); "
    'sys.stderr.write(f\'tomllib={"tomllib" in sys.modules or "tomli" in sys.modules}\\n\'); sys.exit(rc)'
)


def probe(cwd: Path, cache: Path, **extra: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "XDG_CACHE_HOME": str(cache), **extra}
    env.pop("GITHUB_ACTIONS", None)
    return subprocess.run([sys.executable, "-c", PROBE], cwd=cwd, env=env, capture_output=True, text=True)


def test_a_validated_config_is_cached_and_any_change_is_seen(tmp_path: Path) -> None:
    repo, _ = planted_repo(tmp_path)
    cache = tmp_path / "cache"
    cfg = write(repo / ".reactor-ci.toml", '[scan]\nexclude-paths = ["tests/fixtures/"]\n')
    first = probe(repo, cache)
    assert "tomllib=True" in first.stderr and len(json.loads(first.stdout)["findings"]) == 2
    (entry,) = (cache / "reactor-ci").glob("scan-config-*")  # the regex cache (reactor_ci.regex) sits beside it
    assert entry.stat().st_mode & 0o777 == 0o600 and (cache / "reactor-ci").stat().st_mode & 0o777 == 0o700
    second = probe(repo, cache)
    assert "tomllib=False" in second.stderr and second.stdout == first.stdout
    # Same size, same mtime second: the cache holds the bytes, so the edit is seen at once.
    st = cfg.stat()
    cfg.write_text('[scan]\nexclude-paths = ["tests/fixturez/"]\n')
    os.utime(cfg, ns=(st.st_atime_ns, st.st_mtime_ns))
    third = probe(repo, cache)
    assert "tomllib=True" in third.stderr and len(json.loads(third.stdout)["findings"]) == 3
    # An invalid edit is an error at once, never the last valid config.
    cfg.write_text('[scan]\nexclude-paths = "tests/"\n')
    assert probe(repo, cache).returncode == 2
    assert probe(repo, cache, REACTOR_CI_NO_CACHE="1").returncode == 2


def test_a_cache_entry_others_could_write_or_a_corrupt_one_is_ignored(tmp_path: Path) -> None:
    repo, _ = planted_repo(tmp_path)
    cache = tmp_path / "cache"
    write(repo / ".reactor-ci.toml", '[scan]\nexclude-paths = ["tests/fixtures/"]\n')
    probe(repo, cache)
    (entry,) = (cache / "reactor-ci").glob("scan-config-*")  # the regex cache (reactor_ci.regex) sits beside it
    # Someone else's allowlist planted in a group-writable entry must not hide a finding.
    import marshal

    fmt, full, raw, fields = marshal.loads(entry.read_bytes())
    fields["exclude_paths"] = ("**",)
    entry.write_bytes(marshal.dumps((fmt, full, raw, fields)))
    entry.chmod(0o664)
    out = probe(repo, cache)
    assert "tomllib=True" in out.stderr and len(json.loads(out.stdout)["findings"]) == 2
    entry.write_bytes(b"\x00garbage")
    entry.chmod(0o600)
    out = probe(repo, cache)
    assert out.returncode == 1 and len(json.loads(out.stdout)["findings"]) == 2
    # A cache directory that cannot be written is no error either.
    out = probe(repo, tmp_path / "planted-file-not-dir.txt")
    (tmp_path / "ro").write_text("a file where the cache directory would go\n")
    out = probe(repo, tmp_path / "ro")
    assert out.returncode == 1 and "Traceback" not in out.stderr
