"""Where reactor-ci keeps the credentials file: one lookup, and one explicit export.

Core module: it imports nothing from the adapters (``ci``, ``docker``). A CI
provider reaches it through the small :class:`JobScope` protocol, which every
:class:`reactor_ci.ci.Provider` satisfies.

Two kinds of function, named by what they do:

* :func:`credentials_path` only looks up (no side effect);
* :func:`export_credentials_path` also changes ``os.environ`` and the CI's env
  file, so later steps (and the credential helper docker starts) find the same
  file.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Protocol

from reactor_ci.credentials import default_path
from reactor_ci.fastread import CREDENTIALS_ENV, JOB_DIR

__all__ = ["JOB_DIR", "JobScope", "credentials_path", "export_credentials_path", "job_dir"]


class JobScope(Protocol):
    """What the path lookups need from a CI provider."""

    def job_temp_dir(self) -> Path | None: ...

    def set_env(self, name: str, value: str) -> None: ...


def job_dir(provider: JobScope | None) -> Path | None:
    """``<job temp dir>/reactor-ci`` in a CI that deletes its temp dir after the job, else None."""
    job_tmp = provider.job_temp_dir() if provider is not None else None
    return None if job_tmp is None else Path(job_tmp) / JOB_DIR


def credentials_path(provider: JobScope | None) -> Path:
    """``$REACTOR_CREDENTIALS``, else job-scoped in a CI with a job temp dir, else ``~/.reactor``.

    Job-scoped credentials vanish with the job, so nothing secret outlives it on
    a self-hosted runner. A pure lookup: nothing is exported.
    """
    if os.environ.get(CREDENTIALS_ENV, "").strip():
        return default_path()
    scoped = job_dir(provider)
    return default_path() if scoped is None else scoped / "credentials"


def export_credentials_path(provider: JobScope | None) -> Path:
    """:func:`credentials_path`, exported to this process and to LATER steps of the job.

    Only a job-scoped path is exported (an explicit ``$REACTOR_CREDENTIALS`` or
    ``~/.reactor`` is found again without help).
    """
    path = credentials_path(provider)
    if provider is not None and not os.environ.get(CREDENTIALS_ENV, "").strip() and job_dir(provider) is not None:
        provider.set_env(CREDENTIALS_ENV, str(path))
        os.environ[CREDENTIALS_ENV] = str(path)
    return path
