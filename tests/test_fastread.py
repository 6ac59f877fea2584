"""reactor_ci/fastread.py: the one safe reader and the flat JSON writer the fast paths use."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from reactor_ci import fastread, fsutil


def test_fsutil_reexports_the_one_reader() -> None:
    assert (fsutil.read_bounded, fsutil.UnsafeFile) == (fastread.read_bounded, fastread.UnsafeFile)


def test_read_bounded_refuses_what_is_not_a_small_regular_file(tmp_path: Path) -> None:
    path = tmp_path / "f"
    path.write_bytes(b"x" * 10)
    assert fastread.read_bounded(path, 10) == b"x" * 10
    with pytest.raises(fastread.UnsafeFile, match="is larger than 0 kB"):
        fastread.read_bounded(path, 9)
    with pytest.raises(fastread.UnsafeFile, match="not a regular file"):
        fastread.read_bounded(tmp_path, 10)
    fifo = tmp_path / "fifo"
    os.mkfifo(fifo)
    with pytest.raises(fastread.UnsafeFile, match="not a regular file"):  # non-blocking: no hang
        fastread.read_bounded(fifo, 10)
    link = tmp_path / "link"
    link.symlink_to(path)
    assert fastread.read_bounded(link, 10) == b"x" * 10
    with pytest.raises(OSError):
        fastread.read_bounded(link, 10, follow_symlinks=False)


def test_read_bounded_private_refuses_a_loose_mode(tmp_path: Path) -> None:
    path = tmp_path / "f"
    path.write_text("{}")
    path.chmod(0o640)
    assert fastread.read_bounded(path, 10) == b"{}"
    with pytest.raises(fastread.UnsafeFile, match=r"readable by other users \(mode 640\)"):
        fastread.read_bounded(path, 10, private=True)
    path.chmod(0o600)
    assert fastread.read_bounded(path, 10, private=True) == b"{}"
    assert fastread.read_private(str(path)) == {}
    path.chmod(0o604)
    assert fastread.read_private(str(path)) is None


_FLAT = st.dictionaries(st.text(max_size=8), st.one_of(st.text(max_size=12), st.integers()), max_size=6)


@given(value=_FLAT, indent=st.sampled_from([None, 0, 2, 4]))
def test_dumps_is_json_dumps(value: dict[str, str | int], indent: int | None) -> None:
    assert fastread.dumps(value, indent) == json.dumps(value, indent=indent)
