from __future__ import annotations

from typing import Any

import pytest
from aiops_operator.enrichment.databricks import build_error_text, trace_excerpt


def task(key: str, run_id: int, result: str = "FAILED", state_message: str | None = None,
         termination: str | None = None, code: str | None = None) -> dict[str, Any]:
    t: dict[str, Any] = {"task_key": key, "run_id": run_id, "state": {"result_state": result}}
    if state_message:
        t["state"]["state_message"] = state_message
    if termination or code:
        t["status"] = {"termination_details": {"message": termination, "code": code, "type": "CLIENT_ERROR"}}
    return t


def run(*tasks: dict[str, Any], state_message: str | None = None) -> dict[str, Any]:
    return {"run_id": 1, "tasks": list(tasks), "state": {"result_state": "FAILED",
                                                         "state_message": state_message}}


@pytest.mark.parametrize(("the_run", "outputs", "expected"), [
    pytest.param(run(task("ingest", 11, "SUCCESS"), task("validate", 12)),
                 {"12": {"error": "FileNotFoundError: no such file", "error_trace": "Traceback\n  x\nFileNotFound"}},
                 ("[Task: validate] FileNotFoundError: no such file\nTraceback\n  x\nFileNotFound", "FAILED",
                  "validate"), id="output-error-with-trace"),
    pytest.param(run(task("validate", 12, termination="Exception: bad input", code="RUN_EXECUTION_ERROR",
                          state_message="Task failed")), {},
                 ("[Task: validate] Exception: bad input", "RUN_EXECUTION_ERROR", "validate"),
                 id="termination-message-before-state-message"),
    pytest.param(run(task("validate", 12, state_message="Task validate failed with message: oops")), {"12": {}},
                 ("[Task: validate] Task validate failed with message: oops", "FAILED", "validate"),
                 id="state-message"),
    pytest.param(run(task("ingest", 11, "SUCCESS"), state_message="Cluster terminated: DRIVER_UNREACHABLE"), {},
                 ("Cluster terminated: DRIVER_UNREACHABLE", "FAILED", None), id="job-state-message-last"),
    pytest.param(run(task("a", 11), task("b", 12, "UPSTREAM_FAILED", state_message="upstream")),
                 {"11": {"error": "ValueError: x"}}, ("[Task: a] ValueError: x", "FAILED", "a"),
                 id="upstream-failed-is-not-a-cause"),
    pytest.param(run(task("a", 11), task("b", 12)), {"11": {"error": "E1"}, "12": {"error": "E2"}},
                 ("[Task: a] E1\n[Task: b] E2", "FAILED", "a"), id="every-failed-task-named"),
])
def test_error_text_by_priority(the_run: dict[str, Any], outputs: dict[str, Any],
                                expected: tuple[str | None, str | None, str | None]) -> None:
    assert build_error_text(the_run, outputs) == expected


def test_trace_excerpt_keeps_the_innermost_lines() -> None:
    trace = "\n".join(f"line {i}" for i in range(100))
    assert trace_excerpt(trace).splitlines() == [f"line {i}" for i in range(92, 100)]
    assert trace_excerpt(None) == ""
