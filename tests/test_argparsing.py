"""The argument parser never echoes a value (a key pasted on the command line) and never guesses."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from tests.clirun import base_env, run
from tests.leaks import assert_no_secret

KEY = "rp_" + "Zt5Wq8Ey2Ru4Ti6Yo1Pa3Sd7"


@pytest.mark.parametrize(
    "argv",
    [
        ["login", KEY],  # unrecognized arguments
        ["login", f"--api-key={KEY}"],
        ["login", "--api-key", KEY],
        [KEY],  # invalid choice of command
        ["token", "--expires-after", KEY],  # invalid int value
        ["status", f"--json={KEY}"],  # ignored explicit argument
        ["auth", "--key-kind", KEY],  # invalid choice of an option
        ["push", "--progress", KEY, "img"],
        ["scan", KEY[3:], "--no-such-flag", KEY[3:]],  # the key's body alone, too
    ],
)
def test_a_key_on_the_command_line_is_never_echoed(tmp_path: Path, argv: list[str]) -> None:
    result = run(argv, base_env(tmp_path))
    assert result.code == 2, result.output
    assert "fix:" in result.stderr and "never from the command line" in result.stderr
    assert "Traceback" not in result.output
    assert_no_secret([result.output], [KEY, KEY[3:]])


def test_no_abbreviations(tmp_path: Path) -> None:
    # `--api-key` used to mean `--api-key-stdin` silently, and then wait on stdin.
    result = run(["login", "--api-key"], base_env(tmp_path))
    assert result.code == 2 and "unrecognized arguments" in result.stderr
    result = run(["token", "--expires", "60"], base_env(tmp_path, REACTOR_API_KEY="rk_" + "a" * 20))
    assert result.code == 2 and "unrecognized arguments" in result.stderr


def test_unknown_provider_exits_2_listing_the_names(tmp_path: Path) -> None:
    result = run(["status"], base_env(tmp_path, REACTOR_CI_PROVIDER="travis\n::warning::x"))
    assert result.code == 2, result.output
    assert "github, gitlab, azure" in result.stderr
    assert "\n::warning" not in result.output  # the value is shown inert


def test_status_imports_no_adapter_nor_heavy_library(tmp_path: Path) -> None:
    # `status` runs in every job: no httpx, docker SDK, scanner, emulator or command adapter.
    code = (
        "import sys\n"
        "from reactor_ci.cli import main\n"
        "main(['status', '--json'])\n"
        "heavy = ('httpx', 'docker', 'detect_secrets', 'reactor_ci.scan', 'reactor_ci.emulator', "
        "'reactor_ci.docker', 'reactor_ci.auth', 'reactor_ci.api')\n"
        "print(sorted(m for m in sys.modules if m.startswith(heavy)))\n"
    )
    env = base_env(tmp_path)
    proc = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=60)
    assert proc.stdout.splitlines()[-1] == "[]", proc.stdout + proc.stderr


def test_help_still_lists_every_command(tmp_path: Path) -> None:
    result = run(["--help"], base_env(tmp_path))
    assert result.code == 0
    for command in ("auth", "login", "status", "token", "logout", "docker-login", "push", "scan", "emulator"):
        assert command in result.stdout


def test_argparsing_names_the_key_variable_of_keys() -> None:
    from reactor_ci import argparsing, keys

    assert argparsing._KEY_VAR == keys.ENV_VAR
    assert argparsing.hide_values("unrecognized arguments: rp_x y") == "unrecognized arguments (not shown)"
