"""The pre-commit batch's quick start (reactor_ci.scan.quick): same answer as the full path, or none.

Whenever the quick path answers, the full path (reactor_ci.scan.cli.main) prints the same
bytes on stdout and stderr and exits the same: Hypothesis over file sets of random text with
keys planted in every form the decoding, archive and corpus tests use.  Every planted form is
reported exactly as the full path reports it, anything but a plain ``-q FILE…`` batch declines,
and neither a clean batch nor one with a finding loads ``re`` or argparse.
"""

from __future__ import annotations

import base64
import contextlib
import gzip
import io
import json
import os
import subprocess
import sys
import tempfile
from collections.abc import Callable, Iterator

import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from reactor_ci.citables import OVERRIDE_VAR
from reactor_ci.scan import cli, quick
from reactor_ci.scan.config import CONFIG_NAME
from reactor_ci.scan.files import DEFAULT_BASELINE, DEFAULT_MAX_SIZE
from reactor_ci.scan.rules import RULES
from reactor_ci.scan.signatures import B64_SIGNATURES, KEY_PREFIXES
from tests.repo import REPO_ROOT
from tests.scan_helpers import fake_key

REPO = str(REPO_ROOT)


def _b64(plain: bytes, lead: int, urlsafe: bool, pad: bool) -> bytes:
    encoded = (base64.urlsafe_b64encode if urlsafe else base64.b64encode)(b"x" * lead + plain)
    return encoded if pad else encoded.rstrip(b"=")


def _forms(key: str) -> dict[str, bytes]:
    """A key (or a credentials/docker file) in every form the full path finds it."""
    k = key.encode()
    forms = {
        "plain": b'API_KEY = "' + k + b'"\n',
        "url-encoded": b"https://x.test/?key=" + k[:2] + b"%5F" + k[3:] + b"&a=1\n",
        "url-encoded-lower": b"form: key=" + k[:2] + b"%5f" + k[3:] + b"\n",
        "json-u005f": b'{"key": "' + k[:2] + b"\\u005f" + k[3:] + b'"}\n',
        "u-escapes": b'{"key": "' + b"".join(b"\\u%04x" % c for c in k[:3]) + k[3:] + b'"}\n',
        "u-escape-upper": b'key: "' + b"\\u%04X" % k[0] + k[1:] + b'"\n',
        "x-escapes": b'char *k = "' + b"".join(b"\\x%02x" % c for c in k[:3]) + k[3:] + b'";\n',
        "utf-16": f"KEY={key}\n".encode("utf-16"),
        "utf-16-le-no-bom": f"KEY={key}\n".encode("utf-16-le"),
        "gzip": gzip.compress(f"KEY={key}\n".encode()),
        "credentials-json": json.dumps(
            {"api_key": key, "registry_token": "tok_" + fake_key("", 24), "registry": "registry.reactor.inc"}
        ).encode(),
        "docker-config": json.dumps(
            {
                "auths": {
                    "registry.reactor.inc": {"auth": base64.b64encode(b"user:" + fake_key("", 32).encode()).decode()}
                }
            }
        ).encode(),
        "stripe": b"STRIPE = '" + b"rk_live_" + fake_key("", 24).encode() + b"'\n",
    }
    for lead in range(3):
        for urlsafe in (False, True):
            for pad in (False, True):
                forms[f"base64-{lead}-{'url' if urlsafe else 'std'}-{'pad' if pad else 'nopad'}"] = (
                    b"token: " + _b64(b"K=" + k, lead, urlsafe, pad) + b"\n"
                )
    for lead in (0, 1, 2, 37, 70, 74, 75, 76):
        forms[f"base64-wrapped-{lead}"] = base64.encodebytes(b"A" * lead + b"\nKEY=" + k + b"\n")
        forms[f"base64-wrapped-crlf-{lead}"] = base64.encodebytes(b"B" * lead + b"\nKEY=" + k + b"\n").replace(
            b"\n", b"\r\n"
        )
    return forms


@contextlib.contextmanager
def _in(directory: str) -> Iterator[None]:
    old = os.getcwd()
    os.chdir(directory)
    try:
        yield
    finally:
        os.chdir(old)


def _full(argv: list[str]) -> tuple[int, str, str]:
    """The full path in this process: (exit code, stdout, stderr)."""
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = cli.main(argv)
    return code, out.getvalue(), err.getvalue()


def _quick(argv: list[str]) -> tuple[int | None, str, str]:
    """The quick path in this process: (exit code or None, stdout, stderr)."""
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = quick.run(argv)
    return code, out.getvalue(), err.getvalue()


def _write_all(directory: str, files: list[bytes]) -> list[str]:
    names = []
    for i, data in enumerate(files):
        name = f"f{i}.txt"
        with open(os.path.join(directory, name), "wb") as fh:
            fh.write(data)
        names.append(name)
    return names


@pytest.fixture(autouse=True)
def _no_override(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(OVERRIDE_VAR, raising=False)


# -- the data agrees with its sources ---------------------------------------------------------------------
def test_the_key_prefixes_are_the_key_rules_keywords() -> None:
    assert set(KEY_PREFIXES) == {k.encode() for rule in RULES if rule.verify for k in rule.keywords}


def test_the_base64_signatures_are_what_base64_makes_of_the_prefixes() -> None:
    """At each alignment, the characters every encoding of the prefix shares (whatever the bytes around)."""
    for lead, group in enumerate(B64_SIGNATURES):
        derived = set()
        for prefix in KEY_PREFIXES:
            encodings = [
                base64.b64encode(bytes([a]) * lead + prefix + bytes([b, b]))
                for a in (0, 0x41, 0xFF)
                for b in (0, 0x41, 0xFF)
            ]
            first = (lead * 4 + 2) // 3  # the first character no byte before the prefix touches
            last = ((lead + 3) * 8) // 6  # past the last character no byte after it touches
            fixed = {e[first:last] for e in encodings}
            assert len(fixed) == 1, (lead, prefix, fixed)
            derived |= fixed
        assert derived == set(group), lead


def test_every_needle_is_found_by_the_full_prefilter() -> None:
    """No needle of the quick path is inert: each is something the full path's prefilter looks for."""
    from reactor_ci.scan import engine
    from reactor_ci.scan.matching import text_prefilter

    worth = text_prefilter(engine.compile_rules())
    for needle in (*quick.NEEDLES, *quick.SIGNATURES):
        data = b'{"x": "' + needle + b'"}\n'  # a small JSON document: the widest prefilter
        assert worth(data, len(data)), needle


# -- each planted form makes it decline ------------------------------------------------------------------
@pytest.mark.parametrize("form", sorted(_forms(fake_key())))
@pytest.mark.parametrize("prefix", ["rp_", "rk_"])
def test_every_planted_form_is_reported_as_the_full_path_reports_it(
    tmp_path: os.PathLike[str], form: str, prefix: str
) -> None:
    data = _forms(fake_key(prefix))[form]
    assert quick.might_hold_finding(data)
    clean = b"def f(x):\n    return x\n" * 20
    with _in(str(tmp_path)):
        names = _write_all(str(tmp_path), [clean] * 9 + [data])
        answered = _quick(["-q", *names])
        full = _full(["-q", *names])
    assert full[0] == 1, (form, full)  # the form is a real finding for the full path
    assert answered == full
    assert "fix [" in answered[2] and "a false alarm" in answered[2]


def _clean_dir(tmp: str) -> list[str]:
    return _write_all(tmp, [b"def f(x):\n    return x\n" * 20] * 10)


def test_a_clean_batch_is_answered(tmp_path: os.PathLike[str]) -> None:
    with _in(str(tmp_path)):
        names = _clean_dir(str(tmp_path))
        assert quick.run(["-q", *names]) == 0
        assert quick.run(["--quiet", *names]) == 0
        assert _full(["-q", *names]) == (0, "", "")


@pytest.mark.parametrize(
    "case",
    ["not-quiet", "an-option", "a-dash-path", "empty-path", "no-path", "a-big-directory", "a-symlink", "missing",
     "config", "pyproject", "baseline", "provider"],
)  # fmt: skip
@pytest.mark.parametrize("with_key", [False, True])
def test_anything_else_declines(
    tmp_path: os.PathLike[str], monkeypatch: pytest.MonkeyPatch, case: str, with_key: bool
) -> None:
    root = str(tmp_path)
    with _in(root):
        names = _clean_dir(root)
        if with_key:
            with open(names[-1], "a") as fh:
                fh.write(f"KEY = '{fake_key()}'\n")
        argv = ["-q", *names]
        if case == "not-quiet":
            argv = names
        elif case == "an-option":
            argv = ["-q", "--no-decode", *names]
        elif case == "a-dash-path":
            argv = ["-q", "--", *names]
        elif case == "empty-path":
            argv = ["-q", "", *names]
        elif case == "no-path":
            argv = ["-q"]
        elif case == "a-big-directory":  # past PARALLEL_MIN_FILES files: the full path's workers
            os.mkdir("sub")
            for i in range(quick._MAX_FILES + 1 - len(names)):
                with open(os.path.join("sub", f"m{i}.py"), "w") as fh:
                    fh.write("x = 1\n")
            argv = ["-q", "sub", *names]
        elif case == "a-symlink":
            os.symlink(names[0], "link.txt")
            argv = ["-q", "link.txt", *names]
        elif case == "missing":
            argv = ["-q", "nope.txt", *names]
        elif case == "config":
            with open(CONFIG_NAME, "w") as fh:
                fh.write("[scan]\n")
        elif case == "pyproject":
            with open("pyproject.toml", "w") as fh:
                fh.write("[tool.reactor-ci.scan]\n")
        elif case == "baseline":
            with open(DEFAULT_BASELINE, "w") as fh:
                fh.write("not json")
        elif case == "provider":
            monkeypatch.setenv(OVERRIDE_VAR, "local")
        assert _quick(argv) == (None, "", "")


@pytest.mark.parametrize("case", ["too-big", "nul", "bom", "gzip", "binary"])
def test_files_the_full_path_sniffs_or_skips_are_answered_by_its_engine(tmp_path: os.PathLike[str], case: str) -> None:
    """Not plain text: the quick path runs the full path's own engine on them, so the answer is the same."""
    key = fake_key().encode()
    data = {
        "too-big": b"x = 1\n" * (DEFAULT_MAX_SIZE // 6 + 1) + b"K = '" + key + b"'\n",
        "nul": b"x = 1\0\nK = '" + key + b"'\n",
        "bom": b"\xff\xfe" + f"K = '{key.decode()}'\n".encode("utf-16-le"),
        "gzip": gzip.compress(b"K = '" + key + b"'\n"),
        "binary": bytes(range(256)) * 40 + key,
    }[case]
    with _in(str(tmp_path)):
        names = _write_all(str(tmp_path), [b"x = 1\n"] * 3 + [data])
        answered = _quick(["-q", *names])
        assert answered[0] is not None
        assert answered == _full(["-q", *names])


@pytest.mark.parametrize("ci", ["github", "gitlab"])
def test_a_finding_in_a_ci_job_is_reported_with_the_same_annotations(
    tmp_path: os.PathLike[str], monkeypatch: pytest.MonkeyPatch, ci: str
) -> None:
    for name in ("GITHUB_ACTIONS", "GITLAB_CI", "CI"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("GITHUB_ACTIONS" if ci == "github" else "GITLAB_CI", "true")
    monkeypatch.setenv("CI", "true")
    with _in(str(tmp_path)):
        names = _write_all(str(tmp_path), [b"x = 1\n", f"K = '{fake_key()}'\n".encode()])
        answered = _quick(["-q", *names])
        assert answered == _full(["-q", *names])
    assert answered[0] == 1
    assert ("::error " in answered[1]) == (ci == "github")


# -- equivalence ------------------------------------------------------------------------------------------
# Text rich in the bytes the signatures, escapes and keywords are made of.
_CHARS = [*'cnBfmtJwrXyaF1pk_%5\\ux0A=+/-\r\n\t "{}:;égé€', "\x00"]
_TEXT = st.text(alphabet=st.sampled_from(_CHARS), max_size=200)


@st.composite
def _file(draw: Callable[..., object]) -> bytes:
    text = draw(_TEXT)
    assert isinstance(text, str)
    data = text.encode("utf-8")
    if draw(st.booleans()):
        forms = _forms(fake_key(str(draw(st.sampled_from(["rp_", "rk_"])))))
        planted = forms[str(draw(st.sampled_from(sorted(forms))))]
        at = int(draw(st.integers(0, len(data))))  # type: ignore[call-overload]
        data = data[:at] + planted + data[at:]
    if draw(st.booleans()):
        data = bytes(draw(st.binary(max_size=64))) + data  # type: ignore[call-overload]
    big = draw(st.sampled_from(["", "text", "json"]))
    if big:  # past ENCODED_MAX_SIZE: the size policy of the full prefilter (JSON documents or not)
        data = (b" [\n" if big == "json" else b"") + data + b"\n" + b"z = 1  # filler\n" * 2200
    return data


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(files=st.lists(_file(), min_size=1, max_size=4))
def test_the_quick_path_answers_every_plain_batch_as_the_full_path_does(files: list[bytes]) -> None:
    with tempfile.TemporaryDirectory() as tmp, _in(tmp):
        names = _write_all(tmp, files)
        answered = _quick(["-q", *names])
        full = _full(["-q", *names])
        assert answered == full
        if not any(quick.might_hold_finding(f) for f in files):
            assert answered == (0, "", "")
        event(f"exit {answered[0]}")


def test_the_file_limit_is_the_parallel_scan_threshold() -> None:
    from reactor_ci.scan.parallel import PARALLEL_MIN_FILES

    assert quick._MAX_FILES == PARALLEL_MIN_FILES


_ENTRY = st.sampled_from(["file", "file", "file", "symlink", "dir-symlink", "subdir", "git", "fifo"])


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    entries=st.lists(st.tuples(_ENTRY, st.sampled_from(["a", "b/c", "b/d", "e/f/g"]), _file()), max_size=7),
    also_file=st.booleans(),
)
def test_a_small_directory_is_answered_as_the_full_path_answers_it(
    entries: list[tuple[str, str, bytes]], also_file: bool
) -> None:
    """A directory (walked as the full path walks it) gets the same bytes and exit code from both paths:
    nested files in every encoded form, binaries, symlinks to files and directories (never
    followed), a FIFO, a `.git` directory, and a plain file beside it on the command line."""
    with tempfile.TemporaryDirectory() as tmp, _in(tmp):
        os.mkdir("tree")
        with open("outside.env", "wb") as fh:
            fh.write(f"KEY={fake_key()}\n".encode())  # only a followed symlink would reach it
        for i, (kind, where, data) in enumerate(entries):
            folder = os.path.join("tree", os.path.dirname(where))
            os.makedirs(folder, exist_ok=True)
            target = os.path.join(folder, f"{kind}{i}-{os.path.basename(where)}")
            if kind == "file":
                with open(target, "wb") as fh:
                    fh.write(data)
            elif kind == "symlink":
                os.symlink(os.path.abspath("outside.env"), target)
            elif kind == "dir-symlink":
                os.symlink(tmp, target)
            elif kind == "subdir":
                os.makedirs(target, exist_ok=True)
            elif kind == "git":
                os.makedirs(os.path.join(folder, ".git"), exist_ok=True)
                with open(os.path.join(folder, ".git", "config"), "wb") as fh:
                    fh.write(data)
            elif kind == "fifo":
                os.mkfifo(target)
        argv = ["-q", "tree", *(["outside.env"] if also_file else [])]
        answered = _quick(argv)
        assert answered[0] is not None  # a small tree, no config: always answered here
        assert answered == _full(argv)
        event(f"exit {answered[0]}")


# -- imports ----------------------------------------------------------------------------------------------
# What the clean batch's quick start never loads: re and argparse (with gettext and locale), the
# full CLI and engine, and enum/collections (reactor_ci.errors' IntEnum, typing hints): ~1 ms each or more.
UNLOADED = (
    "re",
    "argparse",
    "gettext",
    "enum",
    "collections",
    "typing",
    "reactor_ci.errors",
    "reactor_ci.scan.cli",
    "reactor_ci.scan.matching",
    "reactor_ci.scan.config",
)
PROBE = (
    "import sys\n"
    "from reactor_ci.scan.__main__ import main\n"
    "code = main(sys.argv[1:])\n"
    f"loaded = sorted(m for m in {UNLOADED!r} if m in sys.modules)\n"
    "sys.__stdout__.write('LOADED:' + ','.join(loaded) + '\\n')\n"
    "sys.exit(code)\n"
)


# A batch with a finding loads the engine (reactor_ci.scan.matching and the report), never these.
UNLOADED_ON_A_FINDING = tuple(m for m in UNLOADED if m != "reactor_ci.scan.matching")


def _probe(root: str, names: list[str], **env_vars: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k != OVERRIDE_VAR}
    env["PYTHONPATH"] = REPO
    env["XDG_CACHE_HOME"] = os.path.join(root, "cache")
    env.update(env_vars)
    return subprocess.run(
        [sys.executable, "-S", "-c", PROBE, "-q", *names], cwd=root, capture_output=True, text=True, env=env
    )


def test_a_clean_batch_loads_neither_re_nor_argparse(tmp_path: os.PathLike[str]) -> None:
    root = str(tmp_path)
    names = _clean_dir(root)
    proc = _probe(root, names)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout == "LOADED:\n"
    assert proc.stderr == ""
    # A small directory of them too: walked, then the same bytes.find look at each file.
    os.mkdir(os.path.join(root, "pkg"))
    for name in names:
        os.rename(os.path.join(root, name), os.path.join(root, "pkg", name))
    proc = _probe(root, ["pkg"])
    assert (proc.returncode, proc.stdout, proc.stderr) == (0, "LOADED:\n", "")


def test_a_batch_with_a_finding_loads_neither_re_nor_argparse_once_the_rules_are_cached(
    tmp_path: os.PathLike[str],
) -> None:
    root = str(tmp_path)
    names = _clean_dir(root)
    with open(os.path.join(root, names[3]), "a") as fh:
        fh.write(f"KEY = '{fake_key()}'\n")
    # Cache off: the rules compile with re (the first run on an interpreter does the same), never argparse.
    off = _probe(root, names, REACTOR_CI_NO_CACHE="1")
    assert off.returncode == 1 and "reactor-partner-key" in off.stdout
    loaded_off = [m for m in off.stdout.split("LOADED:")[1].strip().split(",") if m]
    assert "re" in loaded_off and "argparse" not in loaded_off, loaded_off
    assert not os.path.exists(os.path.join(root, "cache"))
    cold = _probe(root, names)  # fills the cache at exit
    warm = _probe(root, names)
    for proc in (cold, warm):
        assert proc.returncode == 1, proc.stderr
        assert proc.stdout.split("LOADED:")[0] == off.stdout.split("LOADED:")[0]
        assert proc.stderr == off.stderr
    loaded_warm = [m for m in warm.stdout.split("LOADED:")[1].strip().split(",") if m]
    assert [m for m in loaded_warm if m in UNLOADED_ON_A_FINDING] == [], loaded_warm
