"""The one reconcile of an Incident: decide (pure), perform one step, record it, repeat.

Run on every watch event of the Incident (create, resume, update) and after
`requeue_after` seconds (the timer). It is level-based: it reads the status,
never the event that woke it, so running it twice does nothing the second
time.

Exactly once towards humans: a Slack message or Jira issue is looked up before
it is created (see integrations/), and its reference is written to status right
after the call, before any further step. Status writes carry the
resourceVersion the decision was made from; on a conflict the fresh object is
read and the unrecorded outcomes are folded in again.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from aiops_operator import metrics
from aiops_operator.analysis.request import AnalysisRequest
from aiops_operator.api import CorrelationSettings, Incident, IncidentPhase, IncidentStatus, RemediationPolicy
from aiops_operator.api.history import WARNING_ACTIONS
from aiops_operator.api.labels import ERROR_TYPE_LABEL, JIRA_KEY_LABEL, ROOT_LABEL, TARGET_LABEL
from aiops_operator.api.naming import dashboard_incident_url
from aiops_operator.api.phase import TERMINAL_PHASES
from aiops_operator.api.sanitize import clean_text
from aiops_operator.correlation import membership
from aiops_operator.correlation.index import GroupIndex
from aiops_operator.correlation.membership import GroupObservation
from aiops_operator.enrichment import Enricher
from aiops_operator.events import EventRecorder
from aiops_operator.incident import analyzing, notifying
from aiops_operator.incident.analyzing import AnalyzingConfig
from aiops_operator.incident.notifying import Channel
from aiops_operator.incident.plan import NOTIFICATION_STEPS, Observed, Step
from aiops_operator.incident.ports import Analyzer, JiraPort, RecurrenceSource, RemediationStage, SlackPort
from aiops_operator.integrations.ratelimits import RateLimited
from aiops_operator.kube import INCIDENTS, Conflict, KubeClient, NotFound
from aiops_operator.policy.cache import PolicyCache
from aiops_operator.policy.matching import select_policy
from aiops_operator.recurrence.summary import History
from aiops_operator.remediation.attempts import target_for
from aiops_operator.remediation.incident_status import resolution_note, retry_replies

log = logging.getLogger(__name__)

MAX_STEPS = 16
"""Bound on steps per reconcile; the rest happens on the next one."""
STAGE_PHASES = frozenset({IncidentPhase.REMEDIATING, IncidentPhase.MONITORING, IncidentPhase.ESCALATED})
"""Phases the remediation stage is asked about (Escalated: only whether a human resolved it)."""
STALE = -1.0
"""Returned for a stale watch event: nothing done, keep the current timer."""

Fold = Callable[[IncidentStatus], IncidentStatus]
Clock = Callable[[], datetime]
CrashPoint = Callable[..., None]
"""`(point, key=None)`: called at each point between two side effects. A no-op in production; the
chaos tests inject one that kills the process there (tests/support/crash.py)."""


def no_crash(point: str, key: str | None = None) -> None:
    """The production crash point: nothing happens."""


@dataclass
class _Backoff:
    failures: int = 0
    retry_time: datetime | None = None


@dataclass
class Integrations:
    analyzer: Analyzer
    enrichers: Sequence[Enricher] = ()
    slack: SlackPort | None = None
    jira: JiraPort | None = None


@dataclass
class RetryPolicy:
    initial_seconds: float = 5.0
    max_seconds: float = 300.0

    def delay(self, failures: int) -> float:
        return float(min(self.max_seconds, self.initial_seconds * (2 ** max(0, failures - 1))))


@dataclass
class _Memory:
    """In-memory state per incident: a lock, notification backoff, the last resourceVersion written."""

    lock: asyncio.Lock = field(default_factory=asyncio.Lock)
    backoff: dict[Channel, _Backoff] = field(default_factory=dict)
    written_rv: str | None = None


def _rv_not_newer(seen: str | None, written: str | None) -> bool:
    """Whether a body's resourceVersion is at most one we wrote (both numeric, as etcd's are)."""
    if not seen or not written or not (seen.isdigit() and written.isdigit()):
        return False
    return int(seen) <= int(written)


class Reconciler:
    def __init__(
        self,
        kube: KubeClient,
        integrations: Integrations,
        *,
        config: AnalyzingConfig,
        policies: PolicyCache,
        events: EventRecorder,
        clock: Clock,
        retry: RetryPolicy | None = None,
        remediation: RemediationStage | None = None,
        crash_hook: CrashPoint = no_crash,
        jira_done_transition: str = "Done",
        fence: Callable[[], None] = lambda: None,
        recurrence: RecurrenceSource | None = None,
        wake: Callable[[str, str], None] = lambda namespace, name: None,
    ) -> None:
        """`fence()` raises unless this replica may act (the leader's lease); checked before every step.
        `wake(namespace, name)` asks for another Incident's reconcile soon (its group changed)."""
        self.kube = kube
        self.recurrence = recurrence
        self.fence = fence
        self.integrations = integrations
        self.config = config
        self.policies = policies
        self.events = events
        self.clock = clock
        self.retry = retry or RetryPolicy()
        self.remediation = remediation
        self.crash_hook = crash_hook
        self.jira_done_transition = jira_done_transition
        self.phases = metrics.PhaseTracker()
        self._memory: dict[str, _Memory] = {}
        self.groups = GroupIndex()
        self._indexed: dict[str, tuple[str, str]] = {}  # uid -> (namespace, name) of what the index holds
        self.wake = wake

    # --- entry points ------------------------------------------------------------------

    async def reconcile(self, body: Mapping[str, Any]) -> float | None:
        """Reconcile one Incident from a watch event's body; returns seconds until the next look."""
        incident = Incident.from_object(body)
        self._index(incident)
        memory = self._memory.setdefault(incident.metadata.uid or incident.metadata.name, _Memory())
        async with memory.lock:
            if _rv_not_newer(incident.metadata.resource_version, memory.written_rv):
                # A watch event from before our own write, or of that write: the reconcile that wrote it
                # went on from there until nothing was left to do, and set the timer.
                return STALE
            return await self._run_counted(incident, memory)

    async def reconcile_by_name(self, namespace: str, name: str, uid: str) -> float | None:
        """Reconcile from a fresh read (the requeue timer).

        Read under the Incident's lock: read before it, the copy could predate the write of a reconcile
        still running, and our write would then be a conflict (a wasted patch and another read)."""
        memory = self._memory.setdefault(uid or name, _Memory())
        async with memory.lock:
            try:
                incident = Incident.from_object(await self.kube.get(INCIDENTS, namespace, name))
            except NotFound:
                return None
            self._index(incident)
            return await self._run_counted(incident, memory)

    async def _run_counted(self, incident: Incident, memory: _Memory) -> float | None:
        try:
            result = await self._run(incident, memory)
        except NotFound:
            return None
        except Exception:
            metrics.RECONCILES.labels("error").inc()
            raise
        metrics.RECONCILES.labels("ok").inc()
        return result

    def observe(self, body: Mapping[str, Any]) -> None:
        """A watch event this replica does not reconcile (a standby, or behind its fence): keep the group index
        as fresh as the watch, so a new leader decides groups over every incident, not only over those its
        first reconciles have read back (deciding then, a storm's member would find too few peers and go on
        alone for good)."""
        try:
            incident = Incident.from_object(body)
        except ValueError:
            return  # its own reconcile reports what is wrong with it
        self._index(incident)

    def forget(self, uid: str) -> None:
        """The Incident is gone: drop what is remembered about it."""
        self._memory.pop(uid, None)
        self.phases.forget(uid)
        indexed = self._indexed.pop(uid, None)
        if indexed is not None:
            self.groups.forget(*indexed)

    def _index(self, incident: Incident) -> None:
        """Keep the group index as fresh as the watch and our writes; wake the group members it affects."""
        namespace = incident.metadata.namespace or "default"
        if incident.metadata.uid:
            self._indexed[incident.metadata.uid] = (namespace, incident.metadata.name)
        for name in self.groups.put(incident):
            if name != incident.metadata.name:
                self.wake(namespace, name)

    # --- the loop ------------------------------------------------------------------------

    async def _get(self, incident: Incident) -> Incident:
        meta = incident.metadata
        return Incident.from_object(await self.kube.get(INCIDENTS, meta.namespace or "default", meta.name))

    async def _observe(self, incident: Incident, memory: _Memory) -> Observed:
        slack_retry = memory.backoff.get(Channel.SLACK)
        jira_retry = memory.backoff.get(Channel.JIRA)
        policies = await self.policies.get(incident.metadata.namespace or "default")
        return Observed(
            policies=policies,
            group=await self._group(incident, policies),
            enrichment_available=any(e.wants(incident) for e in self.integrations.enrichers),
            slack_enabled=self.integrations.slack is not None,
            jira_enabled=self.integrations.jira is not None,
            slack_retry_time=slack_retry.retry_time if slack_retry else None,
            jira_retry_time=jira_retry.retry_time if jira_retry else None,
            recurrence=await self._recurrence(incident),
        )

    async def _recurrence(self, incident: Incident) -> History | None:
        """The history the hand-off records, until it is recorded. Incidents that settled before recurrence
        existed are left as they were: an upgrade is not a status write for every incident kept."""
        status = incident.status
        if self.recurrence is None or status.recurrence is not None or status.phase in TERMINAL_PHASES:
            return None
        return await self.recurrence.history(incident)

    async def _group(self, incident: Incident, policies: tuple[RemediationPolicy, ...]) -> GroupObservation:
        """The incident's group from the index: what correlation says while undecided, its root (read
        when not indexed), its members."""
        meta = incident.metadata
        namespace = meta.namespace or "default"
        policy = select_policy(policies, incident.spec)
        spec = policy.spec.correlation if policy is not None else None
        enabled = spec.enabled if spec is not None else True
        status = incident.status
        found = None
        if (enabled and status.analysis is not None and not membership.decided(status)
                and not membership.is_storm_root(incident)):
            settings, hold = membership.settings_of(spec)
            subject = membership.facts_of(incident)
            found = membership.decide(subject, list(self.groups.facts(namespace, meta.name)), settings, hold,
                                      self.clock())
        root_name = found.root if found is not None and found.root else membership.root_of(incident)
        root, missing = None, False
        if root_name:
            root = self.groups.peer(namespace, root_name)
            if root is None:
                try:
                    fetched = Incident.from_object(await self.kube.get(INCIDENTS, namespace, root_name))
                except NotFound:
                    missing = True
                else:
                    self.groups.put(fetched)
                    root = membership.peer_of(fetched)
        return GroupObservation(enabled=enabled, found=found, root=root, root_missing=missing,
                                members=self.groups.members(namespace, meta.name),
                                siblings=self.groups.members(namespace, root_name) if root_name else (),
                                member_concurrency=(spec or CorrelationSettings()).member_concurrency)

    async def _run(self, incident: Incident, memory: _Memory) -> float | None:
        persisted = incident
        pending: list[Fold] = []
        requeue: float | None = None
        for _ in range(MAX_STEPS):
            now = self.clock()
            plan = analyzing.decide(incident, await self._observe(incident, memory), self.config, now)
            incident = incident.model_copy(update={"status": plan.status})
            stage_wants_turn = (
                plan.step is None
                and self.remediation is not None
                and plan.status.phase in STAGE_PHASES
            )
            if (plan.step is None or plan.step in NOTIFICATION_STEPS) and incident.status != persisted.status:
                try:
                    persisted = incident = await self._write(incident, persisted, memory)
                    pending.clear()
                except Conflict:
                    persisted, incident = await self._refold(incident, pending)
                    continue
                await self._ensure_jira_label(incident)
            if plan.step is not None:
                fold = await self._perform(plan.step, incident, memory, now)
                pending.append(fold)
                incident = incident.model_copy(update={"status": fold(incident.status)})
                continue
            if stage_wants_turn and self.remediation is not None:
                result = await self.remediation.step(incident, now)
                requeue = _earliest(plan.requeue_after, result.requeue_after)
                if result.status != incident.status:
                    status = result.status

                    def staged(_: IncidentStatus, status: IncidentStatus = status) -> IncidentStatus:
                        return status

                    pending.append(staged)
                    incident = incident.model_copy(update={"status": status})
                    continue
                await self._ensure_jira_label(incident)
                return requeue
            await self._ensure_jira_label(incident)
            return plan.requeue_after
        return _earliest(requeue, 1.0)

    async def _refold(self, incident: Incident, pending: list[Fold]) -> tuple[Incident, Incident]:
        """(the fresh object, the fresh object with the unrecorded outcomes folded in again)."""
        metrics.RECONCILES.labels("conflict").inc()
        fresh = await self._get(incident)
        status = fresh.status
        for fold in pending:
            status = fold(status)
        return fresh, fresh.model_copy(update={"status": status})

    async def _write(self, incident: Incident, persisted: Incident, memory: _Memory) -> Incident:
        """Patch the status (all but the receiver-owned `signals`), conditional on the resourceVersion read."""
        meta = incident.metadata
        wire = incident.status.to_wire()
        wire.pop("signals", None)
        body = await self.kube.patch(
            INCIDENTS, meta.namespace or "default", meta.name, {"status": wire},
            status=True, resource_version=persisted.metadata.resource_version,
        )
        metrics.STATUS_WRITES.inc()
        written = Incident.from_object(body)
        metrics.observe_outcome(persisted.status, written.status)
        memory.written_rv = written.metadata.resource_version
        self._index(written)
        await self._post_events(written, persisted)
        analysis = written.status.analysis
        self.phases.observe(
            meta.uid or meta.name, written.spec.source.value,
            analysis.error_type.value if analysis else "Unknown",
            (written.status.phase or IncidentPhase.ANALYZING).value,
        )
        return written

    async def _post_events(self, written: Incident, before: Incident) -> None:
        old = {(e.time, e.action, e.message) for e in before.status.history}
        now = self.clock()
        for entry in written.status.history:
            if (entry.time, entry.action, entry.message) not in old:
                warning = entry.action in WARNING_ACTIONS
                await self.events.post(written, entry, warning=warning, now=now)

    async def _ensure_jira_label(self, incident: Incident) -> None:
        """The labels other components select by: the Jira key (the receiver's Jira webhook), the target and the
        error type (recurrences: `kubectl get inc -l ...`), a member's root. One patch, only when one is missing."""
        wanted = {TARGET_LABEL: target_for(incident)}
        notes = incident.status.notifications
        if notes is not None and notes.jira is not None:
            wanted[JIRA_KEY_LABEL] = notes.jira.key
        if incident.status.analysis is not None:
            wanted[ERROR_TYPE_LABEL] = incident.status.analysis.error_type.value
        group = incident.status.correlation
        if membership.is_member(incident.status) and group is not None and group.root is not None:
            wanted[ROOT_LABEL] = group.root.name
        missing = {k: v for k, v in wanted.items() if incident.metadata.labels.get(k) != v}
        if not missing or set(missing) == {TARGET_LABEL}:
            return  # the target label alone (incidents from before it existed) is not worth a write
        meta = incident.metadata
        await self.kube.patch(INCIDENTS, meta.namespace or "default", meta.name, {"metadata": {"labels": missing}})
        incident.metadata.labels.update(missing)

    # --- steps ---------------------------------------------------------------------------

    async def _perform(self, step: Step, incident: Incident, memory: _Memory, now: datetime) -> Fold:
        handlers: dict[Step, Callable[[Incident, _Memory, datetime], Awaitable[Fold]]] = {
            Step.ENRICH: self._enrich,
            Step.ANALYZE: self._analyze,
            Step.CREATE_JIRA: self._create_jira,
            Step.POST_SLACK: self._post_slack,
            Step.UPDATE_SLACK: self._update_slack,
            Step.UPDATE_JIRA: self._update_jira,
            Step.CREATE_GROUP_ROOT: self._create_group_root,
        }
        self.fence()  # a Slack message or Jira issue only from a leader sure of its lease
        return await handlers[step](incident, memory, now)

    async def _enrich(self, incident: Incident, memory: _Memory, now: datetime) -> Fold:
        enricher = next(e for e in self.integrations.enrichers if e.wants(incident))
        enrichment = await enricher.enrich(incident)
        if enrichment.failed_reason:
            metrics.ENRICHMENT_FAILURES.labels(incident.spec.source.value).inc()
        return lambda status: analyzing.fold_enrichment(status, enrichment, now)

    async def _create_group_root(self, incident: Incident, memory: _Memory, now: datetime) -> Fold:
        """A storm's root under its deterministic name: created now, or (409) another reconcile made it."""
        namespace = incident.metadata.namespace or "default"
        body = membership.storm_root_body(incident, namespace)
        try:
            created = await self.kube.create(INCIDENTS, namespace, body)
        except Conflict as exc:
            if not exc.already_exists:
                raise
            created = await self.kube.get(INCIDENTS, namespace, body["metadata"]["name"])
        else:
            metrics.STATUS_WRITES.inc()
            self.crash_hook("after-group-root-create", incident.metadata.name)
        self.groups.put(Incident.from_object(created))
        return lambda status: status

    async def _analyze(self, incident: Incident, memory: _Memory, now: datetime) -> Fold:
        if membership.is_storm_root(incident):  # stands for a dependency: nothing to ask an analyzer
            storm = membership.storm_analysis(incident, self.clock())
            return lambda status: analyzing.fold_analysis(status, storm, now)
        request = AnalysisRequest.from_incident(incident)
        started = asyncio.get_running_loop().time()
        analysis = await self.integrations.analyzer.analyze(request)
        elapsed = asyncio.get_running_loop().time() - started
        update: dict[str, Any] = {"analyzed_time": analysis.analyzed_time or self.clock()}
        if not analysis.duration_seconds:
            update["duration_seconds"] = round(elapsed, 3)
        analysis = analysis.model_copy(update=update)
        metrics.ANALYSIS_SECONDS.labels(analysis.provider).observe(analysis.duration_seconds)
        metrics.INCIDENTS_ANALYZED.labels(incident.spec.source.value, analysis.error_type.value,
                                          analysis.provider).inc()
        metrics.LLM_TOKENS.labels("prompt").inc(analysis.prompt_tokens)
        metrics.LLM_TOKENS.labels("completion").inc(analysis.completion_tokens)
        if analysis.fallback_reason:
            metrics.LLM_FAILURES.inc()
        self.crash_hook("after-analysis")
        return lambda status: analyzing.fold_analysis(status, analysis, now)

    def _failed(self, channel: Channel, memory: _Memory, incident: Incident, error: Exception, now: datetime) -> Fold:
        if isinstance(error, RateLimited):
            return self._rate_limited(channel, memory, incident, error, now)
        metrics.NOTIFICATION_FAILURES.labels(channel.value).inc()
        backoff = memory.backoff.setdefault(channel, _Backoff())
        backoff.failures += 1
        backoff.retry_time = now + timedelta(seconds=self.retry.delay(backoff.failures))
        message = clean_text(str(error), 300)
        log.warning("%s for %s/%s failed (try %d): %s", channel.value, incident.metadata.namespace,
                    incident.metadata.name, backoff.failures, message)
        gen = incident.metadata.generation
        return lambda status: notifying.fold_notification_failure(status, channel, message, now, gen)

    def _rate_limited(self, channel: Channel, memory: _Memory, incident: Incident, error: RateLimited,
                      now: datetime) -> Fold:
        """Slack or Jira said when to come back: come back then, not on the failure backoff, and write
        nothing (a storm would otherwise cost a status write and an Event per 429). Still due in status,
        so a restart posts it too."""
        metrics.NOTIFICATIONS_RATE_LIMITED.labels(channel.value).inc()
        backoff = memory.backoff.setdefault(channel, _Backoff())
        backoff.retry_time = now + timedelta(seconds=max(error.retry_after, 0.05))
        log.info("%s for %s/%s rate-limited; retrying in %.1f s", channel.value, incident.metadata.namespace,
                 incident.metadata.name, error.retry_after)
        return lambda status: status

    def _succeeded(self, channel: Channel, memory: _Memory) -> None:
        memory.backoff.pop(channel, None)

    async def _create_jira(self, incident: Incident, memory: _Memory, now: datetime) -> Fold:
        jira = self.integrations.jira
        project = incident.status.ownership.jira_project if incident.status.ownership else None
        if jira is None or not project:
            raise RuntimeError("CreateJira decided without Jira or a project")
        phase = incident.status.phase or IncidentPhase.ANALYZING
        try:
            ref, created = await jira.create_incident_issue(incident, project)
        except Exception as exc:
            return self._failed(Channel.JIRA, memory, incident, exc, now)
        if created:
            metrics.NOTIFICATIONS.labels("jira", "create").inc()
            self.crash_hook("after-jira-create")
        self._succeeded(Channel.JIRA, memory)
        return lambda status: notifying.fold_jira_created(status, ref, phase, now)

    async def _post_slack(self, incident: Incident, memory: _Memory, now: datetime) -> Fold:
        slack = self.integrations.slack
        channel = incident.status.ownership.slack_channel if incident.status.ownership else None
        if slack is None or not channel:
            raise RuntimeError("PostSlack decided without Slack or a channel")
        phase = notifying.phase_after_notifying(incident.status, now)
        shown = incident.model_copy(update={"status": incident.status.model_copy(update={"phase": phase})})
        try:
            ref, posted = await slack.post_incident(shown, channel)
        except Exception as exc:
            return self._failed(Channel.SLACK, memory, incident, exc, now)
        if posted:
            metrics.NOTIFICATIONS.labels("slack", "post").inc()
            self.crash_hook("after-slack-post")
        self._succeeded(Channel.SLACK, memory)
        return lambda status: notifying.fold_slack_posted(status, ref, phase, now)

    async def _update_slack(self, incident: Incident, memory: _Memory, now: datetime) -> Fold:
        slack = self.integrations.slack
        if slack is None:
            raise RuntimeError("UpdateSlack decided without Slack")
        phase = incident.status.phase or IncidentPhase.ANALYZING
        view = notifying.slack_view(incident.status)
        if phase is IncidentPhase.RESOLVED:
            self.crash_hook("before-resolved-notify", incident.metadata.name)
        try:
            await slack.update_incident(incident)
            # Retries first, also once the incident ended: a 429 may have held them back until now.
            for key, text in retry_replies(incident.status):
                await slack.reply_once(incident, key, text)
            if phase is IncidentPhase.ESCALATED:
                await slack.reply_once(incident, "escalated", escalation_note(incident, self.config.dashboard_url))
            elif phase is IncidentPhase.RESOLVED:
                await slack.reply_once(incident, "resolved", resolution_note(incident.status))
            for key, text in membership.group_replies(incident.status):  # once per group state, by key
                await slack.reply_once(incident, key, text)
        except Exception as exc:
            return self._failed(Channel.SLACK, memory, incident, exc, now)
        metrics.NOTIFICATIONS.labels("slack", "update").inc()
        self._succeeded(Channel.SLACK, memory)
        return lambda status: notifying.fold_slack_updated(status, phase, now, view)

    async def _update_jira(self, incident: Incident, memory: _Memory, now: datetime) -> Fold:
        jira = self.integrations.jira
        if jira is None:
            raise RuntimeError("UpdateJira decided without Jira")
        phase = incident.status.phase or IncidentPhase.ANALYZING
        view = membership.jira_view(incident.status) or phase.value
        try:
            if phase in TERMINAL_PHASES:
                await jira.comment_once(incident, f"phase-{phase.value}", self._jira_phase_note(incident, phase))
            if phase is IncidentPhase.RESOLVED and await jira.transition_once(incident, self.jira_done_transition):
                metrics.NOTIFICATIONS.labels("jira", "transition").inc()
                self.crash_hook("after-jira-transition", incident.metadata.name)
            for key, text in membership.group_comments(incident.status):  # once per group state, by marker
                await jira.comment_once(incident, key, text)
        except Exception as exc:
            return self._failed(Channel.JIRA, memory, incident, exc, now)
        metrics.NOTIFICATIONS.labels("jira", "comment").inc()
        self._succeeded(Channel.JIRA, memory)
        return lambda status: notifying.fold_jira_updated(status, phase, now, view)

    def _jira_phase_note(self, incident: Incident, phase: IncidentPhase) -> str:
        if phase is IncidentPhase.ESCALATED:
            return escalation_note(incident, self.config.dashboard_url)
        if phase is IncidentPhase.RESOLVED:
            return resolution_note(incident.status).replace(":white_check_mark: ", "")
        return f"Incident {phase.value}."


def escalation_note(incident: Incident, dashboard_url: str | None = None) -> str:
    reason = incident.status.escalation_reason or "the operator cannot heal this incident"
    meta = incident.metadata
    link = f" Dashboard: {dashboard_incident_url(dashboard_url, meta.namespace or 'default', meta.name)}" \
        if dashboard_url else ""
    return f":rotating_light: A human is needed: {reason}{link}"


def _earliest(a: float | None, b: float | None) -> float | None:
    values = [v for v in (a, b) if v is not None]
    return min(values) if values else None
