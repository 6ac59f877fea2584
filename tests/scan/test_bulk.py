"""The optional Hyperscan pass (``reactor-ci[fast]``) never changes an answer, only its cost.

``bulk.guarded`` puts one multi-pattern pass in front of the text prefilter;
it may only say "certainly not". Proven three ways: Hypothesis over texts
built from every needle's pieces (the guarded and plain ``worth`` agree on
every input, bytes or a longer read buffer), a tree of 600 files with keys in
every encoded form and in zips (the JSON report is byte-identical with the
pass on and off, and the pass was really used), and the fallbacks (no wheel,
the off switch, a deeper decoding level).
"""

from __future__ import annotations

import base64
import importlib.util
import io
import json
import os
import random
import subprocess
import sys
import zipfile

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from reactor_ci.scan import bulk
from reactor_ci.scan.matching import compile_rules, prefilter_keywords, text_prefilter
from reactor_ci.scan.signatures import B64_SIGNATURES, ESCAPE_NEEDLES, URL_NEEDLES
from tests.scan_helpers import fake_key, run_cli, without_module

HAS_HYPERSCAN = importlib.util.find_spec("hyperscan") is not None
needs_hyperscan = pytest.mark.skipif(
    not HAS_HYPERSCAN and os.environ.get("CI") != "true",
    reason="hyperscan is not installed (reactor-ci[fast]); under CI=true this fails instead",
)

RULES = compile_rules()
PLAIN = text_prefilter(RULES, 1)
# Every piece a needle is made of, and near misses, so the generator builds the
# needles, their halves, and their line-broken forms.
PIECES = [
    *prefilter_keywords(RULES),
    *URL_NEEDLES,
    *ESCAPE_NEEDLES,
    *(s for group in B64_SIGNATURES for s in group),
    b"r",
    b"p",
    b"k",
    b"_",
    b"%5",
    b"\\u00",
    b"\\x",
    b"c",
    b"nB",
    b"J",
    b"X",
    b"\n",
    b"\r\n",
    b"{",
    b"[",
    b" ",
    b"registry",
    b"auth",
    b"A" * 64,
]


@needs_hyperscan
def test_the_pass_is_used_where_installed() -> None:
    guarded = text_prefilter(RULES, 1, bulk=True)
    assert guarded is not PLAIN
    assert guarded.__qualname__.startswith("guarded."), "the fast extra is installed but the pass was not built"


@needs_hyperscan
@settings(max_examples=600, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    parts=st.lists(st.sampled_from(PIECES) | st.binary(max_size=6), max_size=40),
    big=st.booleans(),
    spare=st.integers(min_value=0, max_value=16),
)
def test_guarded_worth_agrees_with_the_plain_one(parts: list[bytes], big: bool, spare: int) -> None:
    guarded = text_prefilter(RULES, 1, bulk=True)
    text = b"".join(parts)
    if big:  # past ENCODED_MAX_SIZE: the other branch of worth
        text = text + b"x" * (40 * 1024)
    assert guarded(text, len(text)) == PLAIN(text, len(text))
    # A read buffer longer than the text: only data[:n] counts.
    buffer = bytearray(text + b"rp_" * spare)
    assert guarded(buffer, len(text)) == PLAIN(buffer, len(text))


@needs_hyperscan
def test_every_encoded_form_gets_through_the_pass() -> None:
    guarded = text_prefilter(RULES, 1, bulk=True)
    key = fake_key("rk_").encode()
    forms = [
        key,
        key.replace(b"_", b"%5F", 1),
        key.replace(b"rk_", b"rk\\u005f", 1),
        key.replace(b"rk_", b"\\x72\\x6b\\x5f", 1),
        *(base64.b64encode(b"x" * pad + key) for pad in range(3)),
        base64.encodebytes(b"token: " + key),  # wrapped at 76 columns
        b'{"auths": {"r": {"auth": "' + base64.b64encode(b"u:" + key) + b'"}}}',
    ]
    for form in forms:
        assert PLAIN(form, len(form)), form
        assert guarded(form, len(form)), form


@needs_hyperscan
def test_an_older_binding_without_scan_terminated_agrees(monkeypatch: pytest.MonkeyPatch) -> None:
    """Where the binding has no ScanTerminated, the pass notes matches instead of stopping: same answers."""
    import hyperscan  # type: ignore[import-not-found,unused-ignore]

    stopping = bulk.guarded(PLAIN, prefilter_keywords(RULES))
    monkeypatch.delattr(hyperscan, "ScanTerminated")
    noting = bulk.guarded(PLAIN, prefilter_keywords(RULES))
    assert stopping is not None and stopping.__qualname__ == "guarded.<locals>.fast_worth"
    assert noting is not None and noting.__qualname__ == "guarded.<locals>.noting_worth"
    rng = random.Random(22)
    for _ in range(3000):
        text = b"".join(rng.choice(PIECES) for _ in range(rng.randrange(30)))
        buffer = bytearray(text + b"rp_" * rng.randrange(4))
        expected = PLAIN(text, len(text))
        assert noting(text, len(text)) == stopping(text, len(text)) == expected
        assert noting(buffer, len(text)) == stopping(buffer, len(text)) == expected


def test_without_the_wheel_nothing_changes(monkeypatch: pytest.MonkeyPatch) -> None:
    without_module(monkeypatch, "hyperscan")
    assert bulk.guarded(PLAIN, prefilter_keywords(RULES)) is None
    worth = text_prefilter(RULES, 1, bulk=True)
    text = fake_key("rp_").encode()
    assert worth(text, len(text)) and not worth(b"nothing here", 12)


def test_the_off_switch_and_deeper_decoding_keep_the_plain_prefilter(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(bulk.OFF_VAR, "1")
    assert bulk.guarded(PLAIN, prefilter_keywords(RULES)) is None
    monkeypatch.delenv(bulk.OFF_VAR)
    # Two decoding levels search any long base64 run: no needle the pass could look for.
    deep = text_prefilter(RULES, 2, bulk=True)
    assert not deep.__qualname__.startswith("guarded.")


def test_patterns_are_exact_literals() -> None:
    """Every keyword is written byte by byte: a rule keyword with regex syntax stays a literal."""
    pats = bulk.patterns([b"a.b", b"(x)"])
    assert b"\\x61\\x2e\\x62" in pats and b"\\x28\\x78\\x29" in pats


def _zip(members: dict[str, bytes]) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as z:
        for name, data in members.items():
            z.writestr(name, data)
    return out.getvalue()


def _tree(root: str) -> int:
    """600 files: text without keys, keys in every form, binaries, JSON documents, zips."""
    planted = 0
    for i in range(600):
        d = os.path.join(root, f"d{i % 7}")
        os.makedirs(d, exist_ok=True)
        key = fake_key("rk_" if i % 2 else "rp_").encode()
        kind = i % 10
        if kind == 0:
            data, name = key + b"\n", f"plain{i}.env"
        elif kind == 1:
            data, name = b"x = 'cnBf'\n" * 3 + base64.b64encode(b"k=" + key) + b"\n", f"b64_{i}.txt"
        elif kind == 2:
            data, name = b"url=https://x/?k=" + key.replace(b"_", b"%5F", 1) + b"\n", f"url{i}.txt"
        elif kind == 3:
            data, name = b'{"k": "' + key.replace(b"_", b"\\u005f", 1) + b'"}', f"esc{i}.json"
        elif kind == 4:
            data, name = _zip({"inner/.env": b"KEY=" + key + b"\n"}), f"a{i}.zip"
        elif kind == 5:
            data, name = b"\x7fELF\x00\x00" + key, f"bin{i}.so"  # a binary: skipped by both
            planted -= 1
        else:
            data, name = (b"def f():\n    return 'rp' + '_'\n" * (i % 50)), f"code{i}.py"
            planted -= 1
        planted += 1
        with open(os.path.join(d, name), "wb") as fh:
            fh.write(data)
    return planted


@needs_hyperscan
@pytest.mark.parametrize("jobs", ["1", "2"])
def test_a_big_tree_reports_the_same_with_and_without_the_pass(tmp_path: os.PathLike[str], jobs: str) -> None:
    root = str(tmp_path)
    planted = _tree(root)
    on = run_cli(["--format", "json", "--jobs", jobs, "-q", "."], cwd=root)
    off = run_cli(["--format", "json", "--jobs", jobs, "-q", "."], cwd=root, env={bulk.OFF_VAR: "1"})
    assert on.returncode == off.returncode == 1, (on.stderr, off.stderr)
    assert on.stdout == off.stdout
    paths = [f["path"] for f in json.loads(on.stdout)["findings"]]
    assert len(paths) == planted
    for kind in ("/plain", "/b64_", "/url", "/esc", ".zip!inner/.env"):
        assert sum(kind in p for p in paths) == 60, kind  # every form, every file
    # The pass really ran in that scan (a 600-file tree is past PARALLEL_MIN_FILES), for the
    # zips' members too (the archive prefilter of that scan is the bulk one).
    code = (
        "import sys; from reactor_ci.scan.parallel import scan_paths; from reactor_ci.scan.matching import "
        "compile_rules; from reactor_ci.scan import matching; scan_paths(['.'], compile_rules(), workers=1); "
        "print('hyperscan' in sys.modules, [key[2] for key, _ in matching._SHARED])"
    )
    used = subprocess.run([sys.executable, "-c", code], cwd=root, capture_output=True, text=True, check=True)
    assert used.stdout.strip() == "True [True]", used.stderr


def test_a_small_batch_never_loads_the_pass(tmp_path: os.PathLike[str]) -> None:
    """A pre-commit batch (under PARALLEL_MIN_FILES files), even with a zip: no Hyperscan start-up."""
    root = str(tmp_path)
    with open(os.path.join(root, "a.zip"), "wb") as fh:
        fh.write(_zip({".env": b"KEY=" + fake_key("rp_").encode() + b"\n"}))
    with open(os.path.join(root, "b.txt"), "wb") as fh:
        fh.write(fake_key("rk_").encode())
    code = (
        "import sys; from reactor_ci.scan.parallel import scan_paths; from reactor_ci.scan.matching import "
        "compile_rules; f, n = scan_paths(['.'], compile_rules()); print(len(f), 'hyperscan' in sys.modules)"
    )
    out = subprocess.run([sys.executable, "-c", code], cwd=root, capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["2", "False"], out.stderr
