"""CircleCI: ``CIRCLECI=true``.  No runtime masking; project/context secrets are
masked by CircleCI itself only when they were defined in its settings."""

from __future__ import annotations

from reactor_ci.ci._base import Provider

__all__ = ["CircleCI"]


class CircleCI(Provider):
    name = "circleci"
    can_mask = False
