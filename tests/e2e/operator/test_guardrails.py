"""Fleet guardrails end to end: launch budgets (exact across a SIGKILL between launch and record), a freeze
window that turns a launch into an approval request, and Observe, which launches nothing and is counted on
the policy. Real API server, the operator as a subprocess, the sandbox as ADF; launches are counted from the
sandbox's call log."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

from kubernetes import client

from sandbox.testing import RunningSandbox
from tests.e2e.conftest import Kubectl
from tests.e2e.operator.conftest import StartOperator, wait_for
from tests.e2e.operator.remediation_world import GATEWAY_TIMEOUT, Api, adf_incident, condition, policy, rule

PIPELINE = "pl_budget_sales"
RUN_IDS = [f"b0d9e700-0000-4000-8000-00000000000{i}" for i in range(1, 4)]
ALWAYS_OPEN = {"name": "month-end", "rrule": "FREQ=DAILY;BYHOUR=0;BYMINUTE=0;BYSECOND=0",
               "durationSeconds": 86400, "timeZone": "UTC", "mode": "Review"}
"""Opens every midnight for 24 h: open whenever the test runs, by construction."""


def scenario(pipeline: str, run_ids: list[str]) -> dict[str, Any]:
    return {
        "defaults": {"run_duration_seconds": 1},
        "adf": {
            "pipelines": {pipeline: {"activities": ["Copy_Data"], "runs": [{"status": "Succeeded"}]}},
            "seeded_runs": [{"run_id": r, "pipeline": pipeline, "status": "Failed", "failed_activity": "Copy_Data",
                             "message": GATEWAY_TIMEOUT} for r in run_ids],
        },
    }


def reruns(sandbox: RunningSandbox, pipeline: str) -> int:
    return len([c for c in sandbox.control.calls(service="adf", op="createRun")
                if c["status"] in (200, 201) and pipeline in c["path"]])


def guarded_policy(name: str, **spec: Any) -> dict[str, Any]:
    body = policy(name, [rule("gateway-timeout", "GatewayTimeout", "RerunPipeline", [1], 1)])
    body["spec"].update(spec)
    return body


def test_the_third_launch_in_the_window_escalates_and_the_count_survives_a_sigkill(
    sandbox: RunningSandbox, start_operator: StartOperator, custom_api: client.CustomObjectsApi, namespace: str,
    kubectl: Kubectl, tmp_path: Path,
) -> None:
    sandbox.control.load(scenario(PIPELINE, RUN_IDS))
    api = Api(custom_api, namespace)
    api.create("remediationpolicies", guarded_policy(
        "budgeted", budgets={"perTarget": {"maxLaunches": 2, "windowSeconds": 3600}}))
    marker = tmp_path / "crash"
    # Killed once per incident right after the ADF run started and before the attempt records it.
    op = start_operator(AIOPS_RCA_CRASH_AT="after-launch", AIOPS_RCA_CRASH_MARKER=str(marker),
                        REMEDIATION_POLL_SECONDS="1", POLICY_STATS_SECONDS="1")
    subscription = sandbox.endpoints.credentials.azure_subscription_id
    names = []
    for run_id in RUN_IDS:  # one after the other, so the budget is spent in a known order
        names.append(api.create("incidents", adf_incident(PIPELINE, run_id, GATEWAY_TIMEOUT, subscription)))
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline:
            if op.proc is not None and (code := op.proc.poll()) is not None:
                assert code == -9, op.log_tail()
                op.start()
            if api.incident(names[-1]).get("status", {}).get("phase") in ("Resolved", "Escalated"):
                break
            time.sleep(0.3)
    kills = len(list(tmp_path.glob("crash.*")))
    assert kills == 2, f"the hook fired {kills} times (once per launch expected)\n{op.log_tail()}"

    first, second, third = (api.incident(n) for n in names)
    assert first["status"]["phase"] == "Resolved"
    assert second["status"]["phase"] == "Resolved", (condition(second, "Escalated"), api.attempts(names[1]))
    assert third["status"]["phase"] == "Escalated", third["status"]
    escalated = condition(third, "Escalated")
    assert escalated["reason"] == "BudgetExhausted"
    assert "2 of 2 launches per target used in the budget window; the next launch is allowed after" \
        in escalated["message"]
    assert api.attempts(names[2]) == []
    # Exact despite two SIGKILLs between launch and record: two runs, no more.
    assert reruns(sandbox, PIPELINE) == 2

    # The policy shows the circuit breaker, in `kubectl get rp` too.
    def breaker(status: str) -> dict[str, Any] | None:
        found = condition(api.get("remediationpolicies", "budgeted"), "BudgetExhausted")
        return found if found.get("status") == status else None

    opened = wait_for(lambda: breaker("True"), 30, "BudgetExhausted=True on the policy", op)
    assert "kubectl annotate rp budgeted" in opened["message"]
    table = kubectl("get", "rp", "budgeted", "-n", namespace).stdout
    assert "BUDGET EXHAUSTED" in table.splitlines()[0]
    assert "True" in table.splitlines()[1]

    # One kubectl command resets it.
    kubectl("annotate", "rp", "budgeted", "-n", namespace,
            f"aiops-rca.io/budget-reset={time.strftime('%Y-%m-%dT%H:%M:%SZ', time.gmtime(time.time() + 1))}",
            "--overwrite")
    wait_for(lambda: breaker("False"), 30, "BudgetExhausted=False after the reset", op)


def test_a_freeze_window_turns_the_launch_into_an_approval_request(
    sandbox: RunningSandbox, start_operator: StartOperator, custom_api: client.CustomObjectsApi, namespace: str,
    kubectl: Kubectl,
) -> None:
    pipeline, run_id = "pl_frozen_sales", "f0e1e700-0000-4000-8000-000000000001"
    sandbox.control.load(scenario(pipeline, [run_id]))
    api = Api(custom_api, namespace)
    api.create("remediationpolicies", guarded_policy("frozen", freezeWindows=[ALWAYS_OPEN]))
    op = start_operator(REMEDIATION_POLL_SECONDS="1")
    name = api.create("incidents", adf_incident(pipeline, run_id, GATEWAY_TIMEOUT,
                                                sandbox.endpoints.credentials.azure_subscription_id))

    def waiting() -> dict[str, Any] | None:
        found = condition(api.incident(name), "Remediated")
        return found if found.get("reason") == "AwaitingApproval" else None

    asked = wait_for(waiting, 60, "an approval request", op)
    attempt = api.attempts(name)[0]
    assert "freeze window month-end is open until" in asked["message"], attempt["spec"]
    assert attempt["spec"]["approvalRequired"] is True
    assert attempt["status"]["phase"] == "AwaitingApproval"
    time.sleep(2)
    assert reruns(sandbox, pipeline) == 0  # held back

    kubectl("annotate", "remediationattempt", attempt["metadata"]["name"], "-n", namespace,
            "aiops-rca.io/approval=approved")
    healed = api.wait_phase(name, {"Resolved"}, op)
    assert healed["status"]["resolution"]["resolvedBy"] == "AutoHeal"
    assert reruns(sandbox, pipeline) == 1


def test_observe_launches_nothing_and_counts_what_would_have_launched(
    sandbox: RunningSandbox, start_operator: StartOperator, custom_api: client.CustomObjectsApi, namespace: str,
) -> None:
    pipeline = "pl_observed_sales"
    run_ids = ["0b5e7e00-0000-4000-8000-000000000001", "0b5e7e00-0000-4000-8000-000000000002"]
    sandbox.control.load(scenario(pipeline, run_ids))
    api = Api(custom_api, namespace)
    api.create("remediationpolicies", guarded_policy("trial", mode="Observe"))
    op = start_operator(REMEDIATION_POLL_SECONDS="1", POLICY_STATS_SECONDS="1")
    subscription = sandbox.endpoints.credentials.azure_subscription_id
    names = [api.create("incidents", adf_incident(pipeline, r, GATEWAY_TIMEOUT, subscription)) for r in run_ids]
    for name in names:
        inc = api.wait_phase(name, {"Escalated", "Resolved"}, op)
        escalated = condition(inc, "Escalated")
        assert escalated["reason"] == "Observed", inc["status"]
        assert "the policy runs in mode Observe" in escalated["message"]
        assert "Would have:" in escalated["message"]
        [attempt] = api.attempts(name)
        assert attempt["status"]["phase"] == "Skipped"
        assert attempt["status"]["wouldHaveDone"]
    assert reruns(sandbox, pipeline) == 0

    def counted() -> dict[str, Any] | None:
        rules = api.get("remediationpolicies", "trial").get("status", {}).get("rules", [])
        return rules[0] if rules and rules[0].get("wouldHaveLaunched") == 2 else None

    stats = wait_for(counted, 30, "wouldHaveLaunched=2 on the policy", op)
    assert stats["attempted"] == 0
    assert stats["matched"] == 2
