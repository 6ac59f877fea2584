"""One exception family, turned into a clean message and an exit code at the top.

Every command uses the same exit codes, so a pipeline can branch on the class
of failure without parsing text:

====  =====================================================
0     ok
1     findings (scan) or a generic failure
2     bad input or usage (a key, a file, an argument)
3     authentication (invalid, expired, revoked, wrong kind)
4     the API is unreachable or failing after retries
5     Docker error
====  =====================================================
"""

from __future__ import annotations

import enum


class ExitCode(enum.IntEnum):
    OK = 0
    FAILURE = 1
    FINDINGS = 1
    USAGE = 2
    AUTH = 3
    NETWORK = 4
    DOCKER = 5


class ReactorCIError(Exception):
    """An error a user can act on: what failed, and the fix.

    The message and fix must never contain a secret; every place that raises
    one redacts first, and the top level scrubs once more as a last line.
    """

    exit_code: ExitCode = ExitCode.FAILURE

    def __init__(self, message: str, fix: str | None = None, *, code: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.fix = fix
        self.code = code

    def __str__(self) -> str:
        if self.fix:
            return f"{self.message}\n  fix: {self.fix}"
        return self.message


class UsageError(ReactorCIError):
    """Bad input: a malformed key, a corrupt file, a wrong argument."""

    exit_code = ExitCode.USAGE


class AuthError(ReactorCIError):
    """The API refused the key, or there are no usable credentials."""

    exit_code = ExitCode.AUTH


class NetworkError(ReactorCIError):
    """The API could not be reached, or kept failing after bounded retries."""

    exit_code = ExitCode.NETWORK


class DockerError(ReactorCIError):
    """Docker (the engine, the CLI, a push) failed."""

    exit_code = ExitCode.DOCKER
