"""``reactor-ci``: the entry point. Argument parsing only; every command lives in a module of its own.

Exit codes are the same for every command (see :mod:`reactor_ci.errors`), and
every failure ends in the one boundary, :func:`reactor_ci.errorboundary.guard`.
Import-light on purpose: ``reactor-ci status`` must start about as fast as the
interpreter itself. :func:`main` first offers the arguments to
:mod:`reactor_ci.status_fast` (stdlib only, byte-identical output, or "not
mine"); everything else -- argparse, the store, the console -- is imported only
when that declines, and each command module only when its command runs.
"""

from __future__ import annotations

import os
import sys

from reactor_ci import __version__

# `typing` costs milliseconds at every start (it imports re); mypy reads this name as true.
TYPE_CHECKING = False
if TYPE_CHECKING:
    import argparse
    from collections.abc import Sequence


#: The command modules, by the command word they add with ``add_commands(sub)``: the command
#: about to run imports its own module and no other. One line per command.
HOMES: dict[str, str] = {
    "login": "reactor_ci.login",
    "status": "reactor_ci.status",
    "demo": "reactor_ci.demo",
    "token": "reactor_ci.tokens",
    "logout": "reactor_ci.logout",
}

#: Adapter commands run often enough (``scan``: every pre-commit batch, CI steps) that ``reactor-ci
#: <command>`` loads the one adapter that adds it, not all of them: the module adds exactly that command.
ADAPTER_HOMES: dict[str, str] = {
    "scan": "reactor_ci.scan.cli",
}

#: Modules that add several commands with ``add_commands(sub)`` (imported only when the command
#: is none of the above); each keeps its heavy imports inside the command functions.
ADAPTERS: tuple[str, ...] = (
    "reactor_ci.auth",
    "reactor_ci.docker.cli",
    "reactor_ci.doctor",
    "reactor_ci.emulator.cli",
    "reactor_ci.scan.cli",
)


# -- parser ------------------------------------------------------------------------
def build_parser(command: str | None = None) -> argparse.ArgumentParser:
    """The full parser; given the ``command`` about to run, only what that command needs."""
    import argparse
    import importlib

    from reactor_ci.argparsing import SafeArgumentParser

    home = HOMES.get(command or "") or ADAPTER_HOMES.get(command or "")
    module = importlib.import_module(home) if home is not None else None
    # argparse builds a formatter at every add_argument, and its default one imports shutil (bz2, lzma,
    # fnmatch: ~2 ms). The scanner's formatter is argparse's with the same width rule minus that import:
    # `reactor-ci scan` (every pre-commit batch) uses it for the top level and the sub-command alike.
    formatter = getattr(module, "_HelpFormatter", None) if home in ADAPTER_HOMES.values() else None
    parser = SafeArgumentParser(
        prog="reactor-ci",
        formatter_class=formatter or argparse.HelpFormatter,
        description="Reactor for CI/CD: registry login that never goes stale, JWTs, masking, leak scanning.",
        # Only the top-level help prints it, and that help loads every command (home is None):
        # reactor_ci.keys (dataclasses, enum) is not worth loading for `reactor-ci scan` on every commit.
        epilog=None if home is not None else _epilog(),
    )
    parser.add_argument("--version", action="version", version=f"reactor-ci {__version__}")
    parser.add_argument("-q", "--quiet", action="store_true", help="print only warnings, errors and requested output")
    # prog: what argparse would compute here (the top level has no positionals), without a formatter.
    sub = parser.add_subparsers(
        dest="command", metavar="COMMAND", prog="reactor-ci", parser_class=_with_formatter(formatter)
    )
    sub.required = True

    # `status` runs in every job: the command asked for imports its own module only; the
    # adapters (scanner, emulator, docker, auth) load only for a command of theirs, or for help.
    if module is not None:
        module.add_commands(sub)
    elif command is None or command not in sub.choices:
        for name in (*dict.fromkeys(HOMES.values()), *ADAPTERS):
            importlib.import_module(name).add_commands(sub)
    # `-q` also after the command (`reactor-ci login -q`), as users type it. SUPPRESS: a sub-command that
    # does not see it leaves the top-level value alone; one with its own -q (scan) keeps it.
    for command_parser in sub.choices.values():
        if "-q" not in command_parser._option_string_actions:
            command_parser.add_argument(
                "-q", "--quiet", action="store_true", default=argparse.SUPPRESS, help="same as reactor-ci -q"
            )
    return parser


def _with_formatter(formatter: type[argparse.HelpFormatter] | None) -> type[argparse.ArgumentParser]:
    """The sub-commands' parser class: reactor-ci's, with ``formatter`` as their default formatter."""
    from reactor_ci.argparsing import SafeArgumentParser

    if formatter is None:
        return SafeArgumentParser

    class _Parser(SafeArgumentParser):
        def __init__(self, *args: object, **kwargs: object) -> None:
            kwargs.setdefault("formatter_class", formatter)
            super().__init__(*args, **kwargs)

    return _Parser


def _epilog() -> str:
    from reactor_ci.keys import ENV_VAR

    return (
        f"The key is read from ${ENV_VAR} (never from the command line). Exit codes: 0 ok, 1 failure or "
        "findings, 2 bad input, 3 authentication, 4 API unreachable, 5 Docker."
    )


def _command_in(argv: Sequence[str]) -> str | None:
    """The command word: the first argument that is not an option (top-level options take no value).

    None when top-level help comes first (``reactor-ci -h scan``): that help lists every command.
    """
    for arg in argv:
        if arg in ("-h", "--help"):
            return None
        if not arg.startswith("-"):
            return arg
    return None


def main(argv: Sequence[str] | None = None) -> int:
    """``reactor-ci``: the fast ``status``, else :func:`run` inside the one error boundary."""
    args = list(sys.argv[1:] if argv is None else argv)
    if args[:1] != ["scan"]:  # `reactor-ci scan` (every pre-commit batch) goes straight to its one adapter
        from reactor_ci import status_fast

        answered = status_fast.run(args)  # the common `status`, stdlib only; None: anything else
        if answered is not None:
            return answered
    elif not any(name.startswith("REACTOR_CI_") for name in os.environ):
        # The clean `scan -q FILE…` batch, answered as `reactor-ci-scan` answers it (no re, no argparse).
        # Any REACTOR_CI_ setting sends it to the full path, which checks every setting first.
        from reactor_ci.scan import quick

        answered = quick.run(args[1:])
        if answered is not None:
            return answered
    from reactor_ci.errorboundary import guard

    return guard(lambda: run(args))


def run(argv: list[str]) -> int:
    """The full path: detect the CI and mask before anything prints, parse, check settings, run."""
    from reactor_ci import ci, console, settings

    provider = ci.detect()
    # Mask before anything can print: every secret registered from now on
    # (keys, tokens, derived forms) is masked in the CI log at once.
    ci.install_masking(provider)
    console.set_provider(provider if provider.name != "local" else None)
    args = build_parser(_command_in(argv)).parse_args(argv)
    console.set_quiet(bool(args.quiet))
    if args.command != "logout":
        # Every numeric setting is checked at the job's FIRST command, not
        # where it is used: a typo must not surface after a two-hour build.
        # logout is exempt: it is the cleanup that must always run.
        settings.check_all()
    args.provider = provider
    return int(args.func(args))


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())
