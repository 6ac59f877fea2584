"""``reactor-ci-scan`` (and ``python -m reactor_ci.scan``): the scanner inside the one error boundary.

:func:`reactor_ci.scan.cli.main` stays the scanner's own; this wraps it in
:func:`reactor_ci.errorboundary.guard`, which also checks ``REACTOR_CI_PROVIDER``
up front (the scanner asks for the CI only when it has something to annotate).
"""

from __future__ import annotations

import sys

from reactor_ci.errorboundary import guard
from reactor_ci.scan.cli import main as _scan


def main(argv: list[str] | None = None) -> int:
    return guard(lambda: _scan(sys.argv[1:] if argv is None else argv), check_ci=True)


if __name__ == "__main__":
    raise SystemExit(main())
