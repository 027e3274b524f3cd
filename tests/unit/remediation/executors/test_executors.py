"""Our own executor logic with fakes: dispatch, the recorded-launch guard, playbook retries, error kinds."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import httpx
import pytest
from aiops_operator.api import (
    ExternalRun,
    ExternalSystem,
    Incident,
    Parameter,
    RemediationAction,
    RemediationAttempt,
)
from aiops_operator.remediation.attempt_status import Progress, ProgressState
from aiops_operator.remediation.executors import adf, databricks
from aiops_operator.remediation.executors.base import ExecutorError, TransientExecutorError, launch_marker
from aiops_operator.remediation.executors.databricks import _target_of
from aiops_operator.remediation.executors.databricks_resize import ClusterSize
from aiops_operator.remediation.executors.factory import Executors
from aiops_operator.remediation.executors.playbook import PlaybookExecutor

from tests.support.builders import attempt, remediable, rule


class Recorder:
    def __init__(self, name: str) -> None:
        self.name = name
        self.launches = 0

    def launch(self, incident: Incident, attempt: RemediationAttempt) -> ExternalRun:
        self.launches += 1
        return ExternalRun(system=ExternalSystem.PLAYBOOK, run_id=self.name)

    def poll(self, incident: Incident, attempt: RemediationAttempt) -> Progress:
        return Progress(ProgressState.RUNNING, self.name)


@pytest.mark.parametrize(
    ("action", "system"),
    [
        pytest.param(RemediationAction.RERUN_PIPELINE, "adf", id="rerun"),
        pytest.param(RemediationAction.CHECK_UPSTREAM_THEN_RERUN, "adf", id="upstream"),
        pytest.param(RemediationAction.RUN_JOB_NOW, "databricks", id="run-now"),
        pytest.param(RemediationAction.REPAIR_RUN, "databricks", id="repair"),
        pytest.param(RemediationAction.RESTART_CLUSTER, "databricks", id="restart"),
        pytest.param(RemediationAction.RESIZE_CLUSTER, "databricks", id="resize"),
        pytest.param(RemediationAction.REINSTALL_LIBRARY, "databricks", id="library"),
        pytest.param(RemediationAction.CALL_PLAYBOOK, "playbook", id="playbook"),
    ],
)
def test_dispatch_by_action(action: RemediationAction, system: str) -> None:
    executors = Executors(adf=Recorder("adf"), databricks=Recorder("databricks"), playbook=Recorder("playbook"))
    a = attempt(1, the_rule=rule(action=action))
    assert executors.launch(remediable(), a).run_id == system
    assert executors.poll(remediable(), a).detail == system


def test_a_recorded_launch_is_never_repeated() -> None:
    recorder = Recorder("adf")
    executors = Executors(adf=recorder, databricks=recorder, playbook=recorder)
    a = attempt(1)
    run = ExternalRun(system=ExternalSystem.AZURE_DATA_FACTORY, run_id="r-1")
    a = a.model_copy(update={"status": a.status.model_copy(update={"external_run": run})})
    assert executors.launch(remediable(), a) == run
    assert recorder.launches == 0


def _playbook(statuses: list[int], attempts: int = 4) -> tuple[PlaybookExecutor, list[httpx.Request], list[float]]:
    seen: list[httpx.Request] = []
    sleeps: list[float] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        status = statuses[min(len(seen), len(statuses)) - 1]
        return httpx.Response(status, json={"run_id": "p-1"} if status < 300 else {})

    client = httpx.Client(transport=httpx.MockTransport(handler))
    return PlaybookExecutor(client, lambda: "https://receiver/cb", attempts=attempts, initial_wait=1.0,
                            sleep=sleeps.append), seen, sleeps


def _playbook_attempt() -> RemediationAttempt:
    r = rule(action=RemediationAction.CALL_PLAYBOOK, parameters=[Parameter(name="url", value="https://pb/x")])
    return attempt(1, the_rule=r)


@pytest.mark.parametrize(
    ("statuses", "requests", "sleeps", "outcome"),
    [
        pytest.param([202], 1, [], "ok", id="accepted"),
        pytest.param([500, 429, 200], 3, [1.0, 2.0], "ok", id="retried-5xx-and-429"),
        pytest.param([503], 4, [1.0, 2.0, 4.0], "transient", id="gives-up-transient"),
        pytest.param([404], 1, [], "terminal", id="4xx-terminal"),
    ],
)
def test_playbook_retries(statuses: list[int], requests: int, sleeps: list[float], outcome: str) -> None:
    executor, seen, slept = _playbook(statuses)
    if outcome == "ok":
        assert executor.launch(remediable(), _playbook_attempt()).run_id == "p-1"
    else:
        error = TransientExecutorError if outcome == "transient" else ExecutorError
        with pytest.raises(error) as caught:
            executor.launch(remediable(), _playbook_attempt())
        assert "pb/x" not in str(caught.value), "the playbook URL may carry a secret"
    assert len(seen) == requests
    assert slept == sleeps


def test_playbook_without_callback_url_is_terminal() -> None:
    executor = PlaybookExecutor(httpx.Client(transport=httpx.MockTransport(lambda r: httpx.Response(200))),
                                lambda: None)
    with pytest.raises(ExecutorError, match="REMEDIATION_CALLBACK_URL"):
        executor.launch(remediable(), _playbook_attempt())


def _http_error(status: int) -> Any:
    from azure.core.exceptions import HttpResponseError

    error = HttpResponseError(message=f"status {status}")
    error.status_code = status
    return error


@pytest.mark.parametrize(
    ("exc", "transient"),
    [
        pytest.param(_http_error(429), True, id="adf-429"),
        pytest.param(_http_error(503), True, id="adf-503"),
        pytest.param(_http_error(400), False, id="adf-400"),
        pytest.param(_http_error(404), False, id="adf-404"),
        pytest.param(ConnectionError("reset"), True, id="connection"),
    ],
)
def test_adf_error_kinds(exc: BaseException, transient: bool) -> None:
    assert adf.is_transient(exc) is transient


def test_databricks_error_kinds() -> None:
    from databricks.sdk import errors

    assert databricks.is_transient(errors.TooManyRequests("slow down"))
    assert databricks.is_transient(errors.TemporarilyUnavailable("later"))
    assert not databricks.is_transient(errors.InvalidParameterValue("bad"))
    assert not databricks.is_transient(errors.PermissionDenied("no"))


@pytest.mark.parametrize(
    ("detail", "target"),
    [
        pytest.param("Resized cluster c from 4 workers to 6 workers.", ClusterSize(num_workers=6), id="fixed"),
        pytest.param("Resized cluster c from autoscale 1-4 workers to autoscale 1-6 workers.",
                     ClusterSize(min_workers=1, max_workers=6), id="autoscale"),
        pytest.param("Cluster c was already resized by this attempt (now 6 workers).", None, id="adopted"),
    ],
)
def test_resize_target_is_read_back_from_the_detail(detail: str, target: ClusterSize | None) -> None:
    assert _target_of(detail) == target


def test_now() -> None:
    assert datetime.now(UTC).tzinfo is not None


@pytest.mark.parametrize(("created", "not_before", "marker"), [
    # The API server stamps creation to the second: attempt 2 created at 12:00:05.900 reads 12:00:05,
    # before attempt 1's run that started at 12:00:05.300. Its exact not-before time keeps that run out.
    pytest.param(datetime(2026, 12, 6, 12, 0, 5, tzinfo=UTC), datetime(2026, 12, 6, 12, 0, 5, 700000, tzinfo=UTC),
                 datetime(2026, 12, 6, 12, 0, 5, 700000, tzinfo=UTC), id="truncated-creation-uses-not-before"),
    pytest.param(datetime(2026, 12, 6, 12, 1, 0, tzinfo=UTC), datetime(2026, 12, 6, 12, 0, 5, tzinfo=UTC),
                 datetime(2026, 12, 6, 12, 1, 0, tzinfo=UTC), id="created-after-not-before"),
    pytest.param(None, datetime(2026, 12, 6, 12, 0, 5, tzinfo=UTC), datetime(2026, 12, 6, 12, 0, 5, tzinfo=UTC),
                 id="not-yet-stamped"),
])
def test_launch_marker_is_the_later_of_creation_and_not_before(
    created: datetime | None, not_before: datetime, marker: datetime,
) -> None:
    a = attempt(2, not_before=not_before)
    a = a.model_copy(update={"metadata": a.metadata.model_copy(update={"creation_timestamp": created})})
    assert launch_marker(a) == marker
