"""`reactor-ci scan …` goes straight to the scanner's adapter, and prints exactly what the full dispatch did.

The early hand-off (reactor_ci/cli.py: ADAPTER_HOMES, the scanner's shutil-free help formatter, no
status fast path for `scan`) must not change a byte: for argument lists covering help, usage errors,
findings in every format, a bad REACTOR_CI_PROVIDER, a bad setting and GitHub's annotations, the
hand-off and the full dispatch (every adapter loaded, argparse's default formatter) print the same
stdout and stderr and exit alike. A subprocess proves the hand-off loads no other adapter.
"""

from __future__ import annotations

import os
import random
import re
import subprocess
import sys
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from reactor_ci import cli, console, redact
from tests.repo import REPO_ROOT
from tests.scan_helpers import fake_key

KEY = fake_key("rp_", rng=random.Random(22))
_CLEARED = ("GITHUB_ACTIONS", "GITLAB_CI", "TF_BUILD", "BUILDKITE", "CIRCLECI", "JENKINS_URL", "BITBUCKET_BUILD_NUMBER")
_CLEARED += ("REACTOR_CI_PROVIDER", "REACTOR_MIN_TOKEN_LIFETIME", "COLUMNS", "REACTOR_CI_DEBUG")


@pytest.fixture(scope="module")
def tree(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("handoff")
    (root / "clean.py").write_text("VALUE = 1\n")
    (root / "leak.env").write_text(f"REACTOR_API_KEY={KEY}\n")  # pragma: allowlist secret
    (root / "sub").mkdir()
    (root / "sub" / "other.txt").write_text("nothing here\n")
    return root


def _run(argv: list[str], env: dict[str, str], cwd: Path, capsys: pytest.CaptureFixture[str], *, early: bool):
    redact._reset_for_tests()
    console.set_provider(None)
    console.set_quiet(False)
    with pytest.MonkeyPatch.context() as mp:
        for name in _CLEARED:
            mp.delenv(name, raising=False)
        for name, value in env.items():
            mp.setenv(name, value)
        mp.chdir(cwd)
        if not early:  # the full dispatch: every adapter, argparse's own formatter
            mp.setattr(cli, "ADAPTER_HOMES", {})
        capsys.readouterr()
        try:
            code: object = cli.main(argv)
        except SystemExit as exc:  # argparse's --help/--version
            code = exc.code
        out, err = capsys.readouterr()
    redact._reset_for_tests()
    # the scan's own duration is the one thing two runs may print differently
    err = re.sub(r", \d+ ms$", ", N ms", err, flags=re.MULTILINE)
    console.set_provider(None)
    console.set_quiet(False)
    return code, out, err


def _same(
    argv: list[str], env: dict[str, str], cwd: Path, capsys: pytest.CaptureFixture[str]
) -> tuple[object, str, str]:
    early = _run(argv, env, cwd, capsys, early=True)
    full = _run(argv, env, cwd, capsys, early=False)
    assert early == full, argv
    assert KEY not in early[1] + early[2]  # the finding is shown redacted, by either path
    return early


CASES = [
    ["scan", "--help"],
    ["scan", "-h"],
    ["-q", "scan", "--help"],
    ["scan", "clean.py"],
    ["scan", "leak.env"],
    ["scan", "leak.env", "--format", "json"],
    ["scan", "leak.env", "--format", "sarif"],
    ["scan", "leak.env", "--format", "github"],
    ["scan", "-q", "leak.env", "clean.py"],
    ["-q", "scan", "leak.env"],
    ["scan", "--list-rules"],
    ["scan", "missing.py"],
    ["scan", "--bogus"],
    ["scan", KEY],
    ["scan", f"--{KEY}"],
    ["scan", "--format", "xml", "clean.py"],
    ["scan", "--staged", "clean.py"],
    ["scan", "--version"],
    ["scan", "-v", "sub"],
    ["scan", "--max-size", "ten", "clean.py"],
]


@pytest.mark.parametrize("argv", CASES)
@pytest.mark.parametrize(
    "env",
    [
        {},
        {"GITHUB_ACTIONS": "true"},
        {"TF_BUILD": "True"},
        {"REACTOR_CI_PROVIDER": "nonsense"},
        {"REACTOR_MIN_TOKEN_LIFETIME": "ten"},
        {"COLUMNS": "52"},
    ],
)
def test_the_hand_off_prints_what_the_full_dispatch_did(
    argv: list[str], env: dict[str, str], tree: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    _same(argv, env, tree, capsys)


def test_a_finding_reads_the_same_and_exits_1(tree: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = _same(["scan", "leak.env"], {"GITHUB_ACTIONS": "true"}, tree, capsys)
    assert code == 1 and "leak.env" in out


_WORDS = st.sampled_from(
    [
        *("clean.py", "leak.env", "sub", "missing", "-q", "-v", "--format", "json", "text", "sarif", "github"),
        *("--all", "--no-baseline", "--no-annotations", "--disable-rule", "--max-size", "12", "-o", "--help"),
        *("--bogus", KEY),
    ]
)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(words=st.lists(_WORDS, max_size=5), top_quiet=st.booleans())
def test_any_scan_arguments_read_the_same(
    words: list[str], top_quiet: bool, tree: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    if "-o" in words:  # a report file would be written in the shared tree: keep it to stdout
        words = [w for w in words if w != "-o"]
    _same([*(["-q"] if top_quiet else []), "scan", *words], {}, tree, capsys)


def test_the_hand_off_loads_no_other_adapter_and_no_shutil(tree: Path) -> None:
    code = (
        "import sys\n"
        "from reactor_ci import cli\n"
        "code = cli.main(['scan', 'clean.py'])\n"
        "bad = sorted(m for m in ('shutil', 'reactor_ci.status_fast', 'reactor_ci.keys', 'reactor_ci.auth',"
        " 'reactor_ci.docker.cli', 'reactor_ci.doctor', 'reactor_ci.emulator.cli', 'reactor_ci.status')"
        " if m in sys.modules)\n"
        "print(code, bad)\n"
    )
    env = {k: v for k, v in os.environ.items() if k not in _CLEARED}
    result = subprocess.run([sys.executable, "-c", code], cwd=tree, env=env, capture_output=True, text=True)
    assert result.stdout.strip().splitlines()[-1] == "0 []", result.stdout + result.stderr


def test_reactor_ci_scan_answers_a_clean_batch_like_reactor_ci_scan_without_re_or_argparse(tmp_path: Path) -> None:
    """`reactor-ci scan -q FILE…` takes the scanner's quick path too, with a finding or without: same answer,
    same (light) imports."""
    import subprocess
    import sys

    from tests.scan_helpers import fake_key

    clean = [tmp_path / f"f{i}.py" for i in range(3)]
    for i, path in enumerate(clean):
        path.write_text(f"print({i})\n")
    dirty = tmp_path / "dirty.env"
    dirty.write_text(f"REACTOR_API_KEY={fake_key()}\n")
    probe = (
        "import sys\nfrom reactor_ci import cli\nrc = cli.main(sys.argv[1:])\n"
        "sys.stderr.write('LOADED=' + ','.join(m for m in ('re', 'argparse') if m in sys.modules) + '\\n')\n"
        "sys.exit(rc)\n"
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith(("REACTOR_CI_", "GITHUB_")) and k != "CI"}
    env["PYTHONPATH"] = str(REPO_ROOT)  # with -S: the dev venv's .pth start-up hooks import re themselves
    env["XDG_CACHE_HOME"] = str(tmp_path / "cache")
    # The first finding on this interpreter compiles the rules with re and keeps them (reactor_ci.regex).
    warm = subprocess.run(
        [sys.executable, "-S", "-m", "reactor_ci.scan", "-q", str(dirty)], env=env, capture_output=True
    )
    assert warm.returncode == 1 and list((tmp_path / "cache" / "reactor-ci").glob("regex-*"))
    for files, code, loaded in (([*clean], 0, ""), ([*clean, dirty], 1, "")):
        names = [str(p) for p in files]
        ours = subprocess.run(
            [sys.executable, "-S", "-c", probe, "scan", "-q", *names],
            capture_output=True,
            text=True,
            env=env,
            cwd=tmp_path,
        )
        theirs = subprocess.run(
            [sys.executable, "-S", "-m", "reactor_ci.scan", "-q", *names],
            capture_output=True,
            text=True,
            env=env,
            cwd=tmp_path,
        )
        assert ours.returncode == theirs.returncode == code, (ours.stderr, theirs.stderr)
        assert ours.stdout == theirs.stdout
        body, _, tail = ours.stderr.rpartition("LOADED=")
        assert body == theirs.stderr
        assert tail.strip() == loaded


@pytest.mark.parametrize("words", [["clean.py", "sub"], ["--help"], ["--format", "json", "leak.env"]])
def test_reactor_ci_scan_loads_no_standard_module_that_reactor_ci_scan_does_not(tree: Path, words: list[str]) -> None:
    """One CLI, one cost (issue 22, item 2): past the quick path, `reactor-ci scan …` loads what
    `reactor-ci-scan …` loads plus its own small modules (the CLI, the CI detection), never another
    standard or third-party module (pathlib, typing and contextlib cost ~8 ms: that regression
    happened once, through the CI package's base provider)."""
    probe = (
        "import sys\n{imp}\n"
        "try:\n    main(sys.argv[1:])\nexcept SystemExit:\n    pass\n"
        "sys.stderr.write('MODULES=' + ' '.join(sorted(sys.modules)) + '\\n')\n"
    )
    env = {k: v for k, v in os.environ.items() if k not in _CLEARED and not k.startswith("REACTOR_CI_")}
    env["PYTHONPATH"] = str(REPO_ROOT)  # with -S: the dev venv's .pth start-up hooks load modules themselves

    def loaded(imp: str, argv: list[str]) -> set[str]:
        run = subprocess.run(
            [sys.executable, "-S", "-c", probe.format(imp=imp), *argv],
            cwd=tree,
            env=env,
            capture_output=True,
            text=True,
            timeout=60,
        )
        line = [x for x in run.stderr.splitlines() if x.startswith("MODULES=")]
        assert line, run.stderr
        return set(line[-1].removeprefix("MODULES=").split())

    ours = loaded("from reactor_ci.cli import main", ["scan", *words])
    theirs = loaded("from reactor_ci.scan.__main__ import main", words)
    extra = sorted(m for m in ours - theirs if not m.startswith(("reactor_ci.", "importlib")))
    assert extra == [], extra
    assert "reactor_ci.scan.cli" in ours  # the full scanner answered, not the quick path
