"""``python -m reactor_ci.emulator``: the emulator without the rest of the CLI."""

from __future__ import annotations

from reactor_ci.emulator.cli import main
from reactor_ci.errorboundary import guard

raise SystemExit(guard(main))
