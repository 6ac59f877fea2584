"""detect-secrets plugin: Reactor partner (rp_) and app (rk_) keys.

Thin on purpose: the regexes and the body checks come from
:mod:`reactor_ci.scan.rules` and :mod:`reactor_ci.scan.matching`, so this plugin
and ``reactor-ci-scan`` always agree on what a key is.

Use it with ``detect-secrets scan --plugin <path of this file>`` (or the
``hooks/reactor_detect_secrets.py`` shim in this repository).  detect-secrets
runs its own line filters before any plugin: ``is_indirect_reference`` hides
``client = Reactor(api_key="rk_…")`` and ``is_potential_uuid`` hides
``rp_<uuid>``; ``reactor-ci-scan`` reports both (docs/scanning.md).

Encoded keys: a line's base64 value (a Kubernetes ``Secret``) or escaped
prefix (``\u0072\u0070_``) is decoded one level, as ``reactor-ci-scan``
does, and the DECODED key is reported (what detect-secrets hashes into its
baseline).  detect-secrets hands plugins one line of a text file at a time,
so archives, and base64 wrapped over several lines, are ``reactor-ci-scan``'s
alone.

It reads the same repo config as ``reactor-ci-scan`` (``.reactor-ci.toml`` or
``[tool.reactor-ci.scan]``, found from the working directory up to the
repository top): ``disable-rules`` turns the partner or app rule off, and
every allowlist drops a secret through the same filter
(:class:`reactor_ci.scan.allow.Allowlist`).  detect-secrets has no summary
line, so the count of allowlisted secrets is not shown here.
"""

from __future__ import annotations

import os
import re
from collections.abc import Generator
from typing import Any

from detect_secrets.plugins.base import RegexBasedDetector

from reactor_ci.errors import ReactorCIError
from reactor_ci.scan.allow import Allowlist
from reactor_ci.scan.config import ScanConfig, discover
from reactor_ci.scan.matching import boundary_ok, compile_rules, scan_bytes
from reactor_ci.scan.rules import RULES
from reactor_ci.scan.validators import VALIDATORS

__all__ = ["ReactorKeyDetector"]

_KEY_RULES = tuple(r for r in RULES if r.id in ("reactor-partner-key", "reactor-app-key"))


class ReactorKeyDetector(RegexBasedDetector):
    """Scans for Reactor API keys (partner rp_ and app rk_; not Stripe's rk_live_)."""

    secret_type = "Reactor API Key"

    denylist = tuple(re.compile(r.regex) for r in _KEY_RULES)
    _bytes_rules = tuple((re.compile(r.regex.encode()), VALIDATORS[r.validator], r.params) for r in _KEY_RULES)
    _compiled = compile_rules(_KEY_RULES)
    _rule_ids = tuple(r.id for r in _KEY_RULES)

    def __init__(self) -> None:
        super().__init__()
        # Read the config when detect-secrets sets the plugin up, in its main process: a bad config
        # stops it there (exit 2). Read first inside a scan worker, the exit would hang the pool.
        _config()

    def analyze_line(self, filename: str, line: str, line_number: int = 0, context: Any = None, **kwargs: Any) -> Any:
        found = super().analyze_line(filename, line, line_number, context, **kwargs)
        allow = _allowlist()
        if found and allow:
            found = {s for s in found if s.secret_value is None or not allow.allows(filename, s.secret_value)}
        return found

    def analyze_string(self, string: str) -> Generator[str, None, None]:
        data = string.encode("utf-8", "surrogateescape")
        disabled = _config().disable_rules
        for rule_id, (regex, validator, params) in zip(self._rule_ids, self._bytes_rules, strict=True):
            if rule_id in disabled:
                continue
            for m in regex.finditer(data):
                if boundary_ok(data, m.start()) and validator(m, params):
                    yield m.group("secret").decode("utf-8", "surrogateescape")
        for found in scan_bytes(data, "", self._compiled, decode_depth=1):
            if found.encoding:  # the plain ones were yielded above
                yield found.secret


_LOADED: dict[str, Any] = {}


def _config() -> ScanConfig:
    """The repo config, read once per process (detect-secrets calls the plugin per line)."""
    if "config" not in _LOADED:
        try:
            _LOADED["config"] = discover(os.curdir)
        except ReactorCIError as exc:  # a bad .reactor-ci.toml: its message, exit 2, no traceback
            import sys

            sys.stderr.write(f"reactor-ci: error: {exc}\n")
            raise SystemExit(int(exc.exit_code)) from None
    config: ScanConfig = _LOADED["config"]
    return config


def _allowlist() -> Allowlist:
    if "allow" not in _LOADED:
        _LOADED["allow"] = Allowlist(_config())
    allow: Allowlist = _LOADED["allow"]
    return allow
