#!/usr/bin/env python3
"""Whole-process time of a cached ``docker-credential-reactor get``, against anchors.

    python bench/bench_helper.py [--runs 30] [--json]

Docker runs the helper once per push/pull, BuildKit once per auth callback, so
its start-up is the cost users pay. We time the real installed console script
(the file pip generated, shebang and all; NOT a pyenv/asdf shim, which adds a
bash + exec layer of its own) with a valid cached token, so ``get`` only reads
the credentials file: the hot path. Anchors:

* ``python -c pass`` with the same interpreter as the script's shebang: the
  floor for any Python helper (aim: within 1.5x);
* a Go helper from Debian's ``golang-docker-credential-helpers``
  (``docker-credential-pass version``; ``version`` because ``get``/``list``
  would shell out to ``pass``/gpg and measure those instead).

Each sample is one fork+exec+wait measured from Python; the spawn overhead is
the same for every command. Medians of ``--runs`` samples after warm-up.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import sysconfig
import tempfile
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

HOST = "127.0.0.1:5000"
PLAIN = "same get, plain launcher (no pip wrapper)"
GO_HELPERS = ("docker-credential-pass", "docker-credential-secretservice")


def _installed_helper() -> Path:
    script = Path(sysconfig.get_path("scripts")) / "docker-credential-reactor"
    if not script.exists():
        sys.exit(f"{script} not found: pip install -e . (the benchmark times the installed console script)")
    return script


def _shebang_python(script: Path) -> str:
    first = script.read_text().splitlines()[0]
    return first[2:].strip().split()[0] if first.startswith("#!") else sys.executable


def _script_kind(script: Path) -> str:
    text = script.read_text(errors="replace")
    if "import re\n" in text and "sys.argv[0] = re.sub" in text:
        return "pip console-script wrapper: its `import re` alone costs ~8 ms in a clean venv"
    return "plain script, no wrapper imports"


def _go_helper() -> str | None:
    for name in GO_HELPERS:
        path = shutil.which(name) or (f"/usr/bin/{name}" if Path(f"/usr/bin/{name}").exists() else None)
        if path:
            return path
    return None


def _write_credentials(directory: Path) -> Path:
    now = datetime.now(timezone.utc)
    path = directory / "credentials"
    path.write_text(
        json.dumps(
            {
                "api_key": "rp_benchmark_not_a_real_key_0000",  # pragma: allowlist secret
                "partner_id": "bench",
                "registry": f"{HOST}/bench",
                "registry_token": "bench-registry-token-not-real-000000",
                "registry_token_expiry": (now + timedelta(hours=12)).strftime("%Y-%m-%dT%H:%M:%SZ"),
                "registry_token_issued_at": now.strftime("%Y-%m-%dT%H:%M:%SZ"),
            }
        )
    )
    path.chmod(0o600)
    return path


def _time_all(
    commands: dict[str, tuple[list[str], bytes]], env: dict[str, str], runs: int, warmup: int
) -> dict[str, list[float]]:
    """Round-robin: one run of each command per round, so load from anything
    else on the machine hits every command alike instead of skewing one."""
    samples: dict[str, list[float]] = {name: [] for name in commands}
    for i in range(warmup + runs):
        for name, (argv, stdin) in commands.items():
            start = time.perf_counter()
            proc = subprocess.run(argv, input=stdin, capture_output=True, env=env, check=False)
            elapsed = time.perf_counter() - start
            if proc.returncode != 0:
                sys.exit(f"{' '.join(argv)} failed ({proc.returncode}): {proc.stdout!r} {proc.stderr!r}")
            if i >= warmup:
                samples[name].append(elapsed)
    return samples


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=30)
    parser.add_argument("--warmup", type=int, default=3)
    parser.add_argument("--json", action="store_true", help="print the numbers as JSON")
    args = parser.parse_args(argv)

    helper = _installed_helper()
    python = _shebang_python(helper)
    with tempfile.TemporaryDirectory(prefix="bench-helper-") as tmp:
        home = Path(tmp)
        env = {k: v for k, v in os.environ.items() if not k.startswith(("REACTOR_", "DOCKER_", "PYTHON"))}
        env.update(
            HOME=str(home),
            REACTOR_CREDENTIALS=str(_write_credentials(home)),
            REACTOR_CI_HELPER_LOG=str(home / "helper.log"),
            REACTOR_CI_REGISTRY_HOSTS=HOST,  # a loopback registry must be listed (or the API loopback too)
        )
        # Check the hot path really is the cached one (no refresh, no API).
        probe = subprocess.run([str(helper), "get"], input=HOST.encode(), capture_output=True, env=env, check=False)
        if probe.returncode != 0 or b"bench-registry-token" not in probe.stdout:
            sys.exit(f"the helper did not serve the cached token: {probe.stdout!r} {probe.stderr!r}")

        commands: dict[str, tuple[list[str], bytes]] = {
            "docker-credential-reactor get (cached)": ([str(helper), "get"], HOST.encode()),
            f"{python} -c pass": ([python, "-c", "pass"], b""),
            f"{python} -S -c pass (no site: floor)": ([python, "-S", "-c", "pass"], b""),
        }
        if "wrapper" in _script_kind(helper):
            # What the same code costs without pip's wrapper: the plain script
            # reactor_ci/docker/scripts/docker-credential-reactor installs.
            launcher = home / "docker-credential-reactor-plain"
            launcher.write_text(
                f"#!{python}\nimport sys\nfrom reactor_ci.docker.helper import main\nsys.exit(main())\n"
            )
            launcher.chmod(0o755)
            commands[PLAIN] = ([str(launcher), "get"], HOST.encode())
        go = _go_helper()
        if go:
            commands[f"{Path(go).name} version (Go)"] = ([go, "version"], b"")
        rows = _time_all(commands, env, args.runs, args.warmup)

    medians = {name: statistics.median(s) * 1000 for name, s in rows.items()}
    ours = medians["docker-credential-reactor get (cached)"]
    py = medians[f"{python} -c pass"]
    go_name = next((n for n in medians if n.endswith("(Go)")), None)
    result = {
        "runs": args.runs,
        "median_ms": {k: round(v, 2) for k, v in medians.items()},
        "ratio_vs_python_c_pass": round(ours / py, 2),
        "ratio_vs_go_helper": round(ours / medians[go_name], 1) if go_name else None,
        "aim": "within 1.5x of python -c pass",
        "script": _script_kind(helper),
        "ratio_plain_launcher_vs_python_c_pass": round(medians[PLAIN] / py, 2) if PLAIN in medians else None,
    }
    if args.json:
        print(json.dumps(result, indent=2))
        return 0
    width = max(len(n) for n in medians)
    print(f"whole-process time, median of {args.runs} runs ({args.warmup} warm-up):")
    for name, value in medians.items():
        spread = statistics.quantiles(rows[name], n=10) if len(rows[name]) >= 10 else [0.0] * 9
        print(f"  {name:<{width}}  {value:7.1f} ms   (p10 {spread[0] * 1000:.1f}, p90 {spread[-1] * 1000:.1f})")
    print(f"ratio helper / python -c pass: {result['ratio_vs_python_c_pass']}x (aim: <= 1.5x)")
    kind = _script_kind(helper)
    print(f"installed helper: {helper} ({kind})")
    if PLAIN in medians:
        print(f"ratio plain launcher / python -c pass: {result['ratio_plain_launcher_vs_python_c_pass']}x")
    if go_name:
        print(f"ratio helper / Go helper ({go_name}): {result['ratio_vs_go_helper']}x")
    else:
        print("Go helper not found: apt-get install golang-docker-credential-helpers")
    return 0


if __name__ == "__main__":
    sys.exit(main())
