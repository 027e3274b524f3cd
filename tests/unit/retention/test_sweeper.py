"""The retention sweep against the in-memory API server: summary first, then a uid-fenced delete; a crash
between the two records nothing twice; a newer Incident of the same name is spared."""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any

from aiops_operator.api import Incident
from aiops_operator.recurrence.index import RecurrenceIndex, tracked
from aiops_operator.recurrence.record import RecordStore
from aiops_operator.retention.sweeper import RetentionSweeper

from tests.support.apiserver import FakeApiServer
from tests.support.builders import NOW, analysis, incident

RETENTION = 14 * 86400


def resolved(name: str, days_ago: float) -> dict[str, Any]:
    when = NOW - timedelta(days=days_ago)
    obj = incident(analysis=analysis().to_wire(), phase="Resolved",
                   resolution={"resolvedTime": when.isoformat(), "resolvedBy": "AutoHeal", "mttrSeconds": 60},
                   remediation={"policy": "p", "rule": "r", "action": "RerunPipeline", "maxAttempts": 3}).to_wire()
    obj["metadata"].update(name=name, uid=f"uid-{name}")
    return obj


def world(*bodies: dict[str, Any]) -> tuple[FakeApiServer, RecurrenceIndex, RetentionSweeper]:
    api = FakeApiServer()
    index = RecurrenceIndex()
    for body in bodies:
        api.objects[("incidents", "ns", body["metadata"]["name"])] = body
        index.observe("ADDED", body)
    kube = api.client()
    return api, index, RetentionSweeper(kube, index, RecordStore(kube), retention_seconds=RETENTION,
                                        clock=lambda: NOW)


def entries(api: FakeApiServer) -> list[list[str]]:
    (record,) = [o for (p, _, _), o in api.objects.items() if p == "configmaps"]
    rows: list[list[str]] = json.loads(record["data"]["entries"])
    return rows


async def test_past_retention_is_summarized_then_deleted_and_the_rest_kept() -> None:
    api, index, sweeper = world(resolved("adf-old", 20), resolved("adf-new", 2))
    assert await sweeper.sweep_once() == 1
    assert ("incidents", "ns", "adf-old") not in api.objects
    assert ("incidents", "ns", "adf-new") in api.objects
    assert [(r[1], r[3], r[4]) for r in entries(api)] == [("adf-old", "AutoHealed", "RerunPipeline")]
    assert len(index) == 1
    assert await sweeper.sweep_once() == 0  # nothing more is due


async def test_a_crash_between_summary_and_delete_records_nothing_twice() -> None:
    old = resolved("adf-old", 20)
    api, _, sweeper = world(old)
    item = tracked(Incident.from_object(old))
    assert item.error_type is not None
    await sweeper.records.add("ns", item.target, item.error_type, item.entry, NOW)  # the crashed sweep got this far
    assert await sweeper.sweep_once() == 1
    assert len(entries(api)) == 1
    assert ("incidents", "ns", "adf-old") not in api.objects


async def test_a_newer_incident_of_the_same_name_is_spared() -> None:
    api, _, sweeper = world(resolved("adf-old", 20))
    api.objects[("incidents", "ns", "adf-old")]["metadata"]["uid"] = "uid-recreated"
    await sweeper.sweep_once()
    assert ("incidents", "ns", "adf-old") in api.objects
