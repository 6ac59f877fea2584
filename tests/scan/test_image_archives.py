"""An image layer that holds an archive: the image scanner opens it with the scanner's archive source.

A wheel, a .tar.gz and a gzip'd log copied into an image are members of a
layer; their own members are scanned like files, and a finding's path is
``LAYER!/path/in/image!member``. Hostile archives inside a layer end in a note,
as on disk.
"""

from __future__ import annotations

import gzip
import io
import random
import tarfile
import zipfile
import zlib
from pathlib import Path

import pytest

from reactor_ci.scan import engine
from reactor_ci.scan.image import scan_image
from tests.leaks import assert_no_secret
from tests.scan_helpers import fake_key, run_cli
from tests.scan_image_helpers import config_for, docker_archive, layer_tar, oci_dir

RULES = engine.compile_rules()
_rng = random.Random(2024)
WHEEL_KEY = fake_key(rng=_rng)
TGZ_KEY = fake_key("rk_", rng=_rng)
LOG_KEY = fake_key(rng=_rng)


def _wheel(key: str) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr("pkg/__init__.py", "")
        z.writestr("pkg/settings.py", f'\n\nREACTOR_API_KEY = "{key}"\n')
    return buf.getvalue()


def _tgz(key: str) -> bytes:
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w:gz") as tar:
        data = f"KEY={key}\n".encode()
        info = tarfile.TarInfo("bundle/.env")
        info.size = len(data)
        tar.addfile(info, io.BytesIO(data))
    return buf.getvalue()


def _image() -> tuple[list[bytes], dict[str, object]]:
    layer = layer_tar(
        {
            "app/dist/pkg-1.0-py3-none-any.whl": _wheel(WHEEL_KEY),
            "app/model.tar.gz": _tgz(TGZ_KEY),
            "var/log/app.log.gz": gzip.compress(f"starting\nkey={LOG_KEY}\n".encode()),
            "app/clean.zip": _wheel("no key here"),
        }
    )
    return [layer], config_for([layer], ["COPY . /app"])


@pytest.mark.parametrize("form", ["docker-archive", "oci"])
def test_archives_inside_a_layer_are_opened(tmp_path: Path, form: str) -> None:
    layers, config = _image()
    if form == "oci":
        ref = f"oci:{oci_dir(tmp_path / 'oci', layers, config)}"
    else:
        ref = f"docker-archive:{docker_archive(tmp_path / 'img.tar', layers, config)}"
    scan = scan_image(ref, RULES)
    assert scan.complete, scan.problems
    layer = config["rootfs"]["diff_ids"][0][:19]  # type: ignore[index]
    found = {(f.path, f.line, f.secret) for f in scan.findings}
    assert found == {
        (f"{layer}!/app/dist/pkg-1.0-py3-none-any.whl!pkg/settings.py", 3, WHEEL_KEY),
        (f"{layer}!/app/model.tar.gz!bundle/.env", 1, TGZ_KEY),
        (f"{layer}!/var/log/app.log.gz!app.log", 2, LOG_KEY),
    }


def test_cli_reports_a_key_in_a_wheel_in_an_image_redacted(tmp_path: Path) -> None:
    layers, config = _image()
    ref = f"docker-archive:{docker_archive(tmp_path / 'img.tar', layers, config)}"
    proc = run_cli(["--image", ref, "--format", "json"], cwd=str(tmp_path))
    assert proc.returncode == 1, proc.stderr
    assert "pkg-1.0-py3-none-any.whl!pkg/settings.py" in proc.stdout
    assert_no_secret([proc.stdout, proc.stderr], {"wheel": WHEEL_KEY, "tgz": TGZ_KEY, "log": LOG_KEY}, "image")


def test_a_bomb_inside_a_layer_is_cut_off_with_a_note(tmp_path: Path) -> None:
    # Compressed chunk by chunk: a 300 MB buffer in this process would inflate the RSS that later
    # tests read for their subprocesses (fork copies the parent's resident pages before exec).
    zero, packer = bytes(1 << 20), zlib.compressobj(9, zlib.DEFLATED, 16 + zlib.MAX_WBITS)
    bomb = b"".join(packer.compress(zero) for _ in range(300)) + packer.flush()  # ~300 KB, 300 MB inflated
    layer = layer_tar({"app/bomb.log.gz": bomb, "app/.env": f"K={WHEEL_KEY}\n".encode()})
    ref = f"docker-archive:{docker_archive(tmp_path / 'img.tar', [layer], config_for([layer], ['COPY . /app']))}"
    proc = run_cli(["--image", ref, "-v"], cwd=str(tmp_path))
    assert proc.returncode == 1, proc.stderr  # the key next to the bomb is still found
    assert "/app/.env" in proc.stdout
    assert "bomb.log.gz!bomb.log: archive: " in proc.stderr, proc.stderr  # the cut-off member, named
    assert_no_secret([proc.stdout, proc.stderr], {"key": WHEEL_KEY}, "bomb")
