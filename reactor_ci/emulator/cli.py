"""``reactor-ci emulator`` / ``python -m reactor_ci.emulator``: serve until SIGTERM/SIGINT.

Imports only argparse at module level: the main CLI builds every subparser on
each run, including the credential helper's hot path.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Sequence

from reactor_ci.argparsing import SafeArgumentParser

DESCRIPTION = (
    "Run a local emulator of the Reactor API and the registry token realm on 127.0.0.1, "
    "for tests and pipeline dry-runs. See docs/emulator.md."
)


def _configure(p: argparse.ArgumentParser) -> None:
    p.add_argument("--host", default="127.0.0.1", help="address to bind (loopback only; default 127.0.0.1)")
    p.add_argument(
        "--allow-non-loopback",
        action="store_true",
        help="allow a non-loopback --host (the control API is unauthenticated!)",
    )
    p.add_argument("--port", type=int, default=0, help="port to bind (default 0: a free one)")
    p.add_argument(
        "--state-file",
        metavar="PATH",
        help="write url, keys, registry, pid... here as JSON (0600) once ready; removed on exit",
    )
    p.add_argument(
        "--registry-token-ttl",
        type=int,
        default=43200,
        metavar="SECONDS",
        help="lifetime of registry tokens (default 43200 = 12 h)",
    )
    p.add_argument(
        "--app-token-max",
        type=int,
        default=21600,
        metavar="SECONDS",
        help="ceiling of /tokens JWT lifetimes (default 21600 = 6 h)",
    )
    p.add_argument("--partner-id", default="sandbox", help="the default organisation (default sandbox)")
    p.add_argument(
        "--with-registry",
        action="store_true",
        help="also run a real docker-registry (distribution 2.8) on loopback behind the realm",
    )
    p.add_argument(
        "--work-dir",
        metavar="DIR",
        help="keep the realm certificate, registry config/data/log here (default: a temp dir removed on exit)",
    )
    p.add_argument("-v", "--verbose", action="store_true", help="log each request (redacted) to stderr")
    bg = p.add_mutually_exclusive_group()
    bg.add_argument(
        "--detach",
        action="store_true",
        help='run in the background; return once ready and print export lines: eval "$(reactor-ci emulator --detach)"',
    )
    bg.add_argument("--stop", action="store_true", help="stop the emulator started with --detach (same --state-file)")
    p.set_defaults(func=run)


def add_commands(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Hook for the main ``reactor-ci`` CLI."""
    p = subparsers.add_parser("emulator", help="run a local Reactor API emulator", description=DESCRIPTION)
    _configure(p)


def build_parser() -> argparse.ArgumentParser:
    p = SafeArgumentParser(prog="python -m reactor_ci.emulator", description=DESCRIPTION)
    _configure(p)
    return p


def run(args: argparse.Namespace) -> int:
    if args.detach or args.stop:
        from reactor_ci.emulator import detach

        try:
            return detach.detach(args) if args.detach else detach.stop(args)
        except detach.DetachError as exc:
            from reactor_ci import logsafe

            # It may carry the child's log tail: escape it before it reaches a CI log.
            print(f"reactor-ci emulator: {logsafe.block(str(exc))}", file=sys.stderr)
            return exc.code
    import signal

    stop = False

    def _on_signal(signum: int, frame: object) -> None:
        nonlocal stop
        stop = True

    # Installed before anything starts, so a SIGTERM during start-up still
    # ends in a clean stop (and the registry child is reaped); restored on
    # the way out, since run() may be called inside a bigger program.
    previous = {sig: signal.signal(sig, _on_signal) for sig in (signal.SIGTERM, signal.SIGINT)}
    try:
        return _serve(args, lambda: stop)
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)


def _serve(args: argparse.Namespace, stopped: Callable[[], bool]) -> int:
    import contextlib
    import time
    from pathlib import Path

    from reactor_ci.emulator.realm import MissingExtraError
    from reactor_ci.emulator.registry import RegistryError
    from reactor_ci.emulator.server import POLL_SECONDS, Emulator
    from reactor_ci.emulator.state import ApiError
    from reactor_ci.errors import ExitCode

    try:
        emu = Emulator(
            host=args.host,
            port=args.port,
            partner_id=args.partner_id,
            registry_token_ttl=args.registry_token_ttl,
            app_token_max=args.app_token_max,
            with_registry=args.with_registry,
            allow_non_loopback=args.allow_non_loopback,
            work_dir=args.work_dir,
            log_stream=sys.stderr if args.verbose else None,
        )
    except (ValueError, ApiError, MissingExtraError) as exc:
        print(f"reactor-ci emulator: {exc}", file=sys.stderr)
        return int(ExitCode.USAGE)
    state_file = Path(args.state_file) if args.state_file else None
    written: tuple[int, int] | None = None
    try:
        try:
            emu.start()
        except (OSError, RegistryError) as exc:
            print(f"reactor-ci emulator: could not start: {exc}", file=sys.stderr)
            return int(ExitCode.FAILURE)
        if state_file is not None:
            try:
                written = emu.write_state_file(state_file)
            except FileExistsError:
                print(
                    f"reactor-ci emulator: {state_file} already exists; the emulator never replaces a file "
                    "(stop the emulator that wrote it, or pass another --state-file)",
                    file=sys.stderr,
                )
                return int(ExitCode.USAGE)
        print(ready_line(emu.url, emu.host), file=sys.stderr, flush=True)
        # A plain flag polled from the main thread: signal handlers run only
        # there, and setting a threading.Event from a handler that interrupted
        # Event.wait() in the same thread is not safe.
        while not stopped():
            time.sleep(POLL_SECONDS)
        return 0
    finally:
        emu.stop()
        if written is not None and state_file is not None:
            # It holds keys; and its absence tells a waiting script we are gone.
            # Removed only if it still is the file we created (never a replacement).
            from reactor_ci.fsutil import remove_if_same

            with contextlib.suppress(OSError):
                remove_if_same(state_file, written)


def ready_line(url: str, host: str) -> str:
    """The line that says the emulator serves; on a non-loopback bind it says the control API is open."""
    from reactor_ci.fsutil import is_loopback_host

    line = f"emulator ready: {url}"
    if not is_loopback_host(host):
        line += (
            f" -- WARNING: bound to {host}, not loopback: the unauthenticated control API (/_emulator/...) "
            "mints keys for anyone who can reach this port"
        )
    return line


def main(argv: Sequence[str] | None = None) -> int:
    from reactor_ci.errors import ReactorCIError

    try:
        args = build_parser().parse_args(argv)
    except ReactorCIError as exc:  # the safe parser's usage error: no value echoed
        print(f"reactor-ci emulator: {exc}", file=sys.stderr)
        return int(exc.exit_code)
    code: int = args.func(args)
    return code
