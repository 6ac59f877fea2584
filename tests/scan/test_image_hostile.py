"""Hostile images end in bounded time and memory with a clear note and exit code.

Each case runs the real CLI in a subprocess and measures that process's peak
RSS (``os.wait4``): a zip-bomb layer, a 10 GB sparse member, a member claiming
10 GB with no data, a corrupt layer, a truncated archive, a 100 MB config,
1000 layers, a zstd layer without the zstandard package, an entry-count bomb.
"""

from __future__ import annotations

import io
import json
import os
import random
import subprocess
import sys
import tarfile
import time
from pathlib import Path

import pytest

from reactor_ci.scan import engine
from reactor_ci.scan.image import Limits, scan_image
from tests.leaks import assert_no_secret
from tests.scan_helpers import fake_key
from tests.scan_image_helpers import config_for, docker_archive, layer_tar, oci_dir, sha256

RULES = engine.compile_rules()
KEY = fake_key(rng=random.Random(77))
MAX_SECONDS = 60.0  # generous for a loaded 2-core machine; the cases take ~1-5 s
MAX_RSS_MB = 150


def _run_measured(ref: str, cwd: Path) -> tuple[int, str, float, float]:
    """(exit code, output, seconds, peak RSS in MB) of `reactor-ci-scan --image ref` (reaped with wait4)."""
    env = {k: v for k, v in os.environ.items() if k not in ("GITHUB_ACTIONS", "CI")}
    started = time.monotonic()
    out_path, err_path = cwd / "stdout.txt", cwd / "stderr.txt"
    with open(out_path, "wb") as out, open(err_path, "wb") as err:
        proc = subprocess.Popen(
            [sys.executable, "-c", _MEASURED, "--image", ref], cwd=cwd, env=env, stdout=out, stderr=err
        )
        deadline = started + MAX_SECONDS * 2
        while True:
            pid, status, usage = os.wait4(proc.pid, os.WNOHANG)
            if pid:
                break
            if time.monotonic() > deadline:
                proc.kill()
                os.wait4(proc.pid, 0)
                raise AssertionError(f"scan of {ref} did not end within {MAX_SECONDS * 2} s")
            time.sleep(0.05)
    proc.returncode = os.waitstatus_to_exitcode(status)
    seconds = time.monotonic() - started
    text = out_path.read_text(errors="replace") + err_path.read_text(errors="replace")
    assert_no_secret([text], [KEY], f"scan --image {ref}")
    assert "Traceback" not in text, text
    # VmHWM: the peak of the scan's own address space. ru_maxrss would also count the pytest process's
    # pages the child held between fork and exec: hundreds of MB late in a full run.
    peak_kb = int(text.rsplit("PEAK_RSS_KB=", 1)[1].split()[0]) if "PEAK_RSS_KB=" in text else usage.ru_maxrss
    return proc.returncode, text, seconds, peak_kb / 1024


# The child reports the high-water mark of its own address space (after exec), then exits with main's code.
_MEASURED = (
    "import sys\n"
    "from reactor_ci.scan.cli import main\n"
    "code = main(sys.argv[1:])\n"
    "hwm = [l for l in open('/proc/self/status') if l.startswith('VmHWM:')]\n"
    "sys.stderr.write(f'PEAK_RSS_KB={hwm[0].split()[1]}\\n')\n"
    "sys.exit(code)\n"
)


def _bounded(ref: str, cwd: Path, code: int, *notes: str) -> str:
    rc, text, seconds, rss = _run_measured(ref, cwd)
    assert rc == code, text
    for note in notes:
        assert note in text, text
    assert seconds < MAX_SECONDS, (seconds, text)
    assert rss < MAX_RSS_MB, (rss, text)
    return text


class _Zeros(io.RawIOBase):
    def readable(self) -> bool:
        return True

    def readinto(self, buffer: object) -> int:
        view = memoryview(buffer)  # type: ignore[arg-type]
        view[:] = b"\0" * len(view)
        return len(view)


def _oci_with_raw_layer(directory: Path, blob: bytes | Path, diff_id: str, media: str) -> Path:
    """An OCI layout whose one layer blob is ``blob`` (bytes, or a file moved into place)."""
    config = {"rootfs": {"type": "layers", "diff_ids": [diff_id]}, "history": [{"created_by": "COPY . /"}]}
    oci_dir(directory, [], config)
    blobs = directory / "blobs" / "sha256"
    if isinstance(blob, Path):
        digest = "sha256:" + "e" * 64
        blob.rename(blobs / digest[7:])
    else:
        digest = sha256(blob)
        (blobs / digest[7:]).write_bytes(blob)
    index = json.loads((directory / "index.json").read_text())
    manifest_path = blobs / index["manifests"][0]["digest"][7:]
    manifest = json.loads(manifest_path.read_text())
    manifest["layers"] = [{"mediaType": media, "digest": digest, "size": 1}]
    data = json.dumps(manifest).encode()
    (blobs / sha256(data)[7:]).write_bytes(data)
    index["manifests"][0]["digest"] = sha256(data)
    (directory / "index.json").write_text(json.dumps(index))
    return directory


def test_zip_bomb_layer_stops_at_the_expansion_ratio(tmp_path: Path) -> None:
    bomb = tmp_path / "bomb.tar.gz"
    # 400 MB of zeros in a tar member: ~400 KB of gzip, past the 256 MB floor at 1000x.
    with tarfile.open(bomb, "w:gz", compresslevel=1) as tar:
        info = tarfile.TarInfo("zeros")
        info.size = 400 * 1024 * 1024
        tar.addfile(info, io.BufferedReader(_Zeros()))
    assert bomb.stat().st_size < 4 * 1024 * 1024
    layout = _oci_with_raw_layer(
        tmp_path / "oci", bomb, "sha256:" + "0" * 64, "application/vnd.oci.image.layer.v1.tar+gzip"
    )
    _bounded(f"oci:{layout}", tmp_path, 2, "decompression bomb", "not known to be free of keys", "fix:")


def _gnu_sparse(name: bytes, realsize: int, data: bytes) -> bytes:
    """An old-GNU sparse member: a header claiming ``realsize`` bytes, 512 bytes on tape."""
    h = bytearray(512)  # (each field is sliced in place: the header stays 512 bytes)
    h[0 : len(name)] = name
    h[100:108] = b"0000644\0"
    h[108:116] = b"0000000\0"
    h[116:124] = b"0000000\0"
    h[124:136] = b"%011o\0" % 512
    h[136:148] = b"%011o\0" % 0
    h[156:157] = b"S"
    h[257:265] = b"ustar  \0"
    h[386:398] = b"%012o" % (realsize - 512)  # 12 digits for 10 GB: no room for a NUL
    h[398:410] = b"%011o\0" % 512
    h[483:495] = b"%012o" % realsize
    h[148:156] = b" " * 8
    h[148:156] = b"%06o\0 " % sum(h)
    assert len(h) == 512
    return bytes(h) + data.ljust(512, b"\0")


def test_ten_gb_sparse_member_is_skipped_not_read(tmp_path: Path) -> None:
    good = layer_tar({"app/.env": f"K={KEY}\n".encode()})
    # The sparse member first, then the layer's real content: the scan must go past it.
    layer = _gnu_sparse(b"big.img", 10 * 1024**3, f"K={KEY}\n".encode()) + good
    archive = docker_archive(tmp_path / "sparse.tar", [layer], config_for([layer], ["COPY . /"]))
    text = _bounded(f"docker-archive:{archive}", tmp_path, 1, "/app/.env")
    scan = scan_image(f"docker-archive:{archive}", RULES)
    assert scan.complete, scan.problems
    assert [(s.path.split("!")[1], s.reason) for s in scan.skipped] == [("/big.img", "larger than 5242880 bytes")]
    assert "1 skipped" in text


def test_member_claiming_ten_gb_without_data_is_a_truncated_layer(tmp_path: Path) -> None:
    info = tarfile.TarInfo("huge.bin")
    info.size = 10 * 1024**3
    layer = info.tobuf(format=tarfile.PAX_FORMAT) + b"x" * 4096
    archive = docker_archive(tmp_path / "claim.tar", [layer], config_for([layer], ["COPY . /"]))
    _bounded(f"docker-archive:{archive}", tmp_path, 2, "corrupt or truncated", "not known to be free of keys")


def test_corrupt_layer_and_truncated_archive(tmp_path: Path) -> None:
    garbage = b"\x13\x37" * 5000
    good = layer_tar({"app/.env": f"K={KEY}\n".encode()})
    archive = docker_archive(tmp_path / "corrupt.tar", [garbage, good], config_for([garbage, good], ["A", "B"]))
    # a finding still exits 1, and the note says what was not scanned
    _bounded(f"docker-archive:{archive}", tmp_path, 1, "layer 1/2", "not a tar stream", "/app/.env")
    whole = archive.read_bytes()
    cut = tmp_path / "cut.tar"
    cut.write_bytes(whole[: len(whole) // 4])  # inside the first layer: the key is cut off too
    _bounded(f"docker-archive:{cut}", tmp_path, 2, "not fully scanned", "not known to be free of keys")
    noise = tmp_path / "noise.tar"
    noise.write_bytes(random.Random(3).randbytes(100_000))
    _bounded(f"docker-archive:{noise}", tmp_path, 2, "not fully scanned")


class _BigJSON(io.RawIOBase):
    """``{"x": "aaaa…"}`` of ``size`` bytes, generated as it is read."""

    def __init__(self, size: int) -> None:
        self.left = size
        self.started = False

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: object) -> int:
        view = memoryview(buffer)  # type: ignore[arg-type]
        n = min(len(view), self.left)
        chunk = b'{"x": "' + b"a" * (n - 7) if not self.started and n > 7 else b"a" * n
        self.started = True
        view[:n] = chunk[:n]
        self.left -= n
        return n


def test_hundred_mb_config_is_refused_unread(tmp_path: Path) -> None:
    layer = layer_tar({"a.txt": b"hello\n"})
    size = 100 * 1024 * 1024
    archive = tmp_path / "bigconfig.tar"
    with tarfile.open(archive, "w") as tar:
        info = tarfile.TarInfo("c" * 64 + ".json")
        info.size = size
        tar.addfile(info, io.BufferedReader(_BigJSON(size), 1024 * 1024))
        info = tarfile.TarInfo("0" * 64 + "/layer.tar")
        info.size = len(layer)
        tar.addfile(info, io.BytesIO(layer))
        manifest = json.dumps([{"Config": "c" * 64 + ".json", "Layers": ["0" * 64 + "/layer.tar"]}]).encode()
        info = tarfile.TarInfo("manifest.json")
        info.size = len(manifest)
        tar.addfile(info, io.BytesIO(manifest))
    _bounded(f"docker-archive:{archive}", tmp_path, 2, "image config larger than", "not known to be free of keys")
    # The same in an OCI layout: the blob's size is checked before a byte is read.
    layout = oci_dir(tmp_path / "oci", [layer], config_for([layer], ["COPY . /"]))
    manifest_doc = json.loads(
        (
            layout / "blobs" / "sha256" / json.loads((layout / "index.json").read_text())["manifests"][0]["digest"][7:]
        ).read_text()
    )
    config_blob = layout / "blobs" / "sha256" / manifest_doc["config"]["digest"][7:]
    os.truncate(config_blob, size)  # sparse: 100 MB on paper
    _bounded(f"oci:{layout}", tmp_path, 2, "image config", "larger than")


def test_thousand_layers_stop_at_the_layer_limit(tmp_path: Path) -> None:
    layers = [layer_tar({f"f{i}.txt": b"x\n"}) for i in range(1000)]
    archive = docker_archive(tmp_path / "many.tar", layers, config_for(layers, ["RUN x"] * 1000))
    _bounded(f"docker-archive:{archive}", tmp_path, 2, "more than 256 layers")
    layout = oci_dir(tmp_path / "oci", layers, config_for(layers, ["RUN x"] * 1000))
    _bounded(f"oci:{layout}", tmp_path, 2, "more than 256 layers (1000)")


def test_thousands_of_sparse_headers_list_only_a_thousand_names(tmp_path: Path) -> None:
    layer = b"".join(_gnu_sparse(f"s{i}".encode(), 10 * 1024**3, b"") for i in range(1500)) + b"\0" * 1024
    archive = docker_archive(tmp_path / "headers.tar", [layer], config_for([layer], ["COPY . /"]))
    scan = scan_image(f"docker-archive:{archive}", RULES)
    assert scan.complete and scan.files == 1500
    assert len(scan.skipped) == 1001 and scan.skipped[-1].reason == "500 more members skipped (too large)"


def test_zstd_layer_without_zstandard_is_a_clear_note(tmp_path: Path) -> None:
    try:
        import zstandard  # type: ignore[import-not-found,unused-ignore]  # noqa: F401

        pytest.skip("zstandard is installed here: zstd layers are read")
    except ImportError:
        pass
    blob = b"\x28\xb5\x2f\xfd" + b"\0" * 64
    layout = _oci_with_raw_layer(
        tmp_path / "oci", blob, "sha256:" + "1" * 64, "application/vnd.oci.image.layer.v1.tar+zstd"
    )
    _bounded(f"oci:{layout}", tmp_path, 2, "zstd-compressed layer", "pip install zstandard")


def test_entry_count_bomb_is_bounded(tmp_path: Path) -> None:
    layer = layer_tar({f"d/{i}": b"" for i in range(3000)})
    archive = docker_archive(tmp_path / "entries.tar", [layer, layer_tar({"x": b"y"})], config_for([layer], ["A"]))
    with open(archive, "rb") as fh:
        from reactor_ci.scan.image import scan_stream

        scan = scan_stream(fh, "entries", RULES, Limits(members=1000))
    assert not scan.complete
    assert any("more than 1000 tar entries" in p for p in scan.problems), scan.problems


def test_a_megabyte_member_name_is_shown_cut(tmp_path: Path) -> None:
    name = "d/" * 50_000 + ".env"  # a pax path of 100 KB
    layer = layer_tar({name: f"K={KEY}\n".encode()})
    archive = docker_archive(tmp_path / "long.tar", [layer], config_for([layer], ["COPY . /"]))
    text = _bounded(f"docker-archive:{archive}", tmp_path, 1, "(100004 chars)")
    assert max(len(line) for line in text.splitlines()) < 2000
