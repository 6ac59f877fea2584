"""`reactor-ci push` scans before it uploads, on real parts: dockerd 20.10, the classic
builder, the emulator's real registry (distribution 2.8) and skopeo.

Images are built from Dockerfiles on a tiny local base (busybox and its libraries,
`docker import`ed: no network here) the way users leak keys: COPY a .env, ENV, ARG
used by RUN, a key file deleted in a later layer. Each is refused by `reactor-ci
push` with the layer, the path and the instruction, and the registry then holds no
such manifest (skopeo); the clean one is pushed. `scan --image` gives the same
findings for the daemon, docker-archive and oci forms.
"""

from __future__ import annotations

import json
import random
import shutil
import subprocess
import tarfile
from typing import TYPE_CHECKING

import pytest

from tests.leaks import assert_no_secret
from tests.parts import missing, require_tool
from tests.scan_helpers import fake_key

if TYPE_CHECKING:
    from tests.docker_fixtures import DockerWorld

pytestmark = pytest.mark.real("dockerd + docker-registry + docker CLI + skopeo")
pytest_plugins = ["tests.docker_fixtures"]

_rng = random.Random(18)
KEYS = {
    "copied .env": fake_key(rng=_rng),
    "ENV": fake_key(rng=_rng),
    "ARG": fake_key("rk_", rng=_rng),
    "deleted file": fake_key(rng=_rng),
}

DOCKERFILES = {
    "dotenv": ("FROM {base}\nCOPY .env /app/.env\nCOPY main.py /app/main.py\n", "/app/.env", "COPY file:"),
    "env": ("FROM {base}\nENV REACTOR_API_KEY={ENV} LOG=1\nCOPY main.py /app/main.py\n", "config!config.Env", "ENV"),
    "arg": (
        'FROM {base}\nARG TOKEN\nRUN echo "$TOKEN" > /dev/null && echo built > /built\n',
        "config!history",
        "RUN echo",
    ),
    "deleted": ("FROM {base}\nCOPY key.txt /app/key.txt\nRUN rm /app/key.txt\n", "/app/key.txt", "RUN rm /app/key.txt"),
}


def _base_image(w: DockerWorld) -> str:
    """busybox + the libraries it links, imported as a local image (the builder's FROM)."""
    busybox = shutil.which("busybox")
    if busybox is None:
        missing("busybox not found (apt-get install busybox)")
        raise AssertionError("unreachable")
    root = w.home / "rootfs"
    (root / "bin").mkdir(parents=True)
    shutil.copy(busybox, root / "bin" / "busybox")
    for applet in ("sh", "rm", "echo", "cat"):
        (root / "bin" / applet).symlink_to("busybox")
    libs = subprocess.run(["ldd", busybox], capture_output=True, text=True, check=True).stdout
    for line in libs.splitlines():
        path = line.split("=>")[-1].split("(")[0].strip()
        if path.startswith("/"):
            target = root / path.lstrip("/")
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy(path, target)
    archive = w.home / "rootfs.tar"
    with tarfile.open(archive, "w") as tar:
        tar.add(root, arcname=".")
    ref = "reactor-ci-test/busybox:1"
    r = w.run(["docker", "import", str(archive), ref])
    assert r.code == 0, r
    return ref


def _build(w: DockerWorld, base: str, name: str) -> tuple[str, str, str]:
    """Build DOCKERFILES[name] into the registry's namespace; (image, expected path, instruction)."""
    text, path, instr = DOCKERFILES[name]
    context = w.home / f"ctx-{name}"
    context.mkdir()
    (context / "Dockerfile").write_text(text.format(base=base, ENV=KEYS["ENV"]))
    (context / ".env").write_text(f"REACTOR_API_KEY={KEYS['copied .env']}\n")
    (context / "key.txt").write_text(f"{KEYS['deleted file']}\n")
    (context / "main.py").write_text("print('hello')\n")
    image = f"{w.registry}/{name}:v1"
    r = w.run(
        [
            "docker",
            "build",
            "-q",
            "--network",
            "none",
            "--build-arg",
            f"TOKEN={KEYS['ARG']}",
            "-t",
            image,
            str(context),
        ],
        extra_env={"DOCKER_BUILDKIT": "0"},
    )
    assert r.code == 0, r
    return image, path, instr


def _in_registry(w: DockerWorld, image: str) -> bool:
    r = w.run(["skopeo", "inspect", "--tls-verify=false", f"docker://{image}"])
    if r.code != 0:
        assert "manifest unknown" in r.stderr or "not found" in r.stderr.lower(), r
    return r.code == 0


def _canary(w: DockerWorld) -> None:
    assert_no_secret([r.output for r in w.runs], KEYS, "the commands' output")


def test_push_refuses_each_dirty_image_and_pushes_the_clean_one(docker_world: DockerWorld) -> None:
    require_tool("skopeo", "apt-get install skopeo")
    w = docker_world
    w.login()
    assert w.reactor_ci("docker-login").code == 0  # so skopeo reads the registry through the helper
    base = _base_image(w)
    for name in DOCKERFILES:
        image, path, instr = _build(w, base, name)
        r = w.reactor_ci("push", "--progress", "plain", image)
        assert r.code == 1, r
        assert "refusing to push" in r.stderr and "nothing was pushed" in r.stderr, r
        assert path in r.stderr and instr in r.stderr, (name, r.stderr)
        assert "docker build --secret" in r.stderr and ".dockerignore" in r.stderr, r
        assert "scanned image" in r.stderr and " s" in r.stderr, r  # the scan's time in the progress
        assert not _in_registry(w, image), f"{name}: a refused image reached the registry"
        if name == "deleted":
            assert "deleted by layer" in r.stderr and "still ships" in r.stderr, r
    clean = _build_clean(w, base)
    r = w.reactor_ci("push", "--progress", "plain", clean)
    assert r.code == 0, r
    assert "scanned image" in r.stderr and "0 finding(s)" in r.stderr, r
    assert _in_registry(w, clean)
    _canary(w)


def _build_clean(w: DockerWorld, base: str) -> str:
    context = w.home / "ctx-clean"
    context.mkdir()
    (context / "Dockerfile").write_text(f"FROM {base}\nCOPY main.py /app/main.py\nENV LOG=1\n")
    (context / "main.py").write_text("print('clean')\n")
    image = f"{w.registry}/clean:v1"
    r = w.run(
        ["docker", "build", "-q", "--network", "none", "-t", image, str(context)], extra_env={"DOCKER_BUILDKIT": "0"}
    )
    assert r.code == 0, r
    return image


def test_no_scan_pushes_with_a_loud_warning(docker_world: DockerWorld) -> None:
    w = docker_world
    w.login()
    image, _, _ = _build(w, _base_image(w), "env")
    r = w.reactor_ci("push", "--no-scan", "--progress", "plain", image)
    assert r.code == 0, r
    assert "WITHOUT scanning" in r.stderr and "scan --image" in r.stderr, r
    _canary(w)


def test_scan_image_same_findings_for_daemon_docker_archive_and_oci(docker_world: DockerWorld) -> None:
    skopeo = require_tool("skopeo", "apt-get install skopeo")
    w = docker_world
    base = _base_image(w)
    context = w.home / "ctx-all"
    context.mkdir()
    (context / "Dockerfile").write_text(
        f'FROM {base}\nARG TOKEN\nRUN echo "$TOKEN" > /dev/null && echo x > /x\nENV REACTOR_API_KEY={KEYS["ENV"]}\n'
        "COPY .env /app/.env\nCOPY key.txt /app/key.txt\nRUN rm /app/key.txt\n"
    )
    (context / ".env").write_text(f"REACTOR_API_KEY={KEYS['copied .env']}\n")
    (context / "key.txt").write_text(f"{KEYS['deleted file']}\n")
    image = "reactor-ci-test/all:v1"
    r = w.run(
        [
            "docker",
            "build",
            "-q",
            "--network",
            "none",
            "--build-arg",
            f"TOKEN={KEYS['ARG']}",
            "-t",
            image,
            str(context),
        ],
        extra_env={"DOCKER_BUILDKIT": "0"},
    )
    assert r.code == 0, r
    archive = w.home / "all.tar"
    assert w.docker("save", "-o", str(archive), image).code == 0
    layout = w.home / "oci"
    r = w.run([skopeo, "copy", "--src-daemon-host", w.env["DOCKER_HOST"], f"docker-daemon:{image}", f"oci:{layout}"])
    assert r.code == 0, r
    seen = {}
    for ref in (image, f"docker-archive:{archive}", f"oci:{layout}"):
        r = w.reactor_ci("scan", "--image", ref, "--format", "json")
        assert r.code == 1, r
        doc = json.loads(r.stdout)
        seen[ref] = sorted(
            (f["path"], f["line"], f["col"], f["rule"], f["fingerprint"], f["image"]["instruction"])
            for f in doc["findings"]
        )
    first = seen[image]
    for ref, findings in seen.items():
        assert findings == first, ref
    paths = {p for p, *_ in first}
    assert any(p.endswith("!/app/.env") for p in paths) and any(p.endswith("!/app/key.txt") for p in paths)
    assert "config!config.Env[1]" in paths or "config!config.Env[0]" in paths
    assert any(p.startswith("config!history[") for p in paths)
    assert len({fingerprint for _, _, _, _, fingerprint, _ in first}) >= 5
    r = w.reactor_ci("scan", "--image", "reactor-ci-test/nosuch:1")
    assert r.code == 2 and "is not in the docker engine" in r.stderr and "fix:" in r.stderr, r
    r = w.reactor_ci("scan", "--image", image, extra_env={"DOCKER_HOST": "unix:///nonexistent/docker.sock"})
    assert r.code == 5 and "cannot reach the docker engine" in r.stderr, r
    _canary(w)
