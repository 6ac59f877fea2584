"""Which CI runs us, and what it can do: mask, outputs, env for later steps, summary.

Import-light on purpose (stdlib only, one module per CI, imported lazily):
this runs at the start of every ``reactor-ci`` command in a job.

>>> provider = detect()
>>> install_masking(provider)   # every secret registered from now on is masked first
>>> provider.set_output("partner-id", "acme")
"""

from __future__ import annotations

import importlib
import os
from collections.abc import Mapping

from reactor_ci.ci._base import Provider

__all__ = ["PROVIDERS", "Provider", "detect", "install_masking"]

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

# Cheap detection without importing the module: the variable each CI sets.
_MARKERS: dict[str, tuple[str, str | None]] = {
    "github": ("GITHUB_ACTIONS", "true"),
    "gitlab": ("GITLAB_CI", "true"),  # gitlab-ci-local sets "false"
    "azure": ("TF_BUILD", "true"),
    "buildkite": ("BUILDKITE", "true"),
    "circleci": ("CIRCLECI", "true"),
    "jenkins": ("JENKINS_URL", None),  # any non-empty value
    "bitbucket": ("BITBUCKET_BUILD_NUMBER", None),
}

#: Set to a provider name (or ``local``) to override detection.
OVERRIDE_VAR = "REACTOR_CI_PROVIDER"


def _load(name: str, env: Mapping[str, str]) -> Provider:
    module_name, class_name = PROVIDERS[name]
    module = importlib.import_module(f"reactor_ci.ci.{module_name}")
    cls: type[Provider] = getattr(module, class_name)
    return cls(env)


def detect(env: Mapping[str, str] | None = None) -> Provider:
    """The provider for ``env`` (default ``os.environ``); the base ``Provider`` when none matches."""
    env = dict(os.environ if env is None else env)
    forced = env.get(OVERRIDE_VAR, "").strip().lower()
    if forced:
        if forced == "local":
            return Provider(env)
        if forced in PROVIDERS:
            return _load(forced, env)
        raise ValueError(f"{OVERRIDE_VAR}={forced!r}: use one of local, {', '.join(PROVIDERS)}")
    for name, (variable, expected) in _MARKERS.items():
        value = env.get(variable, "")
        if (value.lower() == expected) if expected is not None else bool(value):
            return _load(name, env)
    return Provider(env)


def install_masking(provider: Provider) -> None:
    """Mask every secret known now and registered later, in ``provider``'s log.

    A no-op where the CI cannot mask.  Call it before anything can print.
    """
    if provider.can_mask:
        from reactor_ci import redact

        redact.add_listener(provider.mask)
