"""The playbook executor against a real local HTTP server standing in for a Logic App."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
from aiops_operator.api import IncidentSource, PlaybookCallback, RemediationAction
from aiops_operator.executors.factory import Executors
from aiops_operator.remediation import attempt_status
from aiops_operator.remediation.attempt_status import ProgressState

from tests.e2e.executors.conftest import make_attempt, make_incident


class LogicApp:
    def __init__(self, failures: int) -> None:
        self.failures = failures
        self.requests: list[tuple[dict[str, str], dict[str, Any]]] = []


@pytest.fixture
def logic_app() -> Iterator[tuple[LogicApp, str]]:
    app = LogicApp(failures=2)

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            length = int(self.headers.get("content-length") or 0)
            app.requests.append((dict(self.headers), json.loads(self.rfile.read(length))))
            if len(app.requests) <= app.failures:
                self.send_response(503)
                self.end_headers()
                return
            body = json.dumps({"runId": "logic-run-42"}).encode()
            self.send_response(202)
            self.send_header("content-type", "application/json")
            self.send_header("content-length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield app, f"http://127.0.0.1:{server.server_address[1]}/workflows/heal/triggers/manual?sig=s3cret"
    server.shutdown()
    server.server_close()


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
