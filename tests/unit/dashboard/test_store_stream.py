"""The in-memory store's change feed and the SSE broadcaster's catch-up."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import pytest

from dashboard.store import ATTEMPT, INCIDENT, Store
from dashboard.stream import Broadcaster
from devtools.samples import owned, sample_incident
from tests.support.builders import watched_incident

NOW = datetime(2026, 11, 23, 12, 0, tzinfo=UTC)


def attempt(i: int, rv: str, phase: str) -> dict[str, Any]:
    s = sample_incident(i, NOW, phase="Remediating")
    body = owned(s.attempts[0][0], s.name, "uid")
    meta = {**body["metadata"], "namespace": "ns", "resourceVersion": rv}
    return {**body, "metadata": meta, "status": {"phase": phase}}


def test_changes_only_when_the_card_changes() -> None:
    store = Store()
    first = store.apply(INCIDENT, "ADDED", watched_incident(1, "1"))
    assert len(first.upserted) == 1
    assert not store.apply(INCIDENT, "MODIFIED", watched_incident(1, "1")), "same resourceVersion: nothing to push"
    moved = store.apply(INCIDENT, "MODIFIED", watched_incident(1, "2", phase="Resolved"))
    (card,) = [json.loads(c) for c in moved.upserted.values()]
    assert card["phase"] == "Resolved"
    gone = store.apply(INCIDENT, "DELETED", watched_incident(1, "3"))
    assert gone.deleted == {("ns", sample_incident(1, NOW).name)}
    assert not store.incidents


def test_attempt_changes_update_the_incident_card() -> None:
    store = Store()
    store.apply(INCIDENT, "ADDED", watched_incident(3, "1"))
    changes = store.apply(ATTEMPT, "ADDED", attempt(3, "5", "AwaitingApproval"))
    (card,) = [json.loads(c) for c in changes.upserted.values()]
    assert "Awaiting approval" in card["badges"]
    assert card["rv"] == "1.5"
    assert store.awaiting_approval() == {("ns", sample_incident(3, NOW).name)}
    changes = store.apply(ATTEMPT, "MODIFIED", attempt(3, "6", "Running"))
    (card,) = [json.loads(c) for c in changes.upserted.values()]
    assert "Auto-healing" in card["badges"]


def test_attempt_before_its_incident() -> None:
    store = Store()
    assert not store.apply(ATTEMPT, "ADDED", attempt(3, "5", "Running"))
    changes = store.apply(INCIDENT, "ADDED", watched_incident(3, "1"))
    (card,) = [json.loads(c) for c in changes.upserted.values()]
    assert card["attemptsMade"] >= 1


def test_relist_drops_what_is_gone_in_its_namespace_only() -> None:
    store = Store()
    store.upsert_many(INCIDENT, [watched_incident(1, "1"), watched_incident(2, "1"),
                                 watched_incident(4, "1", ns="other")])
    _, seen = store.upsert_many(INCIDENT, [watched_incident(1, "1")])
    changes = store.drop_missing(INCIDENT, "ns", seen)
    assert changes.deleted == {("ns", sample_incident(2, NOW).name)}
    assert len(store.incidents) == 2
    payload = json.loads(changes.to_json())
    assert payload == {"upsert": [], "delete": [f"ns/{sample_incident(2, NOW).name}"]}
    assert json.loads(store.cards_json())[0]["key"]


def test_catch_up_replays_missed_events() -> None:
    b = Broadcaster(epoch="e1")
    b.publish("delta", '{"n":1}')
    mark = b.last_id
    b.publish("delta", '{"n":2}')
    b.publish("overview", "{}", replayable=False)
    b.publish("delta", '{"n":3}')
    missed = b.catch_up(mark)
    assert missed is not None
    assert [m.split("data: ")[1].strip() for m in missed] == ['{"n":2}', '{"n":3}']
    assert b.catch_up(b.last_id) == []


@pytest.mark.parametrize(
    "last_id",
    [
        pytest.param(None, id="first-connect"),
        pytest.param("other-1", id="another-server-process"),
        pytest.param("e1-999", id="from-the-future"),
        pytest.param("e1-x", id="garbage"),
    ],
)
def test_catch_up_needs_snapshot(last_id: str | None) -> None:
    b = Broadcaster(epoch="e1")
    b.publish("delta", "{}")
    assert b.catch_up(last_id) is None


def test_replay_buffer_bounded_in_bytes() -> None:
    b = Broadcaster(epoch="e1", replay_bytes=200)
    b.publish("delta", "x" * 50)
    mark = b.last_id
    for _ in range(10):
        b.publish("delta", "y" * 50)
    assert b.catch_up(mark) is None, "overrun: the browser gets a snapshot"
    assert b.catch_up(f"e1-{b.seq - 1}") is not None


async def test_slow_subscriber_is_disconnected() -> None:
    b = Broadcaster(epoch="e1", queue_frames=2)
    slow = b.subscribe()
    for _ in range(3):
        b.publish("delta", "{}")
    assert slow.closed
    assert slow not in b.subscribers
    assert await slow.next_frames(0.01) is None


async def test_subscriber_receives_frames() -> None:
    b = Broadcaster(epoch="e1")
    sub = b.subscribe()
    b.publish("delta", '{"a":1}')
    frames = await sub.next_frames(0.1)
    assert frames == ['id: e1-1\nevent: delta\ndata: {"a":1}\n\n']
    assert await sub.next_frames(0.01) == []
    b.disconnect_all()
    assert await sub.next_frames(0.01) is None
