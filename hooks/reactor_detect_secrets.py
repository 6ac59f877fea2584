"""detect-secrets plugin file for Reactor API keys (rp_ partner, rk_ app keys).

    detect-secrets scan --plugin hooks/reactor_detect_secrets.py > .secrets.baseline
    detect-secrets-hook --plugin hooks/reactor_detect_secrets.py --baseline .secrets.baseline FILES
    detect-secrets audit .secrets.baseline

Thin shim: the detector lives in ``reactor_ci.scan.detect_secrets_plugin`` so
that it and ``reactor-ci-scan`` share one definition of a key.  When
reactor-ci is not installed (a bare checkout of this repository), the
checkout's own package is used.
"""

from __future__ import annotations

import os
import sys

try:
    from reactor_ci.scan.detect_secrets_plugin import ReactorKeyDetector
except ImportError:  # running from a checkout without `pip install reactor-ci`
    sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    from reactor_ci.scan.detect_secrets_plugin import ReactorKeyDetector

__all__ = ["ReactorKeyDetector"]
