"""argparse that never echoes an argument's value, and never guesses an abbreviation.

Every reactor-ci entry point (``reactor-ci``, ``reactor-ci-scan``, the
emulator) parses its arguments with :class:`SafeArgumentParser`: a key pasted
on the command line must not come back in an error message, and ``--api-key``
must not silently mean ``--api-key-stdin``.
"""

from __future__ import annotations

import argparse
import re
import sys

from reactor_ci.errors import UsageError

TYPE_CHECKING = False  # mypy treats this name as True; typing costs ~3 ms on the pre-commit hot path
if TYPE_CHECKING:
    from typing import Any, NoReturn

__all__ = ["SafeArgumentParser", "hide_values"]

# keys.ENV_VAR spelled out: the pre-commit hook (reactor-ci-scan) can use this module
# without importing the key module (tests/test_argparsing.py checks they agree).
_KEY_VAR = "REACTOR_API_KEY"

# argparse quotes the offending value in these messages; it may be a key pasted
# on the command line, so the value is never shown.
_QUOTED_VALUE = re.compile(
    r"""(invalid choice: |invalid [\w.]+ value: |ignored explicit argument )('(?:[^'\\]|\\.)*'|"(?:[^"\\]|\\.)*")"""
)
_UNRECOGNIZED = re.compile(r"unrecognized arguments: .*", re.DOTALL)


def hide_values(message: str) -> str:
    """argparse's ``message`` with every argument value replaced by ``(value not shown)``."""
    message = _QUOTED_VALUE.sub(r"\1(value not shown)", message)
    return _UNRECOGNIZED.sub("unrecognized arguments (not shown)", message)


class SafeArgumentParser(argparse.ArgumentParser):
    """argparse that never echoes an argument's value, and never guesses an abbreviation.

    ``allow_abbrev=False``: ``--api-key`` must not silently mean ``--api-key-stdin``.
    Sub-parsers are built from this class too (argparse uses the parent's class).
    """

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("allow_abbrev", False)
        super().__init__(*args, **kwargs)

    def error(self, message: str) -> NoReturn:
        self.print_usage(sys.stderr)
        # A sub-command's prog ("reactor-ci login") says where; the top level's would repeat the
        # "reactor-ci: error:" prefix the CLI prints anyway.
        where = "" if self.prog == "reactor-ci" else f"{self.prog}: "
        raise UsageError(
            f"{where}{hide_values(message)}",
            f"see `{self.prog} --help`; a key is read from ${_KEY_VAR} or standard input, never from the command line.",
            code="usage",
        )
