"""Logic App / HTTP playbook executor: POST the incident with a callback URL, then wait for the callback.

The POST body carries what the receiver's `/api/remediation-callback`
expects back (`ticket_id` = the Incident name, `attempt_number`) plus the
`callback_url` to call, the idempotency key (also as the `Idempotency-Key`
header), the incident's facts and the rule's parameters (except `url`).
5xx, 429 and connection errors are retried with exponential backoff (honouring
Retry-After, bounded); other 4xx are terminal. The outcome arrives as
`status.callback`, which the receiver writes; `poll` only reads it.

**Idempotency.** A playbook is an arbitrary HTTP endpoint, so exactly-once
needs its help: the same attempt always sends the same `Idempotency-Key`,
and a playbook must treat a repeated key as the same request. On our side,
once the launch is recorded in the attempt's status it is never repeated;
only a crash between the POST and that status write re-sends it. The URL (a
Logic App trigger URL carries a `sig=` secret) and the callback URL (may
carry an api key) are never logged or stored.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import httpx

from aiops_operator.api import ExternalRun, ExternalSystem, Incident, RemediationAttempt
from aiops_operator.api.actions import parameter
from aiops_operator.remediation.attempt_status import Progress
from aiops_operator.remediation.executors.base import (
    CannotRemediate,
    ExecutorError,
    TransientExecutorError,
    failed,
    running,
    succeeded,
)

MAX_RETRY_AFTER_SECONDS = 30.0


def _retryable(status: int) -> bool:
    return status == 429 or status >= 500


class PlaybookExecutor:
    """CallPlaybook."""

    def __init__(self, http: httpx.Client, callback_url: Callable[[], str | None], *, attempts: int = 4,
                 initial_wait: float = 1.0, sleep: Callable[[float], None] = time.sleep) -> None:
        self._http = http
        self._callback_url = callback_url
        self._attempts = attempts
        self._initial_wait = initial_wait
        self._sleep = sleep

    def payload(self, incident: Incident, attempt: RemediationAttempt, callback_url: str) -> dict[str, Any]:
        analysis = incident.status.analysis
        spec = incident.spec
        return {
            "ticket_id": incident.metadata.name,
            "attempt_number": attempt.spec.attempt,
            "idempotency_key": attempt.spec.idempotency_key,
            "callback_url": callback_url,
            "namespace": incident.metadata.namespace,
            "source": str(spec.source),
            "resource": spec.resource.to_wire(),
            "run_id": spec.run_id,
            "error_code": spec.error.code,
            "error_type": str(analysis.error_type) if analysis else None,
            "root_cause": analysis.root_cause if analysis else None,
            "parameters": {p.name: p.value for p in attempt.spec.parameters if p.name != "url"},
        }

    def launch(self, incident: Incident, attempt: RemediationAttempt) -> ExternalRun:
        url = parameter(attempt.spec.parameters, "url")
        if not url:
            raise ExecutorError("CallPlaybook needs the rule parameter url")
        callback = self._callback_url()
        if not callback:
            raise CannotRemediate("REMEDIATION_CALLBACK_URL is not set: a playbook could not report back")
        body = self.payload(incident, attempt, callback)
        headers = {"Idempotency-Key": attempt.spec.idempotency_key}
        wait = self._initial_wait
        last = ""
        for i in range(self._attempts):
            try:
                response = self._http.post(url, json=body, headers=headers)
            except httpx.HTTPError as exc:
                last = f"{type(exc).__name__}"
            else:
                if response.is_success:
                    return self._external(attempt, response)
                last = f"HTTP {response.status_code}"
                if not _retryable(response.status_code):
                    raise ExecutorError(f"The playbook refused the request: {last}")
                retry_after = response.headers.get("retry-after", "")
                if retry_after.isdigit():
                    wait = max(wait, min(float(retry_after), MAX_RETRY_AFTER_SECONDS))
            if i < self._attempts - 1:
                self._sleep(wait)
                wait *= 2
        raise TransientExecutorError(f"The playbook did not accept the request after {self._attempts} tries: {last}")

    def _external(self, attempt: RemediationAttempt, response: httpx.Response) -> ExternalRun:
        run_id = None
        try:
            data = response.json()
        except ValueError:
            data = None
        if isinstance(data, dict):
            run_id = data.get("runId") or data.get("run_id") or data.get("id")
        run_id = str(run_id)[:256] if run_id else attempt.spec.idempotency_key
        return ExternalRun(system=ExternalSystem.PLAYBOOK, run_id=run_id, state=f"HTTP {response.status_code}",
                           detail="The playbook accepted the request; waiting for its callback.")

    def poll(self, incident: Incident, attempt: RemediationAttempt) -> Progress:
        callback = attempt.status.callback
        if callback is None:
            return running("Waiting for the playbook's callback.", "Accepted")
        ran = f" (run {callback.remediation_run_id})" if callback.remediation_run_id else ""
        if callback.success:
            return succeeded(f"The playbook reported {callback.status}{ran}.", callback.status)
        return failed(f"The playbook reported {callback.status}{ran}: {callback.error_message or 'no message'}",
                      callback.status)
