"""Keys in the encoded forms configs really use (issue 9.8): JSON ``\\u`` escapes,
URL-encoding, and keys after a NUL byte in a mostly-text file."""

from __future__ import annotations

import json
import os

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from reactor_ci.scan import engine, matching
from tests.parts import require_tool
from tests.scan_helpers import fake_key, git, init_repo, run_cli

RULES = engine.compile_rules()


def _scan_file(tmp: str, name: str, data: bytes) -> tuple[list[engine.Finding], list[engine.Skipped]]:
    path = os.path.join(tmp, name)
    with open(path, "wb") as fh:
        fh.write(data)
    skipped: list[engine.Skipped] = []
    found, _ = engine.scan_paths([path], RULES, skipped=skipped, workers=1)
    return found, skipped


@pytest.mark.parametrize("escape", ["\\u005f", "\\u005F"])
def test_json_unicode_escaped_key(tmp_path: os.PathLike[str], escape: str) -> None:
    key = fake_key("rk_")
    text = '{\n  "name": "x",\n  "apiKey": "' + key.replace("_", escape) + '"\n}\n'
    found, _ = _scan_file(str(tmp_path), "app.json", text.encode())
    assert [(f.rule, f.line, f.col, f.secret) for f in found] == [("reactor-app-key", 3, 14, key)]
    assert json.loads(text)["apiKey"] == key  # it IS the key, once JSON is decoded


@pytest.mark.parametrize("escape", ["%5F", "%5f"])
def test_url_encoded_key_in_any_file(tmp_path: os.PathLike[str], escape: str) -> None:
    key = fake_key("rp_")
    line = f"curl 'https://api.example/v1?x=1&api%5Fkey={key.replace('_', escape)}&y=2'\n"
    found, _ = _scan_file(str(tmp_path), "deploy.sh", b"#!/bin/sh\n" + line.encode())
    assert [(f.rule, f.line, f.secret) for f in found] == [("reactor-partner-key", 2, key)]


def test_url_encoded_body_underscores_and_stripe(tmp_path: os.PathLike[str]) -> None:
    body = fake_key("", 16) + "_" + fake_key("", 16)
    stripe = "rk_live_" + fake_key("", 24)
    text = f"A=rp%5F{body.replace('_', '%5F')}\nB={stripe.replace('_', '%5F')}\n"
    found, _ = _scan_file(str(tmp_path), "a.env", text.encode())
    assert [(f.rule, f.secret) for f in found] == [
        ("reactor-partner-key", "rp_" + body),
        ("stripe-restricted-key", stripe),
    ]


def test_key_after_a_nul_in_a_mostly_text_file(tmp_path: os.PathLike[str]) -> None:
    key = fake_key("rk_")
    data = b"\0# settings\n" + b"x = 1\n" * 50 + f"KEY={key}\n".encode()
    found, skipped = _scan_file(str(tmp_path), "settings.conf", data)
    assert [(f.line, f.secret) for f in found] == [(52, key)] and skipped == []


def test_real_binaries_stay_binary(tmp_path: os.PathLike[str]) -> None:
    data = b"\x7fELF\x02\x01\x01" + bytes(range(256)) * 8 + f"{fake_key()}".encode()
    found, skipped = _scan_file(str(tmp_path), "lib.so", data)
    assert found == [] and [s.reason for s in skipped] == ["binary"]


@pytest.mark.parametrize(
    "text",
    [
        "rp%5Fshort",
        "rk%5Fyour%5Fkey%5Fhere%5Fplease%5Fok",
        "rk%5FFilterTableEntriesHandlerFactory",
        "xrp%5F" + fake_key("", 32),  # inside a longer word
        "rk\\u005f" + "x" * 30,
        "api%5Fkey=rk%5F" + fake_key("", 32) + "  # pragma: allowlist secret",
    ],
)
def test_encoded_non_keys_are_not_reported(tmp_path: os.PathLike[str], text: str) -> None:
    found, _ = _scan_file(str(tmp_path), "a.txt", (text + "\n").encode())
    assert found == []


def test_encoded_key_in_history(tmp_path: os.PathLike[str]) -> None:
    require_tool("git")
    repo = init_repo(os.path.join(str(tmp_path), "r"))
    key = fake_key("rp_")
    with open(os.path.join(repo, "hook.url"), "w") as fh:
        fh.write(f"https://ci.example/hook?token={key.replace('_', '%5F')}\n")
    git(repo, "add", "-A")
    git(repo, "commit", "-qm", "hook")
    proc = run_cli(["--all-history", "--format", "json"], cwd=repo)
    assert proc.returncode == 1, proc.stderr
    assert [(f["path"], f["line"]) for f in json.loads(proc.stdout)["findings"]] == [("hook.url", 1)]
    assert key not in proc.stdout


@settings(max_examples=300, deadline=None)
@given(
    st.lists(
        st.one_of(
            st.sampled_from([b"rp%5F", b"rk\\u005f", b"%5F", b"\\u005F", b"rk_", b"\0", b"\n", b"_"]),
            st.binary(max_size=12),
            st.text("abcXYZ0123456789", min_size=20, max_size=40).map(str.encode),
        ),
        max_size=20,
    )
)
def test_scan_bytes_total_on_any_input(pieces: list[bytes]) -> None:
    data = b"".join(pieces)
    for f in engine.scan_bytes(data, "x", RULES):
        assert f.secret.startswith(("rp_", "rk_")) and f.line >= 1 and f.col >= 1


def test_encoded_keys_in_big_json_and_keyword_files(tmp_path: os.PathLike[str]) -> None:
    """Past ENCODED_MAX_SIZE, JSON documents and files with a plain keyword are still searched."""
    big = matching.ENCODED_MAX_SIZE * 3
    k1, k2 = fake_key("rk_"), fake_key("rp_")
    doc = '[\n"' + "x" * big + '",\n"' + k1.replace("_", "\\u005f") + '"\n]\n'
    found, _ = _scan_file(str(tmp_path), "big.json", doc.encode())
    assert [(f.line, f.secret) for f in found] == [(3, k1)]
    text = "# rp_ keys live in the vault\n" + "y = 2\n" * (big // 6) + f"URL=?k={k2.replace('_', '%5F')}\n"
    found, _ = _scan_file(str(tmp_path), "big.env", text.encode())
    assert [f.secret for f in found] == [k2]
