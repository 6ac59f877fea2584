"""The scan engine's public face: one import for the CLI, the tests and the plugins.

The engine is split along its seams; this module re-exports them:

- :mod:`reactor_ci.scan.finding`: :class:`Finding`, :class:`Skipped`.
- :mod:`reactor_ci.scan.validators`: the checks a regex match must pass.
- :mod:`reactor_ci.scan.matching`: compile rules, prefilter, :func:`scan_bytes`.
- :mod:`reactor_ci.scan.files`: the walk, the one reader, encodings, display paths.
- :mod:`reactor_ci.scan.parallel`: :func:`scan_paths`, serial or forked, same output.

Every module is stdlib-only at import time: a clean pre-commit batch never
imports redact, shape or base64 (they load on a keyword hit or a finding).
"""

from __future__ import annotations

from reactor_ci.scan.files import (
    BINARY_SNIFF,
    BUFFER_SIZE,
    DEFAULT_BASELINE,
    DEFAULT_MAX_SIZE,
    FileReader,
    archive_kind,
    display_path,
    is_binary,
    iter_files,
    prepare,
    read_file,
    sniff,
)
from reactor_ci.scan.finding import Finding, Skipped
from reactor_ci.scan.matching import (
    ALLOW_MARKERS,
    ALLOW_NEXTLINE,
    CompiledRule,
    boundary_ok,
    compile_rules,
    encoded_search,
    is_json_document,
    keyword_search,
    pickaxe_pattern,
    prefilter_keywords,
    scan_bytes,
)
from reactor_ci.scan.parallel import PARALLEL_MIN_FILES, scan_paths
from reactor_ci.scan.validators import VALIDATORS, host_matches

__all__ = [
    "ALLOW_MARKERS",
    "ALLOW_NEXTLINE",
    "BINARY_SNIFF",
    "BUFFER_SIZE",
    "DEFAULT_BASELINE",
    "DEFAULT_MAX_SIZE",
    "PARALLEL_MIN_FILES",
    "VALIDATORS",
    "CompiledRule",
    "FileReader",
    "Finding",
    "Skipped",
    "archive_kind",
    "boundary_ok",
    "compile_rules",
    "display_path",
    "encoded_search",
    "host_matches",
    "is_binary",
    "is_json_document",
    "iter_files",
    "keyword_search",
    "pickaxe_pattern",
    "prefilter_keywords",
    "prepare",
    "read_file",
    "scan_bytes",
    "scan_paths",
    "sniff",
]
