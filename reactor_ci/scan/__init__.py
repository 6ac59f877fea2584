"""Leak scanner for Reactor keys, credentials files and Docker registry logins.

Kept import-free on purpose: ``reactor-ci-scan`` runs once per pre-commit
batch, so every millisecond of import time is paid again and again.  Import
the submodules you need (``reactor_ci.scan.engine``, ``.rules``, ``.cli``).
"""
