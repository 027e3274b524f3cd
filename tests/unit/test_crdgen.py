"""The committed CRDs are exactly what the models generate, and they are valid structural schemas."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from aiops_operator.crdgen import KINDS, KindInfo, crd, openapi_schema, render

REPO = Path(__file__).resolve().parents[2]
CRD_DIRS = [REPO / "crds", REPO / "charts" / "aiops-rca" / "crds"]


def walk(node: dict[str, Any], path: str = "") -> Iterator[tuple[str, dict[str, Any]]]:
    """Every schema node with its dotted path."""
    yield path, node
    for name, sub in node.get("properties", {}).items():
        yield from walk(sub, f"{path}.{name}")
    if isinstance(node.get("items"), dict):
        yield from walk(node["items"], f"{path}[]")
    if isinstance(node.get("additionalProperties"), dict):
        yield from walk(node["additionalProperties"], f"{path}.*")


@pytest.mark.parametrize("crd_dir", CRD_DIRS, ids=lambda p: str(p.relative_to(REPO)))
@pytest.mark.parametrize("info", KINDS, ids=lambda k: k.kind)
def test_committed_yaml_matches_models(crd_dir: Path, info: KindInfo) -> None:
    committed = crd_dir / info.file_name
    assert committed.exists(), f"{committed} missing: run `aiops-rca crds`"
    assert committed.read_text(encoding="utf-8") == render(info), (
        f"{committed} differs from the models: run `aiops-rca crds` and commit the result"
    )


@pytest.mark.parametrize("info", KINDS, ids=lambda k: k.kind)
def test_every_field_has_a_description(info: KindInfo) -> None:
    missing = [
        path
        for path, node in walk(openapi_schema(info))
        # The API server forbids anything but `type` on metadata; list items and map
        # values are described by the field that holds them.
        if path != ".metadata" and not path.endswith(("[]", ".*"))
        and not node.get("description", "").strip()
    ]
    assert missing == [], f"{info.kind} fields without a description: {missing}"


@pytest.mark.parametrize("info", KINDS, ids=lambda k: k.kind)
def test_schema_is_structural(info: KindInfo) -> None:
    problems = []
    for path, node in walk(openapi_schema(info)):
        for forbidden in ("$ref", "anyOf", "oneOf", "allOf", "uniqueItems", "const", "$defs"):
            if forbidden in node:
                problems.append(f"{path}: {forbidden}")
        if "type" not in node:
            problems.append(f"{path}: no type")
        if "properties" in node and "additionalProperties" in node:
            problems.append(f"{path}: additionalProperties beside properties")
        if node.get("type") == "array" and "items" not in node:
            problems.append(f"{path}: array without items")
    assert problems == []


def test_crd_envelope() -> None:
    by_kind = {info.kind: crd(info) for info in KINDS}
    columns = {
        kind: [c["name"] for c in body["spec"]["versions"][0]["additionalPrinterColumns"]
               if not c.get("priority")]
        for kind, body in by_kind.items()
    }
    assert columns == {
        "Incident": ["Phase", "Source", "Pipeline/Job", "Error Type", "Severity", "Attempts", "Root", "Members",
                     "Age"],
        "RemediationAttempt": ["Incident", "Action", "Phase", "Age"],
        "RemediationPolicy": ["Ready", "Mode", "Budget Exhausted", "Age"],
    }
    for body in by_kind.values():
        version = body["spec"]["versions"][0]
        assert version["subresources"] == {"status": {}}
        assert body["spec"]["names"]["categories"] == ["aiops"]
        assert body["spec"]["names"]["shortNames"]
        assert body["spec"]["group"] == "aiops-rca.io"
        assert version["name"] == "v1alpha1"


def test_yaml_loads_as_one_document_per_kind() -> None:
    for info in KINDS:
        docs = list(yaml.safe_load_all((REPO / "crds" / info.file_name).read_text()))
        assert len(docs) == 1
        assert docs[0]["metadata"]["name"] == info.crd_name


def test_enum_fields_list_their_values() -> None:
    schema = openapi_schema(KINDS[0])
    error_type = schema["properties"]["status"]["properties"]["analysis"]["properties"]["errorType"]
    assert "GatewayTimeout" in error_type["enum"]
    assert "UnknownError" in error_type["enum"]
    assert len(error_type["enum"]) == 18
