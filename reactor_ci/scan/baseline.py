"""The baseline: findings a team has accepted, keyed by fingerprint.

A fingerprint is sha256(path NUL secret), never a line number, so editing a
file around a known finding does not rewrite the baseline.  Only
``--update-baseline`` writes it, atomically (temp file + rename).
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterable

from reactor_ci.errors import UsageError
from reactor_ci.scan.engine import DEFAULT_BASELINE
from reactor_ci.scan.finding import Finding

__all__ = ["DEFAULT_BASELINE", "filter_known", "load", "save"]

VERSION = 1
# One fingerprint entry is ~200 bytes: 16 MiB is far past any real baseline.
MAX_BASELINE_BYTES = 16 * 1024 * 1024


def load(path: str) -> set[str]:
    """Fingerprints recorded in ``path``; raise :class:`UsageError` for a corrupt file."""
    from reactor_ci.fsutil import UnsafeFile, read_bounded  # the one reader for user-controlled files

    try:
        doc = json.loads(read_bounded(path, MAX_BASELINE_BYTES).decode("utf-8"))
    except UnsafeFile as exc:
        raise UsageError(
            f"baseline file {path} {exc.reason}",
            "point --baseline at the JSON file `reactor-ci-scan --update-baseline` wrote",
        ) from None
    except FileNotFoundError:
        raise UsageError(
            f"baseline file {path} does not exist",
            f"create it with `reactor-ci-scan --update-baseline --baseline {path}`",
        ) from None
    except (OSError, ValueError) as exc:
        raise UsageError(
            f"baseline file {path} cannot be read ({type(exc).__name__})",
            "regenerate it with `reactor-ci-scan --update-baseline`",
        ) from None
    entries = doc.get("findings") if isinstance(doc, dict) else None
    if not isinstance(entries, list):
        raise UsageError(f"baseline file {path} has no `findings` list", "regenerate it with --update-baseline")
    return {e["fingerprint"] for e in entries if isinstance(e, dict) and isinstance(e.get("fingerprint"), str)}


def filter_known(findings: Iterable[Finding], known: set[str]) -> list[Finding]:
    return [f for f in findings if f.fingerprint not in known]


def save(path: str, findings: Iterable[Finding]) -> int:
    """Write every finding's fingerprint to ``path`` atomically; returns how many."""
    entries = {}
    for f in findings:
        entries[f.fingerprint] = {"fingerprint": f.fingerprint, "path": f.path, "rule": f.rule, "secret": f.redacted}
    ordered = sorted(entries.values(), key=lambda e: (e["path"], e["rule"], e["fingerprint"]))
    doc = {
        "version": VERSION,
        "generated_by": "reactor-ci-scan --update-baseline",
        "fingerprint": "sha256(path + NUL + secret)",
        "findings": ordered,
    }
    from reactor_ci.fsutil import atomic_write_text  # only when writing a baseline

    mask = os.umask(0)
    os.umask(mask)
    # A committed file, not a secret: the usual 0666 & ~umask, not 0600.
    atomic_write_text(path, json.dumps(doc, indent=2, sort_keys=False) + "\n", mode=0o666 & ~mask)
    return len(ordered)
