"""The pre-commit batch at about the interpreter's start-up: no argparse, no config machinery, no ``re``.

pre-commit runs ``reactor-ci-scan --quiet FILE…`` on every commit.  The full
path spends most of its time loading ``re`` and argparse, the config reader
and pathlib, and compiling patterns, before a scan that takes a millisecond.
This answers the batch ONLY when all of these hold, else returns ``None`` and
the full path runs:

- the arguments are exactly ``-q``/``--quiet`` and plain paths (nothing
  starting with ``-``, no empty one), each a regular file or a directory (no
  symlink or missing path: the full path has its own words for those), at most
  400 files in all once directories are walked (past that, the full path's
  workers are faster);
- ``REACTOR_CI_PROVIDER`` is unset, no config file may apply
  (:func:`reactor_ci.scan.configsearch.may_apply`), no default baseline file exists
  (the full path reads one even for a clean scan, and a broken one is an error).

Then a CLEAN batch is told apart with ``bytes.find`` alone, nothing beyond the
standard library loaded: every file is within the size limit, has no NUL byte or
UTF-16/32 byte order mark in its head, is no archive, and holds nowhere a rule
keyword (:data:`reactor_ci.scan.rules.RULES`), a URL-encoded or escaped prefix, or a
base64 signature of ``rp_``/``rk_`` (also across line breaks)
(:mod:`reactor_ci.scan.signatures`): a superset of what the full path's prefilter
(:func:`reactor_ci.scan.matching.text_prefilter`) lets through to the rules.  The
full path would print nothing (``-q``, no finding) and exit 0, which is what this does.

Any other batch runs the full path's own engine with the rules and depth it uses
when no config applies, and prints with the full path's own report pieces
(:mod:`reactor_ci.scan.report`), in the full path's order; the patterns come from
:mod:`reactor_ci.regex`, so ``re`` itself stays unloaded once this interpreter has
compiled them.  tests/scan/test_quick.py checks, with Hypothesis and keys planted in
every encoded form, that the two paths print the same bytes and exit the same.
"""

from __future__ import annotations

import os
import stat
import sys

from reactor_ci.citables import OVERRIDE_VAR
from reactor_ci.fastread import UnsafeFile, read_bounded
from reactor_ci.scan.files import ARCHIVE_HEAD, BINARY_SNIFF, BOMS, DEFAULT_BASELINE, DEFAULT_MAX_SIZE, archive_kind
from reactor_ci.scan.rules import RULES
from reactor_ci.scan.signatures import B64_SIGNATURES, ENCODED_MAX_SIZE, ESCAPE_NEEDLES, URL_NEEDLES

TYPE_CHECKING = False  # typing costs ~3 ms to import; mypy treats this name as True
if TYPE_CHECKING:
    from reactor_ci.scan.finding import Finding

__all__ = ["KEYWORDS", "NEEDLES", "SIGNATURES", "might_hold_finding", "run"]

QUIET = ("-q", "--quiet")
# At most this many files (the batch's, or a small directory's): past it the full path forks its workers.
_MAX_FILES = 400  # reactor_ci.scan.parallel.PARALLEL_MIN_FILES (tests/scan/test_quick.py checks they agree)

# Every rule's keywords (the JSON rules' too, wherever the file starts), the fewest that cover them
# all (``rk_`` covers ``rk_live_``), and the encoded prefixes.
_EVERY = {k.encode() for rule in RULES for k in rule.keywords}
KEYWORDS: tuple[bytes, ...] = tuple(sorted(k for k in _EVERY if not any(o != k and o in k for o in _EVERY)))
NEEDLES: tuple[bytes, ...] = (*KEYWORDS, *URL_NEEDLES, *ESCAPE_NEEDLES)
SIGNATURES: tuple[bytes, ...] = tuple(s for group in B64_SIGNATURES for s in group)


def run(argv: list[str]) -> int | None:
    """The ``-q FILE…`` batch's exit code, its report printed as the full path prints it; or None.

    A clean batch: 0, nothing printed, nothing beyond the standard library loaded.  A batch
    that may hold a finding: the full path's own engine (:func:`reactor_ci.scan.parallel.scan_paths`
    with the default rules and depth) and its own report pieces (:mod:`reactor_ci.scan.report`),
    without argparse or the config machinery.  None: the full path decides.
    """
    try:
        paths = _plain_batch(argv)
        if paths is None:
            return None
        files = _files_of(paths)
        if files is None:
            return None  # a symlink, missing path or big directory: the full path's own words and workers
        if all(_clean_file(path) for path in files):
            return 0
        found = _findings(paths)
    except Exception:  # a surprise before anything is printed must not cost the user: the full path reports properly
        return None
    return _report(found)


def _plain_batch(argv: list[str]) -> list[str] | None:
    """The paths of a ``-q`` batch the quick path may answer (no option, config, baseline or provider), or None."""
    paths = [arg for arg in argv if arg not in QUIET]
    if len(paths) == len(argv) or not paths or any(not p or p.startswith("-") for p in paths):
        return None
    if os.environ.get(OVERRIDE_VAR) is not None or os.path.lexists(DEFAULT_BASELINE):
        return None
    if sys.stdout is None or sys.stderr is None:  # closed at start: the full path reports that its way
        return None
    from reactor_ci.scan.configsearch import may_apply, scan_root

    if may_apply(scan_root(paths)):
        return None
    return paths


def _files_of(paths: list[str]) -> list[str] | None:
    """The files the full path would read for ``paths`` (directories walked as it walks them), or None.

    None for a path that is neither a regular file nor a directory (a symlink, a missing
    path: the full path has its own words for those) and for more than
    ``PARALLEL_MIN_FILES`` files in all (the full path scans those in parallel).  What
    the walk leaves out (a symlink inside, an unreadable directory) the full path
    leaves out too, and says so only with ``-v``.
    """
    from reactor_ci.scan.files import iter_files

    out: list[str] = []
    for path in paths:
        try:
            mode = os.lstat(path).st_mode
        except OSError:
            return None
        if stat.S_ISREG(mode):
            out.append(path)
        elif not stat.S_ISDIR(mode):
            return None
        else:
            for name in iter_files([path], []):
                out.append(name)
                if len(out) > _MAX_FILES:
                    return None
    return out if len(out) <= _MAX_FILES else None


def _findings(paths: list[str]) -> list[Finding]:
    """What the full path finds in these files: its engine, the default rules and depth, no config."""
    from reactor_ci.scan.matching import compile_rules
    from reactor_ci.scan.parallel import scan_paths

    return scan_paths(paths, compile_rules())[0]


def _report(findings: list[Finding]) -> int:
    """Print as the full path's ``-q`` text report does: the report, annotations in a GitHub job, the fixes."""
    from reactor_ci.console import stderr
    from reactor_ci.scan.report import fix_lines, github_annotations, in_github_actions, text_report

    for stream in (sys.stdout, sys.stderr):  # as reactor_ci.scan.cli.run: a redacted key prints as "rp_…wxyz"
        reconfigure = getattr(stream, "reconfigure", None)
        if reconfigure is not None:
            reconfigure(errors="backslashreplace")
    try:
        sys.stdout.write(text_report(findings))
        if findings and in_github_actions():
            sys.stdout.write(github_annotations(findings))
        for fix in fix_lines(findings):
            stderr(fix)
    except BrokenPipeError:  # `reactor-ci-scan | head`, as the full path: no traceback on exit
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    return 1 if findings else 0


def _clean_file(path: str) -> bool:
    """Can the full path find nothing in ``path`` (and skip nothing)?  False: it might, or it is not plain text."""
    try:
        if not stat.S_ISREG(os.lstat(path).st_mode):
            return False  # a symlink, directory, FIFO...: skipped or walked by the full path
        data = read_bounded(path, DEFAULT_MAX_SIZE, follow_symlinks=False)  # the one safe reader
    except (OSError, UnsafeFile):
        return False  # unreadable, swapped, or above the size the full path skips
    return not might_hold_finding(data)


def might_hold_finding(data: bytes) -> bool:
    """May the full path find (or sniff) anything in a file holding ``data``?  ``bytes.find`` only."""
    if data.find(b"\0", 0, BINARY_SNIFF) >= 0 or data.startswith(BOMS):
        return True  # binary, UTF-16/32 or a stray NUL: the full path sniffs it
    if archive_kind(data[:ARCHIVE_HEAD]) is not None:
        return True
    if any(k in data for k in KEYWORDS):
        return True
    # The full path's size policy (reactor_ci.scan.matching.text_prefilter): a big text is searched
    # for encoded forms only when it is a JSON document, and then never for base64.
    small = len(data) <= ENCODED_MAX_SIZE
    if not small and not _json_like(data):
        return False
    # One pass for the byte pair every needle of a kind holds, the needles only where it stands.
    if b"%5" in data and any(n in data for n in URL_NEEDLES):
        return True
    if (b"\\u00" in data or b"\\x" in data) and any(n in data for n in ESCAPE_NEEDLES):
        return True
    if not small:
        return False
    if any(s in data for s in SIGNATURES):
        return True
    # base64 wrapped by ``base64``/PEM: a signature split by a line break (decode.WRAPPED_SEARCH).
    if b"\n" in data:
        joined = data.replace(b"\r\n", b"").replace(b"\n", b"")
        return any(s in joined for s in SIGNATURES)
    return False


_BLANKS = b" \t\n\r\x0b\x0c"  # what ``\s`` matches in a bytes regex


def _json_like(data: bytes) -> bool:
    """Might ``data`` be a JSON document (matching.JSON_START: a BOM, blanks, then ``{`` or ``[``)?

    Looks at the first 4 KB: a head of blanks only counts as JSON (the wider search, never the narrower).
    """
    head = data[:4096]
    if head.startswith(b"\xef\xbb\xbf"):
        head = head[3:]
    first = head.lstrip(_BLANKS)[:1]
    return first in (b"", b"{", b"[")
