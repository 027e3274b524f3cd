"""The playbook executor against a real local HTTP server standing in for a Logic App."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime

import pytest
from aiops_operator.api import IncidentSource, PlaybookCallback, RemediationAction
from aiops_operator.remediation import attempt_status
from aiops_operator.remediation.attempt_status import ProgressState
from aiops_operator.remediation.executors.factory import Executors

from tests.e2e.executors.conftest import make_attempt, make_incident
from tests.support.logic_app import LogicApp, serve_logic_app


@pytest.fixture
def logic_app() -> Iterator[tuple[LogicApp, str]]:
    with serve_logic_app(LogicApp(failures=2, run_id=lambda n: "logic-run-42"),
                         path="/workflows/heal/triggers/manual?sig=s3cret") as app:
        yield app, app.url


def test_playbook_post_carries_the_callback_and_retries_5xx(
        executors: Executors, logic_app: tuple[LogicApp, str]) -> None:
    app, url = logic_app
    incident = make_incident(IncidentSource.AZURE_DATA_FACTORY, "ingest_sales", "run-77")
    attempt = make_attempt(incident, RemediationAction.CALL_PLAYBOOK, url=url, mode="full")
    run = executors.launch(incident, attempt)
    assert run.run_id == "logic-run-42"
    assert len(app.requests) == 3  # two 503s, then accepted
    headers, body = app.requests[-1]
    assert body["callback_url"] == "http://receiver.invalid/api/remediation-callback"
    assert (body["ticket_id"], body["attempt_number"]) == (incident.metadata.name, 1)
    assert body["parameters"] == {"mode": "full"}
    assert {h.lower(): v for h, v in headers.items()}["idempotency-key"] == attempt.spec.idempotency_key
    assert "s3cret" not in json.dumps(run.to_wire())

    running = attempt.model_copy(update={"status": attempt_status.launched(attempt, run, datetime.now(UTC))})
    assert executors.launch(incident, running) == running.status.external_run, "recorded launch is not repeated"
    assert len(app.requests) == 3
    assert executors.poll(incident, running).state is ProgressState.RUNNING
    callback = PlaybookCallback(status="Succeeded", success=True, remediation_run_id="adf-rerun-9",
                                received_time=datetime.now(UTC))
    done = running.model_copy(update={"status": running.status.model_copy(update={"callback": callback})})
    progress = executors.poll(incident, done)
    assert progress.state is ProgressState.SUCCEEDED
    assert "adf-rerun-9" in progress.detail
