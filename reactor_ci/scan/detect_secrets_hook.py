"""``python -m reactor_ci.scan.detect_secrets_hook``: detect-secrets-hook with the Reactor plugin.

pre-commit installs this package into the hook's virtualenv, where the
repository's ``hooks/`` directory does not exist; this wrapper passes the
installed plugin file's path to ``detect-secrets-hook --plugin``.  Every other
argument (``--baseline .secrets.baseline``, file names) is passed through.
"""

from __future__ import annotations

import os
import sys

__all__ = ["main", "plugin_path"]


def plugin_path() -> str:
    return os.path.join(os.path.dirname(os.path.abspath(__file__)), "detect_secrets_plugin.py")


def main(argv: list[str] | None = None) -> int:
    try:
        from detect_secrets.pre_commit_hook import main as hook_main
    except ImportError:
        sys.stderr.write(
            "reactor-ci: detect-secrets is not installed\n"
            "  fix: pip install 'reactor-ci[scan]' (or add detect-secrets==1.5.0 to additional_dependencies)\n"
        )
        return 2
    args = list(sys.argv[1:] if argv is None else argv)
    return int(hook_main(["--plugin", plugin_path(), *args]))


if __name__ == "__main__":
    sys.exit(main())
