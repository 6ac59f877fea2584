"""Whole-process time of `reactor-ci status` against `python -I -c pass`, on every CI.

Aim: at most 2x, on every CI reactor-ci supports (one row each, issue 22). Both are timed on
the same machine in the same run, medians of repeated runs after a warm-up; the ratio is what
matters, not the seconds.

    python bench/bench_status.py [--runs 30] [--dev-only] [--against OLD_CHECKOUT]

``--against`` builds a second clean venv from another checkout (``git worktree add /tmp/old REV``)
and times its ``status`` in the same rounds: a before/after comparison on a shared machine, where
load moves between two separate runs more than a change does.

Measured twice: in the development venv (editable install, its .pth start-up
hooks inflate the anchor) and in a clean venv built from the wheel, as a user
installs it. The aim applies to the clean venv. Buildkite is timed without its agent and
with a stand-in (``sh``) on PATH: with one, masking runs ``<agent> redactor add --format json``
once for all the secrets, as the full path does; a real agent adds its own start-up to it.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from _cleanvenv import Venv, clean_venv


def _time_all(commands: list[list[str]], env: dict[str, str], runs: int) -> list[float]:
    """Medians of the commands, run round-robin (one of each per round) so load from anything
    else on this shared machine hits them alike instead of skewing one."""
    samples: list[list[float]] = [[] for _ in commands]
    for i in range(3 + runs):
        for cmd, into in zip(commands, samples, strict=True):
            start = time.perf_counter()
            subprocess.run(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=False)
            if i >= 3:
                into.append(time.perf_counter() - start)
    return [statistics.median(s) for s in samples]


def _status_env(home: Path) -> dict[str, str]:
    cred = home / ".reactor" / "credentials"
    cred.parent.mkdir(mode=0o700)
    expiry = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(time.time() + 6 * 3600))
    cred.write_text(
        json.dumps(
            {
                "api_key": "rp_" + "b" * 32,
                "partner_id": "bench",
                "registry": "registry.reactor.inc/bench",
                "registry_token": "t" * 40,
                "registry_token_expiry": expiry,
            }
        )
    )
    os.chmod(cred, 0o600)
    env = {**os.environ, "HOME": str(home)}
    for name in ("REACTOR_CREDENTIALS", "PYTHONPATH", "VIRTUAL_ENV"):
        env.pop(name, None)
    return env


def _times(python: str, scripts: list[str], env: dict[str, str], runs: int) -> list[float]:
    """Medians of ``python -I -c pass`` and each script's ``status --json``, in the same rounds."""
    commands = [[script, "status", "--json"] for script in scripts]
    for command in commands:
        check = subprocess.run(command, env=env, capture_output=True, text=True, check=False)
        if check.returncode != 0:
            raise SystemExit(f"{command[0]} status failed:\n{check.stderr}")
    return _time_all([[python, "-I", "-c", "pass"], *commands], env, runs)


def _ci_envs(env: dict[str, str], home: Path) -> list[tuple[str, dict[str, str]]]:
    """Every CI reactor-ci supports, as `status` meets it there: after the action/component exported
    REACTOR_CREDENTIALS, or with the job-scoped file a login without it wrote to the job temp dir."""
    cred = home / ".reactor" / "credentials"
    job = home / "job-temp"
    (job / "reactor-ci").mkdir(parents=True, mode=0o700)
    shutil.copy(cred, job / "reactor-ci" / "credentials")
    os.chmod(job / "reactor-ci" / "credentials", 0o600)
    exported = {**env, "REACTOR_CREDENTIALS": str(cred)}
    # A stand-in agent (reads its stdin, as `buildkite-agent redactor add` does): the real one is a
    # Go binary the fast path runs once for all the secrets, exactly as the full path's provider does.
    agent = home / "agent-bin" / "buildkite-agent"
    agent.parent.mkdir()
    agent.write_text("#!/bin/sh\nexec cat >/dev/null\n")
    agent.chmod(0o755)
    with_agent = f"{agent.parent}{os.pathsep}{env.get('PATH', os.defpath)}"
    return [
        ("GitHub, REACTOR_CREDENTIALS", {**exported, "GITHUB_ACTIONS": "true"}),
        ("GitHub, job temp dir", {**env, "GITHUB_ACTIONS": "true", "RUNNER_TEMP": str(job)}),
        ("GitLab", {**env, "GITLAB_CI": "true"}),
        ("Azure, REACTOR_CREDENTIALS", {**exported, "TF_BUILD": "True"}),
        ("Azure, job temp dir", {**env, "TF_BUILD": "True", "AGENT_TEMPDIRECTORY": str(job)}),
        ("Buildkite (no agent on PATH)", {**env, "BUILDKITE": "true"}),
        ("Buildkite, stand-in agent (sh) on PATH", {**env, "BUILDKITE": "true", "PATH": with_agent}),
        ("CircleCI", {**env, "CIRCLECI": "true"}),
        ("Jenkins", {**env, "JENKINS_URL": "http://jenkins.example/"}),
        ("Bitbucket", {**env, "BITBUCKET_BUILD_NUMBER": "7"}),
        ("local (wheel, as users install)", env),
    ]


def measure(venv: Venv, runs: int) -> list[tuple[str, float, float]]:
    """(CI, median of ``python -I -c pass``, median of ``status --json``) on every CI, in ``venv``.

    Also used by bench_scan.py, which prints every ratio of issue 22 from one run.
    """
    home = Path(tempfile.mkdtemp(prefix="bench-status-"))
    try:
        env = _status_env(home)
        script = str(venv.bin / "reactor-ci")
        rows = []
        for where, ci_env in _ci_envs(env, home):
            anchor, status = _times(str(venv.python), [script], ci_env, runs)
            rows.append((where, anchor, status))
        return rows
    finally:
        shutil.rmtree(home, ignore_errors=True)


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=30)
    parser.add_argument("--dev-only", action="store_true", help="skip the clean venv (no wheel build)")
    parser.add_argument("--against", type=Path, help="another checkout, timed in the same rounds (before/after)")
    args = parser.parse_args()
    home = Path(tempfile.mkdtemp(prefix="bench-status-"))
    runs = args.runs
    rows: list[tuple[str, list[float]]] = []  # (where, [anchor, status, status of --against])
    clean: list[float] = []
    try:
        env = _status_env(home)
        dev_script = shutil.which("reactor-ci", path=str(Path(sys.executable).parent))
        if dev_script:
            rows.append(("dev venv (editable, .pth hooks)", _times(sys.executable, [dev_script], env, args.runs)))
        if not args.dev_only:
            with contextlib.ExitStack() as stack:
                venv = stack.enter_context(clean_venv())
                other = stack.enter_context(clean_venv(repo=args.against.resolve())) if args.against else None
                launcher = (venv.bin / "reactor-ci").read_text(errors="replace")
                kind = "pip console-script wrapper (imports re)" if "import re\n" in launcher else "plain launcher"
                print(f"clean venv from the wheel; .pth files: {venv.pth_files() or 'none'}; {kind}", file=sys.stderr)
                print(f"load average at the start: {os.getloadavg()[0]:.1f}", file=sys.stderr)
                scripts = [str(v.bin / "reactor-ci") for v in (venv, other) if v is not None]
                for where, ci_env in _ci_envs(env, home):
                    rows.append((f"clean, {where}", _times(str(venv.python), scripts, ci_env, runs)))
                    clean.append(rows[-1][1][1] / rows[-1][1][0])
                print(f"load average at the end: {os.getloadavg()[0]:.1f}", file=sys.stderr)
    finally:
        shutil.rmtree(home, ignore_errors=True)
    against = " against: status, ratio, this/against" if args.against else ""
    print(f"{'where':<42} {'python -I -c pass':>18} {'status --json':>14} {'ratio':>7}{against}")
    for where, (anchor, status, *others) in rows:
        line = f"{where:<42} {anchor * 1000:>16.1f}ms {status * 1000:>12.1f}ms {status / anchor:>6.2f}x"
        for before in others:
            line += f" {before * 1000:>9.1f}ms {before / anchor:>6.2f}x {status / before:>6.2f}x"
        print(line)
    if clean:
        worst = max(clean)
        print(
            f"aim (clean venv, every CI): <= 2x python -I -c pass -> worst {worst:.2f}x {'OK' if worst <= 2 else 'ABOVE AIM'}"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
