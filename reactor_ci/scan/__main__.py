"""``reactor-ci-scan`` (and ``python -m reactor_ci.scan``): the scanner inside the one error boundary.

:func:`reactor_ci.scan.cli.main` stays the scanner's own; this wraps it in
:func:`reactor_ci.errorboundary.guard`, which also checks ``REACTOR_CI_PROVIDER``
up front (the scanner asks for the CI only when it has something to annotate).
The clean pre-commit batch is answered first by :mod:`reactor_ci.scan.quick`
(no ``re``, no argparse); the CLI loads only when it declines.
"""

from __future__ import annotations

import sys

from reactor_ci.errorboundary import guard


def _scan(argv: list[str]) -> int:
    from reactor_ci.scan import quick

    answered = quick.run(argv)  # the clean `-q FILE…` batch, stdlib only; None: anything else
    if answered is not None:
        return answered
    from reactor_ci.scan.cli import main as full

    return full(argv)


def main(argv: list[str] | None = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    return guard(lambda: _scan(args), check_ci=True)


if __name__ == "__main__":
    raise SystemExit(main())
