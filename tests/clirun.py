"""Run the real `reactor-ci` as a subprocess and collect everything it printed."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path


@dataclass
class Result:
    code: int
    stdout: str
    stderr: str

    @property
    def output(self) -> str:
        return self.stdout + self.stderr


def base_env(home: Path, api_url: str | None = None, **extra: str) -> dict[str, str]:
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("REACTOR_", "GITHUB_", "GITLAB_", "RUNNER_", "DOCKER_"))
        and k not in ("CI", "ACT", "TF_BUILD", "BUILDKITE", "CIRCLECI", "JENKINS_URL", "BITBUCKET_BUILD_NUMBER")
    }
    env["HOME"] = str(home)
    env["REACTOR_CI_RETRY_MAX_SECONDS"] = "20"
    if api_url:
        env["REACTOR_API_URL"] = api_url
    env.update(extra)
    return env


def run(args: Iterable[str], env: Mapping[str, str], *, stdin: str | None = None, timeout: float = 120) -> Result:
    proc = subprocess.run(
        [sys.executable, "-m", "reactor_ci", *args],
        env=dict(env),
        input=stdin,
        stdin=None if stdin is not None else subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=timeout,
    )
    return Result(proc.returncode, proc.stdout, proc.stderr)
