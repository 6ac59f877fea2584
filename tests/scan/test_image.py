"""`reactor-ci scan --image` on hand-built images: the three forms, attribution, config, output.

No docker needed: the images are written by tests/scan_image_helpers.py exactly
as docker 20.10, docker 25+ and skopeo lay them out. The real engine, registry
and push are in tests/e2e/test_push_scan_docker.py.
"""

from __future__ import annotations

import gzip
import io
import json
import random
import subprocess
import sys
import tarfile
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from reactor_ci.errors import UsageError
from reactor_ci.scan import engine, image
from reactor_ci.scan.image import ImageFinding, instruction, parse_ref, scan_image, scan_stream
from tests.leaks import assert_no_secret
from tests.scan_helpers import fake_key, run_cli
from tests.scan_image_helpers import config_for, docker_archive, layer_tar, oci_dir

RULES = engine.compile_rules()
_rng = random.Random(1818)
FILE_KEY = fake_key(rng=_rng)
ENV_KEY = fake_key(rng=_rng)
ARG_KEY = fake_key("rk_", rng=_rng)
SECRETS = {"file key": FILE_KEY, "env key": ENV_KEY, "arg key": ARG_KEY}


def _dirty_image() -> tuple[list[bytes], dict[str, object]]:
    base = layer_tar({"bin/tool": b"\x7fELF\0\0\0" + bytes(range(256)) * 8, "etc/os-release": b"ID=test\n"})
    copied = layer_tar({"app/.env": f"REACTOR_API_KEY={FILE_KEY}\n".encode(), "app/main.py": b"print('hi')\n"})
    deleted = layer_tar(whiteouts=["/app/.env"])
    layers = [base, copied, deleted]
    config = config_for(
        layers,
        [
            "/bin/sh -c #(nop) ADD file:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef in / ",
            "/bin/sh -c #(nop) COPY dir:abcdef0123456789abcdef0123456789abcdef0123456789abcdef0123456789 in /app ",
            f"|1 TOKEN={ARG_KEY} /bin/sh -c rm /app/.env",
        ],
        env=[f"REACTOR_API_KEY={ENV_KEY}", "PATH=/bin"],
        empty=[f"/bin/sh -c #(nop)  ENV REACTOR_API_KEY={ENV_KEY}"],
    )
    return layers, config


def _forms(tmp_path: Path) -> dict[str, str]:
    layers, config = _dirty_image()
    old = docker_archive(tmp_path / "old.tar", layers, config)
    gzipped = tmp_path / "old.tar.gz"
    gzipped.write_bytes(gzip.compress(old.read_bytes()))
    return {
        "docker-archive (docker 20)": f"docker-archive:{old}",
        "docker-archive, gzipped": f"docker-archive:{gzipped}",
        "docker-archive (docker 25, OCI inside)": (
            f"docker-archive:{docker_archive(tmp_path / 'new.tar', layers, config, oci=True)}"
        ),
        "oci dir, gzip layers": f"oci:{oci_dir(tmp_path / 'oci', layers, config)}",
        "oci dir, tag": f"oci:{tmp_path / 'oci'}:v1",
    }


def _key(f: ImageFinding) -> tuple[object, ...]:
    return (f.path, f.line, f.col, f.rule, f.secret, f.description, f.layer, f.instruction, f.deleted_by)


def test_every_form_gives_the_same_findings_with_layer_instruction_and_whiteout(tmp_path: Path) -> None:
    results = {name: scan_image(ref, RULES) for name, ref in _forms(tmp_path).items()}
    first = next(iter(results.values()))
    for name, scan in results.items():
        assert scan.complete, (name, scan.problems)
        assert sorted(map(_key, scan.findings)) == sorted(map(_key, first.findings)), name
        assert scan.layers == 3 and scan.files == 4 and scan.binary == 1, name
    by_path = {f.path: f for f in first.findings}
    _, config = _dirty_image()
    diff_ids = config["rootfs"]["diff_ids"]  # type: ignore[index]
    layer = by_path[f"{diff_ids[1][:19]}!/app/.env"]
    assert layer.secret == FILE_KEY and layer.layer == diff_ids[1] and layer.layer_index == 1
    assert layer.instruction == "COPY dir:abcdef012345… in /app"
    assert layer.deleted_by == "layer 3/3 `RUN rm /app/.env (build args: TOKEN)`"
    assert "deleted by layer 3/3" in layer.description and "still ships in this layer" in layer.description
    env = by_path["config!config.Env[0]"]
    assert env.secret == ENV_KEY and env.instruction == "ENV REACTOR_API_KEY=…"
    arg = by_path["config!history[2].created_by"]
    assert arg.secret == ARG_KEY and arg.layer == diff_ids[2] and "docker history" in arg.description
    assert {f.path for f in first.findings} == {
        f"{diff_ids[1][:19]}!/app/.env",
        "config!config.Env[0]",
        "config!history[2].created_by",
        "config!history[3].created_by",
    }


@pytest.mark.parametrize("fmt", ["text", "json", "sarif", "github"])
def test_cli_reports_image_findings_redacted_in_every_format(tmp_path: Path, fmt: str) -> None:
    ref = _forms(tmp_path)["docker-archive (docker 20)"]
    proc = run_cli(["--image", ref, "--format", fmt], cwd=str(tmp_path))
    assert proc.returncode == 1, proc.stderr
    assert_no_secret([proc.stdout, proc.stderr], SECRETS, f"scan --image --format {fmt}")
    assert "/app/.env" in proc.stdout
    assert "build secret" in proc.stderr and ".dockerignore" in proc.stderr and "multi-stage" in proc.stderr
    if fmt == "json":
        doc = json.loads(proc.stdout)
        image = {f["path"]: f.get("image") for f in doc["findings"]}
        assert any(v and v["path"] == "/app/.env" and v["deleted_by_later_layer"] for v in image.values())


def test_clean_image_exits_0_and_says_what_was_scanned(tmp_path: Path) -> None:
    layers = [layer_tar({"app/main.py": b"print('hello')\n"})]
    ref = f"docker-archive:{docker_archive(tmp_path / 'clean.tar', layers, config_for(layers, ['COPY . /app']))}"
    proc = run_cli(["--image", ref], cwd=str(tmp_path))
    assert proc.returncode == 0, proc.stderr
    assert "1 layer(s), 1 file(s)" in proc.stderr and "config and history" in proc.stderr


def test_symlinks_and_hard_links_are_never_followed_and_dotdot_names_only_shown(tmp_path: Path) -> None:
    outside = tmp_path / "host.env"
    outside.write_text(f"REACTOR_API_KEY={FILE_KEY}\n")
    layers = [
        layer_tar(
            {"../../escape/x.env": f"K={ENV_KEY}\n".encode()},
            symlinks={"app/.env": str(outside), "app/up": "../../../"},
            hardlinks={"app/hard.env": str(outside)},
        )
    ]
    ref = f"docker-archive:{docker_archive(tmp_path / 'links.tar', layers, config_for(layers, ['COPY . /']))}"
    before = sorted(p.name for p in tmp_path.iterdir())
    scan = scan_image(ref, RULES)
    assert scan.complete, scan.problems
    assert [(f.member, f.secret) for f in scan.findings] == [("/../../escape/x.env", ENV_KEY)]
    assert sorted(p.name for p in tmp_path.iterdir()) == before  # nothing written anywhere
    assert not (tmp_path.parent / "escape").exists()


def test_opaque_whiteout_and_a_whiteout_of_the_directory_count_as_deleted(tmp_path: Path) -> None:
    first = layer_tar({"app/conf/.env": f"K={FILE_KEY}\n".encode(), "srv/.env": f"K={ENV_KEY}\n".encode()})
    opaque = layer_tar({"app/conf/.wh..wh..opq": b""})
    gone_dir = layer_tar(whiteouts=["/srv"])
    layers = [first, opaque, gone_dir]
    config = config_for(layers, ["COPY . /", "RUN rm -rf /app/conf && mkdir /app/conf", "RUN rm -rf /srv"])
    scan = scan_stream(open(docker_archive(tmp_path / "w.tar", layers, config), "rb"), "w", RULES)  # noqa: SIM115
    deleted = {f.member: f.deleted_by for f in scan.findings}
    assert deleted == {
        "/app/conf/.env": "layer 2/3 `RUN rm -rf /app/conf && mkdir /app/conf`",
        "/srv/.env": ("layer 3/3 `RUN rm -rf /srv`"),
    }


def test_parse_ref_forms(tmp_path: Path) -> None:
    assert parse_ref("myorg/app:1").kind == "daemon"
    assert parse_ref("docker-daemon:127.0.0.1:5000/x/y:2").location == "127.0.0.1:5000/x/y:2"
    assert parse_ref("docker-archive:/a:b.tar").location == "/a:b.tar"
    ref = parse_ref(f"oci:{tmp_path}/nope:v2")
    assert (ref.kind, ref.location, ref.tag) == ("oci", f"{tmp_path}/nope", "v2")
    assert parse_ref(f"oci:{tmp_path}").tag is None
    with pytest.raises(UsageError):
        parse_ref("bad\nref")


def test_missing_sources_are_usage_errors_with_a_fix(tmp_path: Path) -> None:
    for ref in (f"docker-archive:{tmp_path}/none.tar", f"oci:{tmp_path}", f"docker-archive:{tmp_path}"):
        proc = run_cli(["--image", ref], cwd=str(tmp_path))
        assert proc.returncode == 2, (ref, proc.stderr)
        assert "fix:" in proc.stderr and "Traceback" not in proc.stderr
    proc = run_cli(["--image", f"oci:{tmp_path}", "somepath"], cwd=str(tmp_path))
    assert proc.returncode == 2 and "cannot be combined" in proc.stderr


_created_by = st.one_of(
    st.text(max_size=80),
    st.builds(
        lambda name, key, cmd: f"|1 {name}={key} /bin/sh -c {cmd}",
        st.from_regex(r"[A-Z_]{1,10}", fullmatch=True),
        st.sampled_from([FILE_KEY, ENV_KEY, ARG_KEY, "plain"]),
        st.text(max_size=40),
    ),
    st.builds(
        lambda verb, key, rest: f"/bin/sh -c #(nop)  {verb} A={key}{rest}",
        st.sampled_from(["ENV", "ARG", "LABEL"]),
        st.sampled_from([FILE_KEY, ENV_KEY, ARG_KEY]),
        st.text(max_size=20),
    ),
    st.builds(
        lambda a, key, b: f"{a}{key}{b}",
        st.text(max_size=30),
        st.sampled_from([FILE_KEY, ARG_KEY]),
        st.text(max_size=30),
    ),
)


@settings(max_examples=300, deadline=None)
@given(_created_by)
def test_instruction_never_shows_a_key_or_build_arg_value_and_is_one_bounded_line(created_by: str) -> None:
    shown = instruction(created_by)
    assert len(shown) <= 120
    assert_no_secret([shown], SECRETS, "an instruction")


def test_github_step_summary_shows_what_was_scanned(tmp_path: Path) -> None:
    ref = _forms(tmp_path)["docker-archive (docker 20)"]
    summary = tmp_path / "summary.md"
    env = {"GITHUB_ACTIONS": "true", "GITHUB_STEP_SUMMARY": str(summary), "REACTOR_CI_PROVIDER": "github"}
    proc = run_cli(["--image", ref], cwd=str(tmp_path), env=env)
    assert proc.returncode == 1, proc.stderr
    text = summary.read_text()
    assert "Reactor key scan of an image" in text and "3 layer(s)" in text and "/app/.env" in text
    assert "COPY dir:abcdef012345… in /app" in text
    assert_no_secret([text, proc.stdout, proc.stderr], SECRETS, "the step summary")


_names = st.lists(
    st.text(st.characters(blacklist_categories=("Cs",), blacklist_characters="\0/"), min_size=1, max_size=60),
    min_size=1,
    max_size=5,
).map(lambda parts: "/".join(parts))


@settings(max_examples=150, deadline=None)
@given(
    st.lists(st.tuples(_names, st.binary(max_size=2000), st.sampled_from("fdls")), min_size=1, max_size=8),
    st.sampled_from([tarfile.USTAR_FORMAT, tarfile.GNU_FORMAT, tarfile.PAX_FORMAT]),
)
def test_layer_headers_are_read_as_tarfile_reads_them(entries: list[tuple[str, bytes, str]], fmt: int) -> None:
    """The layer reader's own header parser agrees with tarfile on names, types, sizes and data."""
    buf = io.BytesIO()
    try:
        with tarfile.open(fileobj=buf, mode="w", format=fmt) as tar:
            for name, data, kind in entries:
                info = tarfile.TarInfo(name)
                info.type = {"f": tarfile.REGTYPE, "d": tarfile.DIRTYPE, "l": tarfile.SYMTYPE, "s": tarfile.LNKTYPE}[
                    kind
                ]
                if kind == "f":
                    info.size = len(data)
                else:
                    info.linkname = name[:50] if kind in "ls" else ""
                tar.addfile(info, io.BytesIO(data) if kind == "f" else None)
    except (ValueError, UnicodeEncodeError):  # a name this format cannot hold: tarfile refuses it too
        return
    raw = buf.getvalue()
    view = image._View(image._Base(io.BufferedReader(io.BytesIO(raw))))  # type: ignore[arg-type]
    ours = [(e.name, e.type, e.size, raw[e.data : e.data + e.size]) for e in image._entries(view)]
    with tarfile.open(fileobj=io.BytesIO(raw)) as tar:
        theirs = [
            (
                m.name,
                ord(m.type) if m.type != b"\0" else 0,
                m.size,
                raw[m.offset_data : m.offset_data + m.size],
            )
            for m in tar.getmembers()
        ]
    assert [(n.rstrip("/"), t, s, d) for n, t, s, d in ours] == [(n.rstrip("/"), t, s, d) for n, t, s, d in theirs]


def test_docker_archive_from_stdin(tmp_path: Path) -> None:
    """`docker save IMAGE | reactor-ci scan --image docker-archive:-`: a pipe, read once."""
    ref = _forms(tmp_path)["docker-archive (docker 20)"]
    archive = ref.removeprefix("docker-archive:")
    argv = [sys.executable, "-m", "reactor_ci.scan.cli", "--image", "docker-archive:-", "--format", "json"]
    with subprocess.Popen(["cat", archive], stdout=subprocess.PIPE) as cat:
        piped = subprocess.run(argv, stdin=cat.stdout, capture_output=True, text=True, timeout=120, check=False)
    assert piped.returncode == 1, piped.stderr
    direct = run_cli(["--image", ref, "--format", "json"], cwd=str(tmp_path))

    def without_ref(doc: str) -> list[dict[str, object]]:
        return [{k: v for k, v in f.items() if k != "image"} for f in json.loads(doc)["findings"]]

    assert without_ref(piped.stdout) == without_ref(direct.stdout)
