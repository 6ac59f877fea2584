"""Keys behind one layer of encoding (issue 17): base64 at any alignment, URL-safe, wrapped, and escapes.

Every planted key is generated at test time (tests/scan_helpers.fake_key);
the same shapes without a key give no finding, and no output holds the key
or its encoded form.
"""

from __future__ import annotations

import base64
import json
import os
import random
import textwrap

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from reactor_ci.scan import engine
from reactor_ci.scan.parallel import Depth
from tests.leaks import assert_no_secret
from tests.scan_helpers import fake_key, run_cli

RULES = engine.compile_rules()
PREFIXES = ("rp_", "rk_")


def _scan(tmp: str, name: str, data: bytes, depth: Depth | None = None) -> list[engine.Finding]:
    path = os.path.join(tmp, name)
    with open(path, "wb") as fh:
        fh.write(data)
    found, _ = engine.scan_paths([path], RULES, workers=1, depth=depth)
    return found


def _k8s_secret(value: str) -> str:
    return (
        "apiVersion: v1\nkind: Secret\nmetadata:\n  name: reactor\ntype: Opaque\ndata:\n"
        f"  user: YWRtaW4=\n  REACTOR_API_KEY: {value}\n"
    )


@pytest.mark.parametrize("prefix", PREFIXES)
def test_kubernetes_secret_data_value(tmp_path: os.PathLike[str], prefix: str) -> None:
    key = fake_key(prefix)
    found = _scan(str(tmp_path), "secret.yaml", _k8s_secret(base64.b64encode(key.encode()).decode()).encode())
    assert [(f.line, f.col, f.secret, f.encoding) for f in found] == [(8, 20, key, "base64")]


@pytest.mark.parametrize("prefix", PREFIXES)
@pytest.mark.parametrize("lead", range(12))
def test_base64_env_file_wrapped_at_76_columns(tmp_path: os.PathLike[str], prefix: str, lead: int) -> None:
    """``base64 .env``: the key at any offset, so its encoded prefix may straddle a line break."""
    key = fake_key(prefix)
    env = "# app\n" + "X" * lead + "=1\nDEBUG=0\nREACTOR_API_KEY=" + key + "\nLOG=info\n"
    encoded = base64.b64encode(env.encode()).decode()
    text = "\n".join(textwrap.wrap(encoded, 76)) + "\n"
    found = _scan(str(tmp_path), "ci.env.b64", text.encode())
    assert [(f.secret, f.encoding) for f in found] == [(key, "base64")]
    # The line where the key's first encoded character stands.
    at = env.index(key) * 4 // 3
    assert found[0].line == at // 76 + 1 and found[0].col == at % 76 + 1


@settings(max_examples=150, deadline=None)
@given(
    lead=st.text("abcdefghij XYZ=:\n", max_size=40),
    urlsafe=st.booleans(),
    padded=st.booleans(),
    prefix=st.sampled_from(PREFIXES),
    seed=st.integers(0, 2**32),
)
def test_any_alignment_either_alphabet_with_or_without_padding(
    lead: str, urlsafe: bool, padded: bool, prefix: str, seed: int
) -> None:
    key = fake_key(prefix, rng=random.Random(seed))
    plain = (lead + " KEY=" + key + "\n").encode()
    encoded = (base64.urlsafe_b64encode if urlsafe else base64.b64encode)(plain)
    if not padded:
        encoded = encoded.rstrip(b"=")
    found = engine.scan_bytes(b"value: " + encoded + b"\n", "x", RULES)
    assert [(f.secret, f.encoding) for f in found] == [(key, "base64")]


@settings(max_examples=200, deadline=None)
@given(st.binary(min_size=0, max_size=600))
def test_base64_of_anything_without_a_key_finds_nothing(data: bytes) -> None:
    for encode in (base64.b64encode, base64.urlsafe_b64encode, base64.encodebytes):
        assert engine.scan_bytes(b"blob: " + encode(data) + b"\n", "x", RULES) == []


def test_same_shapes_without_a_key(tmp_path: os.PathLike[str]) -> None:
    placeholder = base64.b64encode(b"rp_your_key_here").decode()
    short = base64.b64encode(b"rp_short").decode()
    word = base64.b64encode(b"xrp_" + fake_key("", 32).encode()).decode()  # inside a longer word
    text = _k8s_secret(placeholder) + f"  b: {short}\n  c: {word}\n"
    assert _scan(str(tmp_path), "secret.yaml", text.encode()) == []


@pytest.mark.parametrize("prefix", PREFIXES)
@pytest.mark.parametrize(
    "spell",
    [
        lambda k: "".join(f"\\u{ord(c):04x}" for c in k[:3]) + k[3:],  # \u0072\u0070\u005f
        lambda k: f"\\u{ord(k[0]):04X}{k[1]}_" + k[3:],  # \u0072p_
        lambda k: "".join(f"\\x{ord(c):02x}" for c in k[:2]) + k[2:],  # \x72\x70_
        lambda k: f"{k[:2]}\\x5f{k[3:]}",  # rp\x5f
    ],
)
def test_escaped_prefix_in_json_and_yaml(tmp_path: os.PathLike[str], prefix: str, spell: object) -> None:
    key = fake_key(prefix)
    written = spell(key)  # type: ignore[operator]
    found = _scan(str(tmp_path), "values.yaml", f'env:\n  key: "{written}"\n'.encode())
    assert [(f.line, f.col, f.secret, f.encoding) for f in found] == [(2, 9, key, "escape")]
    found = _scan(str(tmp_path), "app.json", ('{"a": 1, "key": "' + written + '"}').encode())
    assert [(f.secret, f.encoding) for f in found] == [(key, "escape")]


def test_escaped_non_keys(tmp_path: os.PathLike[str]) -> None:
    text = '"\\u0072\\u0070_short" "\\x72\\x6b_your_key_here" "x\\u0072\\u0070_' + fake_key("", 32) + '"\n'
    assert _scan(str(tmp_path), "a.json", text.encode()) == []


def test_decode_depth(tmp_path: os.PathLike[str]) -> None:
    key = fake_key("rp_")
    twice = base64.b64encode(base64.b64encode(f"K={key}".encode())).decode()
    data = f"token: {twice}\n".encode()
    assert _scan(str(tmp_path), "a.yaml", data) == []  # one level by default
    found = _scan(str(tmp_path), "a.yaml", data, Depth(decode_depth=2))
    assert [(f.secret, f.encoding, f.line, f.col) for f in found] == [(key, "base64/base64", 1, 8)]
    once = f"token: {base64.b64encode(key.encode()).decode()}\n".encode()
    assert _scan(str(tmp_path), "b.yaml", once, Depth(decode_depth=0)) == []


def test_allowlist_marker_on_the_encoded_line(tmp_path: os.PathLike[str]) -> None:
    value = base64.b64encode(fake_key("rk_").encode()).decode()
    text = f"a: {value}  # pragma: allowlist secret\n"
    assert _scan(str(tmp_path), "a.yaml", text.encode()) == []


def test_size_policy_of_the_prefilter(tmp_path: os.PathLike[str]) -> None:
    """Past ENCODED_MAX_SIZE base64 is searched only where a plain keyword stands (the documented limit);
    escapes in a JSON document of any size are."""
    key = fake_key("rp_")
    blob = f"blob = '{base64.b64encode(b'k=' + key.encode()).decode()}'\n"
    big = "x = 1\n" * 20000
    assert _scan(str(tmp_path), "big.py", (big + blob).encode()) == []
    found = _scan(str(tmp_path), "kw.py", ("# rp_ keys live in the vault\n" + big + blob).encode())
    assert [(f.line, f.secret, f.encoding) for f in found] == [(20002, key, "base64")]
    doc = '[\n"' + "y" * 100_000 + '",\n"\\u0072\\u0070_' + key[3:] + '"\n]\n'
    found = _scan(str(tmp_path), "big.json", doc.encode())
    assert [(f.line, f.secret, f.encoding) for f in found] == [(3, key, "escape")]


@pytest.mark.parametrize("fmt", ["text", "json", "sarif", "github"])
def test_every_format_says_base64_and_never_prints_the_key(tmp_path: os.PathLike[str], fmt: str) -> None:
    keys = [fake_key("rp_"), fake_key("rk_")]
    encoded = [base64.b64encode(k.encode()).decode() for k in keys]
    with open(os.path.join(tmp_path, "secret.yaml"), "w") as fh:
        fh.write(_k8s_secret(encoded[0]) + f"  OTHER: {encoded[1]}\n")
    proc = run_cli(["--format", fmt, "secret.yaml"], cwd=str(tmp_path))
    assert proc.returncode == 1, proc.stderr
    assert_no_secret([proc.stdout, proc.stderr], keys + encoded)
    if fmt == "json":
        doc = json.loads(proc.stdout)
        assert [(f["line"], f["encoding"]) for f in doc["findings"]] == [(8, "base64"), (9, "base64")]
    elif fmt == "sarif":
        results = json.loads(proc.stdout)["runs"][0]["results"]
        assert [r["properties"]["encoding"] for r in results] == ["base64", "base64"]
        assert all("base64-encoded" in r["message"]["text"] for r in results)
    elif fmt == "github":
        assert proc.stdout.count("(base64-encoded)") == 2 and "file=secret.yaml,line=8," in proc.stdout
    else:
        assert proc.stdout.count("[encoding: base64]") == 2 and proc.stdout.startswith("secret.yaml:8:20: ")


def test_no_decode_flag(tmp_path: os.PathLike[str]) -> None:
    with open(os.path.join(tmp_path, "s.yaml"), "w") as fh:
        fh.write(_k8s_secret(base64.b64encode(fake_key().encode()).decode()))
    assert run_cli(["--no-decode", "s.yaml"], cwd=str(tmp_path)).returncode == 0
    assert run_cli(["--max-decode-depth", "0", "s.yaml"], cwd=str(tmp_path)).returncode == 0
    assert run_cli(["s.yaml"], cwd=str(tmp_path)).returncode == 1
    bad = run_cli(["--max-decode-depth", "99", "s.yaml"], cwd=str(tmp_path))
    assert bad.returncode == 2 and "--max-decode-depth" in bad.stderr and "Traceback" not in bad.stderr
