"""What tells each CI apart, and the GitHub mask's escaping: data and pure string rules, no imports.

One home for tables that both the CI adapters (:mod:`reactor_ci.ci`) and
``status``'s fast path (:mod:`reactor_ci.status_fast`) read. It sits outside
the ``ci`` package on purpose: importing anything under ``reactor_ci.ci`` runs
the package's ``__init__`` (the provider base, typing, pathlib, logsafe -> re:
~6 ms), which the fast path must not pay.
"""

from __future__ import annotations

#: Set to a provider name (or ``local``) to override detection.
OVERRIDE_VAR = "REACTOR_CI_PROVIDER"

#: name -> (the variable the CI sets, the value it must have, or None for any non-empty value).
#: Order matters only when several are set; act sets GITHUB_ACTIONS, and a GitHub job started
#: from another CI is still a GitHub job.
MARKERS: dict[str, tuple[str, str | None]] = {
    "github": ("GITHUB_ACTIONS", "true"),
    "gitlab": ("GITLAB_CI", "true"),  # gitlab-ci-local sets "false"
    "azure": ("TF_BUILD", "true"),
    "buildkite": ("BUILDKITE", "true"),
    "circleci": ("CIRCLECI", "true"),
    "jenkins": ("JENKINS_URL", None),  # any non-empty value
    "bitbucket": ("BITBUCKET_BUILD_NUMBER", None),
}

#: The CIs whose provider never masks (``can_mask`` False): nothing is written at start-up.
#: tests/test_citables.py holds it to the providers.
CANNOT_MASK = frozenset({"gitlab", "circleci", "jenkins", "bitbucket"})


def mask_lines(value: str) -> list[str]:
    """The lines of ``value`` worth masking: CIs mask line by line, blank lines never."""
    return [line for line in value.splitlines() if line.strip()]


def github_escape_data(text: str) -> str:
    """Escape a GitHub workflow command's message part the way @actions/core does."""
    return text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")
