from __future__ import annotations

from datetime import timedelta
from typing import Any

from aiops_operator.api import Incident
from aiops_operator.api.labels import ROOT_LABEL
from aiops_operator.correlation.index import WAKE_NEXT_MEMBERS, GroupIndex

from tests.support.builders import FIRED, incident

ROOT = "dbc-shared-etl-1"


def indexed(name: str, phase: str = "Remediating", *, root: str | None = None, rv: int = 10, seconds: int = 0,
            attempts: int = 0) -> Incident:
    status: dict[str, Any] = {"phase": phase}
    if attempts:
        status["remediation"] = {"attemptsMade": attempts, "maxAttempts": 2}
    inc = incident(**status)
    inc.metadata.name = name
    inc.metadata.uid = f"uid-{name}"
    inc.metadata.resource_version = str(rv)
    inc.spec.received_time = FIRED + timedelta(seconds=seconds)
    if root:
        inc.metadata.labels[ROOT_LABEL] = root
    return inc


def test_a_joining_member_wakes_its_root_and_is_listed() -> None:
    index = GroupIndex()
    index.put(indexed(ROOT))
    assert index.put(indexed("m1", root=ROOT)) == [ROOT]
    assert [p.name for p in index.members("ns", ROOT)] == ["m1"]


def test_the_root_changing_phase_wakes_its_members() -> None:
    index = GroupIndex()
    index.put(indexed(ROOT))
    for name in ("m2", "m1"):
        index.put(indexed(name, root=ROOT))
    assert index.put(indexed(ROOT, "Resolved", rv=11)) == ["m1", "m2"]


def test_a_finished_member_wakes_the_next_waiting_ones_not_all() -> None:
    index = GroupIndex()
    index.put(indexed(ROOT, "Resolved"))
    index.put(indexed("m-started", root=ROOT, attempts=1, seconds=-1))
    for i in range(WAKE_NEXT_MEMBERS + 5):
        index.put(indexed(f"m{i:02}", root=ROOT, seconds=i))
    woken = index.put(indexed("m-started", "Resolved", root=ROOT, attempts=1, seconds=-1, rv=12))
    assert woken[0] == ROOT
    assert woken[1:] == [f"m{i:02}" for i in range(WAKE_NEXT_MEMBERS)]


def test_an_older_version_is_ignored() -> None:
    index = GroupIndex()
    index.put(indexed(ROOT, "Resolved", rv=20))
    assert index.put(indexed(ROOT, "Remediating", rv=19)) == []
    peer = index.peer("ns", ROOT)
    assert peer is not None
    assert peer.phase is not None
    assert peer.phase.value == "Resolved"


def test_forgotten_members_leave_the_group() -> None:
    index = GroupIndex()
    index.put(indexed("m1", root=ROOT))
    index.forget("ns", "m1")
    assert index.members("ns", ROOT) == ()


def test_the_index_is_bounded_forgetting_finished_incidents_first() -> None:
    index = GroupIndex(max_entries=10)
    for i in range(10):
        index.put(indexed(f"done{i}", "Resolved"))
    index.put(indexed("open", "Remediating"))
    assert len(index) <= 10
    assert index.peer("ns", "open") is not None
