"""Which CI runs us, and what it can do: mask, outputs, env for later steps, summary.

Import-light on purpose (stdlib only, one module per CI, imported lazily):
this runs at the start of every ``reactor-ci`` command in a job.

>>> provider = detect()
>>> install_masking(provider)   # every secret registered from now on is masked first
>>> provider.set_output("partner-id", "acme")
"""

from __future__ import annotations

import os
from collections.abc import Mapping

from reactor_ci.ci._base import Provider, markdown_code
from reactor_ci.citables import MARKERS, OVERRIDE_VAR, marked

__all__ = ["OVERRIDE_VAR", "PROVIDERS", "Provider", "detect", "detect_name", "install_masking", "markdown_code"]

# Order matters only when several are set; act sets GITHUB_ACTIONS, and a
# GitHub job started from another CI is still a GitHub job.
# name -> (module, class)
PROVIDERS: dict[str, tuple[str, str]] = {
    "github": ("github", "GitHub"),
    "gitlab": ("gitlab", "GitLab"),
    "azure": ("azure", "Azure"),
    "buildkite": ("buildkite", "Buildkite"),
    "circleci": ("circleci", "CircleCI"),
    "jenkins": ("jenkins", "Jenkins"),
    "bitbucket": ("bitbucket", "Bitbucket"),
}

# Cheap detection without importing the module: the variable each CI sets (a data-only table
# that status's fast path reads too).
_MARKERS = MARKERS


def detect_name(env: Mapping[str, str] | None = None) -> str:
    """The name of the CI running us (``local`` for none), without importing its module.

    THE one detection rule: every caller (the CLI, the scanner's GitHub output
    default, the provider lookup below) asks here.
    """
    env = os.environ if env is None else env
    forced = env.get(OVERRIDE_VAR, "").strip().lower()
    if forced:
        if forced == "local" or forced in PROVIDERS:
            return forced
        from reactor_ci.errors import UsageError

        names = ", ".join(("local", *PROVIDERS))
        # The value is someone else's text: show it escaped, bounded.
        from reactor_ci.logsafe import line

        raise UsageError(
            f"{OVERRIDE_VAR}='{line(forced[:40])}' is not a CI reactor-ci knows",
            f"set {OVERRIDE_VAR} to one of {names}, or unset it to detect the CI.",
            code="unknown_provider",
        )
    return marked(env)


def _load(name: str, env: Mapping[str, str]) -> Provider:
    import importlib  # only in a CI: a local run never loads a provider module

    module_name, class_name = PROVIDERS[name]
    module = importlib.import_module(f"reactor_ci.ci.{module_name}")
    cls: type[Provider] = getattr(module, class_name)
    return cls(env)


def detect(env: Mapping[str, str] | None = None) -> Provider:
    """The provider for ``env`` (default ``os.environ``); the base ``Provider`` when none matches.

    Raises :class:`~reactor_ci.errors.UsageError` (exit 2) for an unknown
    ``REACTOR_CI_PROVIDER``.
    """
    env = dict(os.environ if env is None else env)
    name = detect_name(env)
    return Provider(env) if name == "local" else _load(name, env)


def install_masking(provider: Provider) -> None:
    """Mask every secret known now and registered later, in ``provider``'s log.

    A no-op where the CI cannot mask.  Call it before anything can print.
    """
    if provider.can_mask:
        from reactor_ci import redact

        # In batches: all the values one registration adds reach the provider at once.
        redact.add_batch_listener(provider.mask_many)
