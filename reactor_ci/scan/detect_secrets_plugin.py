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
"""

from __future__ import annotations

import re
from collections.abc import Generator

from detect_secrets.plugins.base import RegexBasedDetector

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

    def analyze_string(self, string: str) -> Generator[str, None, None]:
        data = string.encode("utf-8", "surrogateescape")
        for regex, validator, params in self._bytes_rules:
            for m in regex.finditer(data):
                if boundary_ok(data, m.start()) and validator(m, params):
                    yield m.group("secret").decode("utf-8", "surrogateescape")
        for found in scan_bytes(data, "", self._compiled, decode_depth=1):
            if found.encoding:  # the plain ones were yielded above
                yield found.secret
