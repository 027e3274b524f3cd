"""The sample objects under crds/samples validate against the models and the generated schema."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import yaml
from aiops_operator.api import (
    ErrorType,
    Incident,
    IncidentSource,
    RemediationAttempt,
    RemediationPolicy,
    incident_name,
)
from aiops_operator.crdgen import KINDS, openapi_schema

from tests.subset import missing_from

SAMPLES = Path(__file__).resolve().parents[2] / "crds" / "samples"
MODELS = {"Incident": Incident, "RemediationAttempt": RemediationAttempt,
          "RemediationPolicy": RemediationPolicy}
SCHEMAS = {info.kind: openapi_schema(info) for info in KINDS}


def closed(schema: dict[str, Any]) -> dict[str, Any]:
    """The schema with unknown fields rejected, so a typo in a sample fails instead of being pruned."""
    schema = copy.deepcopy(schema)

    def close(node: dict[str, Any]) -> None:
        if "properties" in node and node is not schema["properties"].get("metadata"):
            node["additionalProperties"] = False
            for sub in node["properties"].values():
                close(sub)
        if isinstance(node.get("items"), dict):
            close(node["items"])

    close(schema)
    return schema


def load(path: Path) -> dict[str, Any]:
    doc: dict[str, Any] = yaml.safe_load(path.read_text())
    return doc


SAMPLE_FILES = sorted(SAMPLES.glob("*.yaml"))


def test_there_are_samples_of_every_kind() -> None:
    kinds = sorted({load(p)["kind"] for p in SAMPLE_FILES})
    assert kinds == ["Incident", "RemediationAttempt", "RemediationPolicy"]
    sources = {load(p)["spec"]["source"] for p in SAMPLE_FILES if load(p)["kind"] == "Incident"}
    assert {"AzureDataFactory", "DatabricksJob"} <= sources


@pytest.mark.parametrize("path", SAMPLE_FILES, ids=lambda p: p.name)
def test_sample_validates_against_schema(path: Path) -> None:
    doc = load(path)
    validator = jsonschema.Draft7Validator(
        closed(SCHEMAS[doc["kind"]]), format_checker=jsonschema.FormatChecker()
    )
    errors = [f"{'.'.join(map(str, e.absolute_path))}: {e.message}"
              for e in validator.iter_errors(doc)]
    assert errors == []


@pytest.mark.parametrize("path", SAMPLE_FILES, ids=lambda p: p.name)
def test_sample_validates_against_model(path: Path) -> None:
    doc = load(path)
    parsed = MODELS[doc["kind"]].model_validate(doc)
    # Nothing in the sample was silently dropped or changed by the model.
    assert missing_from(doc["spec"], parsed.to_wire()["spec"]) == []


@pytest.mark.parametrize(
    "path", [p for p in SAMPLE_FILES if load(p)["kind"] == "Incident"], ids=lambda p: p.name
)
def test_sample_incident_names_are_deterministic(path: Path) -> None:
    doc = load(path)
    spec = doc["spec"]
    source = IncidentSource(spec["source"])
    expected = incident_name(source, spec["runId"], spec["resource"]["name"])
    assert doc["metadata"]["name"] == expected


def test_invalid_incident_fails_schema() -> None:
    doc = load(SAMPLES / "incident-adf.yaml")
    doc["spec"]["source"] = "Jenkins"
    doc["spec"]["runId"] = 42
    validator = jsonschema.Draft7Validator(SCHEMAS["Incident"])
    messages = sorted(e.message for e in validator.iter_errors(doc))
    assert any("Jenkins" in m for m in messages)
    assert any("42" in m for m in messages)


def test_default_policy_covers_the_healable_types_only() -> None:
    policy = RemediationPolicy.model_validate(load(SAMPLES / "policy-default.yaml"))
    covered = {rule.error_type for rule in policy.spec.rules}
    never = {
        ErrorType.AUTHENTICATION_ERROR, ErrorType.PERMISSION_DENIED, ErrorType.SCHEMA_MISMATCH,
        ErrorType.DATA_QUALITY_ERROR, ErrorType.CONFIGURATION_ERROR, ErrorType.UNKNOWN_ERROR,
    }
    assert covered == set(ErrorType) - never
    by_type = {rule.error_type: rule for rule in policy.spec.rules}
    throttling = by_type[ErrorType.THROTTLING_ERROR]
    assert (throttling.max_attempts, throttling.backoff.seconds) == (5, [30, 60, 120, 300, 600])
    # The 4th failure of a target in 7 days escalates; throttling, which comes and goes with load, the 8th.
    assert policy.spec.recurrence is not None
    assert (policy.spec.recurrence.escalate_after, policy.spec.recurrence.window_seconds) == (3, 7 * 86400)
    assert throttling.recurrence is not None
    assert throttling.recurrence.escalate_after == 7
    assert by_type[ErrorType.DATABRICKS_RESOURCE_EXHAUSTED].risk == "High"
