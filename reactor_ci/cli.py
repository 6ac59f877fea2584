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
    from reactor_ci.keys import ENV_VAR

    parser = SafeArgumentParser(
        prog="reactor-ci",
        description="Reactor for CI/CD: registry login that never goes stale, JWTs, masking, leak scanning.",
        epilog=f"The key is read from ${ENV_VAR} (never from the command line). Exit codes: 0 ok, 1 failure or "
        "findings, 2 bad input, 3 authentication, 4 API unreachable, 5 Docker.",
    )
    parser.add_argument("--version", action="version", version=f"reactor-ci {__version__}")
    parser.add_argument("-q", "--quiet", action="store_true", help="print only warnings, errors and requested output")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    sub.required = True

    # `status` runs in every job: the command asked for imports its own module only; the
    # adapters (scanner, emulator, docker, auth) load only for a command of theirs, or for help.
    if command in HOMES:
        importlib.import_module(HOMES[command]).add_commands(sub)
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


def _command_in(argv: Sequence[str]) -> str | None:
    """The command word: the first argument that is not an option (top-level options take no value)."""
    return next((arg for arg in argv if not arg.startswith("-")), None)


def main(argv: Sequence[str] | None = None) -> int:
    """``reactor-ci``: the fast ``status``, else :func:`run` inside the one error boundary."""
    args = list(sys.argv[1:] if argv is None else argv)
    from reactor_ci import status_fast

    answered = status_fast.run(args)  # the common `status`, stdlib only; None: anything else
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
