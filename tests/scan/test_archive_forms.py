"""Keys inside archives and compressed files (issue 17): ``outer!inner!member``, every format and mode.

The fixtures are built at test time with the standard library (no committed
archive holds a key); both ``rp_`` and ``rk_`` keys are planted.
"""

from __future__ import annotations

import base64
import bz2
import gzip
import io
import json
import lzma
import os
import tarfile
import zipfile
from collections.abc import Callable, Iterator
from pathlib import Path
from urllib.parse import unquote

import jsonschema
import pytest

from reactor_ci.scan import archive, engine
from reactor_ci.scan.parallel import Depth
from tests.leaks import assert_no_secret
from tests.parts import require_tool
from tests.repo import REPO_ROOT
from tests.scan_helpers import fake_key, git, init_repo, run_cli

RULES = engine.compile_rules()
PREFIXES = ("rp_", "rk_")
SCHEMA_PATH = REPO_ROOT / "tests" / "data" / "sarif-schema-2.1.0.json"


def env_text(key: str | None) -> bytes:
    """A .env whose key (if any) is on line 3, column 17."""
    value = key if key is not None else "rp_your_key_here"
    return f"# app settings\nDEBUG=0\nREACTOR_API_KEY={value}\nLOG=info\n".encode()


def tar_bytes(members: list[tuple[str, bytes]], mode: str = "w") -> bytes:
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode=mode) as tar:  # type: ignore[call-overload]
        for name, data in members:
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    return buf.getvalue()


def zip_bytes(members: list[tuple[str, bytes]]) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, data in members:
            zf.writestr(name, data)
    return buf.getvalue()


def docker_save(env: bytes) -> bytes:
    """A ``docker save``-style tarball: manifest, config, and a layer tar holding app/.env."""
    layer = tar_bytes([("app/", b""), ("app/main.py", b"print('hi')\n"), ("app/.env", env)])
    digest = "3f2a" * 16
    manifest = json.dumps([{"Config": "config.json", "Layers": [f"{digest}/layer.tar"]}]).encode()
    return tar_bytes([("manifest.json", manifest), ("config.json", b"{}"), (f"{digest}/layer.tar", layer)])


# name -> (builder from the .env bytes, expected member path after the file name)
FORMS: dict[str, tuple[Callable[[bytes], bytes], str]] = {
    "bundle.zip": (lambda env: zip_bytes([("README", b"hi\n"), ("conf/.env", env)]), "conf/.env"),
    "pkg-1.0-py3-none-any.whl": (
        lambda env: zip_bytes([("pkg/__init__.py", b""), ("pkg/settings.py", env)]),
        "pkg/settings.py",
    ),
    "app.jar": (lambda env: zip_bytes([("META-INF/MANIFEST.MF", b"x\n"), ("app.properties", env)]), "app.properties"),
    "model.tar.gz": (lambda env: tar_bytes([("model/", b""), ("model/.env", env)], "w:gz"), "model/.env"),
    "model.tar.bz2": (lambda env: tar_bytes([("model/.env", env)], "w:bz2"), "model/.env"),
    "model.tar.xz": (lambda env: tar_bytes([("model/.env", env)], "w:xz"), "model/.env"),
    "model.tar": (lambda env: tar_bytes([("model/.env", env)]), "model/.env"),
    "app.log.gz": (gzip.compress, "app.log"),
    "app.log.bz2": (bz2.compress, "app.log"),
    "app.log.xz": (lzma.compress, "app.log"),
    "image.tar": (docker_save, "3f2a3f2a3f2a3f2a3f2a3f2a3f2a3f2a3f2a3f2a3f2a3f2a3f2a3f2a3f2a3f2a/layer.tar!app/.env"),
    # By content, not by name: a zip called .bin, a tar.gz called .dat.
    "weights.bin": (lambda env: zip_bytes([("inner/.env", env)]), "inner/.env"),
    "export.dat": (lambda env: tar_bytes([("x/.env", env)], "w:gz"), "x/.env"),
    # Two levels: a wheel inside a tar.gz, a zip inside a zip.
    "dist.tar.gz": (
        lambda env: tar_bytes([("dist/pkg.whl", zip_bytes([("pkg/.env", env)]))], "w:gz"),
        "dist/pkg.whl!pkg/.env",
    ),
    "outer.zip": (lambda env: zip_bytes([("inner.zip", zip_bytes([("deep/.env", env)]))]), "inner.zip!deep/.env"),
}


def _write(root: Path, name: str, data: bytes) -> Path:
    path = root / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    return path


@pytest.mark.parametrize("prefix", PREFIXES)
@pytest.mark.parametrize("name", sorted(FORMS))
def test_planted_key_in_each_form(tmp_path: Path, name: str, prefix: str) -> None:
    build, member = FORMS[name]
    key = fake_key(prefix)
    path = _write(tmp_path, name, build(env_text(key)))
    skipped: list[engine.Skipped] = []
    found, _ = engine.scan_paths([str(path)], RULES, workers=1, skipped=skipped)
    shown = engine.display_path(str(path))
    assert [(f.path, f.member, f.archive, f.line, f.col, f.secret) for f in found] == [
        (f"{shown}!{member}", member, shown, 3, 17, key)
    ]
    assert skipped == []


@pytest.mark.parametrize("name", sorted(FORMS))
def test_same_shapes_without_a_key(tmp_path: Path, name: str) -> None:
    build, _ = FORMS[name]
    path = _write(tmp_path, name, build(env_text(None)))
    skipped: list[engine.Skipped] = []
    found, _ = engine.scan_paths([str(path)], RULES, workers=1, skipped=skipped)
    assert found == [] and skipped == []


def test_base64_inside_an_archive_says_both(tmp_path: Path) -> None:
    key = fake_key("rk_")
    manifest = f"kind: Secret\ndata:\n  KEY: {base64.b64encode(key.encode()).decode()}\n".encode()
    path = _write(tmp_path, "chart.tgz", tar_bytes([("chart/templates/secret.yaml", manifest)], "w:gz"))
    found, _ = engine.scan_paths([str(path)], RULES, workers=1)
    assert [(f.member, f.line, f.col, f.encoding, f.secret) for f in found] == [
        ("chart/templates/secret.yaml", 3, 8, "base64", key)
    ]


def test_no_archives_turns_it_off(tmp_path: Path) -> None:
    path = _write(tmp_path, "bundle.zip", FORMS["bundle.zip"][0](env_text(fake_key())))
    skipped: list[engine.Skipped] = []
    found, _ = engine.scan_paths([str(path)], RULES, workers=1, skipped=skipped, depth=Depth(archives=False))
    assert found == [] and [s.reason for s in skipped] == ["binary"]
    proc = run_cli(["--no-archives", "bundle.zip"], cwd=str(tmp_path))
    assert proc.returncode == 0, proc.stderr


def test_a_big_archive_is_opened_past_max_size(tmp_path: Path) -> None:
    """--max-size bounds text files; an archive is bounded by the archive limits instead."""
    key = fake_key()
    filler = os.urandom(300_000)
    data = zip_bytes([("blob.bin", filler), ("conf/.env", env_text(key))])
    path = _write(tmp_path, "big.zip", data)
    found, _ = engine.scan_paths([str(path)], RULES, workers=1, max_size=100_000)
    assert [f.member for f in found] == ["conf/.env"]


class _Pipe(io.RawIOBase):
    """A stream that cannot seek or tell, like ``docker save`` piped in."""

    def __init__(self, data: bytes) -> None:
        self._data = io.BytesIO(data)

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: bytearray | memoryview) -> int:  # type: ignore[override]
        chunk = self._data.read(min(len(buffer), 1000))
        buffer[: len(chunk)] = chunk
        return len(chunk)


@pytest.mark.parametrize("prefix", PREFIXES)
def test_scan_stream_reads_a_pipe_once(prefix: str) -> None:
    """The image scanner's entry point: a non-seekable stream, tar in stream mode, a zip buffered."""
    key = fake_key(prefix)
    env = env_text(key)
    layer = tar_bytes([("app/.env", env), ("app/lib.whl", zip_bytes([("lib/conf.py", env)]))], "w:gz")
    image = tar_bytes([("manifest.json", b"[]"), ("abc/layer.tar.gz", layer)])
    notes: list[engine.Skipped] = []
    stream = io.BufferedReader(_Pipe(image))
    found = list(archive.scan_stream(stream, "img:latest", RULES, notes=notes))
    assert [(f.path, f.member, f.line, f.col) for f in found] == [
        ("img:latest!abc/layer.tar.gz!app/.env", "abc/layer.tar.gz!app/.env", 3, 17),
        ("img:latest!abc/layer.tar.gz!app/lib.whl!lib/conf.py", "abc/layer.tar.gz!app/lib.whl!lib/conf.py", 3, 17),
    ]
    assert notes == []
    # A stream that is no container yields nothing: plain files are the file scanner's.
    assert list(archive.scan_stream(io.BytesIO(env), "x", RULES)) == []


def test_limits_are_validated() -> None:
    assert archive.Limits().max_depth >= 1
    for bad in ({"max_depth": -1}, {"max_ratio": 0}, {"max_total_bytes": "1"}, {"max_name": True}):
        with pytest.raises(ValueError):
            archive.Limits(**bad)
        with pytest.raises(ValueError):
            archive.Limits().replace(**bad)


def test_limits_are_an_immutable_record() -> None:
    """Equal by value, hashable, immutable; replace makes a checked copy; every field has its default."""
    limits = archive.Limits(max_depth=2)
    assert limits == archive.Limits(max_depth=2) != archive.Limits()
    assert hash(limits) == hash(archive.Limits(max_depth=2))
    assert limits.replace(max_members=7) == archive.Limits(max_depth=2, max_members=7)
    assert limits.max_members == archive.Limits().max_members  # the copy left the original alone
    assert archive.Limits(4, 2 * 1024**3) == archive.Limits()  # positional, in the documented order
    assert {name: getattr(archive.Limits(), name) for name, _ in archive.Limits.DEFAULTS} == dict(
        archive.Limits.DEFAULTS
    )
    assert repr(limits).startswith("Limits(max_depth=2, ")
    with pytest.raises(AttributeError):
        limits.max_depth = 9
    with pytest.raises(AttributeError):
        del limits.max_depth
    with pytest.raises(TypeError):
        limits.replace(max_bogus=1)


@pytest.fixture(scope="module")
def validator() -> jsonschema.Draft4Validator:
    schema = json.loads(SCHEMA_PATH.read_text(encoding="utf-8"))
    return jsonschema.Draft4Validator(schema, format_checker=jsonschema.FormatChecker())


@pytest.fixture
def planted(tmp_path: Path) -> Iterator[tuple[Path, list[str]]]:
    root = tmp_path / "tree"
    keys = [fake_key("rp_"), fake_key("rk_")]
    _write(root, "dist/image.tar", docker_save(env_text(keys[0])))
    _write(root, "dist/bundle.zip", zip_bytes([("a/.env", env_text(keys[1])), ("b/.env", env_text(keys[1]))]))
    yield root, keys


LAYER = "3f2a" * 16 + "/layer.tar"


def test_text_output(planted: tuple[Path, list[str]]) -> None:
    root, keys = planted
    proc = run_cli(["dist"], cwd=str(root))
    assert proc.returncode == 1, proc.stderr
    assert [line.split(": ")[0] + " " + line.rsplit(" ", 1)[-1] for line in proc.stdout.splitlines()] == [
        f"dist/bundle.zip!a/.env:3:17 (rk_…{keys[1][-4:]})",
        f"dist/bundle.zip!b/.env:3:17 (rk_…{keys[1][-4:]})",
        f"dist/image.tar!{LAYER}!app/.env:3:17 (rp_…{keys[0][-4:]})",
    ]
    assert_no_secret([proc.stdout, proc.stderr], keys)


def test_json_output(planted: tuple[Path, list[str]]) -> None:
    root, keys = planted
    proc = run_cli(["--format", "json", "dist"], cwd=str(root))
    doc = json.loads(proc.stdout)
    assert [(f["path"], f["archive"], f["member"], f["line"], f["col"]) for f in doc["findings"]] == [
        ("dist/bundle.zip!a/.env", "dist/bundle.zip", "a/.env", 3, 17),
        ("dist/bundle.zip!b/.env", "dist/bundle.zip", "b/.env", 3, 17),
        (f"dist/image.tar!{LAYER}!app/.env", "dist/image.tar", f"{LAYER}!app/.env", 3, 17),
    ]
    assert_no_secret([proc.stdout, proc.stderr], keys)


def test_sarif_output(planted: tuple[Path, list[str]], validator: jsonschema.Draft4Validator) -> None:
    root, keys = planted
    proc = run_cli(["--format", "sarif", "dist"], cwd=str(root))
    doc = json.loads(proc.stdout)
    assert [e.message for e in validator.iter_errors(doc)] == []
    results = doc["runs"][0]["results"]
    located = [
        (
            unquote(r["locations"][0]["physicalLocation"]["artifactLocation"]["uri"]),
            r["locations"][0]["physicalLocation"]["region"]["startLine"],
            r["locations"][0]["logicalLocations"][0]["fullyQualifiedName"],
            r["properties"]["member"],
            r["properties"]["memberLine"],
        )
        for r in results
    ]
    assert located == [
        ("dist/bundle.zip", 1, "a/.env", "a/.env", 3),
        ("dist/bundle.zip", 1, "b/.env", "b/.env", 3),
        ("dist/image.tar", 1, f"{LAYER}!app/.env", f"{LAYER}!app/.env", 3),
    ]
    assert all("in archive member " in r["message"]["text"] for r in results)
    assert_no_secret([proc.stdout, proc.stderr], keys)


def test_github_annotations_on_the_archive(planted: tuple[Path, list[str]]) -> None:
    root, keys = planted
    proc = run_cli(["--format", "github", "dist"], cwd=str(root))
    lines = proc.stdout.splitlines()
    assert [line.split(",title=")[0] for line in lines] == [
        "::error file=dist/bundle.zip,line=1,col=1",
        "::error file=dist/bundle.zip,line=1,col=1",
        "::error file=dist/image.tar,line=1,col=1",
    ]
    assert "in archive member a/.env, line 3, column 17" in lines[0]
    assert_no_secret([proc.stdout, proc.stderr], keys)


def test_baseline_accepts_one_member(planted: tuple[Path, list[str]]) -> None:
    """The same key in two members: accepting one leaves the other reported."""
    root, keys = planted
    first = run_cli(["--format", "json", "--no-baseline", "dist"], cwd=str(root))
    accepted = [f for f in json.loads(first.stdout)["findings"] if f["member"] == "a/.env"]
    baseline = {"version": 1, "findings": [{"fingerprint": accepted[0]["fingerprint"]}]}
    (root / "base.json").write_text(json.dumps(baseline))
    proc = run_cli(["--format", "json", "--baseline", "base.json", "dist"], cwd=str(root))
    assert [f["path"] for f in json.loads(proc.stdout)["findings"]] == [
        "dist/bundle.zip!b/.env",
        f"dist/image.tar!{LAYER}!app/.env",
    ]
    assert "1 in baseline" in proc.stderr
    update = run_cli(["--update-baseline", "--baseline", "all.json", "dist"], cwd=str(root))
    assert update.returncode == 0, update.stderr
    entries = json.loads((root / "all.json").read_text())["findings"]
    assert sorted(e["path"] for e in entries) == [
        "dist/bundle.zip!a/.env",
        "dist/bundle.zip!b/.env",
        f"dist/image.tar!{LAYER}!app/.env",
    ]
    assert_no_secret([(root / "all.json").read_text()], keys)
    assert run_cli(["--baseline", "all.json", "dist"], cwd=str(root)).returncode == 0


def test_staged_and_all_modes_read_archives_by_object_id(tmp_path: Path) -> None:
    require_tool("git")
    repo = Path(init_repo(str(tmp_path / "repo")))
    key = fake_key("rk_")
    _write(repo, "models/bundle.whl", FORMS["pkg-1.0-py3-none-any.whl"][0](env_text(key)))
    git(str(repo), "add", "-A")
    # The work-tree copy no longer holds the key: --staged must read the index's blob.
    _write(repo, "models/bundle.whl", FORMS["pkg-1.0-py3-none-any.whl"][0](env_text(None)))
    proc = run_cli(["--staged", "--format", "json"], cwd=str(repo))
    assert proc.returncode == 1, proc.stderr
    assert [(f["path"], f["line"]) for f in json.loads(proc.stdout)["findings"]] == [
        ("models/bundle.whl!pkg/settings.py", 3)
    ]
    assert run_cli(["--staged", "--no-archives"], cwd=str(repo)).returncode == 0
    git(str(repo), "commit", "-qm", "bundle")
    assert run_cli(["--all"], cwd=str(repo)).returncode == 0  # the work tree's copy is clean
    git(str(repo), "checkout", "--", ".")
    proc = run_cli(["--all", "--format", "json"], cwd=str(repo))
    assert [f["member"] for f in json.loads(proc.stdout)["findings"]] == ["pkg/settings.py"]
    assert_no_secret([proc.stdout, proc.stderr], [key])


def test_limit_flags(tmp_path: Path) -> None:
    outer = zip_bytes([("inner.zip", zip_bytes([("deep/.env", env_text(fake_key()))]))])
    (tmp_path / "outer.zip").write_bytes(outer)
    shallow = run_cli(["-v", "--archive-max-depth", "1", "outer.zip"], cwd=str(tmp_path))
    assert shallow.returncode == 0, shallow.stderr
    assert "skipped outer.zip!inner.zip: archive: nested deeper than 1 archives: not opened" in shallow.stderr
    assert run_cli(["--archive-max-depth", "2", "outer.zip"], cwd=str(tmp_path)).returncode == 1
    for flag in ("--archive-max-ratio", "--archive-max-bytes"):
        bad = run_cli([flag, "0", "outer.zip"], cwd=str(tmp_path))
        assert bad.returncode == 2 and "must be positive numbers" in bad.stderr and "Traceback" not in bad.stderr
    tiny = run_cli(["-v", "--archive-max-bytes", "10", "outer.zip"], cwd=str(tmp_path))
    assert tiny.returncode == 0 and "cut off: over 10 decompressed bytes" in tiny.stderr


def test_forked_workers_give_the_same_findings_and_notes(tmp_path: Path) -> None:
    """Findings inside archives and decoded ones cross the workers' pipe with member and encoding intact."""
    keys = [fake_key("rp_"), fake_key("rk_")]
    for i in range(450):
        _write(tmp_path, f"d{i % 7}/f{i:03d}.txt", f"line {i}\n".encode())
    _write(tmp_path, "d3/bundle.whl", zip_bytes([("pkg/.env", env_text(keys[0]))]))
    _write(tmp_path, "d5/secret.yaml", f"data:\n  K: {base64.b64encode(keys[1].encode()).decode()}\n".encode())
    _write(tmp_path, "d6/locked.zip", zip_bytes([("x/.env", env_text(None))])[:-30])
    runs = []
    for workers in (1, 2):
        skipped: list[engine.Skipped] = []
        found, count = engine.scan_paths([str(tmp_path)], RULES, workers=workers, skipped=skipped)
        runs.append(([f.astuple() for f in found], [(s.path, s.reason) for s in skipped], count))
    assert runs[0] == runs[1]
    found_tuples = runs[0][0]
    assert [(t[8], t[9]) for t in found_tuples] == [("pkg/.env", None), (None, "base64")]
    assert any(reason.startswith("archive: corrupt") for _, reason in runs[0][1])
