"""Issue 19.6: shared temp dirs. A RUNNER_TEMP (or, for the GitLab component, TMPDIR) that
other users can write without the sticky bit is refused: another account could rename the
private directory away and plant its own ``bin/reactor-ci``, which would get the key. The
bootstrap also checks, right before it hands the directory over, that it still is the very
directory it created (owner, mode, inode).
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

from tests.e2e.test_install_bundle import boot, run_bootstrap
from tests.emulator_fixtures import EmulatorProcess
from tests.frontends.test_gitlab_component_sh import JOB_ID, Job


@pytest.mark.parametrize("mode", [0o777, 0o775, 0o772])
def test_bootstrap_refuses_a_runner_temp_others_can_write(tmp_path: Path, mode: int) -> None:
    runner_temp = tmp_path / "temp"
    runner_temp.mkdir()
    runner_temp.chmod(mode)
    proc = run_bootstrap(runner_temp)
    assert proc.returncode == 2, proc.stderr
    assert "RUNNER_TEMP" in proc.stderr and "sticky" in proc.stderr
    assert list(runner_temp.iterdir()) == []  # nothing created there
    assert proc.stdout == ""


def test_bootstrap_accepts_a_sticky_shared_runner_temp(tmp_path: Path) -> None:
    runner_temp = tmp_path / "temp"
    runner_temp.mkdir()
    runner_temp.chmod(0o1777)
    proc = run_bootstrap(runner_temp)
    assert proc.returncode == 0, proc.stderr
    assert Path(proc.stdout.strip()).parent == runner_temp


def test_bootstrap_refuses_a_private_directory_swapped_under_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    runner_temp = tmp_path / "temp"
    runner_temp.mkdir()
    real_write = boot.write_scripts

    def swap_then_write(bin_dir: Path, python: Path, scripts: dict[str, str]) -> list[str]:
        names = real_write(bin_dir, python, scripts)
        home = bin_dir.parent
        # What another account does: move ours away, put its own (same name, same mode) in place.
        os.rename(home, runner_temp / "moved-away")
        shutil.copytree(runner_temp / "moved-away", home, symlinks=True)
        home.chmod(0o700)
        return names

    monkeypatch.setattr(boot, "write_scripts", swap_then_write)
    with pytest.raises(boot.SetupError) as info:
        boot.bootstrap(boot.BUNDLE.parent, runner_temp)
    assert "no longer the directory" in str(info.value)


@pytest.mark.parametrize("mode", [0o777, 0o770])
def test_the_gitlab_component_refuses_a_tmpdir_others_can_write(
    tmp_path: Path,
    emulator: EmulatorProcess,
    wheel: Path,
    mode: int,
) -> None:
    job = Job(tmp_path, emulator, wheel)
    job.tmpdir.chmod(mode)
    result = job.run("before_script", REACTOR_API_KEY=emulator.partner_key)
    assert result.returncode == 2, result.stdout + result.stderr
    assert "sticky" in result.stderr and "TMPDIR" in result.stderr
    assert not any(job.tmpdir.glob("reactor-ci.*"))
    assert emulator.partner_key not in result.stdout + result.stderr
    assert JOB_ID  # the job id the component would have written


@pytest.mark.slow
def test_the_gitlab_component_accepts_a_sticky_tmpdir(
    tmp_path: Path,
    emulator: EmulatorProcess,
    wheel: Path,
) -> None:
    job = Job(tmp_path, emulator, wheel)
    job.tmpdir.chmod(0o1777)
    result = job.run("before_script", REACTOR_API_KEY=emulator.partner_key)
    assert result.returncode == 0, result.stdout + result.stderr
    assert job.job_dir.is_dir()
    job.run("after_script")
