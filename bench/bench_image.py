#!/usr/bin/env python3
"""Benchmark `reactor-ci scan --image` against `docker save IMAGE | rg -a -c` on a ~1 GB image.

    python bench/bench_image.py [--size-mb 1000] [--layers 4] [--repeats 3] [--docker-host unix://...]

The image is made of real files: the interpreter's lib tree (sysconfig's
"stdlib", with site-packages on a pyenv Python) split into --layers layers of
about equal size, up to --size-mb MB, plus one planted key file in the second
layer (the scan must find exactly that key). Layers are ustar/GNU tars like
docker's own (no pax header per file). It is written as a docker-archive
and `docker load`ed into a private dockerd (started here by its pid, vfs, like
the tests) unless --docker-host names one.

Timed from the same run, median of --repeats, alternating:

- `reactor-ci scan --image IMAGE --format json` (the daemon's export, streamed);
- `docker save IMAGE | rg -a -c 'r[pk]_[A-Za-z0-9]{20,}'` (the same export, the
  regex floor; -a: rg would otherwise stop at the first NUL byte);
- both again on the docker-archive file on disk (`docker-archive:PATH` / `rg -a -c PATH`).

The ratio of the first pair is the issue's aim (within 2x); the scan's peak RSS
(its own, from wait4) the other (under 150 MB). The machine has 2 cores
shared with others: the ratio, from one run, is what counts.
"""

from __future__ import annotations

import argparse
import hashlib
import io
import json
import os
import random
import shutil
import statistics
import string
import subprocess
import sys
import sysconfig
import tarfile
import tempfile
import time
from collections.abc import Iterator
from typing import Any

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(HERE)
sys.path.insert(0, REPO)

RG_COUNT = "r[pk]_[A-Za-z0-9]{20,}"
IMAGE = "reactor-ci-bench/image:1"


def _files(root: str) -> Iterator[tuple[str, int]]:
    for top, dirs, names in os.walk(root):
        dirs.sort()
        for name in sorted(names):
            path = os.path.join(top, name)
            try:
                st = os.lstat(path)
            except OSError:
                continue
            if os.path.isfile(path) and not os.path.islink(path):
                yield path, st.st_size


def _key() -> str:
    rng = random.Random(1818)
    return "rp_" + "".join(rng.choice(string.ascii_letters + string.digits) for _ in range(31)) + "7"


def _write_layer(path: str, files: list[str], root: str, extra: dict[str, bytes]) -> str:
    """A layer tar of ``files`` under /lib-tree/..., plus ``extra``; returns its diff_id."""
    digest = hashlib.sha256()

    class _Hashing(io.RawIOBase):
        def __init__(self, fh: Any) -> None:
            self.fh = fh

        def writable(self) -> bool:
            return True

        def write(self, data: Any) -> int:
            digest.update(data)
            return int(self.fh.write(data))

    with open(path, "wb") as raw, tarfile.open(fileobj=_Hashing(raw), mode="w|", format=tarfile.GNU_FORMAT) as tar:
        for name, data in extra.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
        for file in files:
            info = tar.gettarinfo(file, arcname="lib-tree/" + os.path.relpath(file, root))
            info.uid = info.gid = 0
            info.uname = info.gname = "root"
            with open(file, "rb") as fh:
                tar.addfile(info, fh)
    return "sha256:" + digest.hexdigest()


def build_archive(workdir: str, size_mb: int, layers: int) -> tuple[str, int, int]:
    """(docker-archive path, bytes of layers, files) of a ~size_mb image of real files."""
    root = sysconfig.get_paths()["stdlib"]
    budget = size_mb * 1_000_000
    picked: list[tuple[str, int]] = []
    total = 0
    for path, size in _files(root):
        if total + size > budget:
            continue
        picked.append((path, size))
        total += size
        if total >= budget * 0.99:
            break
    per_layer = total / layers
    groups: list[list[str]] = [[] for _ in range(layers)]
    acc = 0
    for path, size in picked:
        groups[min(layers - 1, int(acc / per_layer))].append(path)
        acc += size
    diff_ids = []
    names = []
    for i, group in enumerate(groups):
        extra = {"app/.env": f"REACTOR_API_KEY={_key()}\n".encode()} if i == 1 else {}
        name = f"{i:064x}/layer.tar"
        os.makedirs(os.path.join(workdir, "parts", f"{i:064x}"), exist_ok=True)
        diff_ids.append(_write_layer(os.path.join(workdir, "parts", name), group, root, extra))
        names.append(name)
    config = {
        "architecture": "amd64",
        "os": "linux",
        "config": {"Env": ["PATH=/usr/bin"], "Cmd": ["/bin/sh"]},
        "rootfs": {"type": "layers", "diff_ids": diff_ids},
        "history": [{"created_by": f"/bin/sh -c #(nop) COPY dir:{i:064x} in /lib-tree "} for i in range(layers)],
    }
    blob = json.dumps(config).encode()
    config_name = hashlib.sha256(blob).hexdigest() + ".json"
    archive = os.path.join(workdir, "image.tar")
    with tarfile.open(archive, "w") as tar:
        info = tarfile.TarInfo(config_name)
        info.size = len(blob)
        tar.addfile(info, io.BytesIO(blob))
        for name in names:
            tar.add(os.path.join(workdir, "parts", name), arcname=name)
        manifest = json.dumps([{"Config": config_name, "RepoTags": [IMAGE], "Layers": names}]).encode()
        info = tarfile.TarInfo("manifest.json")
        info.size = len(manifest)
        tar.addfile(info, io.BytesIO(manifest))
    shutil.rmtree(os.path.join(workdir, "parts"))
    return archive, total, len(picked)


def _timed(argv: list[str], env: dict[str, str]) -> tuple[float, float, str, int]:
    """(wall seconds, peak RSS MB of the process itself, stdout, exit code)."""
    started = time.perf_counter()
    with tempfile.TemporaryFile() as out:
        proc = subprocess.Popen(argv, env=env, stdout=out, stderr=subprocess.DEVNULL)
        _, status, usage = os.wait4(proc.pid, 0)
        proc.returncode = os.waitstatus_to_exitcode(status)
        seconds = time.perf_counter() - started
        out.seek(0)
        text = out.read().decode(errors="replace")
    return seconds, usage.ru_maxrss / 1024, text, proc.returncode


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--size-mb", type=int, default=1000)
    ap.add_argument("--layers", type=int, default=4)
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--docker-host", help="an engine to use instead of starting a private dockerd")
    args = ap.parse_args()
    for tool in ("docker", "rg"):
        if shutil.which(tool) is None:
            print(f"bench_image: `{tool}` is not on PATH", file=sys.stderr)
            return 2
    from reactor_ci.emulator import dockerd

    engine = None
    workdir = tempfile.mkdtemp(prefix="rci-bench-image-")
    try:
        if args.docker_host:
            host = args.docker_host
        else:
            engine = dockerd.start()
            host = engine.host
        env = {**os.environ, "DOCKER_HOST": host, "REACTOR_CI_PROVIDER": "local"}
        env.pop("GITHUB_ACTIONS", None)
        t0 = time.perf_counter()
        archive, layer_bytes, files = build_archive(workdir, args.size_mb, args.layers)
        print(
            f"image: {args.layers} layers, {files} files, {layer_bytes / 1e6:.0f} MB of file data, "
            f"archive {os.path.getsize(archive) / 1e6:.0f} MB (built in {time.perf_counter() - t0:.0f} s)"
        )
        t0 = time.perf_counter()
        subprocess.run(["docker", "load", "-q", "-i", archive], env=env, check=True, stdout=subprocess.DEVNULL)
        print(f"docker load: {time.perf_counter() - t0:.0f} s")
        scan = [sys.executable, "-m", "reactor_ci", "scan", "--format", "json", "--image"]
        rg = f"docker save {IMAGE} | rg -a -c '{RG_COUNT}'"
        runs: dict[str, list[tuple[float, float]]] = {k: [] for k in ("scan", "rg", "scan-file", "rg-file")}
        found: set[str] = set()
        for _ in range(args.repeats):
            seconds, rss, out, code = _timed([*scan, IMAGE], env)
            assert code == 1, f"reactor-ci scan exited {code}"
            found |= {f["path"] for f in json.loads(out)["findings"]}
            runs["scan"].append((seconds, rss))
            seconds, rss, out, code = _timed(["sh", "-c", rg], env)
            runs["rg"].append((seconds, rss))
            seconds, rss, out, code = _timed([*scan, f"docker-archive:{archive}"], env)
            runs["scan-file"].append((seconds, rss))
            seconds, rss, out, code = _timed(["rg", "-a", "-c", RG_COUNT, archive], env)
            runs["rg-file"].append((seconds, rss))
        expected = {p for p in found if p.endswith("!/app/.env")}
        assert found == expected and len(expected) == 1, f"expected the one planted key, got {sorted(found)}"
        med = {k: statistics.median(s for s, _ in v) for k, v in runs.items()}
        rss = max(r for _, r in runs["scan"] + runs["scan-file"])
        mb = os.path.getsize(archive) / 1e6
        print(f"reactor-ci scan --image {IMAGE}:  {med['scan']:.1f} s ({mb / med['scan']:.0f} MB/s)")
        print(f"docker save | rg -a -c:           {med['rg']:.1f} s ({mb / med['rg']:.0f} MB/s)")
        print(f"ratio (daemon):                   {med['scan'] / med['rg']:.2f}x  (aim: within 2x)")
        print(f"reactor-ci scan docker-archive:   {med['scan-file']:.1f} s ({mb / med['scan-file']:.0f} MB/s)")
        print(f"rg -a -c FILE:                    {med['rg-file']:.1f} s ({mb / med['rg-file']:.0f} MB/s)")
        print(f"ratio (file):                     {med['scan-file'] / med['rg-file']:.2f}x")
        print(f"reactor-ci peak RSS:              {rss:.0f} MB  (aim: under 150 MB)")
        print("findings: the planted key, and nothing else")
    finally:
        if engine is not None:
            dockerd.stop(engine)
        shutil.rmtree(workdir, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
