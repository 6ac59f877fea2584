"""THE error boundary: how every entry point ends (after pre-commit's ``error_handler``).

``reactor-ci``, ``reactor-ci-scan``, ``docker-credential-reactor`` and the
emulator each run their work through :func:`guard`, so a failure reads the same
everywhere:

* a :class:`~reactor_ci.errors.ReactorCIError` prints ``error: … / fix: …``
  (scrubbed, a CI annotation where the CI has them) and exits with its class's
  code (2 input, 3 auth, 4 API, 5 Docker);
* anything else is a bug: ``internal error (<class>), please report it``, exit 1,
  and no traceback unless ``REACTOR_CI_DEBUG`` is set (then a scrubbed one);
* Ctrl-C is 130, a closed pipe 1, both without a traceback.

Import-light on purpose (os, sys: already loaded at start-up): the helper's cached ``get``
and ``status``'s fast path pay for nothing here until something fails.
"""

from __future__ import annotations

import os
import sys

from reactor_ci.citables import OVERRIDE_VAR

TYPE_CHECKING = False  # typing costs milliseconds at every start; mypy reads this as True
if TYPE_CHECKING:
    from collections.abc import Callable

__all__ = ["DEBUG_ENV", "guard"]

DEBUG_ENV = "REACTOR_CI_DEBUG"
_INTERRUPTED = 130


def guard(entry: Callable[[], int], *, check_ci: bool = False) -> int:
    """Run ``entry`` and return its exit code; map every exception to one (see the module doc).

    ``check_ci``: check ``REACTOR_CI_PROVIDER`` first, for entries that detect the CI only
    later (the scanner asks when it has something to annotate): a bad value is exit 2 up
    front, not a failure inside the error report.
    """
    try:
        # Only a set REACTOR_CI_PROVIDER can be bad: without it, nothing to check, and the
        # CI package (typing, pathlib, logsafe -> re: ~6 ms) stays unloaded for a clean batch.
        if check_ci and os.environ.get(OVERRIDE_VAR, "").strip():
            from reactor_ci.ci import detect_name

            detect_name()
        return int(entry())
    except KeyboardInterrupt:
        _say("interrupted")
        return _INTERRUPTED
    except BrokenPipeError:
        # The reader went away (`| head`): nothing to tell it. Point stdout at /dev/null so the
        # interpreter's final flush does not raise again.
        _silence_stdout()
        return 1
    except Exception as exc:  # the boundary: nothing passes it as a traceback
        return report(exc)


def report(exc: BaseException) -> int:
    """Print ``exc`` the boundary's way and return its exit code."""
    from reactor_ci.errors import ReactorCIError

    if isinstance(exc, ReactorCIError):
        _say(exc.message + (f"\n  fix: {exc.fix}" if exc.fix else ""), error=True)
        return int(exc.exit_code)
    from reactor_ci.redact import scrub

    if os.environ.get(DEBUG_ENV, "").strip():
        import traceback

        print(scrub("".join(traceback.format_exception(type(exc), exc, exc.__traceback__))), file=sys.stderr)
        hint = ""
    else:
        hint = f" (set {DEBUG_ENV}=1 for the traceback)"
    _say(
        f"internal error ({exc.__class__.__name__}), please report it{hint}: {scrub(str(exc))[:500]}",
        error=True,
    )
    return 1


def _say(message: str, *, error: bool = False) -> None:
    """Through the console (scrubbed, inert lines, the CI's annotation); never raises."""
    try:
        from reactor_ci import console

        if error:
            console.error(message)
        else:
            console.info(message)
    except Exception:  # a report must not fail the exit code
        _last_resort()


def _silence_stdout() -> None:
    try:
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
    except (OSError, ValueError, AttributeError):
        return


def _last_resort() -> None:
    try:
        print("reactor-ci: error", file=sys.stderr)
    except Exception:  # stderr itself is gone: the exit code still says it
        return
