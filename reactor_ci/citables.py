"""What tells each CI apart, and how GitHub and Azure mask: data and pure string rules, no imports.

One home for tables that both the CI adapters (:mod:`reactor_ci.ci`) and
``status``'s fast path (:mod:`reactor_ci.status_fast`) read. It sits outside
the ``ci`` package on purpose: importing anything under ``reactor_ci.ci`` runs
the package's ``__init__`` (the provider base, typing, pathlib, logsafe -> re:
~6 ms), which the fast path must not pay.
"""

from __future__ import annotations

TYPE_CHECKING = False  # typing imports re; mypy reads this name as True
if TYPE_CHECKING:
    from collections.abc import Callable, Mapping

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

#: name -> the variable naming a directory the CI deletes after the job (job-scoped credentials
#: live under it, :mod:`reactor_ci.paths`); the other CIs have none.
JOB_TEMP: dict[str, str] = {"github": "RUNNER_TEMP", "azure": "AGENT_TEMPDIRECTORY"}

#: The program Buildkite masks through (``<agent> redactor add``); masking needs it on PATH.
BUILDKITE_AGENT = "buildkite-agent"


def marked(env: Mapping[str, str]) -> str:
    """The first CI whose marker ``env`` holds, ``local`` for none: THE detection rule, without the
    ``REACTOR_CI_PROVIDER`` override (:func:`reactor_ci.ci.detect_name` applies that first)."""
    for name, (variable, expected) in MARKERS.items():
        value = env.get(variable, "")
        if (value.lower() == expected) if expected is not None else bool(value):
            return name
    return "local"


def mask_lines(value: str) -> list[str]:
    """The lines of ``value`` worth masking: CIs mask line by line, blank lines never."""
    return [line for line in value.splitlines() if line.strip()]


def github_escape_data(text: str) -> str:
    """Escape a GitHub workflow command's message part the way @actions/core does."""
    return text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def azure_escape(text: str) -> str:
    """Escape an Azure Pipelines logging command's property or data the way the agent unescapes it."""
    return text.replace(";", "%3B").replace("\r", "%0D").replace("\n", "%0A").replace("]", "%5D")


#: name -> (the command that masks one line, its escaping), for the CIs that mask by writing to stderr.
MASK_COMMANDS: dict[str, tuple[str, Callable[[str], str]]] = {
    "github": ("::add-mask::", github_escape_data),
    "azure": ("##vso[task.setsecret]", azure_escape),
}


def mask_commands(name: str, value: str) -> list[str]:
    """The lines CI ``name`` (a key of :data:`MASK_COMMANDS`) reads to mask ``value``, one per line of it."""
    command, escape = MASK_COMMANDS[name]
    return [command + escape(line) for line in mask_lines(value)]
