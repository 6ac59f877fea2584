"""Whole-process time of `reactor-ci status` against `python -c pass`.

Aim: at most 2x. Both are timed on the same machine in the same run, medians
of repeated runs after a warm-up; the ratio is what matters, not the seconds.

    python bench/bench_status.py [--runs 30]
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


def _time(cmd: list[str], env: dict[str, str], runs: int) -> float:
    for _ in range(3):
        subprocess.run(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=False)
    samples = []
    for _ in range(runs):
        start = time.perf_counter()
        subprocess.run(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=False)
        samples.append(time.perf_counter() - start)
    return statistics.median(samples)


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=30)
    args = parser.parse_args()
    home = Path(tempfile.mkdtemp(prefix="bench-status-"))
    try:
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
        env.pop("REACTOR_CREDENTIALS", None)
        script = shutil.which("reactor-ci")
        status_cmd = (
            [script, "status", "--json"] if script else [sys.executable, "-m", "reactor_ci", "status", "--json"]
        )
        check = subprocess.run(status_cmd, env=env, capture_output=True, text=True, check=False)
        if check.returncode != 0:
            print(check.stderr, file=sys.stderr)
            return 1
        anchor = _time([sys.executable, "-c", "pass"], env, args.runs)
        status = _time(status_cmd, env, args.runs)
    finally:
        shutil.rmtree(home, ignore_errors=True)
    print(f"{'command':<34} {'median':>10}")
    print(f"{'python -c pass (anchor)':<34} {anchor * 1000:>8.1f}ms")
    print(f"{'reactor-ci status --json':<34} {status * 1000:>8.1f}ms")
    ratio = status / anchor
    print(f"ratio: {ratio:.2f}x python -c pass (aim: <= 2x) -> {'OK' if ratio <= 2 else 'ABOVE AIM'}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
