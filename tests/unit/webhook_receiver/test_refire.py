"""Re-fires: a duplicate of the run's newest open occurrence, or the next occurrence linked to a resolved one."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from aiops_operator.api.labels import OCCURRENCE_LABEL, PREVIOUS_INCIDENT_LABEL
from aiops_operator.kube import INCIDENTS

from tests.support.apiserver import FakeApiServer
from tests.unit.webhook_receiver.goldens import NOW, golden
from webhook_receiver.labels import incident_object
from webhook_receiver.metrics import ReceiverMetrics
from webhook_receiver.parsing import ParseOptions, azure_alerts
from webhook_receiver.refire import Occurrence, Verdict, decide
from webhook_receiver.spool import Spool
from webhook_receiver.store import IncidentStore, Outcome, RecentNames
from webhook_receiver.updates import Updates

T0 = datetime(2026, 12, 1, 8, 0, tzinfo=UTC)
FIRST = "adf-pl-x-0123456789"


def occ(n: int, resolved: datetime | None) -> Occurrence:
    return Occurrence(FIRST if n == 1 else f"{FIRST}-r{n}", n, resolved)


@pytest.mark.parametrize(("chain", "fired", "expected"), [
    pytest.param([], T0, Verdict(FIRST, True, 1), id="no-incident-yet-first-occurrence"),
    pytest.param([occ(1, None)], T0, Verdict(FIRST, False, 1), id="open-incident-duplicate"),
    pytest.param([occ(1, T0)], T0 - timedelta(minutes=5), Verdict(FIRST, False, 1),
                 id="fired-before-resolution-late-copy-duplicate"),
    pytest.param([occ(1, T0)], T0, Verdict(FIRST, False, 1), id="fired-at-resolution-duplicate"),
    pytest.param([occ(1, T0)], T0 + timedelta(seconds=1), Verdict(f"{FIRST}-r2", True, 2, FIRST),
                 id="fired-after-resolution-refire"),
    pytest.param([occ(1, T0), occ(2, None)], T0 + timedelta(hours=1), Verdict(f"{FIRST}-r2", False, 2),
                 id="second-occurrence-open-duplicate"),
    pytest.param([occ(1, T0), occ(2, T0 + timedelta(hours=1))], T0 + timedelta(hours=2),
                 Verdict(f"{FIRST}-r3", True, 3, f"{FIRST}-r2"), id="links-to-the-newest-occurrence"),
    pytest.param([occ(n, T0) for n in range(1, 100)], T0 + timedelta(days=1), Verdict(f"{FIRST}-r99", False, 99),
                 id="occurrence-limit-dedupes-into-the-last"),
])
def test_decide(chain: list[Occurrence], fired: datetime, expected: Verdict) -> None:
    assert decide(chain, FIRST, fired) == expected


def alert(fired: datetime) -> dict[str, Any]:
    (spec,) = azure_alerts.parse(golden("azure-monitor/log-v2-pipeline-failed.json"), NOW, ParseOptions()).incidents
    body = incident_object(spec)
    body["spec"]["alert"]["firedTime"] = fired.isoformat()
    return body


WALL = [NOW - timedelta(hours=1)]
"""The receiver's clock: the first alert is taken an hour before NOW, later ones at NOW."""


def make_store(tmp_path: Path, api: FakeApiServer, name: str = "a") -> IncidentStore:
    spool = Spool(tmp_path / name, max_files=10, max_bytes=1 << 20)
    spool.open()
    WALL[0] = NOW - timedelta(hours=1)
    return IncidentStore(api.client(), "ns", spool, ReceiverMetrics(), timeout=1.0, wall=lambda: WALL[0])


def resolve(api: FakeApiServer, name: str, when: datetime) -> None:
    WALL[0] = NOW
    api.objects[("incidents", "ns", name)]["status"] = {
        "phase": "Resolved",
        "resolution": {"resolvedTime": when.isoformat(), "mttrSeconds": 1, "resolvedBy": "AutoHeal"}}


async def test_refire_after_resolution_opens_a_linked_occurrence_and_duplicates_still_dedupe(tmp_path: Path) -> None:
    api = FakeApiServer()
    store = make_store(tmp_path, api)
    first = await store.create(alert(NOW - timedelta(hours=1)))
    assert (await store.create(alert(NOW - timedelta(hours=1)))).outcome is Outcome.DUPLICATE
    resolve(api, first.name, NOW - timedelta(minutes=30))
    late_copy = await store.create(alert(NOW - timedelta(hours=1)))
    assert (late_copy.outcome, late_copy.name) == (Outcome.DUPLICATE, first.name)
    again = await store.create(alert(NOW - timedelta(minutes=10)))
    assert again.outcome is Outcome.CREATED
    assert again.name == f"{first.name}-r2"
    created = api.objects[("incidents", "ns", again.name)]
    assert created["spec"]["previousIncidentRef"] == first.name
    assert created["spec"]["occurrence"] == 2
    assert created["metadata"]["labels"][PREVIOUS_INCIDENT_LABEL] == first.name
    assert created["metadata"]["labels"][OCCURRENCE_LABEL] == "2"
    # A second delivery of the re-fire while the new occurrence is open: a duplicate of it.
    dup = await store.create(alert(NOW - timedelta(minutes=5)))
    assert (dup.outcome, dup.name) == (Outcome.DUPLICATE, again.name)
    assert len([k for k in api.objects if k[0] == "incidents"]) == 2


async def test_two_replicas_racing_on_a_refire_create_one_occurrence(tmp_path: Path) -> None:
    api = FakeApiServer()
    one, two = make_store(tmp_path, api, "one"), make_store(tmp_path, api, "two")
    first = await one.create(alert(NOW - timedelta(hours=1)))
    resolve(api, first.name, NOW - timedelta(minutes=30))
    results = await asyncio.gather(*(store.create(alert(NOW - timedelta(minutes=1)))
                                     for store in (one, two, one, two)))
    assert sorted(r.outcome for r in results).count(Outcome.CREATED) == 1
    assert {r.name for r in results} == {f"{first.name}-r2"}
    assert len([k for k in api.objects if k[0] == "incidents"]) == 2


async def test_cache_does_not_hide_a_refire(tmp_path: Path) -> None:
    """The name is cached as existing; an alert that fired after it was seen open still asks the API server."""
    api = FakeApiServer()
    store = make_store(tmp_path, api)
    store.recent = RecentNames(10, 300.0)
    first = await store.create(alert(NOW - timedelta(hours=1)))
    resolve(api, first.name, NOW - timedelta(minutes=2))
    refired = await store.create(alert(NOW - timedelta(minutes=1)))
    assert (refired.outcome, refired.name) == (Outcome.CREATED, f"{first.name}-r2")


async def test_spooled_refire_is_replayed_as_a_new_occurrence(tmp_path: Path) -> None:
    api = FakeApiServer()
    store = make_store(tmp_path, api)
    first = await store.create(alert(NOW - timedelta(hours=1)))
    resolve(api, first.name, NOW - timedelta(minutes=30))
    api.down = True
    spooled = await store.create(alert(NOW - timedelta(minutes=1)))
    assert spooled.outcome is Outcome.SPOOLED
    api.down = False
    assert await store.replay_once() == 1
    assert ("incidents", "ns", f"{first.name}-r2") in api.objects


async def test_resolved_alert_is_recorded_on_the_newest_occurrence(tmp_path: Path) -> None:
    api = FakeApiServer()
    store = make_store(tmp_path, api)
    first = await store.create(alert(NOW - timedelta(hours=1)))
    resolve(api, first.name, NOW - timedelta(minutes=30))
    second = await store.create(alert(NOW - timedelta(minutes=10)))
    updates = Updates(api.client(), "ns", store.spool)
    assert await updates.record_resolved(first.name, NOW) == second.name
    body = await api.client().get(INCIDENTS, "ns", second.name)
    assert body["status"]["signals"]["alertResolvedTime"]
    assert "signals" not in api.objects[("incidents", "ns", first.name)]["status"]
