"""Jenkins: ``JENKINS_URL`` set.  A process cannot mask from stdout; values bound
with the Credentials Binding plugin (``withCredentials``) are masked by Jenkins."""

from __future__ import annotations

from reactor_ci.ci._base import Provider

__all__ = ["Jenkins"]


class Jenkins(Provider):
    name = "jenkins"
    can_mask = False
