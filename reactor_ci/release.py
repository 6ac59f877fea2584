"""Where reactor-ci is installed from: the ONE source of every install line.

Every ``pip install reactor-ci…`` the tool prints in a fix, the GitLab component's default ``install``
input and the lines of README.md and docs/ come from :func:`requirement` / :func:`pip_install`
(``tests/e2e/test_install_lines.py`` fails when a doc or the component says anything else, and installs
every printed line from a local git tag and a local package index, as a user would).

Today reactor-ci has no release on the package index: the lines name this release's git tag. At the
first index release (after the name is claimed, docs/release.md) ``ON_PACKAGE_INDEX`` becomes True and
every line becomes ``reactor-ci==X.Y.Z``.
"""

from __future__ import annotations

from reactor_ci import __version__

__all__ = ["ON_PACKAGE_INDEX", "REPOSITORY", "pip_install", "requirement"]

REPOSITORY = "https://github.com/reactor/auth-action"
ON_PACKAGE_INDEX = False


def requirement(extras: str = "", *, version: str = __version__, on_index: bool | None = None) -> str:
    """The PEP 508 requirement of this release, with ``extras`` (e.g. ``"docker"``) if any."""
    name = f"reactor-ci[{extras}]" if extras else "reactor-ci"
    if ON_PACKAGE_INDEX if on_index is None else on_index:
        return f"{name}=={version}"
    return f"{name} @ git+{REPOSITORY}@v{version}"


def pip_install(extras: str = "", *, options: str = "", on_index: bool | None = None) -> str:
    """The shell line a user pastes: ``pip install [options] "requirement"``."""
    flags = f"{options} " if options else ""
    return f'pip install {flags}"{requirement(extras, on_index=on_index)}"'
