"""Azure Data Factory executors: re-run a pipeline (recovery mode), or check upstream then re-run.

Through azure-identity + azure-mgmt-datafactory (`pipelines.create_run`,
`pipeline_runs.get`, `pipeline_runs.query_by_factory`).

**Re-run.** `createRun` with `referencePipelineRunId` = the failed run,
`isRecovery=true` and `startActivityName` = the failed activity when known
(rule parameter `startActivity`, else enrichment, else the alert), so the
re-run joins the failed run's run group and starts where it broke. A run id
that was not given by the alert (a fingerprint) cannot be referenced: the
pipeline is then run afresh.

**Idempotency (ADF has no idempotency token).** Before launching, the
executor looks for the run this attempt may already have started:
`queryPipelineRuns` for the pipeline, filtered by the failed run's
`runGroupId` (recovery runs join it), keeping runs that started at or after
the attempt's creation time and are not the failed run itself (fresh runs,
without a group to match, must also be `invokedBy` Manual, i.e. API-started).
Attempt n is only created after attempt n-1 finished and its backoff passed,
so an earlier attempt's run cannot match; the same attempt launched twice
finds its run and returns it. Chosen over a marker pipeline parameter
because ADF rejects or drops parameters a pipeline does not declare, and over
`runGroupId` alone because earlier attempts share the group. Residual risk,
documented: ADF lists a new run in `queryPipelineRuns` within seconds, so a
crash in the first seconds after `createRun` followed by an immediate
re-launch could miss it; Kopf's restart and the reconcile interval are
longer than that in practice.

**Check upstream.** `queryPipelineRuns` for the rule's `upstreamPipeline`
(optionally in `upstreamFactory`) over the last `lookbackHours` (24): a
Succeeded run → re-run as above; none → `NotReady` (the attempt stays
Pending and is retried until its timeout).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

from aiops_operator.api import (
    ExternalRun,
    ExternalSystem,
    Incident,
    RemediationAction,
    RemediationAttempt,
    RunIdOrigin,
)
from aiops_operator.api.actions import parameter
from aiops_operator.remediation.attempt_status import Progress
from aiops_operator.remediation.executors.base import (
    CannotRemediate,
    ExecutorError,
    NotReady,
    TransientExecutorError,
    failed,
    launch_marker,
    running,
    succeeded,
    transient,
)

RUNNING_STATES = frozenset({"Queued", "InProgress", "Canceling"})
ADF_PORTAL = "https://adf.azure.com/en/monitoring/pipelineruns"

AdfClientFor = Callable[[str], Any]
"""subscription id → a DataFactoryManagementClient (cached by the factory)."""


def is_transient(exc: BaseException) -> bool:
    """Throttling, server errors, timeouts and connection trouble: worth retrying."""
    from azure.core.exceptions import (
        ClientAuthenticationError,
        HttpResponseError,
        ServiceRequestError,
        ServiceResponseError,
    )

    if isinstance(exc, ServiceRequestError | ServiceResponseError | ClientAuthenticationError):
        return True
    if isinstance(exc, HttpResponseError):
        status = exc.status_code or 0
        return status in (408, 409, 429) or status >= 500
    return isinstance(exc, OSError | TimeoutError)


def _error(action: str, exc: Exception) -> Exception:
    message = f"ADF {action}: {type(exc).__name__}: {getattr(exc, 'message', None) or exc}"
    return TransientExecutorError(message) if is_transient(exc) else ExecutorError(message)


class AdfExecutor:
    """RerunPipeline and CheckUpstreamThenRerun."""

    def __init__(self, client_for: AdfClientFor, clock: Callable[[], datetime],
                 upstream_retry_seconds: float = 60.0) -> None:
        self._client_for = client_for
        self._clock = clock
        self._upstream_retry = upstream_retry_seconds

    # --- launch ---------------------------------------------------------------------------

    def launch(self, incident: Incident, attempt: RemediationAttempt) -> ExternalRun:
        r = incident.spec.resource
        if not (r.subscription_id and r.resource_group and r.factory):
            raise CannotRemediate("ADF re-run needs the incident's subscription, resource group and factory: project"
                                  " _ResourceId in the alert query or target the alert rule at the factory")
        client = self._client_for(r.subscription_id)
        reference = incident.spec.run_id if incident.spec.run_id_origin is RunIdOrigin.ALERT else None
        recovery = (parameter(attempt.spec.parameters, "recovery") or "true").lower() == "true"
        try:
            group = self._run_group(client, incident, reference) if reference else None
            existing = self._existing_run(client, incident, attempt, group, reference)
        except Exception as exc:
            raise _error("looking for this attempt's run", exc) from exc
        if existing is not None:
            return self._external(incident, existing, "Found the run this attempt already started.")
        if attempt.spec.action is RemediationAction.CHECK_UPSTREAM_THEN_RERUN:
            self._check_upstream(client, incident, attempt)
        start_activity = (parameter(attempt.spec.parameters, "startActivity")
                          or (incident.status.enrichment.activity if incident.status.enrichment else None)
                          or incident.spec.error.activity)
        kwargs: dict[str, Any] = {}
        if reference and group is not None:
            kwargs = {"reference_pipeline_run_id": reference, "is_recovery": recovery}
            if recovery and start_activity:
                kwargs["start_activity_name"] = start_activity
        try:
            created = client.pipelines.create_run(r.resource_group, r.factory, r.name, **kwargs)
        except Exception as exc:
            raise _error("createRun", exc) from exc
        frm = f" from activity {kwargs['start_activity_name']}" if "start_activity_name" in kwargs else ""
        mode = " in recovery mode" if kwargs.get("is_recovery") else ""
        return self._external(incident, str(created.run_id), f"Re-ran pipeline {r.name}{mode}{frm}.")

    def _run_group(self, client: Any, incident: Incident, reference: str) -> str | None:
        """The failed run's run group (None when ADF no longer knows the run: re-run afresh)."""
        from azure.core.exceptions import ResourceNotFoundError

        r = incident.spec.resource
        try:
            run = client.pipeline_runs.get(r.resource_group, r.factory, reference)
        except ResourceNotFoundError:
            return None
        return str(run.run_group_id or reference)

    def _existing_run(self, client: Any, incident: Incident, attempt: RemediationAttempt, group: str | None,
                      reference: str | None) -> str | None:
        from azure.mgmt.datafactory.models import RunFilterParameters, RunQueryFilter

        r = incident.spec.resource
        marker = launch_marker(attempt)
        filters = [RunQueryFilter(operand="PipelineName", operator="Equals", values_property=[r.name])]
        if group is not None:
            filters.append(RunQueryFilter(operand="RunGroupId", operator="Equals", values_property=[group]))
        query = RunFilterParameters(last_updated_after=marker - timedelta(minutes=5),
                                    last_updated_before=self._clock() + timedelta(days=1), filters=filters)
        found = []
        for run in client.pipeline_runs.query_by_factory(r.resource_group, r.factory, query).value or []:
            if str(run.run_id) == reference or run.run_start is None or run.run_start < marker:
                continue
            invoked = getattr(run, "invoked_by", None)
            if group is None and invoked is not None and (getattr(invoked, "invoked_by_type", None) or "Manual") \
                    != "Manual":
                continue
            found.append(run)
        if not found:
            return None
        return str(min(found, key=lambda run: run.run_start).run_id)

    def _check_upstream(self, client: Any, incident: Incident, attempt: RemediationAttempt) -> None:
        from azure.mgmt.datafactory.models import RunFilterParameters, RunQueryFilter

        r = incident.spec.resource
        upstream = parameter(attempt.spec.parameters, "upstreamPipeline")
        if not upstream:
            raise ExecutorError("CheckUpstreamThenRerun needs the rule parameter upstreamPipeline")
        factory = parameter(attempt.spec.parameters, "upstreamFactory") or r.factory
        hours = int(parameter(attempt.spec.parameters, "lookbackHours") or 24)
        now = self._clock()
        query = RunFilterParameters(
            last_updated_after=now - timedelta(hours=hours), last_updated_before=now + timedelta(minutes=5),
            filters=[RunQueryFilter(operand="PipelineName", operator="Equals", values_property=[upstream]),
                     RunQueryFilter(operand="Status", operator="Equals", values_property=["Succeeded"])],
        )
        try:
            runs = client.pipeline_runs.query_by_factory(r.resource_group, factory, query).value or []
        except Exception as exc:
            raise _error(f"querying upstream pipeline {upstream}", exc) from exc
        if not runs:
            raise NotReady(f"Upstream pipeline {upstream} has not succeeded in the last {hours} h; waiting.",
                           retry_after_seconds=self._upstream_retry)

    def _external(self, incident: Incident, run_id: str, detail: str) -> ExternalRun:
        r = incident.spec.resource
        factory_id = (f"/subscriptions/{r.subscription_id}/resourceGroups/{r.resource_group}"
                      f"/providers/Microsoft.DataFactory/factories/{r.factory}")
        return ExternalRun(system=ExternalSystem.AZURE_DATA_FACTORY, run_id=run_id,
                           url=f"{ADF_PORTAL}/{run_id}?factory={factory_id}", state="Queued", detail=detail)

    # --- poll ---------------------------------------------------------------------------

    def poll(self, incident: Incident, attempt: RemediationAttempt) -> Progress:
        run = attempt.status.external_run
        r = incident.spec.resource
        if run is None or not (r.subscription_id and r.resource_group and r.factory):
            return failed("Nothing was launched to poll.")
        try:
            got = self._client_for(r.subscription_id).pipeline_runs.get(r.resource_group, r.factory, run.run_id)
        except Exception as exc:
            # 404 right after createRun is ADF catching up, not a failure: the timeout bounds it.
            return transient(f"ADF getPipelineRun: {type(exc).__name__}: {getattr(exc, 'message', None) or exc}")
        status = str(got.status or "Queued")
        if status in RUNNING_STATES:
            return running(f"Pipeline run {run.run_id} is {status}.", status)
        if status == "Succeeded":
            return succeeded(f"Pipeline run {run.run_id} succeeded.", status)
        return failed(f"Pipeline run {run.run_id} {status}: {got.message or 'no message'}", status)
