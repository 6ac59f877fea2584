"""The component and every GitLab YAML example in docs/gitlab.md validate against GitLab's CI schema.

``check-jsonschema --builtin-schema vendor.gitlab-ci`` (a dev dependency) ships
GitLab's own JSON schema for ``.gitlab-ci.yml``, including the ``spec:
inputs`` header of components, offline. A component file is two YAML
documents and the examples use ``!reference``, which plain YAML loaders
refuse, so each document is converted to JSON first.
"""

from __future__ import annotations

import json
import re
import subprocess
import textwrap
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.parts import require_tool
from tests.repo import REPO_ROOT


class _GitLabLoader(yaml.SafeLoader):
    pass


def _reference(loader: yaml.SafeLoader, node: yaml.Node) -> Any:
    assert isinstance(node, yaml.SequenceNode)
    return loader.construct_sequence(node)


_GitLabLoader.add_constructor("!reference", _reference)


def gitlab_yaml(text: str) -> list[Any]:
    return [doc for doc in yaml.load_all(text, Loader=_GitLabLoader) if doc is not None]


def validate(tmp_path: Path, documents: dict[str, Any]) -> None:
    tool = require_tool("check-jsonschema", "pip install check-jsonschema (a dev dependency)")
    files = []
    for name, doc in documents.items():
        path = tmp_path / f"{re.sub(r'[^A-Za-z0-9]+', '-', name)}.json"
        path.write_text(json.dumps(doc))
        files.append(str(path))
    proc = subprocess.run(
        [tool, "--builtin-schema", "vendor.gitlab-ci", *files],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_component_matches_gitlab_schema(tmp_path: Path) -> None:
    spec, jobs = gitlab_yaml((REPO_ROOT / "templates" / "reactor-auth.yml").read_text())
    assert set(spec) == {"spec"}
    validate(tmp_path, {"spec": spec, "jobs": jobs})


def doc_examples() -> list[tuple[str, str]]:
    text = (REPO_ROOT / "docs" / "gitlab.md").read_text()
    blocks = re.findall(r"^( *)```yaml\n(.*?)^\1```", text, flags=re.DOTALL | re.MULTILINE)
    return [(f"block {i + 1}", textwrap.dedent(body)) for i, (_, body) in enumerate(blocks)]


@pytest.mark.parametrize(("name", "body"), doc_examples(), ids=[name for name, _ in doc_examples()])
def test_docs_examples_match_gitlab_schema(tmp_path: Path, name: str, body: str) -> None:
    (doc,) = gitlab_yaml(body)
    assert isinstance(doc, dict), name
    validate(tmp_path, {name: doc})


def other_ci_examples() -> list[tuple[str, str]]:
    text = (REPO_ROOT / "docs" / "other-ci.md").read_text()
    return re.findall(r"<!-- schema: ([\w.-]+) -->\n```yaml\n(.*?)^```", text, flags=re.DOTALL | re.MULTILINE)


@pytest.mark.parametrize(("schema", "body"), other_ci_examples(), ids=[s for s, _ in other_ci_examples()])
def test_other_ci_examples_match_their_schemas(tmp_path: Path, schema: str, body: str) -> None:
    """docs/other-ci.md's pipelines for Azure, Buildkite, CircleCI and Bitbucket, each against its CI's schema."""
    tool = require_tool("check-jsonschema", "pip install check-jsonschema (a dev dependency)")
    (doc,) = gitlab_yaml(body)
    path = tmp_path / "pipeline.json"
    path.write_text(json.dumps(doc))
    proc = subprocess.run(
        [tool, "--builtin-schema", schema, str(path)], capture_output=True, text=True, timeout=120, check=False
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr


def test_every_other_ci_example_is_checked() -> None:
    text = (REPO_ROOT / "docs" / "other-ci.md").read_text()
    assert len(other_ci_examples()) == text.count("```yaml") == 4
