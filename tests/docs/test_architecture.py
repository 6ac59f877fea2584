"""docs/architecture.md matches the package: every module it names exists, every module is named."""

from __future__ import annotations

import re
from pathlib import Path

import reactor_ci

PACKAGE = Path(reactor_ci.__file__).parent
DOC = PACKAGE.parent / "docs" / "architecture.md"
_NAMED = re.compile(r"(?<![\w/.-])((?:[a-z0-9_]+/)*[a-z0-9_]+\.py)\b")


def _modules() -> set[str]:
    return {path.relative_to(PACKAGE).as_posix() for path in PACKAGE.rglob("*.py")}


def _named(text: str) -> set[str]:
    names = set(_NAMED.findall(text))
    # Paths outside the package (tests/…, bench/…) are not module names.
    return {
        n for n in names if not n.startswith(("tests/", "bench/", "scripts/", "bundle/", "hooks/", "reactor_ci/"))
    } | {n.removeprefix("reactor_ci/") for n in names if n.startswith("reactor_ci/")}


def test_every_module_the_page_names_exists() -> None:
    text = DOC.read_text(encoding="utf-8")
    modules = _modules()
    basenames = {m.rsplit("/", 1)[-1] for m in modules}
    missing = sorted(n for n in _named(text) if n not in modules and ("/" in n or n not in basenames))
    assert not missing, f"docs/architecture.md names modules that do not exist: {missing}"


def test_every_package_module_is_named_in_the_module_map() -> None:
    text = DOC.read_text(encoding="utf-8")
    table = text[text.index("## Module map") :]
    table = table[: table.index("\n## ", 1)] if "\n## " in table[1:] else table
    named = _named(table)
    unnamed = sorted(m for m in _modules() if m not in named)
    assert not unnamed, f"add these modules to docs/architecture.md's module map: {unnamed}"


def test_the_page_names_the_tests_it_points_to() -> None:
    root = PACKAGE.parent
    for path in re.findall(r"`(tests/[\w/]+\.py)`", DOC.read_text(encoding="utf-8")):
        assert (root / path).exists(), path
