"""``python -m reactor_ci.scan.detect_secrets_audit BASELINE [--report]``: detect-secrets audit
that works with custom plugins.

detect-secrets 1.5.0's ``audit`` caches its secret-type → plugin mapping
before it reads the baseline's ``plugins_used``, so a baseline that uses a
custom plugin (ours) fails with ``TypeError`` in ``from_secret_type``
(Yelp/detect-secrets#611, open).  This wrapper clears that cache right after
the baseline is loaded, then runs the normal ``detect-secrets audit``.  Like
the hook wrapper, it resolves a Reactor plugin path recorded on another
machine to the installed copy.
"""

from __future__ import annotations

import sys
from typing import Any

__all__ = ["main"]


def main(argv: list[str] | None = None) -> int:
    try:
        from detect_secrets import main as ds_main
        from detect_secrets.audit import common
        from detect_secrets.core.plugins import util
    except ImportError:
        from reactor_ci.release import pip_install

        sys.stderr.write(f"reactor-ci: error: detect-secrets is not installed\n  fix: {pip_install('scan')}\n")
        return 2
    from reactor_ci.scan.detect_secrets_hook import install_path_fallback

    install_path_fallback()
    original = common.get_baseline_from_file

    def load_then_refresh(filename: str) -> Any:
        secrets = original(filename)
        util.get_mapping_from_secret_type_to_class.cache_clear()
        return secrets

    common.get_baseline_from_file = load_then_refresh
    for module_name in ("detect_secrets.audit.audit", "detect_secrets.audit.report", "detect_secrets.audit.compare"):
        module = sys.modules.get(module_name)
        if module is not None and getattr(module, "get_baseline_from_file", None) is original:
            setattr(module, "get_baseline_from_file", load_then_refresh)  # noqa: B010 - a module, not typed
    args = list(sys.argv[1:] if argv is None else argv)
    return int(ds_main.main(["audit", *args]) or 0)


if __name__ == "__main__":
    sys.exit(main())
