from __future__ import annotations

from typing import Any

import pytest
from aiops_operator.enrichment.adf import activity_error, failing_activity


def act(name: str, status: str, start: str, kind: str = "Copy", code: str | None = None,
        message: str | None = None) -> dict[str, Any]:
    return {"activityName": name, "activityType": kind, "status": status, "activityRunStart": start,
            "error": {"errorCode": code, "message": message, "failureType": "UserError"} if code else {}}


@pytest.mark.parametrize(("runs", "expected"), [
    pytest.param([], None, id="no-runs"),
    pytest.param([act("Lookup", "Succeeded", "1")], None, id="nothing-failed"),
    pytest.param([act("Lookup", "Succeeded", "1"), act("Copy", "Failed", "2", code="2200", message="timeout")],
                 ("Copy", "2200", "timeout"), id="the-failed-one"),
    pytest.param([act("Run child", "Failed", "1", kind="ExecutePipeline", code="2011", message="wrapper"),
                  act("Copy", "Failed", "2", code="2200", message="inner")],
                 ("Copy", "2200", "inner"), id="container-wraps-inner-cause"),
    pytest.param([act("B", "Failed", "3", code="1", message="later"), act("A", "Failed", "2", code="2",
                                                                          message="first")],
                 ("A", "2", "first"), id="earliest-failure"),
])
def test_failing_activity(runs: list[dict[str, Any]], expected: tuple[str, str, str] | None) -> None:
    found = failing_activity(runs)
    assert (activity_error(found) if found else None) == expected
