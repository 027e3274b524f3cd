"""No JSON makes a parser do anything but return a result or raise Unrecognized."""

from __future__ import annotations

import contextlib
import copy
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.unit.webhook_receiver.goldens import NOW, WEBHOOKS, golden
from webhook_receiver.parsing import ParseOptions, Unrecognized, azure_alerts, callback, databricks, jira

OPTIONS = ParseOptions()
MAPPED = ParseOptions(custom_payload_fields={"pipeline": "/data/0/name", "runId": "run.id", "message": "/a~1b",
                                             "factoryResourceId": "data.factory", "alertRule": "/"})
scalars = st.none() | st.booleans() | st.integers() | st.floats(allow_nan=True) | st.text(max_size=300)
json_values = st.recursive(
    scalars, lambda inner: st.lists(inner, max_size=5) | st.dictionaries(st.text(max_size=20), inner, max_size=5),
    max_leaves=30,
)
KEYS = ["schemaId", "data", "essentials", "alertContext", "condition", "allOf", "dimensions", "SearchResults",
        "tables", "columns", "rows", "event_type", "event", "run", "job", "task", "cluster", "issue", "changelog",
        "items", "webhookEvent", "ticket_id", "attempt_number", "success", "PipelineName", "RunId", "ClusterId",
        "TerminationCode", "monitorCondition", "firedDateTime", "name", "value", "AlertRuleName", "SearchQuery",
        "SearchResult", "IncludeSearchResults", "Dimensions", "AffectedConfigurationItems", "configurationItems",
        "alertTargetIDs", "signalType", "monitoringService", "eventSource", "conditionType", "event", "context",
        "activityLog", "status", "RequestParams", "Response", "ActionName", "Category", "statusCode", "result",
        "termination_reason", "code", "state", "run_id", "cluster_id", "type", "details", "_ResourceId", "Error"]
shaped = st.recursive(
    scalars, lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.sampled_from(KEYS), inner, max_size=6),
    max_leaves=40,
)


def _all_parsers(payload: Any) -> None:
    for parse, options in ((azure_alerts.parse, OPTIONS), (azure_alerts.parse, MAPPED), (databricks.parse, OPTIONS)):
        try:
            result = parse(payload, NOW, options)
        except Unrecognized:
            continue
        for spec in [*result.incidents, *result.resolved]:
            assert spec.run_id
            assert spec.resource.name
    for other in (lambda p: jira.parse(p, NOW), lambda p: callback.parse(p, NOW)):
        with contextlib.suppress(Unrecognized):
            other(payload)


@settings(max_examples=300, suppress_health_check=[HealthCheck.too_slow], deadline=None)
@given(json_values)
def test_random_json(payload: Any) -> None:
    _all_parsers(payload)


@settings(max_examples=400, suppress_health_check=[HealthCheck.too_slow], deadline=None)
@given(shaped)
def test_random_json_with_the_right_keys(payload: Any) -> None:
    _all_parsers(payload)


def _mutations(value: Any) -> st.SearchStrategy[Any]:
    """A golden payload with one leaf replaced by junk."""
    paths: list[list[Any]] = []

    def walk(node: Any, path: list[Any]) -> None:
        paths.append(path)
        if isinstance(node, dict):
            for k, v in node.items():
                walk(v, [*path, k])
        elif isinstance(node, list):
            for i, v in enumerate(node[:5]):
                walk(v, [*path, i])

    walk(value, [])

    def replace(path: list[Any], junk: Any) -> Any:
        if not path:
            return junk
        doc = copy.deepcopy(value)
        target = doc
        for key in path[:-1]:
            target = target[key]
        target[path[-1]] = junk
        return doc

    return st.builds(replace, st.sampled_from(paths), json_values | st.text(max_size=50).map(lambda t: t * 2000))


GOLDENS = ["azure-monitor/log-v2-pipeline-failed.json", "azure-monitor/log-v1-activity-runs.json",
           "azure-monitor/metric-pipeline-failed-runs.json", "databricks/legacy-job-run-failed.json",
           "databricks/generic-task-failure.json", "cluster-logs/log-v1-terminations.json",
           "jira/issue-updated-done.json", "callback/succeeded.json",
           *sorted(str(p.relative_to(WEBHOOKS)) for p in (WEBHOOKS / "vendor").rglob("*.json")
                   if not p.name.endswith(".expected.json"))]


@settings(max_examples=400, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large], deadline=None)
@given(st.sampled_from(GOLDENS).flatmap(lambda name: _mutations(golden(name))))
def test_mutated_goldens(payload: Any) -> None:
    _all_parsers(payload)
