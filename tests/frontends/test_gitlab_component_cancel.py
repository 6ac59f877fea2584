"""Issue 19.7: a cancelled GitLab job leaves no key behind.

GitLab runs ``after_script`` on cancel only with GitLab 17.0+ and a runner that
handles the ``canceling`` state (docs/gitlab.md); elsewhere the job's shell
just gets SIGTERM (or SIGINT). The component traps both: the job's private
directory (credentials, Docker config, venv) is removed by the job itself.
Real ``dash``/``busybox ash`` processes, signalled as a runner does (the whole
process group), in the middle of the job.
"""

from __future__ import annotations

import os
import signal
import subprocess
import time
from pathlib import Path

import pytest

from tests.emulator_fixtures import EmulatorProcess
from tests.frontends.test_gitlab_component_sh import Job, shell  # noqa: F401 - a fixture


def _signals_as_a_runner_leaves_them() -> None:
    """SIGINT and SIGTERM at their defaults in the job's shell, as a GitLab runner starts it.

    A test run launched in the background of a non-interactive shell (``.ci/run &``)
    inherits SIGINT *ignored*; a shell cannot trap a signal ignored on entry
    (POSIX), so without this the SIGINT case would measure the launcher, not the
    component.
    """
    signal.signal(signal.SIGINT, signal.SIG_DFL)
    signal.signal(signal.SIGTERM, signal.SIG_DFL)


@pytest.mark.slow
@pytest.mark.parametrize(("sig", "code"), [(signal.SIGTERM, 143), (signal.SIGINT, 130)])
def test_a_signal_during_the_job_removes_the_private_directory(
    tmp_path: Path,
    emulator: EmulatorProcess,
    wheel: Path,
    shell: tuple[list[str], str | None],  # noqa: F811
    sig: signal.Signals,
    code: int,
) -> None:
    job = Job(tmp_path, emulator, wheel, shell)
    ready = tmp_path / "logged-in"
    text = "\n".join(job.comp["job"]["before_script"]) + f"\ntouch '{ready}'\nsleep 60\n"
    proc = subprocess.Popen(
        [*job.sh, "-c", text],
        env={**job.env, "REACTOR_API_KEY": emulator.partner_key},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        start_new_session=True,  # its own process group, signalled whole as a runner does
        preexec_fn=_signals_as_a_runner_leaves_them,
    )
    try:
        deadline = time.monotonic() + 240
        while not ready.exists() and proc.poll() is None and time.monotonic() < deadline:
            time.sleep(0.1)
        assert ready.exists(), proc.communicate(timeout=10)
        assert (job.job_dir / "credentials").is_file()  # logged in: the key's file exists
        os.killpg(proc.pid, sig)
        out, err = proc.communicate(timeout=30)
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
    assert not any(job.tmpdir.glob("reactor-ci.*")), (out, err)
    assert proc.returncode == code, (proc.returncode, err)
