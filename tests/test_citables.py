"""The data-only CI table (reactor_ci/citables.py) is the one the providers and status's fast path read."""

from __future__ import annotations

from reactor_ci import ci, citables
from reactor_ci.ci import github


def test_detection_and_the_fast_path_read_one_table() -> None:
    assert ci._MARKERS is citables.MARKERS
    assert ci.OVERRIDE_VAR == citables.OVERRIDE_VAR
    assert set(citables.MARKERS) == set(ci.PROVIDERS)


def test_the_cannot_mask_list_matches_the_providers() -> None:
    for name in ci.PROVIDERS:
        provider = ci._load(name, {})
        if name in citables.CANNOT_MASK:
            assert provider.can_mask is False, name
        elif name != "buildkite":  # Buildkite masks when its agent is on PATH: never "cannot"
            assert provider.can_mask is True, name


def test_github_masks_are_the_providers_own_escaping() -> None:
    assert github.escape_data is citables.github_escape_data
    assert citables.github_escape_data("a%b\r\nc") == "a%25b%0D%0Ac"
