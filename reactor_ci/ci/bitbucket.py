"""Bitbucket Pipelines: ``BITBUCKET_BUILD_NUMBER`` set.  No runtime masking;
secured repository/workspace variables are masked by Bitbucket itself."""

from __future__ import annotations

from reactor_ci.ci._base import Provider

__all__ = ["Bitbucket"]


class Bitbucket(Provider):
    name = "bitbucket"
    can_mask = False
