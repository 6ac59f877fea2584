"""No CI log-command injection (issue 9.4): untrusted text never starts a command.

Property tests: whatever a file name, a title, a group name or a server string
holds, everything a provider writes to the log carries exactly the commands
the provider meant to write, and no other, as each CI's log parser reads it:

* GitHub: a line starting (after blanks) with ``::``;
* Azure: ``##vso[`` anywhere in a line, ``##[`` at its start;
* GitLab: ``section_start:``/``section_end:`` markers, completed by ``\\r`` and an ANSI escape;
* Buildkite: ``---``/``+++``/``~~~`` group lines, and ANSI escapes;
* any CI we do not know (the base provider): all of the above.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from reactor_ci import ci, console
from reactor_ci.errors import UsageError

HOSTILE = [
    "e\n::warning file=x::INJECTED\n.txt",
    "acme\n::stop-commands::x",
    "::error::boom",
    "##vso[task.setvariable variable=PATH]/evil",
    "##[group]x",
    "##vso[task.logissue type=error]x",
    "section_start:1:x\r\x1b[0K",
    "section_end:1:x\r\x1b[0K",
    "\n--- x",
    "--- x",
    "\n+++ y",
    "~~~ z",
    "\x1b[31m",
    "\r",
    "\r\n",
    "\n",
    "\u2028",
    "%0A",
    "%",
    ";",
    "]",
    ",",
    ":",
    "  ",
]
hostile_text = st.lists(st.sampled_from(HOSTILE) | st.text(max_size=4), max_size=6).map("".join)
LEVELS = st.sampled_from(["error", "warning", "notice"])
_SETTINGS = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])


def _lines(text: str) -> list[str]:
    # CI runners split the log on LF (and CR LF); a bare CR inside a line stays in it.
    return [line for line in text.split("\n") if line.strip("\r")]


def _github_commands(text: str) -> list[str]:
    return [line.lstrip() for line in _lines(text) if line.lstrip().startswith("::")]


def _azure_commands(text: str) -> list[str]:
    found: list[str] = []
    for line in _lines(text):
        found += [m.group(0) for m in re.finditer(r"##vso\[[^\] ]*", line, re.IGNORECASE)]
        if line.lstrip().startswith("##["):
            found.append(line.lstrip()[:10])
    return found


def _gitlab_markers(text: str) -> list[str]:
    return re.findall(r"section_(?:start|end):\d*:[^\r\n]*\r\x1b\[0K", text)


def _buildkite_groups(text: str) -> list[str]:
    return [line for line in _lines(text) if re.match(r"\s*(---|\+\+\+|~~~|\^\^\^)", line)]


def _capture(capsys: pytest.CaptureFixture[str]) -> str:
    captured = capsys.readouterr()
    return captured.out + captured.err


@given(level=LEVELS, message=hostile_text, file=hostile_text, title=hostile_text)
@_SETTINGS
def test_github_annotation_is_one_command(
    capsys: pytest.CaptureFixture[str], level: str, message: str, file: str, title: str
) -> None:
    ci.detect({"GITHUB_ACTIONS": "true"}).annotate(level, message, file=file or None, title=title or None)
    commands = _github_commands(_capture(capsys))
    assert len(commands) == 1 and commands[0].startswith(f"::{level}")


@given(title=hostile_text)
@_SETTINGS
def test_github_group_is_two_commands(capsys: pytest.CaptureFixture[str], title: str) -> None:
    with ci.detect({"GITHUB_ACTIONS": "true"}).group(title):
        pass
    commands = _github_commands(_capture(capsys))
    assert len(commands) == 2 and commands[0].startswith("::group::") and commands[1] == "::endgroup::"


@given(level=LEVELS, message=hostile_text, file=hostile_text, title=hostile_text)
@_SETTINGS
def test_azure_annotation_is_at_most_one_command(
    capsys: pytest.CaptureFixture[str], level: str, message: str, file: str, title: str
) -> None:
    ci.detect({"TF_BUILD": "True"}).annotate(level, message, file=file or None, title=title or None)
    commands = _azure_commands(_capture(capsys))
    expected = ["##vso[task.logissue"] if level != "notice" else []
    assert commands == expected


@given(title=hostile_text)
@_SETTINGS
def test_azure_group_is_two_commands(capsys: pytest.CaptureFixture[str], title: str) -> None:
    with ci.detect({"TF_BUILD": "True"}).group(title):
        pass
    commands = _azure_commands(_capture(capsys))
    assert [c[:9] for c in commands] == ["##[group]", "##[endgro"]


@given(level=LEVELS, message=hostile_text, file=hostile_text, title=hostile_text, group=hostile_text)
@_SETTINGS
def test_gitlab_has_only_its_own_section_markers(
    capsys: pytest.CaptureFixture[str], level: str, message: str, file: str, title: str, group: str
) -> None:
    provider = ci.detect({"GITLAB_CI": "true"})
    with provider.group(group):
        provider.annotate(level, message, file=file or None, title=title or None)
    text = _capture(capsys)
    markers = _gitlab_markers(text)
    assert len(markers) == 2 and markers[0].startswith("section_start:") and markers[1].startswith("section_end:")
    # Our two markers carry the only CR and ESC characters: nothing else can complete one.
    assert text.count("\r") == 2 and text.count("\x1b") == 4
    assert not _github_commands(text) and not _azure_commands(text) and not _buildkite_groups(text)


@given(level=LEVELS, message=hostile_text, file=hostile_text, title=hostile_text, group=hostile_text)
@_SETTINGS
def test_buildkite_has_only_its_own_group_line(
    capsys: pytest.CaptureFixture[str],
    tmp_path_factory: pytest.TempPathFactory,
    level: str,
    message: str,
    file: str,
    title: str,
    group: str,
) -> None:
    provider = ci.detect({"BUILDKITE": "true", "PATH": "/nonexistent"})
    with provider.group(group):
        provider.annotate(level, message, file=file or None, title=title or None)
    text = _capture(capsys)
    groups = _buildkite_groups(text)
    assert len(groups) == 1 and groups[0].startswith("--- ")
    assert "\x1b" not in text
    assert not _github_commands(text) and not _azure_commands(text) and not _gitlab_markers(text)


@given(level=LEVELS, message=hostile_text, file=hostile_text, title=hostile_text)
@_SETTINGS
def test_unknown_ci_prints_no_command_at_all(
    capsys: pytest.CaptureFixture[str], level: str, message: str, file: str, title: str
) -> None:
    ci.detect({}).annotate(level, message, file=file or None, title=title or None)
    text = _capture(capsys)
    assert not _github_commands(text) and not _azure_commands(text)
    assert not _gitlab_markers(text) and not _buildkite_groups(text) and "\x1b" not in text


@pytest.mark.parametrize("env", [{"GITHUB_ACTIONS": "true"}, {"TF_BUILD": "True"}, {"GITLAB_CI": "true"}, {}])
@given(server_text=hostile_text)
@_SETTINGS
def test_console_lines_with_server_strings_are_inert(
    capsys: pytest.CaptureFixture[str], env: dict[str, str], server_text: str
) -> None:
    # What `login` prints: a partner_id and a registry straight from the API.
    provider = ci.detect(env)
    console.set_provider(provider if provider.name != "local" else None)
    try:
        console.info(f"Logged in to Reactor as {server_text}: registry {server_text}")
        console.warn(f"registry {server_text} answered oddly", title=server_text or None)
    finally:
        console.set_provider(None)
    text = _capture(capsys)
    expected_github = 1 if provider.name == "github" else 0
    assert len(_github_commands(text)) == expected_github
    assert len(_azure_commands(text)) == (1 if provider.name == "azure" else 0)
    assert not _gitlab_markers(text) and not _buildkite_groups(text)


@pytest.mark.parametrize(
    ("variable", "method", "args"),
    [
        ("GITHUB_OUTPUT", "set_output", ("digest", "sha256:x")),
        ("GITHUB_ENV", "set_env", ("DOCKER_CONFIG", "/x")),
        ("GITHUB_STEP_SUMMARY", "add_summary", ("### hi",)),
    ],
)
def test_github_files_pointing_at_a_directory_exit_2(
    tmp_path: Path, variable: str, method: str, args: tuple[str, ...]
) -> None:
    provider = ci.detect({"GITHUB_ACTIONS": "true", variable: str(tmp_path)})
    with pytest.raises(UsageError, match=variable) as caught:
        getattr(provider, method)(*args)
    assert caught.value.exit_code == 2 and "is a directory" in caught.value.message


def test_github_output_unwritable_exits_2(tmp_path: Path) -> None:
    target = tmp_path / "missing-dir" / "output"
    provider = ci.detect({"GITHUB_ACTIONS": "true", "GITHUB_OUTPUT": str(target)})
    with pytest.raises(UsageError, match="GITHUB_OUTPUT") as caught:
        provider.set_output("digest", "sha256:x")
    assert caught.value.exit_code == 2


def test_gitlab_dotenv_and_azure_summary_dirs_exit_2(tmp_path: Path) -> None:
    gitlab = ci.detect({"GITLAB_CI": "true", "REACTOR_CI_DOTENV": str(tmp_path)})
    with pytest.raises(UsageError, match="REACTOR_CI_DOTENV") as caught:
        gitlab.set_output("partner-id", "acme")
    assert caught.value.exit_code == 2
    azure = ci.detect({"TF_BUILD": "True", "AGENT_TEMPDIRECTORY": str(tmp_path / "missing")})
    with pytest.raises(UsageError, match="AGENT_TEMPDIRECTORY") as caught:
        azure.add_summary("### hi")
    assert caught.value.exit_code == 2


@given(value=hostile_text | st.text())
@settings(max_examples=300, deadline=None)
def test_markdown_code_cannot_break_a_summary_table(value: str) -> None:
    cell = ci.markdown_code(value)
    assert cell.startswith("`") and cell.endswith("`") and cell.count("`") == 2
    assert not any(c in cell for c in "\n\r\x0b\x0c\x1c\x1d\x1e\x85\u2028\u2029")
    assert re.search(r"(?<!\\)\|", cell) is None  # every pipe escaped: the cell ends where we say
