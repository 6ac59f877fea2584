"""The one escaping function: no untrusted text can start a CI log command."""

from __future__ import annotations

import re

from hypothesis import given
from hypothesis import strategies as st

from reactor_ci import logsafe

# What each CI parses as a command in a log line.
_GITHUB = re.compile(r"^\s*::")
_AZURE = re.compile(r"##(vso)?\[|##teamcity\[", re.IGNORECASE)
_BUILDKITE = re.compile(r"^\s*(---|\+\+\+|~~~|\^\^\^)")
_CONTROL = re.compile("[\x00-\x08\x0a-\x1f\x7f-\x9f\u2028\u2029\u202a-\u202e\u2066-\u2069]")

_HOSTILE = st.text(alphabet=":#[]vso-+~^ \t\n\r\x1b\x00\u2028\u202eaZ_", max_size=30) | st.sampled_from(
    ["##vso[", "##[", "::", "\n::", "section_start:1:x\r\x1b[0K", "\n--- ", "##teamcity["]
)


def _inert(text: str) -> None:
    for part in text.split("\n"):
        assert not _GITHUB.match(part), part
        assert not _AZURE.search(part), part
        assert not _BUILDKITE.match(part), part
        assert "\r" not in part and "\x1b" not in part


@given(st.lists(_HOSTILE, max_size=4).map("".join) | st.text(max_size=80))
def test_line_is_one_inert_line(text: str) -> None:
    out = logsafe.line(text)
    assert not _CONTROL.search(out)
    _inert(out)


@given(st.lists(_HOSTILE, max_size=4).map("".join) | st.text(max_size=80))
def test_block_keeps_line_count_and_is_inert(text: str) -> None:
    out = logsafe.block(text)
    assert out.count("\n") == text.count("\n")
    _inert(out)


def test_examples_from_issue_9_stay_readable() -> None:
    assert logsafe.line("e\n::warning file=x::INJECTED\n.txt") == "e\\n::warning file=x::INJECTED\\n.txt"
    assert logsafe.block("acme\n::stop-commands::x") == "acme\n:\\:stop-commands::x"
    assert logsafe.line("x ##vso[task.setvariable variable=A]1") == "x #\\#vso[task.setvariable variable=A]1"
    assert logsafe.line("section_start:1:s\r\x1b[0K") == "section_start:1:s\\r\\x1b[0K"
    assert logsafe.line("--- :boom:") == "-\\-- :boom:"
    assert logsafe.line("http://[::1]:8080/") == "http://[::1]:8080/"
