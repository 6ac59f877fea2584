"""Properties of the file layer: the display-path cache, the one reader, the text/binary sniff."""

from __future__ import annotations

import os

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from reactor_ci.scan import files

_PARTS = st.sampled_from(["a", "b c", ".", "..", "", "é", "x.txt", "0:x", "d\nn", "-"])


@settings(max_examples=400, deadline=None)
@given(st.booleans(), st.lists(_PARTS, min_size=1, max_size=6))
def test_display_path_cache_agrees_with_the_plain_computation(absolute: bool, parts: list[str]) -> None:
    path = os.sep.join(parts)
    if absolute:
        path = os.path.join(os.getcwd(), path)
    assert files.display_path(path) == files._display_path(path)
    assert files.display_path(path) == files._display_path(path)  # a second time, from the cache


def test_display_path_cache_follows_the_working_directory(
    tmp_path: os.PathLike[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    root = str(tmp_path)
    os.makedirs(os.path.join(root, "sub"))
    target = os.path.join(root, "sub", "f.txt")
    monkeypatch.chdir(root)
    assert files.display_path(target) == "sub/f.txt"
    monkeypatch.chdir(os.path.join(root, "sub"))
    assert files.display_path(target) == "f.txt"


_SIZES = [0, 1, 8191, 8192, 16384, 16385, files.BUFFER_SIZE - 1, files.BUFFER_SIZE, files.BUFFER_SIZE + 1]


@pytest.mark.parametrize("size", _SIZES)
@pytest.mark.parametrize("kind", ["text", "binary", "stray-nul"])
def test_reader_returns_the_file_or_says_binary(tmp_path: os.PathLike[str], size: int, kind: str) -> None:
    if kind == "text":
        data = (b"line of text\n" * (size // 13 + 1))[:size]
    elif kind == "binary":
        data = (bytes(range(256)) * (size // 256 + 1))[:size]
    else:
        data = (b"\0" + b"mostly text\n" * (size // 12 + 1))[:size]
    path = os.path.join(str(tmp_path), "f")
    with open(path, "wb") as fh:
        fh.write(data)
    for buffer_size in (files.BUFFER_SIZE, 0):
        for skip_binary in (True, False):
            reader = files.FileReader(buffer_size=buffer_size, skip_binary=skip_binary)
            got, n, why = reader.read(path)
            reader.close()
            if got is None:
                # Only a binary may be left unread, and only when asked to.
                assert why == files.BINARY and skip_binary and files.sniff(data[: files.BINARY_SNIFF]) == files.BINARY
            else:
                assert bytes(got[:n]) == data and why is None


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=600))
def test_sniff_and_prepare_agree(data: bytes) -> None:
    kind = files.sniff(data[: files.BINARY_SNIFF])
    text = files.prepare(data)
    assert (text is None) == (kind == files.BINARY)
    if kind in (files.TEXT, files.MOSTLY_TEXT):
        assert text == data
