"""Properties of the file layer: the display-path cache, the one reader, the text/binary sniff."""

from __future__ import annotations

import os

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from reactor_ci.scan import files

_PARTS = st.sampled_from(["a", "b c", ".", "..", "", "é", "x.txt", "0:x", "d\nn", "-"])


@settings(max_examples=600, deadline=None)
@given(
    st.sampled_from(["relative", "cwd", "parent", "root"]), st.lists(_PARTS | st.just("<cwd>"), min_size=1, max_size=6)
)
def test_display_path_cache_agrees_with_the_plain_computation(base: str, parts: list[str]) -> None:
    """Directories missing from the cache are derived from their parent's entry: never a different answer.

    Paths under the working directory, beside it (under its parent: the working
    directory's own name among the parts names it again, ``/a/./b`` from ``/a/b``)
    and from the root; the cache carries over between examples, as in a walk.
    """
    cwd = os.getcwd()
    path = os.sep.join(os.path.basename(cwd) if part == "<cwd>" else part for part in parts)
    if base == "cwd":
        path = os.path.join(cwd, path)
    elif base == "parent":
        path = os.path.join(os.path.dirname(cwd), path)
    elif base == "root":
        path = os.sep + path
    assert files.display_path(path) == files._display_path(path)
    assert files.display_path(path) == files._display_path(path)  # a second time, from the cache
    assert files.display_path(path, cwd) == files._display_path(path)  # a scan's working directory, read once


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


def _sniff_spec(head: bytes) -> str:
    """The rule as written before the binaries' short cut: BOM, UTF-16 pattern, NUL share, controls."""
    nuls = head.count(0)
    if not nuls:
        return files.TEXT
    for bom, enc in (
        (b"\xff\xfe\x00\x00", "utf-32"),
        (b"\x00\x00\xfe\xff", "utf-32"),
        (b"\xff\xfe", "utf-16"),
        (b"\xfe\xff", "utf-16"),
    ):
        if head.startswith(bom):
            return enc
    first = head[:1024]
    even, odd = first[0::2], first[1::2]
    if even and odd:
        if odd.count(0) > 0.9 * len(odd) and even.count(0) < 0.1 * len(even):
            return "utf-16-le"
        if even.count(0) > 0.9 * len(even) and odd.count(0) < 0.1 * len(odd):
            return "utf-16-be"
    if nuls * 20 > len(head):
        return files.BINARY
    controls = len(head.translate(None, bytes([9, 10, 11, 12, 13, 27, *range(0x20, 0x7F), *range(0x80, 0x100)])))
    return files.MOSTLY_TEXT if controls * 20 <= len(head) else files.BINARY


_UTF16ISH = st.lists(
    st.tuples(st.integers(0, 255), st.sampled_from([0, 0, 0, 1, 65, 200])).map(bytes), max_size=700
).map(b"".join)


@settings(max_examples=1500, deadline=None)
@given(
    head=st.one_of(st.binary(max_size=9000), _UTF16ISH, _UTF16ISH.map(lambda b: b[1:])),
    bom=st.sampled_from([b"", b"\xff\xfe", b"\xfe\xff", b"\xff\xfe\x00\x00", b"\x00\x00\xfe\xff", b"\x00"]),
    as_buffer=st.booleans(),
)
def test_sniff_follows_its_rule(head: bytes, bom: bytes, as_buffer: bool) -> None:
    """The binaries' short cut (no BOM byte first, too few NULs for UTF-16) never changes a verdict."""
    data = (bom + head)[: files.BINARY_SNIFF]
    assert files.sniff(bytearray(data) if as_buffer else data) == _sniff_spec(data)
