"""The remediation phase: the I/O side of `remediation.decision.decide()`.

`Remediator.step(incident, now)` is the `RemediationStage` the reconcile
calls while an Incident is Remediating or Monitoring (and, for a human
closing it, Escalated). Each call:

1. closes the incident if a human did (Jira moved to Done, or
   `kubectl annotate incident <name> aiops-rca.io/resolve="<note>"`);
2. reads the newest RemediationAttempt (`<incident>-<attemptsMade>`), asks
   `decide()` for the next plan and applies it, repeating until a plan needs
   time (backoff, approval, the next poll) or ends the remediation;
3. returns the Incident status that records it (`incident.remediation_status`),
   which the reconcile writes before it calls again.

**Exactly once.** At most one external side effect (an executor's `launch`)
per call, and its result is written to the attempt's status (`externalRun`)
right after the call, before the Incident is touched. Attempts are created
under their deterministic name: a 409 adopts the existing attempt (checked to
be owned by this Incident), never a second one. An attempt's launch is asked
of the executors only while its status records no external run, and every
executor finds the run it already started (see `executors/`). Polls and
Kubernetes writes are repeatable.

**Guardrails.** Before an attempt is created, the launch times its policy's
budgets count are LISTed from the RemediationAttempts by label (the target's
hash, the policy), under a per-policy lock held until the attempt exists, so
two reconciles cannot both take the last launch; after a restart the list
is the same record. `decision.guard()` then escalates (BudgetExhausted), or
makes the attempt a record (Observe) or an approval request (Review). Before
a launch, `decision.throttle()` holds it back while REMEDIATION_MAX_RUNNING
attempts are Running (counted from the attempts' watch events, which a
restart replays). The crash points (`crash_hook`, a no-op
in production) mark each point between these steps; the chaos tests inject a
hook that kills the operator there.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable, Iterable, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Protocol, TypeVar

from aiops_operator import metrics
from aiops_operator.api import (
    AlertResolution,
    AttemptPhase,
    ExternalRun,
    Incident,
    IncidentPhase,
    IncidentStatus,
    PolicyRule,
    RemediationAttempt,
    RemediationAttemptStatus,
    RemediationPolicy,
    attempt_name,
)
from aiops_operator.api.conditions import CompletedProgress, Outcome
from aiops_operator.api.labels import POLICY_LABEL, RESOLVE_ANNOTATION, TARGET_LABEL
from aiops_operator.api.sanitize import clean_text
from aiops_operator.bounded import BoundedCache
from aiops_operator.correlation.membership import member_rule, waits_for_group
from aiops_operator.kube import ATTEMPTS, INCIDENTS, Conflict, KubeClient, NotFound
from aiops_operator.policy.guardrails import launch_time, reset_time
from aiops_operator.policy.matching import find_rule
from aiops_operator.remediation import attempt_status
from aiops_operator.remediation import incident_status as view
from aiops_operator.remediation.approval import observe_approval
from aiops_operator.remediation.attempt_status import Progress
from aiops_operator.remediation.attempts import attempt_body, policy_label, target_for
from aiops_operator.remediation.decision import (
    DecisionSettings,
    Launches,
    PlanKind,
    RemediationPlan,
    decide,
    guard,
    throttle,
)
from aiops_operator.remediation.executors.base import CannotRemediate, ExecutorError, NotReady, TransientExecutorError
from aiops_operator.remediation.incident_status import StageResult

log = logging.getLogger(__name__)
T = TypeVar("T")

MAX_PLANS_PER_STEP = 12
"""Bound on plans applied in one call (a create, an approval, a launch, a poll, an outcome fit easily)."""
CACHE_ENTRIES = 5_000
"""Bound on unfinished attempts kept in memory (as last written or watched) instead of being read per step."""
_TERMINAL = frozenset(str(p) for p in attempt_status.TERMINAL_PHASES)
WRITTEN_MEMORY = 20_000
"""Bound on the attempts whose last written resourceVersion is remembered (to ignore our own watch events)."""
DEFAULT_DONE_STATUSES = ("Done", "Closed", "Resolved")


class ExecutorsPort(Protocol):
    """`executors.factory.Executors`, or a fake: synchronous, run in a worker thread."""

    def launch(self, incident: Incident, attempt: RemediationAttempt) -> ExternalRun: ...

    def poll(self, incident: Incident, attempt: RemediationAttempt) -> Progress: ...


class PolicySource(Protocol):
    async def get(self, namespace: str) -> tuple[RemediationPolicy, ...]: ...


@dataclass(frozen=True)
class RemediatorConfig:
    jira_done_statuses: tuple[str, ...] = DEFAULT_DONE_STATUSES
    """Jira statuses that mean a human resolved the incident (case-insensitive)."""
    max_running: int = 20
    """REMEDIATION_MAX_RUNNING: attempts Running at once; a launch over it waits."""


class AttemptNotOurs(Exception):
    """An attempt of that name exists but belongs to another Incident (an earlier one of the same name)."""


def _rv(body: Mapping[str, Any]) -> int:
    value = str((body.get("metadata") or {}).get("resourceVersion") or "")
    return int(value) if value.isdigit() else 0


def _owned_by(body: Mapping[str, Any], uid: str | None) -> bool:
    refs = (body.get("metadata") or {}).get("ownerReferences") or []
    return any(r.get("uid") == uid for r in refs if isinstance(r, Mapping))


def annotation_manager(body: Mapping[str, Any], annotation: str) -> str | None:
    """The field manager that set `annotation` (who, as far as the API server's managedFields tell)."""
    entries = (body.get("metadata") or {}).get("managedFields") or []
    managers = []
    for entry in entries:
        if not isinstance(entry, Mapping):
            continue
        fields = ((entry.get("fieldsV1") or {}).get("f:metadata") or {}).get("f:annotations") or {}
        if f"f:{annotation}" in fields:
            managers.append((str(entry.get("time") or ""), str(entry.get("manager") or "")))
    if not managers:
        return None
    manager = max(managers)[1]
    return f"field manager {manager}" if manager else None


@dataclass
class _Walk:
    """One `step` call's state as it applies plan after plan."""

    incident: Incident
    now: datetime
    status: IncidentStatus
    body: dict[str, Any] | None
    """The newest attempt as last read or written."""
    launched: bool = False

    @property
    def namespace(self) -> str:
        return self.incident.metadata.namespace or "default"

    def attempt(self) -> RemediationAttempt | None:
        return RemediationAttempt.from_object(self.body) if self.body is not None else None

    def current(self) -> Incident:
        return self.incident.model_copy(update={"status": self.status})


@dataclass(frozen=True)
class _Stop:
    """This call ends; look again at `requeue` (None: only when something changes)."""

    requeue: datetime | None


class Remediator:
    """The production `RemediationStage`."""

    def __init__(
        self,
        kube: KubeClient,
        executors: ExecutorsPort,
        settings: DecisionSettings,
        policies: PolicySource,
        *,
        config: RemediatorConfig | None = None,
        crash_hook: Callable[[str, str], None] = lambda point, key: None,
        on_activity: Callable[[str], None] = lambda namespace: None,
        threads: int = 16,
        clock: Callable[[], datetime] | None = None,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self.kube = kube
        self.monotonic = monotonic
        self.executors = executors
        self.settings = settings
        self.policies = policies
        self.config = config or RemediatorConfig()
        self.crash_hook = crash_hook
        self.on_activity = on_activity
        # The `now` a step is given was read before the reconcile's own API calls; after a launch or a poll
        # the walk reads the clock again, so what it records (a completion, the next attempt's not-before)
        # is not earlier than the external run it saw: the executors' launch marker relies on it. None:
        # time stands still within a step (unit tests pass their own `now`).
        self._clock = clock
        # The SDKs are synchronous: their calls run on threads of our own, so a burst of launches
        # neither waits behind nor starves the event loop's default executor.
        self._threads = ThreadPoolExecutor(max_workers=threads, thread_name_prefix="executor")
        self._written: BoundedCache[str, int] = BoundedCache(WRITTEN_MEMORY)
        self._cache: BoundedCache[str, dict[str, Any]] = BoundedCache(CACHE_ENTRIES)
        self._polled: BoundedCache[str, datetime] = BoundedCache(WRITTEN_MEMORY)
        # attempt name -> its incident's error type (metric labels)
        self._error_types: BoundedCache[str, str] = BoundedCache(WRITTEN_MEMORY)
        # namespace/name of the attempts Running now, from the watch and our writes (REMEDIATION_MAX_RUNNING)
        self._running: set[str] = set()
        # one lock per namespace/policy: a budget's LIST and the create it allows are not interleaved
        self._budget_locks: dict[str, asyncio.Lock] = {}

    # --- watch events of attempts --------------------------------------------------------

    def is_own_write(self, body: Mapping[str, Any]) -> bool:
        """Whether an attempt's watch event shows nothing newer than what this process wrote."""
        meta = body.get("metadata") or {}
        key = f"{meta.get('namespace')}/{meta.get('name')}"
        written = self._written.get(key)
        return written is not None and _rv(body) <= written

    def _remember(self, body: dict[str, Any]) -> None:
        meta = body.get("metadata") or {}
        key = f"{meta.get('namespace')}/{meta.get('name')}"
        self._written.put(key, _rv(body))
        self._cache_put(key, body)
        self._track_running(key, body)

    def _track_running(self, key: str, body: Mapping[str, Any] | None) -> None:
        if body is not None and (body.get("status") or {}).get("phase") == str(AttemptPhase.RUNNING):
            self._running.add(key)
        else:
            self._running.discard(key)

    def observe(self, event_type: str, body: Mapping[str, Any]) -> None:
        """A watch event of an attempt: keeps the cache of unfinished attempts as fresh as the watch."""
        meta = body.get("metadata") or {}
        key = f"{meta.get('namespace')}/{meta.get('name')}"
        self._track_running(key, None if event_type == "DELETED" else body)
        if event_type == "DELETED":
            self._cache.pop(key)
        elif (cached := self._cache.get(key)) is not None and _rv(body) > _rv(cached):
            self._cache_put(key, dict(body))

    def _cache_put(self, key: str, body: dict[str, Any]) -> None:
        phase = (body.get("status") or {}).get("phase")
        if phase in _TERMINAL:  # finished attempts are read once more at most: not worth the memory
            self._cache.pop(key)
            return
        self._cache.put(key, body)

    # --- the stage ---------------------------------------------------------------------

    async def step(self, incident: Incident, now: datetime) -> StageResult:
        policy, rule = await self._governing(incident)
        alert = policy.spec.alert_resolution if policy is not None else AlertResolution.RESOLVE
        closed = await self._human_resolution(incident, now, alert)
        if closed is not None:
            self.on_activity(incident.metadata.namespace or "default")
            return StageResult(closed)
        confirmed = view.alert_resolution(incident, alert, now)
        if confirmed is not None:  # recorded once; the remediation goes on on the next call
            return StageResult(confirmed, 0.0)
        if incident.status.phase not in (IncidentPhase.REMEDIATING, IncidentPhase.MONITORING):
            return StageResult(incident.status)
        if waits_for_group(incident.status):  # a member before its root heals, a storm root: the group decides
            return StageResult(incident.status)
        rule = member_rule(incident.status, rule)
        walk = _Walk(incident, now, incident.status, await self._current_attempt(incident))
        if walk.body is not None and incident.status.analysis is not None:
            self._error_types.put(str((walk.body.get("metadata") or {}).get("name")),
                                  incident.status.analysis.error_type.value)
        requeue: datetime | None = now  # when every plan of this call was applied: more right away
        try:
            for _ in range(MAX_PLANS_PER_STEP):
                if self._clock is not None:
                    walk.now = max(walk.now, self._clock())
                attempt = walk.attempt()
                plan = decide(walk.current(), policy, rule, [attempt] if attempt else [], self.settings, walk.now,
                              observed_approval=self._approval(walk.body, attempt, walk.now))
                plan = throttle(plan, len(self._running), self.config.max_running, walk.now)
                if plan.kind is PlanKind.CREATE_ATTEMPT and policy is not None:
                    async with self._budget_lock(walk.namespace, policy.metadata.name):
                        launches = await self._launches(walk, policy, plan.attempt_name)
                        plan = guard(plan, walk.current(), policy, rule, launches, walk.now)
                        stop = await self._apply_plan(walk, plan, attempt)
                else:
                    stop = await self._apply_plan(walk, plan, attempt)
                if stop is not None:
                    requeue = stop.requeue
                    break
        except Conflict as exc:  # an attempt changed under us (a human, a callback): decide again shortly
            if exc.already_exists:
                raise
            requeue = walk.now + timedelta(seconds=0.5)
        status = walk.status
        if status != incident.status:
            status = status.model_copy(update={"observed_generation": incident.metadata.generation})
        after = None if requeue is None else max(0.0, (requeue - walk.now).total_seconds())
        return StageResult(status, after)

    # --- applying one plan: None goes on to the next plan, a _Stop ends this call ---------------

    async def _apply_plan(self, walk: _Walk, plan: RemediationPlan,
                          attempt: RemediationAttempt | None) -> _Stop | None:
        walk.status = view.apply_plan(walk.current(), walk.status, plan, attempt, walk.now)
        return await self._apply[plan.kind](self, walk, plan, attempt)

    def _budget_lock(self, namespace: str, policy: str) -> asyncio.Lock:
        # Bounded by the policies there are (a handful per namespace), not by incidents.
        return self._budget_locks.setdefault(f"{namespace}/{policy}", asyncio.Lock())

    async def _launches(self, walk: _Walk, policy: RemediationPolicy, creating: str | None) -> Launches:
        """The launch times the policy's budgets count, LISTed from the attempts (none when it has none).

        `creating` (the attempt about to be created) is left out: when it already exists, a crash came
        between its creation (or launch) and the Incident's record of it, and the create adopts it."""
        budgets = policy.spec.budgets
        target: tuple[datetime, ...] = ()
        policy_: tuple[datetime, ...] = ()
        if budgets.per_target is not None:
            target = await self._launch_times(walk.namespace, f"{TARGET_LABEL}={target_for(walk.incident)}", creating)
        if budgets.per_policy is not None:
            policy_ = await self._launch_times(walk.namespace, f"{POLICY_LABEL}={policy_label(policy.metadata.name)}",
                                               creating)
        return Launches(target, policy_, reset_time(policy.metadata.annotations))

    async def _launch_times(self, namespace: str, selector: str, creating: str | None) -> tuple[datetime, ...]:
        items, _ = await self.kube.list_all(ATTEMPTS, namespace, label_selector=selector)
        times = []
        for raw in items:
            if creating is not None and (raw.get("metadata") or {}).get("name") == creating:
                continue
            try:
                when = launch_time(RemediationAttempt.from_object(raw))
            except ValueError:
                continue
            if when is not None:
                times.append(when)
        return tuple(times)

    async def _finish(self, walk: _Walk, plan: RemediationPlan, attempt: RemediationAttempt | None) -> _Stop | None:
        """Nothing, Resolve, Escalate: the remediation is over (or has nothing to do)."""
        if plan.kind is not PlanKind.NOTHING:
            self.on_activity(walk.namespace)
            if plan.kind is PlanKind.RESOLVE:
                self.crash_hook("after-success", walk.incident.metadata.name)
        return _Stop(None)

    async def _wait(self, walk: _Walk, plan: RemediationPlan, attempt: RemediationAttempt | None) -> _Stop | None:
        return _Stop(plan.requeue_time)

    async def _create_next(self, walk: _Walk, plan: RemediationPlan,
                           attempt: RemediationAttempt | None) -> _Stop | None:
        walk.body = await self._create(walk.incident, plan)
        self.on_activity(walk.namespace)
        return None

    async def _update(self, walk: _Walk, plan: RemediationPlan, attempt: RemediationAttempt | None) -> _Stop | None:
        assert attempt is not None, "UpdateAttempt without an attempt"
        assert walk.body is not None
        assert plan.attempt_status is not None
        walk.body = await self._write_status(walk.body, attempt, plan.attempt_status)
        return None

    async def _launch_once(self, walk: _Walk, plan: RemediationPlan,
                           attempt: RemediationAttempt | None) -> _Stop | None:
        assert attempt is not None, "Launch without an attempt"
        assert walk.body is not None
        if walk.launched:  # one external side effect per call: the next one comes on the next call
            return _Stop(walk.now)
        walk.launched = True
        walk.body, retry_at = await self._launch(walk.current(), attempt, walk.body, walk.now)
        return _Stop(retry_at) if retry_at is not None else None

    async def _monitor(self, walk: _Walk, plan: RemediationPlan, attempt: RemediationAttempt | None) -> _Stop | None:
        """Poll (a read), record a change, else look again at the plan's time."""
        assert attempt is not None, "Monitor without an attempt"
        assert walk.body is not None
        polled_at = self._polled.get(attempt.metadata.name)
        next_poll = polled_at + timedelta(seconds=self.settings.remediation_poll_seconds) if polled_at else None
        if next_poll is not None and walk.now < next_poll:
            return _Stop(min(next_poll, plan.requeue_time or next_poll))
        walk.body, changed = await self._poll(walk.current(), attempt, walk.body, walk.now)
        return None if changed else _Stop(plan.requeue_time)

    _apply: Mapping[PlanKind, Callable[[Remediator, _Walk, RemediationPlan, RemediationAttempt | None],
                                       Awaitable[_Stop | None]]] = {
        PlanKind.NOTHING: _finish,
        PlanKind.RESOLVE: _finish,
        PlanKind.ESCALATE: _finish,
        PlanKind.WAIT: _wait,
        PlanKind.CREATE_ATTEMPT: _create_next,
        PlanKind.UPDATE_ATTEMPT: _update,
        PlanKind.LAUNCH: _launch_once,
        PlanKind.MONITOR: _monitor,
    }
    """How each plan kind is applied (see `remediation.decision`)."""

    async def _in_thread(self, fn: Callable[[Incident, RemediationAttempt], T], incident: Incident,
                         attempt: RemediationAttempt) -> T:
        return await asyncio.get_running_loop().run_in_executor(self._threads, fn, incident, attempt)

    def close(self) -> None:
        self._threads.shutdown(wait=False, cancel_futures=True)

    # --- reading -------------------------------------------------------------------------

    async def _governing(self, incident: Incident) -> tuple[RemediationPolicy | None, PolicyRule | None]:
        """The policy and rule named at the hand-off (None when the policy is gone, disabled or invalid)."""
        summary = incident.status.remediation
        if summary is None or not summary.policy:
            return None, None
        policies = await self.policies.get(incident.metadata.namespace or "default")
        policy = next((p for p in policies if p.metadata.name == summary.policy), None)
        if policy is None:
            return None, None
        rule = next((r for r in policy.spec.rules if r.name == summary.rule), None)
        analysis = incident.status.analysis
        if rule is None and analysis is not None:
            rule = find_rule(policy, analysis.error_type)
        return policy, rule

    async def _current_attempt(self, incident: Incident) -> dict[str, Any] | None:
        summary = incident.status.remediation
        n = summary.attempts_made if summary else 0
        if n < 1:
            return None
        meta = incident.metadata
        name = attempt_name(meta.name, n)
        cached = self._cache.get(f"{meta.namespace or 'default'}/{name}")
        if cached is not None and _owned_by(cached, meta.uid):
            return cached
        try:
            body = await self.kube.get(ATTEMPTS, meta.namespace or "default", name)
        except NotFound:
            return None
        if not _owned_by(body, meta.uid):
            return None
        return body

    def _approval(self, body: Mapping[str, Any] | None, attempt: RemediationAttempt | None,
                  now: datetime) -> Any:
        if body is None or attempt is None or not attempt.spec.approval_required or attempt.status.approval:
            return None
        if attempt.status.phase not in (None, AttemptPhase.PENDING, AttemptPhase.AWAITING_APPROVAL):
            return None
        return observe_approval(body, now)

    async def _human_resolution(self, incident: Incident, now: datetime,
                                alert: AlertResolution) -> IncidentStatus | None:
        actor = None
        if RESOLVE_ANNOTATION in incident.metadata.annotations and incident.status.resolution is None:
            meta = incident.metadata
            try:
                raw = await self.kube.get(INCIDENTS, meta.namespace or "default", meta.name)
                actor = annotation_manager(raw, RESOLVE_ANNOTATION)
            except NotFound:
                return None
        return view.human_resolution(incident, now, self.config.jira_done_statuses, actor, alert)

    # --- writing -------------------------------------------------------------------------

    async def _create(self, incident: Incident, plan: RemediationPlan) -> dict[str, Any]:
        """Create attempt n, or adopt it when it exists (409)."""
        assert plan.attempt_spec is not None
        meta = incident.metadata
        namespace = meta.namespace or "default"
        body = attempt_body(incident, plan.attempt_spec)
        self.crash_hook("before-attempt-create", meta.name)
        try:
            created = await self.kube.create(ATTEMPTS, namespace, body)
        except Conflict as exc:
            if not exc.already_exists:
                raise
            existing = await self.kube.get(ATTEMPTS, namespace, body["metadata"]["name"])
            if not _owned_by(existing, meta.uid):
                raise AttemptNotOurs(f"{body['metadata']['name']} belongs to an earlier Incident of that name;"
                                     " waiting for it to be garbage-collected") from exc
            log.info("adopted existing attempt %s/%s", namespace, body["metadata"]["name"])
            return existing
        self._remember(created)
        metrics.REMEDIATION_ATTEMPTS.labels(plan.attempt_spec.action.value).inc()
        if incident.status.analysis is not None:
            self._error_types.put(body["metadata"]["name"], incident.status.analysis.error_type.value)
        self.crash_hook("after-attempt-create", meta.name)
        return created

    async def _write_status(self, body: Mapping[str, Any], attempt: RemediationAttempt,
                            status: RemediationAttemptStatus) -> dict[str, Any]:
        """The attempt's status, conditional on the resourceVersion it was decided from."""
        meta = attempt.metadata
        try:
            written = await self.kube.patch(
                ATTEMPTS, meta.namespace or "default", meta.name, {"status": status.to_wire()},
                status=True, resource_version=meta.resource_version,
            )
        except Conflict:
            self._cache.pop(f"{meta.namespace or 'default'}/{meta.name}")  # decided from a stale copy
            raise
        self._remember(written)
        metrics.observe_attempt_write(attempt, status, self._error_types.get(meta.name) or "Unknown")
        return written

    async def _launch(self, incident: Incident, attempt: RemediationAttempt, body: dict[str, Any],
                      now: datetime) -> tuple[dict[str, Any], datetime | None]:
        """Launch through the executor and record the external run right away; (body, retry time if not launched)."""
        name = incident.metadata.name
        try:
            run = await self._in_thread(self.executors.launch, incident, attempt)
        except TransientExecutorError as exc:
            metrics.EXECUTOR_FAILURES.labels(attempt.spec.action.value, "transient").inc()
            reason = exc.reason if isinstance(exc, NotReady) else CompletedProgress.LAUNCH_RETRYING
            pending = attempt_status.pending(attempt, reason, str(exc), now)
            if pending != attempt.status:
                body = await self._write_status(body, attempt, pending)
            return body, now + timedelta(seconds=max(1.0, exc.retry_after_seconds))
        except CannotRemediate as exc:
            metrics.EXECUTOR_FAILURES.labels(attempt.spec.action.value, "unconfigured").inc()
            skipped = attempt_status.finished(attempt, Outcome.CANNOT_REMEDIATE, f"Cannot remediate: {exc}", now)
            return await self._write_status(body, attempt, skipped), None
        except ExecutorError as exc:
            metrics.EXECUTOR_FAILURES.labels(attempt.spec.action.value, "terminal").inc()
            failed = attempt_status.finished(attempt, Outcome.LAUNCH_FAILED, f"Could not launch: {exc}", now)
            return await self._write_status(body, attempt, failed), None
        except Exception as exc:  # an SDK error the executor did not classify: retry, bounded by the timeout
            metrics.EXECUTOR_FAILURES.labels(attempt.spec.action.value, "transient").inc()
            log.warning("launching %s failed unexpectedly: %s", attempt.metadata.name, type(exc).__name__)
            pending = attempt_status.pending(attempt, CompletedProgress.LAUNCH_RETRYING,
                                             f"Launch failed ({type(exc).__name__}: {clean_text(str(exc), 300)});"
                                             " retrying.", now)
            if pending != attempt.status:
                body = await self._write_status(body, attempt, pending)
            return body, now + timedelta(seconds=30)
        self.crash_hook("after-launch", name)
        try:
            body = await self._write_status(body, attempt, attempt_status.launched(attempt, run, now))
        except Conflict:  # the copy was stale: record the launch on the fresh attempt, right away
            meta = attempt.metadata
            body = await self.kube.get(ATTEMPTS, meta.namespace or "default", meta.name)
            fresh = RemediationAttempt.from_object(body)
            if fresh.status.external_run is None:
                body = await self._write_status(body, fresh, attempt_status.launched(fresh, run, now))
        self._polled.pop(attempt.metadata.name)
        self.crash_hook("after-launch-recorded", name)
        return body, None

    async def _poll(self, incident: Incident, attempt: RemediationAttempt, body: dict[str, Any],
                    now: datetime) -> tuple[dict[str, Any], bool]:
        began = self.monotonic()
        try:
            progress = await self._in_thread(self.executors.poll, incident, attempt)
        except Exception:
            metrics.EXECUTOR_FAILURES.labels(attempt.spec.action.value, "transient").inc()
            raise
        # An SDK sleeps out a 429's Retry-After between its own retries inside the poll: counted from when
        # the poll began, the next one could follow its last refusal at once (seen in the faulty-cloud bench).
        self._polled.put(attempt.metadata.name, now + timedelta(seconds=self.monotonic() - began))
        self.crash_hook("while-monitoring", incident.metadata.name)  # polled, its result not yet recorded
        update = attempt_status.after_progress(attempt, progress, now)
        if update is None:
            return body, False
        if update.phase in attempt_status.TERMINAL_PHASES:
            self._polled.pop(attempt.metadata.name)
        return await self._write_status(body, attempt, update), True


def done_statuses(value: Iterable[str] | None) -> tuple[str, ...]:
    return tuple(v for v in (value or DEFAULT_DONE_STATUSES) if v.strip())
