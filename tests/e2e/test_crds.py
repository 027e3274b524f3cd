"""The generated CRDs on a real API server: samples round-trip, columns show, bad objects are rejected."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import pytest
import yaml
from aiops_operator.api import GROUP, VERSION, Incident, RemediationPolicy
from kubernetes import client
from kubernetes.client.exceptions import ApiException

from tests.e2e.conftest import Kubectl
from tests.subset import missing_from
from tests.support.kube_objects import as_object

SAMPLES = Path(__file__).resolve().parents[2] / "crds" / "samples"
PLURALS = {"Incident": "incidents", "RemediationAttempt": "remediationattempts",
           "RemediationPolicy": "remediationpolicies"}


def load(name: str) -> dict[str, Any]:
    doc: dict[str, Any] = yaml.safe_load((SAMPLES / name).read_text())
    return doc


def test_samples_round_trip(custom_api: client.CustomObjectsApi, namespace: str) -> None:
    for path in sorted(SAMPLES.glob("*.yaml")):
        doc = yaml.safe_load(path.read_text())
        plural = PLURALS[doc["kind"]]
        as_object(custom_api.create_namespaced_custom_object(GROUP, VERSION, namespace, plural, doc))
        got = as_object(custom_api.get_namespaced_custom_object(
            GROUP, VERSION, namespace, plural, doc["metadata"]["name"]
        ))
        assert missing_from(doc["spec"], got["spec"]) == [], f"{path.name} lost fields"
    inc = Incident.from_object(as_object(custom_api.get_namespaced_custom_object(
        GROUP, VERSION, namespace, "incidents", load("incident-adf.yaml")["metadata"]["name"])))
    assert inc.spec.error.code == "2200"
    policy = RemediationPolicy.from_object(as_object(custom_api.get_namespaced_custom_object(
        GROUP, VERSION, namespace, "remediationpolicies", "default")))
    assert len(policy.spec.rules) == 12


def test_kubectl_shows_printer_columns(
    custom_api: client.CustomObjectsApi, namespace: str, kubectl: Kubectl
) -> None:
    doc = load("incident-databricks.yaml")
    as_object(custom_api.create_namespaced_custom_object(GROUP, VERSION, namespace, "incidents", doc))
    status = {"status": {"phase": "Remediating",
                         "analysis": {"errorType": "DatabricksDriverNotResponding",
                                      "severity": "High", "rootCause": "Driver lost.",
                                      "priority": "P2", "confidence": "High",
                                      "provider": "Rules"},
                         "remediation": {"attemptsMade": 1, "maxAttempts": 1}}}
    custom_api.patch_namespaced_custom_object_status(
        GROUP, VERSION, namespace, "incidents", doc["metadata"]["name"], status)
    out = kubectl("get", "inc", "-n", namespace).stdout
    header, row = out.splitlines()[:2]
    assert header.split() == ["NAME", "PHASE", "SOURCE", "PIPELINE/JOB", "ERROR", "TYPE",
                              "SEVERITY", "ATTEMPTS", "ROOT", "MEMBERS", "AGE"]
    assert row.split()[:7] == [doc["metadata"]["name"], "Remediating", "DatabricksJob",
                               "nightly-customer-features", "DatabricksDriverNotResponding",
                               "High", "1"]
    # The category groups all three kinds.
    assert doc["metadata"]["name"] in kubectl("get", "aiops", "-n", namespace).stdout


@pytest.mark.parametrize(
    ("mutate", "expected"),
    [
        pytest.param(lambda d: d["spec"].update(source="Jenkins"), "spec.source", id="unknown-source"),
        pytest.param(lambda d: d["spec"].update(runId=12345), "spec.runId", id="wrong-type"),
        pytest.param(lambda d: d["spec"].pop("resource"), "spec.resource", id="missing-required"),
        pytest.param(lambda d: d["spec"]["error"].update(message="x" * 5000),
                     "spec.error.message", id="too-long"),
    ],
)
def test_invalid_incident_is_rejected(
    custom_api: client.CustomObjectsApi, namespace: str, mutate: Any, expected: str
) -> None:
    doc = load("incident-adf.yaml")
    mutate(doc)
    with pytest.raises(ApiException) as exc_info:
        as_object(custom_api.create_namespaced_custom_object(GROUP, VERSION, namespace, "incidents", doc))
    assert exc_info.value.status == 422
    assert expected in (exc_info.value.body or "")


def test_kubectl_rejects_invalid_incident(namespace: str, kubectl: Kubectl) -> None:
    doc = load("incident-adf.yaml")
    doc["spec"]["source"] = "Jenkins"
    result = kubectl("apply", "-n", namespace, "-f", "-", input=yaml.safe_dump(doc), check=False)
    assert result.returncode != 0
    assert 'spec.source: Unsupported value: "Jenkins"' in result.stderr


def test_kubectl_explain_prints_descriptions(kubectl: Kubectl) -> None:
    out = kubectl("explain", "incident.spec").stdout
    assert "The immutable facts of the failure." in out
    assert "runId" in out
    assert "deduplication" in out
    assert "Classification from the fixed taxonomy" in kubectl(
        "explain", "inc.status.analysis.errorType").stdout


def test_deleting_incident_garbage_collects_owned_attempt(
    custom_api: client.CustomObjectsApi, namespace: str
) -> None:
    inc = as_object(custom_api.create_namespaced_custom_object(
        GROUP, VERSION, namespace, "incidents", load("incident-adf.yaml")))
    attempt = load("remediationattempt.yaml")
    attempt["metadata"]["ownerReferences"] = [{
        "apiVersion": f"{GROUP}/{VERSION}", "kind": "Incident",
        "name": inc["metadata"]["name"], "uid": inc["metadata"]["uid"],
        "controller": True, "blockOwnerDeletion": True,
    }]
    as_object(custom_api.create_namespaced_custom_object(
        GROUP, VERSION, namespace, "remediationattempts", attempt))
    custom_api.delete_namespaced_custom_object(
        GROUP, VERSION, namespace, "incidents", inc["metadata"]["name"])
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        items = as_object(custom_api.list_namespaced_custom_object(
            GROUP, VERSION, namespace, "remediationattempts"))["items"]
        if not items:
            return
        time.sleep(0.5)
    pytest.fail("the owned RemediationAttempt was not garbage-collected within 60s")


def test_empty_string_zero_and_false_are_values_not_null(
    custom_api: client.CustomObjectsApi, namespace: str
) -> None:
    """What a real Kubernetes accepts; guards the local build's patch of the OpenAPI validator."""
    doc = load("incident-adf.yaml")
    doc["spec"]["error"]["message"] = ""
    created = as_object(custom_api.create_namespaced_custom_object(GROUP, VERSION, namespace, "incidents", doc))
    assert created["spec"]["error"]["message"] == ""
    custom_api.patch_namespaced_custom_object_status(
        GROUP, VERSION, namespace, "incidents", doc["metadata"]["name"],
        {"status": {"remediation": {"attemptsMade": 0, "maxAttempts": 0}}})
    policy = load("policy-default.yaml")
    policy["spec"]["enabled"] = False
    policy["spec"]["rules"][0]["dryRun"] = False
    got = as_object(custom_api.create_namespaced_custom_object(GROUP, VERSION, namespace, "remediationpolicies",
                                                               policy))
    assert got["spec"]["enabled"] is False
    inc = as_object(custom_api.get_namespaced_custom_object(GROUP, VERSION, namespace, "incidents",
                                                            doc["metadata"]["name"]))
    assert inc["status"]["remediation"] == {"attemptsMade": 0, "maxAttempts": 0}
