"""The repository's scan configuration: ``.reactor-ci.toml`` (``[scan]``) or ``pyproject.toml``
(``[tool.reactor-ci.scan]``).

Found from the scan root upward to the top of the repository (the first
directory holding ``.git``); outside a repository only the scan root itself is
looked at, so a stray file in ``/tmp`` or ``$HOME`` never configures a scan.
In one directory ``.reactor-ci.toml`` wins over ``pyproject.toml``, and a
``pyproject.toml`` without the table does not count (the search goes on).

Validation is strict: an unknown key or a bad value is a :class:`UsageError`
(exit 2) naming ``file:line: key``.  tomllib reports no positions for values,
so :func:`_key_line` finds the key's line with a small scan of the text.

HOT PATH: pre-commit runs the scanner once per batch.  Finding the file is a
few ``stat`` calls; tomllib (or tomli on Python 3.10) is imported only when a
file exists, and a ``pyproject.toml`` is parsed only when its text mentions
``reactor-ci``.  The JSON Schema of the keys ships beside this module
(``config.schema.json``) for editors; this module is the one validator.
"""

from __future__ import annotations

import os
import sys

from reactor_ci.errors import UsageError
from reactor_ci.scan.configsearch import CONFIG_NAME, PYPROJECT, may_apply, scan_root
from reactor_ci.scan.configsearch import MAX_BYTES as _MAX_BYTES
from reactor_ci.scan.configsearch import is_file as _is_file
from reactor_ci.scan.configsearch import mentions_us as _mentions_us
from reactor_ci.scan.configsearch import search_dirs as _search_dirs

TYPE_CHECKING = False  # typing costs ~3 ms to import; mypy treats this name as True
if TYPE_CHECKING:
    from typing import Any

__all__ = [
    "CONFIG_NAME",
    "LIMIT_KEYS",
    "ScanConfig",
    "discover",
    "find_config",
    "load",
    "may_apply",
    "parse",
    "scan_root",
]

_MAX_ITEMS = 1000  # per list: an allowlist is for people to read
_MAX_STRING = 1000

# The archive/decode limits: config keys -> the CLI flags they stand for (argparse dest, kind).
# Handed to the CLI as if they were flags (a flag on the command line wins).
LIMIT_KEYS: dict[str, tuple[str, str]] = {
    "max-decode-depth": ("max_decode_depth", "count"),
    "archive-max-depth": ("archive_max_depth", "count"),
    "archive-max-bytes": ("archive_max_bytes", "positive"),
    "archive-max-ratio": ("archive_max_ratio", "ratio"),
    "archives": ("no_archives", "negated-bool"),
    "decode": ("no_decode", "negated-bool"),
}
_LIST_KEYS = (
    "exclude-paths",
    "allow-regexes",
    "allow-stopwords",
    "allow-commits",
    "registry-hosts",
    "disable-rules",
)
KEYS = (*_LIST_KEYS, *LIMIT_KEYS)


class ScanConfig:
    """A validated configuration.  ``path`` is the file it came from (None: no file)."""

    __slots__ = (
        "allow_commits", "allow_regexes", "allow_stopwords", "disable_rules", "exclude_paths", "limits",
        "path", "registry_hosts",
    )  # fmt: skip

    def __init__(self, path: str | None = None) -> None:
        self.path = path
        self.exclude_paths: tuple[str, ...] = ()
        self.allow_regexes: tuple[str, ...] = ()
        self.allow_stopwords: tuple[str, ...] = ()
        self.allow_commits: tuple[str, ...] = ()
        self.registry_hosts: tuple[str, ...] = ()
        self.disable_rules: tuple[str, ...] = ()
        self.limits: dict[str, int | float | bool] = {}

    _FIELDS = (
        "exclude_paths", "allow_regexes", "allow_stopwords", "allow_commits", "registry_hosts", "disable_rules",
    )  # fmt: skip

    def fields(self) -> dict[str, Any]:
        """The validated settings as plain data (what the cache stores)."""
        out: dict[str, Any] = {name: getattr(self, name) for name in self._FIELDS}
        out["limits"] = dict(self.limits)
        return out

    @classmethod
    def from_fields(cls, path: str, fields: dict[str, Any]) -> ScanConfig:
        config = cls(path)
        for name in cls._FIELDS:
            setattr(config, name, tuple(fields.get(name, ())))
        config.limits = dict(fields.get("limits", {}))
        return config

    @property
    def name(self) -> str:
        """What the summary line calls it: the file's name (``.reactor-ci.toml``, ``pyproject.toml``)."""
        return os.path.basename(self.path) if self.path else "no config"

    @property
    def directory(self) -> str:
        """The directory ``exclude-paths`` globs are relative to."""
        return os.path.dirname(os.path.abspath(self.path)) if self.path else os.getcwd()

    def rules(self) -> tuple[Any, ...]:
        """The rule table with ``registry-hosts`` added to the Docker login rule's hosts."""
        from reactor_ci.scan.rules import RULES, Rule

        if not self.registry_hosts:
            return RULES
        out = []
        for rule in RULES:
            if "hosts" in rule.params:
                params = dict(rule.params)
                params["hosts"] = [*params["hosts"], *(h.lower() for h in self.registry_hosts)]
                rule = Rule(**{name: getattr(rule, name) for name in Rule.__slots__ if name != "params"}, params=params)
            out.append(rule)
        return tuple(out)

    def apply_to_args(self, args: Any) -> None:
        """Set the archive/decode limits on ``args`` as if they were flags; a flag given wins."""
        for key, value in self.limits.items():
            dest, kind = LIMIT_KEYS[key]
            if kind == "negated-bool":
                if not getattr(args, dest, False):
                    setattr(args, dest, not value)
            elif getattr(args, dest, None) is None:
                setattr(args, dest, value)


# -- finding the file ------------------------------------------------------------------------------------
def find_config(start: str) -> str | None:
    """The config file that applies to a scan rooted at ``start``, or None.

    Upward from ``start`` to the repository top (the first directory with a
    ``.git`` entry, inclusive); outside a repository, ``start`` alone.
    """
    for directory in _search_dirs(start):
        ours = os.path.join(directory, CONFIG_NAME)
        if _is_file(ours):
            return ours
        pyproject = os.path.join(directory, PYPROJECT)
        if _is_file(pyproject) and _mentions_us(pyproject) and _load(pyproject, required=False) is not None:
            return pyproject
    return None


def discover(start: str, explicit: str | None = None, *, disabled: bool = False) -> ScanConfig:
    """The configuration for a scan: ``--config PATH``, else the file found from ``start``, else none."""
    if disabled:
        return ScanConfig()
    if explicit is not None:
        if not _is_file(explicit):
            from reactor_ci.logsafe import line

            raise UsageError(
                f"--config {line(explicit)}: no such file",
                f"pass an existing {CONFIG_NAME} or pyproject.toml, or drop --config",
            )
        return load(explicit)
    found = find_config(start)
    return load(found) if found else ScanConfig()


# -- reading and validating ------------------------------------------------------------------------------
def _toml() -> Any:
    if sys.version_info >= (3, 11):
        import tomllib

        return tomllib
    try:
        import tomli
    except ImportError:  # pragma: no cover - a dependency on Python 3.10
        raise UsageError(
            "reading a scan config needs the tomli package on Python 3.10",
            "pip install tomli (or reinstall reactor-ci)",
        ) from None
    return tomli


def _read_raw(path: str) -> bytes:
    try:
        with open(path, "rb") as fh:
            raw = fh.read(_MAX_BYTES + 1)
    except OSError as exc:
        raise UsageError(f"{_display(path)}: cannot be read ({exc.strerror})", "check its permissions") from None
    if len(raw) > _MAX_BYTES:
        raise UsageError(f"{_display(path)}: larger than {_MAX_BYTES} bytes", "a scan config is a few lines of TOML")
    return raw


def _read_text(path: str, raw: bytes | None = None) -> str:
    raw = _read_raw(path) if raw is None else raw
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        raise UsageError(f"{_display(path)}: not UTF-8 text", "TOML files are UTF-8: save it as UTF-8") from None


def _read_toml(path: str, text: str | None = None) -> dict[str, Any]:
    text = _read_text(path) if text is None else text
    toml = _toml()
    try:
        doc: dict[str, Any] = toml.loads(text)
    except toml.TOMLDecodeError as exc:
        import re

        from reactor_ci.logsafe import line

        # "Invalid value (at line 3, column 9)": the position is in the message.
        where = re.search(r"at line (\d+)", str(exc))
        lineno = where.group(1) if where else "1"
        raise UsageError(
            f"{_display(path)}:{lineno}: not valid TOML ({line(str(exc))[:200]})", "fix the TOML syntax at that line"
        ) from None
    return doc


def load(path: str) -> ScanConfig:
    """Read and validate ``path`` (``.reactor-ci.toml`` or ``pyproject.toml``, by its name)."""
    config = _load(path, required=True)
    assert config is not None  # required: a missing table raised
    return config


def _load(path: str, *, required: bool) -> ScanConfig | None:
    """``path``'s validated config, from the cache when the file's bytes are the ones validated before.

    None: a pyproject.toml without our table (``required``: that is an error).
    """
    raw = _read_raw(path)
    full = os.path.abspath(path)
    hit, fields = _cache_get(full, raw)
    if not hit:
        config = _parse_file(path, raw)
        fields = None if config is None else config.fields()
        _cache_put(full, raw, fields)
    if fields is None:
        if required:
            raise UsageError(
                f"{_display(path)}: no [tool.reactor-ci.scan] table",
                "add the table, or pass --config a file that has one",
            )
        return None
    return ScanConfig.from_fields(path, fields)


def _parse_file(path: str, raw: bytes) -> ScanConfig | None:
    text = _read_text(path, raw)
    doc = _read_toml(path, text)
    if os.path.basename(path) == PYPROJECT:
        tool = doc.get("tool", {})
        ours = tool.get("reactor-ci", {}) if isinstance(tool, dict) else {}
        table = ours.get("scan") if isinstance(ours, dict) else None
        header = "tool.reactor-ci.scan"
        if table is None:
            return None
    else:
        unknown = sorted(k for k in doc if k != "scan")
        if unknown:
            raise _bad(path, text, None, unknown[0], "unknown table or key (this file holds a [scan] table only)")
        table = doc.get("scan", {})
        header = "scan"
    if not isinstance(table, dict):
        raise _bad(path, text, None, header, "must be a table")
    return parse(table, path, text, header=header)


# -- the cache: no tomllib on the hot path once a config was read -----------------------------------------
# Importing tomllib costs ~6 ms (its regexes compile at import), more than the whole budget of the
# config on a pre-commit batch (< 5 ms). So the VALIDATED config is cached, keyed by the config's
# absolute path and holding the file's exact bytes: any change to the file is a miss, never a stale
# allowlist. reactor_ci.cache holds the trust rule (this user's file, writable by no one else; any
# problem is a miss, never an error; REACTOR_CI_NO_CACHE=1: off).
_CACHE_FORMAT = (1, tuple(sys.version_info[:2]))
_CACHE_MAX = 4 * _MAX_BYTES


def _cache_name(full: str) -> str:
    h = 0xCBF29CE484222325  # FNV-1a over the path: a stable file name without importing hashlib
    for byte in full.encode("utf-8", "surrogateescape"):
        h = ((h ^ byte) * 0x100000001B3) & 0xFFFFFFFFFFFFFFFF
    return f"scan-config-{h:016x}.marshal"


def _cache_get(full: str, raw: bytes) -> tuple[bool, dict[str, Any] | None]:
    from reactor_ci import cache

    entry = cache.load(_cache_name(full), _CACHE_MAX)
    if not (isinstance(entry, tuple) and len(entry) == 4 and entry[:3] == (_CACHE_FORMAT, full, raw)):
        return False, None
    fields = entry[3]
    return (True, fields) if fields is None or isinstance(fields, dict) else (False, None)


def _cache_put(full: str, raw: bytes, fields: dict[str, Any] | None) -> None:
    from reactor_ci import cache

    cache.store(_cache_name(full), (_CACHE_FORMAT, full, raw, fields))


def parse(table: dict[str, Any], path: str, text: str = "", *, header: str = "scan") -> ScanConfig:
    """Validate the ``[scan]`` table ``table`` read from ``path`` (``text``: the file, for line numbers)."""
    config = ScanConfig(path)
    for key in table:
        if key not in KEYS:
            import difflib

            close = difflib.get_close_matches(key, KEYS, n=1)
            hint = f" (did you mean {close[0]}?)" if close else ""
            raise _bad(path, text, header, key, f"unknown key{hint}; known keys: {', '.join(KEYS)}")
    for key in _LIST_KEYS:
        if key in table:
            values = _string_list(table[key], path, text, header, key)
            for value in values:
                problem = _check_item(key, value)
                if problem:
                    raise _bad(path, text, header, key, problem)
            setattr(config, key.replace("-", "_"), tuple(values))
    for key, (_dest, kind) in LIMIT_KEYS.items():
        if key in table:
            config.limits[key] = _limit(table[key], kind, path, text, header, key)
    return config


def _string_list(value: object, path: str, text: str, header: str, key: str) -> list[str]:
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise _bad(path, text, header, key, 'must be a list of strings, e.g. ["…"]')
    if len(value) > _MAX_ITEMS:
        raise _bad(path, text, header, key, f"more than {_MAX_ITEMS} entries")
    for v in value:
        if not v or len(v) > _MAX_STRING:
            raise _bad(path, text, header, key, f"every entry must hold 1 to {_MAX_STRING} characters")
    return list(value)


def _check_item(key: str, value: str) -> str | None:
    """What is wrong with one list entry of ``key``, or None."""
    import re

    if key == "allow-regexes":
        try:
            re.compile(value)
        except re.error as exc:
            return f"bad regular expression ({exc})"
    elif key == "allow-commits":
        if not re.fullmatch(r"[0-9a-fA-F]{7,64}", value):
            return "entries must be commit ids (7 to 64 hex digits)"
    elif key == "registry-hosts":
        if not re.fullmatch(
            r"\.?[A-Za-z0-9]([A-Za-z0-9-]*[A-Za-z0-9])?(\.[A-Za-z0-9]([A-Za-z0-9-]*[A-Za-z0-9])?)*", value
        ):
            return "entries must be host names (registry.example.com, or .example.com for every subdomain)"
    elif key == "disable-rules":
        from reactor_ci.scan.rules import rule_ids

        if value not in rule_ids():
            return f"unknown rule {value!r}; known rules: {', '.join(rule_ids())}"
    elif key == "exclude-paths" and "\0" in value:
        return "a path glob cannot hold a NUL byte"
    return None


def _limit(value: object, kind: str, path: str, text: str, header: str, key: str) -> int | float | bool:
    if kind == "negated-bool":
        if not isinstance(value, bool):
            raise _bad(path, text, header, key, "must be true or false")
        return value
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise _bad(path, text, header, key, "must be a number")
    if kind == "count" and (not isinstance(value, int) or not 0 <= value <= 64):
        raise _bad(path, text, header, key, "must be a whole number from 0 to 64")
    if kind == "positive" and (not isinstance(value, int) or value <= 0):
        raise _bad(path, text, header, key, "must be a positive whole number of bytes")
    if kind == "ratio" and not value >= 1:  # also refuses NaN
        raise _bad(path, text, header, key, "must be a number of at least 1")
    return value


# -- errors name file:line: key ---------------------------------------------------------------------------
def _display(path: str) -> str:
    """The config's path as a user reads it: relative to the cwd when it is below it."""
    from reactor_ci.logsafe import line

    if os.path.isabs(path):
        rel = os.path.relpath(path)
        if not rel.startswith(".."):
            path = rel
    return line(path)


def _bad(path: str, text: str, header: str | None, key: str, problem: str) -> UsageError:
    from reactor_ci.logsafe import line

    lineno = _key_line(text, header, key)
    return UsageError(
        f"{_display(path)}:{lineno}: {line(key)}: {line(problem)}",
        "fix the key at that line (the keys are in docs/scanning.md, Configuration), or pass --no-config",
    )


def _key_line(text: str, header: str | None, key: str) -> int:
    """The 1-based line where ``key`` is set inside ``[header]`` (``header`` None: at the top level).

    A small scan, not a TOML parser: tomllib gives no positions.  It looks for
    ``key =`` (bare or quoted, possibly dotted: ``scan.key =``) after the
    table's header and before the next header; failing that, any line that sets
    the key; failing that, the header's line; failing that, 1.
    """
    import re

    if not text:
        return 1
    k = re.escape(key)
    setting = re.compile(rf"""^\s*(?:[\w."'-]*\.)?(?:{k}|"{k}"|'{k}')\s*=""")
    header_re = re.compile(r"^\s*\[\[?\s*([^\]]*?)\s*\]\]?\s*(?:#.*)?$")
    wanted = None if header is None else header.replace('"', "").replace("'", "").replace(" ", "")
    current: str | None = None
    header_line = 0
    fallback = 0
    for number, raw in enumerate(text.splitlines(), 1):
        m = header_re.match(raw)
        if m:
            current = m.group(1).replace('"', "").replace("'", "").replace(" ", "")
            if current == wanted and not header_line:
                header_line = number
            continue
        if setting.match(raw):
            if current == wanted:
                return number
            fallback = fallback or number
        elif wanted is None and current is None and re.match(rf"^\s*\[\s*{k}\s*\]", raw):
            return number
    if wanted is None:
        for number, raw in enumerate(text.splitlines(), 1):
            m = header_re.match(raw)
            if m and m.group(1).replace(" ", "").split(".")[0] == key:
                return number
    return fallback or header_line or 1
