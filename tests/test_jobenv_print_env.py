"""``reactor-ci auth --print-env`` (reactor_ci/jobenv.py): what the GitLab component's shell evals."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from reactor_ci import jobenv
from reactor_ci.errors import UsageError

DASH = shutil.which("dash") or "/bin/sh"
_HOSTILE = [
    "'; touch pwned; '",
    "$(touch pwned)",
    "`touch pwned`",
    "a'b\"c\\d",
    "line1\nline2\r\n",
    "${HOME}",
    "-n",
    "",
    "'",
    "\\'",
    " leading and trailing ",
    "é\u2028\x1b[31m",
]
_values = st.lists(
    st.sampled_from(_HOSTILE) | st.text(st.characters(blacklist_categories=("Cs",), blacklist_characters="\0")),
    min_size=1,
    max_size=8,
)


@settings(max_examples=60, deadline=None)
@given(values=_values)
def test_eval_reads_back_exactly_the_value_and_runs_nothing(
    tmp_path_factory: pytest.TempPathFactory, values: list[str]
) -> None:
    work = tmp_path_factory.mktemp("eval")
    script = "".join(jobenv.shell_assignment(f"V{i}", v) + "\n" for i, v in enumerate(values))
    show = "".join(f'printf "%s\\0" "$V{i}"\n' for i in range(len(values)))
    proc = subprocess.run(
        [DASH, "-e", "-c", 'eval "$1"\n' + show, "sh", script],
        cwd=work,
        capture_output=True,
        check=False,
        env={"PATH": os.environ["PATH"], "HOME": str(work)},
    )
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.decode("utf-8").split("\0")[:-1] == values
    assert not (work / "pwned").exists()


def test_names_and_nul_are_refused() -> None:
    for bad in ("", "1X", "A-B", "a", "X;Y"):
        with pytest.raises(ValueError):
            jobenv.shell_assignment(bad, "v")
    with pytest.raises(UsageError):
        jobenv.shell_assignment("X", "a\0b")


def test_the_job_dir_must_be_private_and_ours(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(jobenv.DIR_ENV, raising=False)
    with pytest.raises(UsageError, match="REACTOR_CI_DIR"):
        jobenv.job_dir()
    loose = tmp_path / "loose"
    loose.mkdir(mode=0o755)
    loose.chmod(0o755)
    monkeypatch.setenv(jobenv.DIR_ENV, str(loose))
    with pytest.raises(UsageError, match="private"):
        jobenv.job_dir()
    link = tmp_path / "link"
    private = tmp_path / "private"
    private.mkdir(mode=0o700)
    link.symlink_to(private)
    monkeypatch.setenv(jobenv.DIR_ENV, str(link))
    with pytest.raises(UsageError):
        jobenv.job_dir()
    monkeypatch.setenv(jobenv.DIR_ENV, str(private))
    assert jobenv.job_dir() == private


def test_the_docker_config_is_seeded_and_the_users_left_alone(tmp_path: Path) -> None:
    user = tmp_path / "user"
    (user / "cli-plugins").mkdir(parents=True)
    (user / "ca.pem").write_text("CA\n")
    (user / "config.json").write_text(json.dumps({"auths": {"x": {}}}))
    target = tmp_path / "job" / "docker"
    target.parent.mkdir()
    jobenv.seed_docker_config(user, target)
    assert json.loads((target / "config.json").read_text()) == {"auths": {"x": {}}}
    assert not (target / "config.json").is_symlink()
    assert (target / "config.json").stat().st_mode & 0o777 == 0o600
    assert (target / "cli-plugins").is_symlink() and (target / "ca.pem").is_symlink()
    jobenv.seed_docker_config(tmp_path / "none", tmp_path / "job" / "empty")  # no user config: an empty one
    assert (tmp_path / "job" / "empty").is_dir()


def test_job_paths_keep_the_jobs_own_log_and_dotenv(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("REACTOR_CI_DOTENV", "/builds/outputs.env")
    monkeypatch.setenv("REACTOR_CREDENTIALS", "/elsewhere/creds")  # the job's credentials are always the job dir's
    monkeypatch.delenv("REACTOR_CI_HELPER_LOG", raising=False)
    paths = jobenv.job_paths(tmp_path)
    assert paths == {
        "REACTOR_CREDENTIALS": str(tmp_path / "credentials"),
        "DOCKER_CONFIG": str(tmp_path / "docker"),
        "REACTOR_CI_HELPER_LOG": str(tmp_path / "helper.log"),
        "REACTOR_CI_DOTENV": "/builds/outputs.env",
    }
