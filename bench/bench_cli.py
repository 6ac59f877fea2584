"""`reactor-ci scan …` against `reactor-ci-scan …` for the same arguments (issue 22, item 2).

Aim: `reactor-ci scan` within 3 ms of `reactor-ci-scan` (whole-process medians), for a 10-file
pre-commit batch and for `--help`, in a clean venv from the wheel, one interleaved run. Also
timed: `reactor-ci-scan` as a plain launcher (like reactor_ci/scripts/reactor-ci) instead of
pip's console-script wrapper (which imports `re` first), and the bare interpreter.

    python bench/bench_cli.py [--runs 30]
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from _cleanvenv import Venv, clean_venv

AIM_MS = 3.0
_PLAIN_SCAN = "#!{python}\nimport sys\n\nfrom reactor_ci.scan.__main__ import main\n\nsys.exit(main())\n"


def _medians(commands: dict[str, list[str]], env: dict[str, str], runs: int, cwd: Path) -> dict[str, float]:
    """Median seconds of each command, run round-robin (one of each per round) after 3 warm-ups,
    so load from anything else on this shared machine hits all alike."""
    samples: dict[str, list[float]] = {name: [] for name in commands}
    for i in range(3 + runs):
        for name, cmd in commands.items():
            start = time.perf_counter()
            subprocess.run(cmd, env=env, cwd=cwd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=False)
            if i >= 3:
                samples[name].append(time.perf_counter() - start)
    return {name: statistics.median(values) for name, values in samples.items()}


def _batch(root: Path) -> list[str]:
    """Ten small source files, as pre-commit hands a batch over (no finding)."""
    names = []
    for i in range(10):
        path = root / f"module_{i}.py"
        path.write_text(f'"""Module {i}."""\n\nVALUE = {i}\n' + "x = 'plain text, no key here'\n" * 40)
        names.append(path.name)
    return names


def _same(a: list[str], b: list[str], env: dict[str, str], cwd: Path) -> str:
    """'same' when both print the same (stdout, stderr, exit) -- the prog name aside."""
    one = subprocess.run(a, env=env, cwd=cwd, capture_output=True, text=True, check=False)
    two = subprocess.run(b, env=env, cwd=cwd, capture_output=True, text=True, check=False)
    strip = lambda text: text.replace("reactor-ci scan", "PROG").replace("reactor-ci-scan", "PROG")  # noqa: E731
    same = one.returncode == two.returncode and strip(one.stdout) == strip(two.stdout)
    return f"exit {one.returncode}/{two.returncode}, output {'same' if same else 'DIFFERS'}"


def _clean_env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV")}
    for name in ("GITHUB_ACTIONS", "GITLAB_CI", "TF_BUILD", "BUILDKITE", "CIRCLECI", "JENKINS_URL"):
        env.pop(name, None)
    return env


def measure(venv: Venv, runs: int) -> list[tuple[str, dict[str, float]]]:
    """(arguments, median seconds of each command) for the batch and ``--help``, in ``venv``.

    Also used by bench_scan.py, which prints every ratio of issue 22 from one run.
    """
    work = Path(tempfile.mkdtemp(prefix="bench-cli-"))
    env = _clean_env()
    try:
        files = _batch(work)
        python = str(venv.python)
        plain = venv.bin / "reactor-ci-scan-plain"
        plain.write_text(_PLAIN_SCAN.format(python=python))
        plain.chmod(0o755)
        wrapper = (venv.bin / "reactor-ci-scan").read_text(errors="replace")
        kind = "pip's console-script wrapper, " + ("imports re" if "import re\n" in wrapper else "no `import re`")
        print(f"reactor-ci-scan: {kind}")
        rc, scan, scan_plain = str(venv.bin / "reactor-ci"), str(venv.bin / "reactor-ci-scan"), str(plain)
        rows = []
        for label, extra in (("10-file batch", files), ("--help", ["--help"])):
            commands = {
                "python -I -c pass": [python, "-I", "-c", "pass"],
                "reactor-ci scan": [rc, "scan", *extra],
                "reactor-ci-scan": [scan, *extra],
                "reactor-ci-scan (plain launcher)": [scan_plain, *extra],
            }
            if label != "--help":  # the help names its own program: tests/test_cli_scan_handoff.py compares it
                print(f"{label}: {_same(commands['reactor-ci scan'], commands['reactor-ci-scan'], env, work)}")
            rows.append((label, _medians(commands, env, runs, work)))
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return rows


def gap_ms(medians: dict[str, float]) -> float:
    """How much longer ``reactor-ci scan`` took than ``reactor-ci-scan``, in ms."""
    return (medians["reactor-ci scan"] - medians["reactor-ci-scan"]) * 1000


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=30)
    args = parser.parse_args()
    with clean_venv() as venv:
        print(f"clean venv from the wheel; .pth files: {venv.pth_files() or 'none'}")
        rows = measure(venv, args.runs)
    print(
        f"{'arguments':<15} {'python -I':>10} {'reactor-ci scan':>16} {'reactor-ci-scan':>16} {'plain launcher':>15} {'gap':>8}"
    )
    verdict = True
    for label, m in rows:
        gap = gap_ms(m)
        verdict = verdict and gap <= AIM_MS
        print(
            f"{label:<15} {m['python -I -c pass'] * 1000:>8.1f}ms {m['reactor-ci scan'] * 1000:>14.1f}ms "
            f"{m['reactor-ci-scan'] * 1000:>14.1f}ms {m['reactor-ci-scan (plain launcher)'] * 1000:>13.1f}ms "
            f"{gap:>+6.1f}ms"
        )
    print(f"aim: `reactor-ci scan` within {AIM_MS:.0f} ms of `reactor-ci-scan` -> {'OK' if verdict else 'ABOVE AIM'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
