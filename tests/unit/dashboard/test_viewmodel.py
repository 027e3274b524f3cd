"""The dashboard's view model: sorting, counts, MTTR percentiles, filtering, CSV, audit."""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from aiops_operator.api import Incident, RemediationAttempt

from dashboard import viewmodel as vm
from devtools.samples import owned, sample_incident, sample_storm

NOW = datetime(2026, 11, 23, 12, 0, tzinfo=UTC)
T = NOW.timestamp()


def rec(name: str = "inc", **kw: object) -> vm.IncidentRecord:
    return vm.IncidentRecord(namespace=str(kw.pop("namespace", "ns")), name=name, **kw)  # type: ignore[arg-type]


def att(phase: str, incident: str = "inc", n: int = 1) -> vm.AttemptRecord:
    return vm.AttemptRecord(namespace="ns", name=f"{incident}-{n}", incident=incident, attempt=n, phase=phase)


@pytest.mark.parametrize(
    ("records", "expected"),
    [
        pytest.param(
            [rec("b", priority="P2"), rec("a", priority="P1")], ["a", "b"], id="priority-first"
        ),
        pytest.param(
            [rec("b", priority="P1", severity="High"), rec("a", priority="P1", severity="Critical")],
            ["a", "b"],
            id="then-severity",
        ),
        pytest.param(
            [
                rec("new", priority="P1", severity="High", fired=T),
                rec("old", priority="P1", severity="High", fired=T - 60),
            ],
            ["old", "new"],
            id="then-oldest-first",
        ),
        pytest.param(
            [rec("unanalyzed"), rec("p4", priority="P4", severity="Low")], ["p4", "unanalyzed"], id="unranked-last"
        ),
    ],
)
def test_sort_order(records: list[vm.IncidentRecord], expected: list[str]) -> None:
    assert [r.name for r in vm.view(records, vm.Filter())] == expected


@pytest.mark.parametrize(
    ("f", "expected"),
    [
        pytest.param(vm.Filter(), {"a", "b", "c"}, id="empty-matches-all"),
        pytest.param(vm.Filter(text="SALES"), {"a"}, id="pipeline-case-insensitive"),
        pytest.param(vm.Filter(text="failover"), {"b"}, id="root-cause"),
        pytest.param(vm.Filter(text="data-7"), {"c"}, id="jira-key"),
        pytest.param(vm.Filter(text="dbj churn"), {"c"}, id="all-words"),
        pytest.param(vm.Filter(text="dbj sales"), set(), id="all-words-must-match"),
        pytest.param(vm.Filter(source="DatabricksJob"), {"c"}, id="source"),
        pytest.param(vm.Filter(error_type="GatewayTimeout"), {"a", "b"}, id="error-type"),
        pytest.param(vm.Filter(severity="High", team="ml"), {"c"}, id="severity-and-team"),
        pytest.param(vm.Filter(namespace="other"), {"b"}, id="namespace"),
        pytest.param(vm.Filter(phase="Resolved"), {"a"}, id="phase"),
        pytest.param(vm.Filter(phase=vm.OPEN), {"b", "c"}, id="open-means-not-resolved"),
        pytest.param(vm.Filter(phase=vm.OPEN, namespace="other"), {"b"}, id="open-and-namespace"),
    ],
)
def test_filter(f: vm.Filter, expected: set[str]) -> None:
    records = [
        rec("a", pipeline="pl_copy_sales", source="AzureDataFactory", error_type="GatewayTimeout", phase="Resolved"),
        rec("b", namespace="other", source="AzureDataFactory", error_type="GatewayTimeout", root_cause="DB failover"),
        rec("dbj-churn", source="DatabricksJob", severity="High", team="ml", jira_key="DATA-7"),
    ]
    assert {("c" if r.name == "dbj-churn" else r.name) for r in records if vm.matches(r, f)} == expected


def test_filter_from_query() -> None:
    f = vm.Filter.from_query({"q": "x", "phase": "Escalated", "errorType": "UnknownError", "team": "t"})
    assert f == vm.Filter(text="x", phase="Escalated", error_type="UnknownError", team="t")


@pytest.mark.parametrize(
    ("values", "p", "expected"),
    [
        pytest.param([], 50, None, id="empty"),
        pytest.param([7], 90, 7, id="single"),
        pytest.param([1, 2, 3, 4], 50, 2, id="nearest-rank-median-even"),
        pytest.param([5, 1, 3], 50, 3, id="unsorted-input"),
        pytest.param(list(range(1, 11)), 90, 9, id="p90-of-ten"),
        pytest.param(list(range(1, 101)), 90, 90, id="p90-of-hundred"),
        pytest.param([1, 2], 100, 2, id="max"),
    ],
)
def test_percentile(values: list[float], p: float, expected: float | None) -> None:
    assert vm.percentile(values, p) == expected


@pytest.mark.parametrize(
    ("record", "attempts", "expected"),
    [
        pytest.param(rec(phase="Remediating", attempts_made=1), [att("Running")], ["Auto-healing"], id="healing"),
        pytest.param(
            rec(phase="Remediating", attempts_made=1), [att("AwaitingApproval")], ["Awaiting approval"], id="waiting"
        ),
        pytest.param(rec(phase="Resolved", resolved_by="AutoHeal"), [], ["Auto-remediated"], id="auto-remediated"),
        pytest.param(rec(phase="Resolved", resolved_by="Jira"), [], [], id="resolved-by-human"),
        pytest.param(rec(phase="Escalated"), [], ["Escalated"], id="escalated"),
        pytest.param(rec(phase="Analyzing"), [], [], id="analyzing"),
    ],
)
def test_badges(record: vm.IncidentRecord, attempts: list[vm.AttemptRecord], expected: list[str]) -> None:
    assert vm.badges(record, attempts) == expected


@pytest.mark.parametrize(
    ("record", "expected"),
    [
        pytest.param(rec(sla_state="Met", sla_deadline=T - 10), "Met", id="met-stays-met"),
        pytest.param(rec(sla_state="Pending", sla_deadline=T - 1), "Breached", id="pending-past-deadline"),
        pytest.param(rec(sla_state="Pending", sla_deadline=T + 1), "Pending", id="pending"),
        pytest.param(rec(sla_state="Pending", sla_deadline=T), "Pending", id="at-the-deadline-still-in-time"),
        pytest.param(rec(), "", id="no-sla"),
    ],
)
def test_sla_state(record: vm.IncidentRecord, expected: str) -> None:
    assert vm.sla_state(record, T) == expected


def test_overview_counts_rates_and_charts() -> None:
    records = [
        rec("a", phase="Resolved", resolved_by="AutoHeal", attempts_made=1, mttr_seconds=100, resolved=T - 10,
            fired=T - 110, error_type="GatewayTimeout", sla_state="Met"),
        rec("b", phase="Resolved", resolved_by="AutoHeal", attempts_made=2, mttr_seconds=300, resolved=T - 7200,
            fired=T - 7500, error_type="GatewayTimeout", sla_state="Breached"),
        rec("c", phase="Escalated", attempts_made=3, fired=T - 50, error_type="ThrottlingError"),
        rec("d", phase="Resolved", resolved_by="Jira", mttr_seconds=900, fired=T - 40 * 3600),
        rec("e", phase="Remediating", attempts_made=1, sla_state="Pending", sla_deadline=T - 1, fired=T - 5),
        rec("f", phase="Analyzing"),
    ]  # fmt: skip
    o = vm.overview(records, {("ns", "e")}, T)
    assert o.total == 6
    assert o.phases == {"Analyzing": 1, "Remediating": 1, "Monitoring": 0, "Resolved": 3, "Escalated": 1}
    assert o.awaiting_approval == 1
    assert (o.auto_remediated, o.remediation_finished) == (2, 3)
    assert o.success_rate == pytest.approx(2 / 3)
    assert (o.mttr_p50, o.mttr_p90) == (300, 900)
    assert (o.sla_met, o.sla_breached, o.sla_pending) == (1, 2, 0)
    # The last bucket is the current hour (12:00-13:00); a resolved at 11:59:50, b at 10:00:00.
    assert o.mttr_trend[-1] is None
    assert o.mttr_trend[-2] == 100
    assert o.mttr_trend[-3] == 300
    assert sum(o.by_error_type["GatewayTimeout"]) == 2
    assert sum(o.by_error_type["ThrottlingError"]) == 1
    assert "Resolved" not in o.by_error_type
    assert sum(sum(v) for v in o.by_error_type.values()) == 4  # d is older than 24 h, f has no time
    data = o.to_json()
    assert data["successRate"] == pytest.approx(2 / 3)
    assert len(data["chart"]["mttrTrend"]) == vm.CHART_BUCKETS


def test_top_error_types_fold_into_other() -> None:
    records = [rec(f"i{i}", error_type=f"Type{i}", fired=T - 10) for i in range(vm.CHART_TOP_ERROR_TYPES + 2)]
    o = vm.overview(records, set(), T)
    assert len(o.by_error_type) == vm.CHART_TOP_ERROR_TYPES + 1
    assert sum(o.by_error_type[vm.OTHER]) == 2


def test_csv_has_header_quotes_and_neutralizes_formulas() -> None:
    records = [
        rec("a", root_cause='=HYPERLINK("http://evil")', pipeline="pl, with comma", sla_deadline=T, fired=T - 60),
        rec("b", root_cause='line1\nline2 "quoted"'),
    ]
    text = vm.incidents_csv(records, T + 1)  # a second past the deadline: breached
    rows = list(csv.reader(io.StringIO(text)))
    assert rows[0] == list(vm.INCIDENT_CSV_COLUMNS)
    assert rows[1][rows[0].index("rootCause")] == "'=HYPERLINK(\"http://evil\")"
    assert rows[1][rows[0].index("pipeline")] == "pl, with comma"
    assert rows[1][rows[0].index("slaDeadline")] == "2026-11-23T12:00:00Z"
    assert rows[1][rows[0].index("slaState")] == "Breached"
    assert rows[2][rows[0].index("rootCause")] == 'line1\nline2 "quoted"'


def test_audit_newest_first_filtered() -> None:
    history = (
        vm.HistoryItem(T - 30, "AlertReceived", "Alert for pl_a.", ""),
        vm.HistoryItem(T - 10, "AttemptApproved", "Attempt 1 approved.", "alice"),
    )
    records = [rec("a", history=history), rec("b", history=(vm.HistoryItem(T - 20, "AlertReceived", "x", ""),))]
    assert [(e.incident, e.action) for e in vm.audit(records)] == [
        ("a", "AttemptApproved"), ("b", "AlertReceived"), ("a", "AlertReceived"),
    ]  # fmt: skip
    assert [e.incident for e in vm.audit(records, action="AlertReceived")] == ["b", "a"]
    assert [e.action for e in vm.audit(records, text="ALICE")] == ["AttemptApproved"]
    assert len(vm.audit(records, limit=1)) == 1
    assert vm.audit_actions(records) == ["AlertReceived", "AttemptApproved"]
    rows = list(csv.reader(io.StringIO(vm.audit_csv(vm.audit(records)))))
    assert rows[0][0] == "time"
    assert rows[1][5] == "alice"


def test_parse_sample_objects_and_detail() -> None:
    sample = sample_incident(3, NOW, phase="Remediating", awaiting_approval=True)
    body = {**sample.body, "metadata": {**sample.body["metadata"], "namespace": "ns", "resourceVersion": "7"}}
    body["status"] = sample.status
    Incident.model_validate(body)  # the samples follow the API models
    record = vm.parse_incident(body)
    attempts = []
    for a_body, a_status in sample.attempts:
        a = owned(a_body, sample.name, "uid-1")
        a = {**a, "metadata": {**a["metadata"], "namespace": "ns"}, "status": a_status}
        RemediationAttempt.model_validate(a)
        attempts.append(vm.parse_attempt(a))
    assert record.phase == "Remediating"
    assert record.priority
    assert record.team
    assert record.jira_key
    detail = vm.incident_detail(record, attempts)
    waiting = [a for a in detail["attempts"] if a["phase"] == "AwaitingApproval"]
    assert waiting
    assert waiting[0]["approveCommand"] == (
        f"kubectl annotate remediationattempt {waiting[0]['name']} -n ns aiops-rca.io/approval=approved"
    )
    assert "Awaiting approval" in detail["badges"]


def test_parse_is_lenient() -> None:
    record = vm.parse_incident({"metadata": {"name": "x", "namespace": "n"}, "status": {"phase": "FutureThing",
                                "analysis": "not-a-dict", "history": [{"time": "garbage", "action": 5}]}})  # fmt: skip
    assert record.phase == "FutureThing"
    assert record.history[0].time is None
    assert record.history[0].action == ""
    orphan = {"metadata": {"name": "a", "ownerReferences": [{"kind": "Incident", "name": "x"}]}}
    assert vm.parse_attempt(orphan).incident == "x"


def test_sample_ages_spread_over_a_day() -> None:
    times = [sample_incident(i, NOW).body["spec"]["alert"]["firedTime"] for i in range(50)]
    parsed = [datetime.fromisoformat(t.replace("Z", "+00:00")) for t in times]
    assert min(parsed) >= NOW - timedelta(days=1)
    assert max(parsed) < NOW


def test_policy_summary_names_what_stops_healing() -> None:
    policies = [
        vm.PolicyRecord("ns", "default", enabled=True, ready="True"),
        vm.PolicyRecord("ns", "frozen", enabled=False, ready="True"),
        vm.PolicyRecord("ns", "broken", ready="False"),
    ]
    assert vm.policy_summary(policies) == {
        "total": 3, "ready": 2, "disabled": ["ns/frozen"], "notReady": ["ns/broken"],
    }  # fmt: skip


def test_the_detail_shows_the_refire_and_the_recurrence_and_survives_a_malformed_record() -> None:
    sample = sample_incident(1, NOW, phase="Escalated")
    obj = {**sample.body, "status": sample.status}
    obj["spec"].update(occurrence=2, previousIncidentRef="rec-0")
    obj["status"]["recurrence"] = {"count": 2, "autoHealed": 2, "healedBy": [{"action": "RerunPipeline", "count": 2}],
                                   "previous": "rec-0"}
    obj["status"]["analysis"]["errorType"] = "GatewayTimeout"
    detail = vm.incident_detail(vm.parse_incident(obj), [])
    assert detail["previousIncident"] == "rec-0"
    assert detail["recurrences"] == 2
    assert detail["lineage"][0] == "Re-fired after rec-0 was resolved (occurrence 2 of this run)."
    assert detail["lineage"][1] == ("Recurring: 3rd GatewayTimeout failure in 30 days (2 auto-healed"
                                    " (RerunPipeline 2x)); previous: rec-0.")
    obj["status"]["recurrence"] = {"count": "many"}
    assert vm.incident_detail(vm.parse_incident(obj), [])["recurrences"] == 0


# ---- groups ----------------------------------------------------------------------------------


def member(name: str, root: str = "root", **kw: object) -> vm.IncidentRecord:
    return rec(name, role=vm.ROLE_MEMBER, root=root, **kw)


@pytest.mark.parametrize(
    ("records", "expected"),
    [
        pytest.param([rec("a"), rec("b")], [("a", []), ("b", [])], id="no-groups"),
        pytest.param(
            [rec("root", role=vm.ROLE_ROOT, priority="P2"), member("m2", priority="P3"), member("m1", priority="P2")],
            [("root", ["m1", "m2"])],
            id="members-under-their-root-in-display-order",
        ),
        pytest.param(
            [member("m1"), rec("other", priority="P1")],
            [("other", []), ("m1", [])],
            id="root-not-in-view-member-stands-alone",
        ),
        pytest.param(
            [rec("root", role=vm.ROLE_ROOT), member("m1", priority="P1"), rec("p3", priority="P3")],
            [("root", ["m1"]), ("p3", [])],
            id="group-ranks-by-its-most-urgent-incident",
        ),
        pytest.param(
            [rec("root", role=vm.ROLE_ROOT), member("m1", namespace="other")],
            [("root", []), ("m1", [])],
            id="roots-are-per-namespace",
        ),
        pytest.param(
            [rec("r1", role=vm.ROLE_ROOT, priority="P1"), rec("r2", role=vm.ROLE_ROOT, priority="P2"),
             member("a", root="r2"), member("b", root="r1")],
            [("r1", ["b"]), ("r2", ["a"])],
            id="two-groups",
        ),
    ],
)
def test_grouped(records: list[vm.IncidentRecord], expected: list[tuple[str, list[str]]]) -> None:
    groups = vm.grouped(vm.view(records, vm.Filter()))
    assert [(g.head.name, [m.name for m in g.members]) for g in groups] == expected


def test_grouped_rows_follow_their_root_in_the_csv() -> None:
    records = [rec("root", role=vm.ROLE_ROOT, priority="P2"), rec("lone", priority="P1"), member("m", priority="P4")]
    rows = list(csv.DictReader(io.StringIO(vm.incidents_csv(vm.in_group_order(vm.view(records, vm.Filter())), T))))
    assert [(r["name"], r["role"], r["root"]) for r in rows] == [
        ("lone", "", ""), ("root", "Root", ""), ("m", "Member", "root"),
    ]  # fmt: skip


@pytest.mark.parametrize(
    ("obj", "role", "root", "count", "dependency"),
    [
        pytest.param({"status": {"correlation": {"role": "Member", "root": {"name": "r", "reason": "Storm"}}}},
                     "Member", "r", 0, "", id="member-from-status"),
        pytest.param({"metadata": {"labels": {"aiops-rca.io/root": "r"}}}, "Member", "r", 0, "",
                     id="member-from-its-label-before-status"),
        pytest.param({"metadata": {"labels": {"aiops-rca.io/storm-root": "true"}}}, "Root", "", 0, "",
                     id="storm-root-from-its-label"),
        pytest.param({"status": {"correlation": {"role": "Root", "memberCount": 300, "members": [{"name": "m"}],
                                                 "dependency": {"kind": "IntegrationRuntime", "name": "ir-1"}}}},
                     "Root", "", 300, "IntegrationRuntime ir-1", id="root-counts-all-lists-some"),
        pytest.param({"status": {"correlation": {"role": "Root", "members": [{"name": "a"}, {"name": "b"}]}}},
                     "Root", "", 2, "", id="count-never-below-the-list"),
        pytest.param({"status": {"correlation": "junk"}}, "", "", 0, "", id="lenient"),
    ],
)
def test_parse_group(obj: dict[str, Any], role: str, root: str, count: int, dependency: str) -> None:
    meta = {"name": "x", "namespace": "n", **obj.get("metadata", {})}
    record = vm.parse_incident({**obj, "metadata": meta})
    assert (record.role, record.root, record.member_count, record.dependency) == (role, root, count, dependency)
    row = vm.incident_row(record, [])
    assert (row["role"], row["root"], row["memberCount"]) == (role, root, count)


def test_sample_storm_follows_the_api_and_groups() -> None:
    samples = sample_storm(NOW, 60)
    records = []
    for s in samples:
        body = {**s.body, "metadata": {**s.body["metadata"], "namespace": "ns"}, "status": s.status}
        Incident.model_validate(body)
        records.append(vm.parse_incident(body))
    [group] = vm.grouped(vm.view(records, vm.Filter()))
    assert group.head.name == samples[0].name
    assert len(group.members) == 60
    assert group.head.member_count == 60
    detail = vm.incident_detail(group.head, [])
    assert len(detail["members"]) == 50  # bounded by the operator; the count says how many there are
    assert detail["dependency"] == "IntegrationRuntime ir-shared-weu"
