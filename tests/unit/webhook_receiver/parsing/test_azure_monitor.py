"""ADF failures from Azure Monitor common-schema alerts, over golden payloads."""

from __future__ import annotations

import copy
from typing import Any

import pytest
from aiops_operator.api import IncidentSource, ResourceKind, RunIdOrigin, incident_name

from tests.unit.webhook_receiver.goldens import NOW, golden
from webhook_receiver.parsing import ParseOptions, Unrecognized, azure_alerts

OPTIONS = ParseOptions()


COPY = ("pl_copy_sales_daily", "7d1b6f0a-3c2e-4d8b-9a51-2f6c8e4b1a90", "2200", "Copy_SalesOrders", "UserError")
LOAD = ("pl_load_customers", "a4c9e2d1-5f6b-4a7c-8d9e-0f1a2b3c4d5e", "3204", "Notebook_Transform", "UserError")
LOOKUP = ("pl_incremental_orders", "5e6f7a8b-9c0d-4e1f-a2b3-c4d5e6f7a8b9", "2100", "Lookup_Watermark", "UserError")


def names(relative: str) -> list[str]:
    parsed = azure_alerts.parse(golden(relative), NOW, OPTIONS)
    return [incident_name(s.source, s.run_id, s.resource.name) for s in parsed.incidents]


@pytest.mark.parametrize(
    ("fixture", "expected"),
    [
        pytest.param(
            "azure-monitor/log-v2-pipeline-failed.json",
            [COPY],
            id="log-v2-one-run",
        ),
        pytest.param(
            "azure-monitor/log-v2-two-runs.json",
            [COPY, LOAD],
            id="log-v2-two-runs-two-incidents",
        ),
        pytest.param(
            "azure-monitor/log-v1-activity-runs.json",
            [COPY, LOOKUP],
            id="log-v1-rows-grouped-by-run-succeeded-skipped",
        ),
    ],
)
def test_log_alerts_name_their_runs(fixture: str, expected: list[tuple[str, str, str, str, str]]) -> None:
    parsed = azure_alerts.parse(golden(fixture), NOW, OPTIONS)
    got = [
        (s.resource.name, s.run_id, s.error.code, s.error.activity, s.error.failure_type) for s in parsed.incidents
    ]
    assert got == expected
    for spec in parsed.incidents:
        assert spec.source is IncidentSource.AZURE_DATA_FACTORY
        assert spec.run_id_origin is RunIdOrigin.ALERT
        # Log Analytics upper-cases resource ids; ARM names are case-insensitive, so they are kept as sent.
        assert (spec.resource.factory or "").lower() == "adf-contoso-prod-weu"
        assert (spec.resource.subscription_id or "").lower() == "00000000-1111-2222-3333-444444444444"
        assert spec.received_time == NOW
        assert spec.error.message


def test_log_v2_matches_the_committed_sample() -> None:
    """The sample Incident in crds/samples is what the receiver makes of this alert."""
    (spec,) = azure_alerts.parse(golden("azure-monitor/log-v2-pipeline-failed.json"), NOW, OPTIONS).incidents
    assert incident_name(spec.source, spec.run_id, spec.resource.name) == "adf-pl-copy-sales-daily-3afbb53e40"
    assert spec.resource.resource_group == "rg-data-platform-prod"
    assert spec.alert.rule == "adf-pipeline-failed-runs"
    assert spec.alert.severity == "Sev1"
    assert spec.alert.signal_type == "Log"
    assert spec.alert.fired_time is not None
    assert spec.alert.fired_time.isoformat().startswith("2026-11-23T06:58:24")
    assert spec.run_url is not None
    assert spec.run_url.startswith("https://adf.azure.com/en/monitoring/pipelineruns/7d1b")


@pytest.mark.parametrize(
    ("fixture", "resource", "activity", "kind"),
    [
        pytest.param("azure-monitor/metric-pipeline-failed-runs.json", "pl_copy_sales_daily", None,
                     ResourceKind.PIPELINE, id="pipeline-failed-runs"),
        pytest.param("azure-monitor/metric-activity-failed-runs.json", "pl_copy_sales_daily", "Copy_SalesOrders",
                     ResourceKind.PIPELINE, id="activity-failed-runs"),
        pytest.param("azure-monitor/metric-no-dimensions.json", "adf-contoso-prod-weu", None,
                     ResourceKind.OTHER, id="no-dimensions-the-factory"),
    ],
)
def test_metric_alerts_get_a_fingerprint(fixture: str, resource: str, activity: str | None, kind: ResourceKind) -> None:
    (spec,) = azure_alerts.parse(golden(fixture), NOW, OPTIONS).incidents
    assert spec.run_id_origin is RunIdOrigin.FINGERPRINT
    assert spec.run_id.startswith("fp-")
    assert (spec.resource.name, spec.error.activity, spec.resource.kind) == (resource, activity, kind)
    assert spec.run_url is None
    assert "metric" in spec.error.message.lower()


def test_fingerprint_is_stable_within_its_time_bucket() -> None:
    first = golden("azure-monitor/metric-pipeline-failed-runs.json")
    later = copy.deepcopy(first)
    later["data"]["essentials"]["firedDateTime"] = "2026-11-23T06:59:59Z"  # same hour
    next_hour = copy.deepcopy(first)
    next_hour["data"]["essentials"]["firedDateTime"] = "2026-11-23T07:00:01Z"
    ids = [azure_alerts.parse(p, NOW, OPTIONS).incidents[0].run_id for p in (first, later, next_hour)]
    assert ids[0] == ids[1] != ids[2]


def test_resolved_alert_creates_nothing_and_names_the_incident() -> None:
    parsed = azure_alerts.parse(golden("azure-monitor/log-v2-resolved.json"), NOW, OPTIONS)
    assert parsed.incidents == []
    assert names("azure-monitor/log-v2-pipeline-failed.json") == [
        incident_name(s.source, s.run_id, s.resource.name) for s in parsed.resolved
    ]
    assert parsed.resolved_time is not None
    assert parsed.resolved_time.isoformat().startswith("2026-11-23T07:20:11")


def test_resolved_metric_alert_has_the_fired_alerts_fingerprint() -> None:
    fired = golden("azure-monitor/metric-pipeline-failed-runs.json")
    resolved = copy.deepcopy(fired)
    resolved["data"]["essentials"]["monitorCondition"] = "Resolved"
    resolved["data"]["essentials"]["resolvedDateTime"] = "2026-11-23T09:00:00Z"
    assert (
        azure_alerts.parse(fired, NOW, OPTIONS).incidents[0].run_id
        == azure_alerts.parse(resolved, NOW, OPTIONS).resolved[0].run_id
    )


def test_secrets_and_control_characters_never_reach_the_spec() -> None:
    (spec,) = azure_alerts.parse(golden("azure-monitor/log-v2-secret-in-message.json"), NOW, OPTIONS).incidents
    assert "S3cr3t" not in spec.error.message
    assert "AbCdEf1234567890" not in spec.error.message
    assert "[REDACTED]" in spec.error.message
    assert "\x07" not in spec.error.message
    assert "\x1b" not in spec.error.message


def test_huge_message_is_bounded() -> None:
    payload = golden("azure-monitor/log-v2-pipeline-failed.json")
    dims = payload["data"]["alertContext"]["condition"]["allOf"][0]["dimensions"]
    for dim in dims:
        if dim["name"] == "ErrorMessage":
            dim["value"] = "x" * 900_000
        if dim["name"] == "PipelineName":
            dim["value"] = "p" * 5000
    (spec,) = azure_alerts.parse(payload, NOW, ParseOptions(max_message_chars=1000)).incidents
    assert len(spec.error.message) <= 1000
    assert len(spec.resource.name) <= 260
    assert len(incident_name(spec.source, spec.run_id, spec.resource.name)) <= 52


def _with(path: list[str | int], value: Any) -> dict[str, Any]:
    payload: Any = golden("azure-monitor/log-v2-pipeline-failed.json")
    target = payload
    for key in path[:-1]:
        target = target[key]
    target[path[-1]] = value
    return dict(payload)


@pytest.mark.parametrize(
    "payload",
    [
        pytest.param({}, id="empty-object"),
        pytest.param({"data": "essentials"}, id="data-not-object"),
        pytest.param({"alert": "pipeline failed"}, id="unrelated"),
        pytest.param(
            {"schemaId": "azureMonitorCommonAlertSchema", "data": {"essentials": {"alertRule": "vm-cpu",
             "alertTargetIDs": ["/subscriptions/s/resourceGroups/r/providers/Microsoft.Compute/virtualMachines/v"]},
             "alertContext": {}}},
            id="not-a-data-factory",
        ),
    ],
)
def test_unrecognisable_payloads_say_what_was_expected(payload: Any) -> None:
    with pytest.raises(Unrecognized, match="expected"):
        azure_alerts.parse(payload, NOW, OPTIONS)


@pytest.mark.parametrize(
    ("path", "value"),
    [
        pytest.param(["data", "essentials", "firedDateTime"], 12, id="fired-time-number"),
        pytest.param(["data", "essentials", "firedDateTime"], "yesterday", id="fired-time-garbage"),
        pytest.param(["data", "essentials", "alertTargetIDs"], "not-a-list", id="targets-not-list"),
        pytest.param(["data", "essentials", "severity"], {"nested": ["junk"]}, id="severity-object"),
        pytest.param(["data", "alertContext", "condition", "allOf", 0, "dimensions"], [1, None, "x", {"name": 5}],
                     id="dimensions-junk"),
        pytest.param(["data", "alertContext", "condition", "allOf"], {"not": "a list"}, id="allof-object"),
    ],
)
def test_wrong_types_are_tolerated(path: list[str | int], value: Any) -> None:
    parsed = azure_alerts.parse(_with(path, value), NOW, OPTIONS)
    assert len(parsed.incidents) == 1


def test_unicode_names_slug_safely() -> None:
    payload = _with(["data", "alertContext", "condition", "allOf", 0, "dimensions", 0, "value"], "Übersicht-日本語-📈")
    (spec,) = azure_alerts.parse(payload, NOW, OPTIONS).incidents
    assert spec.resource.name == "Übersicht-日本語-📈"
    name = incident_name(spec.source, spec.run_id, spec.resource.name)
    assert name.startswith("adf-")
    assert name.isascii()
