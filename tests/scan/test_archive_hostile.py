"""Hostile archives (issue 17): each ends in bounded time and memory, with a note, never a traceback.

Zip bombs, 42.zip-style nesting, a sparse 10 GB tar member, links and ``../``
members, corrupt and truncated archives, a password-protected zip.  Nothing
is ever extracted: the tests check that the scan writes no file.
"""

from __future__ import annotations

import io
import json
import os
import resource
import subprocess
import sys
import tarfile
import time
import zipfile
import zlib
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from reactor_ci.scan import archive, engine
from tests.leaks import assert_no_secret
from tests.scan.test_archive_forms import env_text, tar_bytes, zip_bytes
from tests.scan_helpers import fake_key

RULES = engine.compile_rules()


def _zeros_zip(size: int, name: str = "zeros.txt") -> bytes:
    """A zip with one deflated member of ``size`` zero bytes (streamed: never ``size`` bytes in memory)."""
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf, zf.open(name, "w", force_zip64=True) as out:
        chunk = b"\0" * (1 << 20)
        for _ in range(size >> 20):
            out.write(chunk)
    return buf.getvalue()


def _gzip_zeros(size: int) -> bytes:
    comp = zlib.compressobj(9, zlib.DEFLATED, 16 + zlib.MAX_WBITS)
    chunk = b"\0" * (1 << 20)
    return b"".join([*(comp.compress(chunk) for _ in range(size >> 20)), comp.flush()])


class _Zeros(io.RawIOBase):
    def __init__(self, size: int) -> None:
        self.left = size

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: bytearray | memoryview) -> int:  # type: ignore[override]
        n = min(len(buffer), self.left)
        buffer[:n] = bytes(n)
        self.left -= n
        return n


def _tar_gz_zeros(size: int) -> bytes:
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w:gz", compresslevel=1) as tar:
        info = tarfile.TarInfo("zeros.bin")
        info.size = size
        tar.addfile(info, io.BufferedReader(_Zeros(size)))
    return buf.getvalue()


def _run_cli(args: list[str], cwd: Path) -> tuple[subprocess.CompletedProcess[str], float, int]:
    """The real CLI; returns (process, seconds, peak RSS of the child in MB)."""
    env = dict(os.environ)
    env.pop("GITHUB_ACTIONS", None)
    before = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    started = time.monotonic()
    proc = subprocess.run(
        [sys.executable, "-c", _MEASURED, *args],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        encoding="utf-8",
        timeout=120,
    )
    elapsed = time.monotonic() - started
    rss = max(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss, before) // 1024
    peak = int(proc.stderr.rsplit("PEAK_RSS_KB=", 1)[1]) // 1024 if "PEAK_RSS_KB=" in proc.stderr else rss
    return proc, elapsed, peak


# The child reports the peak of its own address space (VmHWM, after exec): RUSAGE_CHILDREN keeps the
# maximum over every earlier child, and ru_maxrss counts the parent's pages held between fork and exec.
_MEASURED = (
    "import sys\n"
    "from reactor_ci.scan.cli import main\n"
    "code = main(sys.argv[1:])\n"
    "hwm = [l for l in open('/proc/self/status') if l.startswith('VmHWM:')]\n"
    "sys.stderr.write(f'PEAK_RSS_KB={hwm[0].split()[1]}\\n')\n"
    "sys.exit(code)\n"
)


def _files(root: Path) -> list[str]:
    return sorted(str(p.relative_to(root)) for p in root.rglob("*"))


def _assert_bounded(proc: subprocess.CompletedProcess[str], seconds: float, peak_mb: int) -> None:
    assert "Traceback" not in proc.stderr, proc.stderr
    assert proc.returncode in (0, 1), proc.stderr
    assert seconds < 60, seconds
    assert peak_mb < 200, peak_mb


def test_zip_bomb_is_cut_off(tmp_path: Path) -> None:
    (tmp_path / "bomb.zip").write_bytes(_zeros_zip(256 << 20))
    (tmp_path / "bomb.tar.gz").write_bytes(_tar_gz_zeros(64 << 20))
    (tmp_path / "huge.log.gz").write_bytes(_gzip_zeros(256 << 20))
    before = _files(tmp_path)
    proc, seconds, peak = _run_cli(["-v", "."], tmp_path)
    _assert_bounded(proc, seconds, peak)
    # The zip's directory gives the ratio away; the tar member is cut while it streams by;
    # a compressed log is read up to the member size limit, like --max-size for a file.
    assert "skipped bomb.zip!zeros.txt: archive: cut off: compression ratio over 200" in proc.stderr
    assert "skipped bomb.tar.gz!zeros.bin: archive: larger than 5242880 bytes" in proc.stderr
    assert "skipped bomb.tar.gz: archive: cut off: compression ratio over 200" in proc.stderr
    assert "skipped huge.log.gz!huge.log: archive: larger than 5242880 bytes" in proc.stderr
    assert "4 archive member(s) skipped or cut off" in proc.stderr
    assert _files(tmp_path) == before


def test_a_bomb_with_lying_sizes_is_cut_while_reading() -> None:
    """A member whose header claims a small size cannot slip past the ratio: the stream is counted."""
    notes: list[engine.Skipped] = []
    limits = archive.Limits(ratio_floor=1 << 20, max_member_size=32 << 20)
    assert list(archive.scan_data(_gzip_zeros(64 << 20), "log.gz", RULES, limits=limits, notes=notes)) == []
    assert [(n.path, n.reason) for n in notes] == [
        ("log.gz!log", "archive: cut off: compression ratio over 200 (a decompression bomb?)")
    ]


def test_42_zip_style_nesting(tmp_path: Path) -> None:
    """16 zips of 16 zips of ... of a 16 MB zero file: 16^5 * 16 MB if it were all read."""
    level = _zeros_zip(16 << 20)
    for _ in range(5):
        level = zip_bytes([(f"{i}.zip", level) for i in range(16)])
    (tmp_path / "42.zip").write_bytes(level)
    proc, seconds, peak = _run_cli(["-v", "-q", "42.zip"], tmp_path)
    _assert_bounded(proc, seconds, peak)
    assert "nested deeper than 4 archives: not opened" in proc.stderr


def test_total_budget_stops_a_wide_archive() -> None:
    """Many members that each pass the ratio check still stop at the per-file budget."""
    members = [(f"{i}.txt", os.urandom(1 << 16)) for i in range(64)]
    notes: list[engine.Skipped] = []
    limits = archive.Limits(max_total_bytes=1 << 20)
    list(archive.scan_data(zip_bytes(members), "wide.zip", RULES, limits=limits, notes=notes))
    assert any("cut off: over 1048576 decompressed bytes" in n.reason for n in notes), notes
    assert len(notes) == 1  # the walk stops: not one note per remaining member


def _sparse_tar(realsize: int, key: str) -> bytes:
    """A PAX 1.0 sparse member that claims ``realsize`` bytes and stores one small block, then a .env."""
    data = b"1\n0\n512\n".ljust(512, b"\0") + b"x" * 512
    info = tarfile.TarInfo("disk.img")
    info.size = len(data)
    info.pax_headers = {
        "GNU.sparse.major": "1",
        "GNU.sparse.minor": "0",
        "GNU.sparse.name": "disk.img",
        "GNU.sparse.realsize": str(realsize),
    }
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=tarfile.PAX_FORMAT) as tar:
        tar.addfile(info, io.BytesIO(data))
        env = env_text(key)
        after = tarfile.TarInfo("app/.env")
        after.size = len(env)
        tar.addfile(after, io.BytesIO(env))
    return buf.getvalue()


def test_sparse_10_gb_member(tmp_path: Path) -> None:
    key = fake_key("rp_")
    (tmp_path / "disk.tar").write_bytes(_sparse_tar(10 << 30, key))
    proc, seconds, peak = _run_cli(["-v", "--format", "json", "disk.tar"], tmp_path)
    _assert_bounded(proc, seconds, peak)
    assert seconds < 20
    assert [f["path"] for f in json.loads(proc.stdout)["findings"]] == ["disk.tar!app/.env"]
    assert "skipped disk.tar!disk.img: archive: larger than 5242880 bytes" in proc.stderr
    assert_no_secret([proc.stdout, proc.stderr], [key])


def test_a_header_claiming_10_gb_with_no_bytes_behind_it(tmp_path: Path) -> None:
    info = tarfile.TarInfo("huge.bin")
    info.size = 10 << 30
    (tmp_path / "lie.tar").write_bytes(info.tobuf(format=tarfile.GNU_FORMAT) + b"\0" * 1024)
    proc, seconds, peak = _run_cli(["-v", "lie.tar"], tmp_path)
    _assert_bounded(proc, seconds, peak)
    assert "skipped lie.tar!huge.bin: archive: corrupt or truncated member (ReadError)" in proc.stderr
    assert "skipped lie.tar: archive: corrupt or truncated tar" in proc.stderr


def test_links_and_dot_dot_members_are_never_followed_or_extracted(tmp_path: Path) -> None:
    key = fake_key("rk_")
    work = tmp_path / "work"
    work.mkdir()
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w") as tar:
        for name, target, kind in (
            ("etc-passwd", "/etc/passwd", tarfile.SYMTYPE),
            ("hard", "etc-passwd", tarfile.LNKTYPE),
        ):
            link = tarfile.TarInfo(name)
            link.type, link.linkname = kind, target
            tar.addfile(link)
        env = env_text(key)
        evil = tarfile.TarInfo("../../evil/.env")
        evil.size = len(env)
        tar.addfile(evil, io.BytesIO(env))
    (work / "links.tar").write_bytes(buf.getvalue())
    zbuf = io.BytesIO()
    with zipfile.ZipFile(zbuf, "w") as zf:
        info = zipfile.ZipInfo("link")
        info.external_attr = (0o120777 << 16) | 0x20
        zf.writestr(info, "/etc/shadow")
        zf.writestr("/abs/../../up.env", env_text(key))
    (work / "links.zip").write_bytes(zbuf.getvalue())
    before = _files(tmp_path)
    proc, seconds, peak = _run_cli(["-v", "--format", "json", "."], work)
    _assert_bounded(proc, seconds, peak)
    assert [f["path"] for f in json.loads(proc.stdout)["findings"]] == [
        "links.tar!../../evil/.env",
        "links.zip!/abs/../../up.env",
    ]
    for shown in ("links.tar!etc-passwd", "links.tar!hard", "links.zip!link"):
        assert f"skipped {shown}: archive: link inside an archive: not followed" in proc.stderr
    assert _files(tmp_path) == before
    assert_no_secret([proc.stdout, proc.stderr], [key])


def _encrypted_zip(key: str) -> bytes:
    """A zip whose member is flagged encrypted (bit 0), as ``zip -e`` writes it."""
    data = bytearray(zip_bytes([("secret.env", env_text(key))]))
    data[6] |= 1  # local header's general purpose flags
    central = data.rfind(b"PK\x01\x02")
    data[central + 8] |= 1
    return bytes(data)


def test_password_protected_zip(tmp_path: Path) -> None:
    (tmp_path / "locked.zip").write_bytes(_encrypted_zip(fake_key()))
    proc, seconds, peak = _run_cli(["-v", "locked.zip"], tmp_path)
    _assert_bounded(proc, seconds, peak)
    assert proc.returncode == 0
    assert "skipped locked.zip!secret.env: archive: password-protected: not read" in proc.stderr
    assert "1 archive member(s) skipped or cut off" in proc.stderr


@pytest.mark.parametrize(
    ("name", "cut", "reason"),
    [
        ("a.tar.gz", 0.6, "truncated gzip stream"),
        ("a.zip", 0.6, "corrupt or truncated zip"),
        ("a.tar", 0.3, "corrupt or truncated tar"),
        ("a.tar.bz2", 0.6, "truncated bzip2 stream"),
        ("a.tar.xz", 0.6, "truncated xz stream"),
    ],
)
def test_truncated_archives(tmp_path: Path, name: str, cut: float, reason: str) -> None:
    key = fake_key()
    members = [("first/.env", env_text(key)), ("filler.bin", os.urandom(200_000))]
    if name.endswith(".zip"):
        data = zip_bytes(members)
    else:
        mode = {"a.tar.gz": "w:gz", "a.tar": "w", "a.tar.bz2": "w:bz2", "a.tar.xz": "w:xz"}[name]
        data = tar_bytes(members, mode)
    (tmp_path / name).write_bytes(data[: int(len(data) * cut)])
    proc, seconds, peak = _run_cli(["-v", "--format", "json", name], tmp_path)
    _assert_bounded(proc, seconds, peak)
    assert f"skipped {name}: archive: {reason}" in proc.stderr
    found = [f["path"] for f in json.loads(proc.stdout)["findings"]]
    # A stream is read up to the cut: the member before it is still scanned (not in a zip, whose
    # directory is at its end, nor in a bzip2 file, whose 900 kB blocks decompress only whole).
    assert found == ([] if name.endswith((".zip", ".bz2")) else [f"{name}!first/.env"])


def test_corrupt_member_data(tmp_path: Path) -> None:
    good = zip_bytes([("a.txt", b"hello " * 1000), ("b/.env", env_text(fake_key()))])
    data = bytearray(good)
    data[40:60] = b"\xff" * 20  # inside a.txt's deflate stream
    (tmp_path / "bad.zip").write_bytes(bytes(data))
    proc, seconds, peak = _run_cli(["-v", "--format", "json", "bad.zip"], tmp_path)
    _assert_bounded(proc, seconds, peak)
    assert "skipped bad.zip!a.txt: archive: corrupt" in proc.stderr
    assert [f["member"] for f in json.loads(proc.stdout)["findings"]] == ["b/.env"]


def test_members_per_archive_are_bounded() -> None:
    notes: list[engine.Skipped] = []
    members = [(f"{i}.txt", b"x") for i in range(30)]
    list(archive.scan_data(zip_bytes(members), "many.zip", RULES, limits=archive.Limits(max_members=10), notes=notes))
    list(archive.scan_data(tar_bytes(members), "many.tar", RULES, limits=archive.Limits(max_members=10), notes=notes))
    assert [n.reason for n in notes] == ["archive: more than 10 members: the rest not read"] * 2


def test_hostile_member_names_stay_inert_in_text_output(tmp_path: Path) -> None:
    key = fake_key()
    name = "x\n::warning file=a::INJECTED\x1b[31m/" + "n" * 2000 + ".env"
    (tmp_path / "n.zip").write_bytes(zip_bytes([(name, env_text(key))]))
    proc, seconds, peak = _run_cli(["n.zip"], tmp_path)
    _assert_bounded(proc, seconds, peak)
    lines = proc.stdout.splitlines()
    assert len(lines) == 1 and not lines[0].startswith("::") and "\x1b" not in proc.stdout
    assert len(lines[0]) < 700  # the name is cut at Limits.max_name characters
    assert_no_secret([proc.stdout, proc.stderr], [key])


MAGICS = [b"PK\x03\x04", b"PK\x05\x06", b"\x1f\x8b\x08", b"BZh91AY&SY", b"\xfd7zXZ\x00"]


@settings(max_examples=300, deadline=None)
@given(st.sampled_from(MAGICS), st.binary(max_size=2048))
def test_any_bytes_behind_a_magic_never_raise(magic: bytes, rest: bytes) -> None:
    notes: list[engine.Skipped] = []
    assert list(archive.scan_data(magic + rest, "x", RULES, notes=notes)) == []


@settings(max_examples=200, deadline=None)
@given(st.integers(0, 4000), st.binary(min_size=1, max_size=64))
def test_any_damage_to_a_real_archive_never_raises(at: int, junk: bytes) -> None:
    data = bytearray(tar_bytes([("a/.env", env_text(None)), ("b", b"y" * 3000)], "w:gz"))
    data[at % len(data) : at % len(data) + len(junk)] = junk
    for f in archive.scan_data(bytes(data), "x.tgz", RULES, notes=[]):
        assert f.path.startswith("x.tgz!")
