"""Events: posted off the reconcile's path, and only a trickle of them while the operator is busy."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from typing import Any

from aiops_operator.api import HistoryEntry
from aiops_operator.events import EventRecorder, event_body

from tests.support.builders import incident

NOW = datetime(2026, 11, 23, 7, 0, tzinfo=UTC)


def entry(n: int) -> HistoryEntry:
    return HistoryEntry(time=NOW, action=f"Step{n}", message=f"step {n}")


class RecordingKube:
    def __init__(self) -> None:
        self.posted: list[dict[str, Any]] = []

    async def create(self, _rt: Any, _namespace: str, body: dict[str, Any]) -> dict[str, Any]:
        self.posted.append(body)
        return body


def test_event_names_are_deterministic_so_a_repost_is_a_conflict() -> None:
    first = event_body(incident(), entry(1), False, NOW)
    again = event_body(incident(), entry(1), False, NOW)
    other = event_body(incident(), entry(2), True, NOW)
    assert first["metadata"] == again["metadata"]
    assert first["metadata"] != other["metadata"]
    assert (first["type"], first["reason"], other["type"]) == ("Normal", "Step1", "Warning")


async def test_events_go_out_at_once_when_the_operator_is_idle() -> None:
    kube = RecordingKube()
    recorder = EventRecorder(kube, busy=lambda: False)  # type: ignore[arg-type]
    for n in range(20):
        await recorder.post(incident(), entry(n), warning=False, now=NOW)
    await asyncio.wait_for(recorder.flush(), 1.0)
    assert len(kube.posted) == 20
    await recorder.close()


async def test_while_busy_events_trickle_and_the_rest_follow_when_idle() -> None:
    kube = RecordingKube()
    busy = [True]
    clock = [0.0]
    recorder = EventRecorder(kube, busy=lambda: busy[0], busy_rate=2.0,  # type: ignore[arg-type]
                             clock=lambda: clock[0])
    for n in range(10):
        await recorder.post(incident(), entry(n), warning=False, now=NOW)
    await asyncio.sleep(0.05)
    assert len(kube.posted) == 1  # one slot at t=0, the next at t=0.5
    clock[0] = 0.5
    await asyncio.sleep(0.3)
    assert len(kube.posted) == 2
    assert recorder.pending == 8
    busy[0] = False
    await asyncio.wait_for(recorder.flush(), 1.0)
    assert sorted(e["reason"] for e in kube.posted) == sorted(f"Step{n}" for n in range(10))
    await recorder.close()
