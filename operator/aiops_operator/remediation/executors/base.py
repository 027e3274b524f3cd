"""The executor interface and its two kinds of errors.

An executor acts on one external system through its real SDK. Two calls:

- `launch(incident, attempt) -> ExternalRun`: start the attempt's action.
  Idempotent: called again for the same attempt (after a crash, a retry, a
  duplicate event) it finds the run it started and returns that, never a
  second one. How each executor finds it is documented in its module.
- `poll(incident, attempt) -> Progress`: how the launched run is doing.
  Never raises for the external system's trouble: a failed poll is
  `Progress(transient_error=True)`, which the decision does not count as a
  failure (the attempt's timeout decides when to give up).

Both are synchronous (the SDKs are); the reconcile loop calls them with
`asyncio.to_thread`. Errors from `launch`:

- `TransientExecutorError` (and `NotReady`): nothing launched; retry after
  `retry_after_seconds` (the attempt stays Pending, bounded by its timeout).
- `ExecutorError`: terminal; the attempt finishes as LaunchFailed.
- `CannotRemediate` (an `ExecutorError`): a workspace, credential, job or cluster the action needs is
  missing; the attempt is skipped and the incident escalates at once (no backoff, no further attempt).

Messages never carry secrets: they go through `clean_text` before they are
stored, and no executor puts a token or callback URL in one.
"""

from __future__ import annotations

from datetime import datetime
from typing import Protocol

from aiops_operator.api import ExternalRun, Incident, RemediationAttempt
from aiops_operator.api.conditions import CompletedProgress
from aiops_operator.api.sanitize import clean_text
from aiops_operator.remediation.attempt_status import Progress, ProgressState


class ExecutorError(Exception):
    """Terminal: the action cannot be launched (bad parameters, 4xx, nothing left to try)."""

    def __init__(self, message: str) -> None:
        super().__init__(clean_text(message, 1024))


class CannotRemediate(ExecutorError):
    """Terminal, and not the action's fault: an identity or setting it needs is missing.

    The attempt is skipped (not counted as a failed try) and the incident escalates at once with
    CannotRemediate; the message says what is missing and how to supply it.
    """


class TransientExecutorError(Exception):
    """Transient: the external system is unavailable or throttling; retry later."""

    def __init__(self, message: str, retry_after_seconds: float = 30.0) -> None:
        super().__init__(clean_text(message, 1024))
        self.retry_after_seconds = retry_after_seconds


class NotReady(TransientExecutorError):
    """A precondition is not met yet (e.g. the upstream pipeline has not succeeded): wait and retry."""

    reason: str = CompletedProgress.WAITING_FOR_UPSTREAM


class Executor(Protocol):
    def launch(self, incident: Incident, attempt: RemediationAttempt) -> ExternalRun: ...

    def poll(self, incident: Incident, attempt: RemediationAttempt) -> Progress: ...


def launch_marker(attempt: RemediationAttempt) -> datetime:
    """Runs started at or after this moment may belong to this attempt (the later of creation and not-before).

    Attempt n is created only after attempt n-1 finished and its backoff
    passed, so an earlier attempt's run always started before this marker
    (assuming the external system's clock agrees with the API server's to
    within the backoff). The creation timestamp alone is not enough: the API
    server truncates it to the second, so with a short backoff attempt n could
    be stamped before the start of attempt n-1's run and adopt it (seen in the
    chaos test: a retry recorded the previous attempt's failed run). The
    not-before time is exact and no launch happens before it.
    """
    created = attempt.metadata.creation_timestamp
    not_before = attempt.spec.not_before_time
    return max(created, not_before) if created is not None else not_before


def transient(detail: str) -> Progress:
    return Progress(ProgressState.RUNNING, clean_text(detail, 1024), transient_error=True)


def running(detail: str, external_state: str | None = None) -> Progress:
    return Progress(ProgressState.RUNNING, clean_text(detail, 1024), external_state=external_state)


def succeeded(detail: str, external_state: str | None = None) -> Progress:
    return Progress(ProgressState.SUCCEEDED, clean_text(detail, 1024), external_state=external_state)


def failed(detail: str, external_state: str | None = None) -> Progress:
    return Progress(ProgressState.FAILED, clean_text(detail, 1024), external_state=external_state)
