"""``python -m reactor_ci.scan.detect_secrets_hook``: detect-secrets-hook with the Reactor plugin.

pre-commit installs this package into the hook's virtualenv, where the
repository's ``hooks/`` directory does not exist; this wrapper passes the
installed plugin file's path to ``detect-secrets-hook --plugin``.  Every other
argument (``--baseline .secrets.baseline``, file names) is passed through.

detect-secrets records a custom plugin in the baseline by ABSOLUTE path
(``file:///home/alice/repo/hooks/reactor_detect_secrets.py``), which does not
exist on the next machine or in pre-commit's virtualenv, and then crashes with
FileNotFoundError.  :func:`install_path_fallback` makes a missing Reactor
plugin path resolve to the installed copy instead.
"""

from __future__ import annotations

import os
import sys
from typing import Any

__all__ = ["PLUGIN_FILE_NAMES", "install_path_fallback", "main", "plugin_path"]

# Names our plugin file goes by: the repo shim and the packaged module.
PLUGIN_FILE_NAMES = frozenset({"reactor_detect_secrets.py", "detect_secrets_plugin.py"})


def plugin_path() -> str:
    return os.path.join(os.path.dirname(os.path.abspath(__file__)), "detect_secrets_plugin.py")


def install_path_fallback() -> None:
    """Load the installed plugin when a baseline names a Reactor plugin file that is not there."""
    from detect_secrets.core.plugins import util

    original = util.import_file_as_module  # type: ignore[attr-defined]  # re-exported by detect-secrets

    def import_or_installed(filename: str, name: str | None = None) -> Any:
        if not os.path.exists(filename) and os.path.basename(filename) in PLUGIN_FILE_NAMES:
            filename = plugin_path()
        return original(filename, name)

    util.import_file_as_module = import_or_installed  # type: ignore[attr-defined]


def main(argv: list[str] | None = None) -> int:
    try:
        from detect_secrets.pre_commit_hook import main as hook_main
    except ImportError:
        from reactor_ci.release import pip_install

        sys.stderr.write(
            "reactor-ci: error: detect-secrets is not installed\n"
            f"  fix: {pip_install('scan')} (or add detect-secrets==1.5.0 to additional_dependencies)\n"
        )
        return 2
    install_path_fallback()
    args = list(sys.argv[1:] if argv is None else argv)
    return int(hook_main(["--plugin", plugin_path(), *args]))


if __name__ == "__main__":
    sys.exit(main())
