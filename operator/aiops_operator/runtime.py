"""The operator's composition root: builds the reconciler and its integrations from settings,
owns the requeue timers, and serves /metrics and /healthz.

With leader election it is also the gate: Kopf's handlers run in every
replica, and a replica that does not hold the Lease only remembers what its
watches show (`acting()`); when it becomes leader it reconciles all of it.

handlers.py (Kopf wiring) only delegates here.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import secrets
import socket
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from aiohttp import web
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from aiops_operator import metrics
from aiops_operator.analysis.request import AnalysisRequest
from aiops_operator.analysis.service import analyze, llm_from_settings
from aiops_operator.analysis.settings import LlmSettings
from aiops_operator.api import Analysis, HistoryEntry, Incident
from aiops_operator.enrichment import Enricher
from aiops_operator.enrichment.adf import AdfEnricher
from aiops_operator.enrichment.databricks import DatabricksEnricher
from aiops_operator.events import EventRecorder
from aiops_operator.incident.analyzing import AnalyzingConfig
from aiops_operator.incident.ports import Analyzer, RemediationStage
from aiops_operator.incident.reconcile import (
    STALE,
    CrashPoint,
    Integrations,
    Reconciler,
    RetryPolicy,
    no_crash,
)
from aiops_operator.integrations.jira import JiraNotifier
from aiops_operator.integrations.slack import SlackNotifier
from aiops_operator.kube import INCIDENTS, KubeApiError, KubeClient, KubeConfig, KubeUnavailable
from aiops_operator.kube.lease import LeaderElector, LeaseLock, NotLeader
from aiops_operator.ownership import OwnershipDefaults
from aiops_operator.policy.cache import PolicyCache
from aiops_operator.policy.controller import PolicyController
from aiops_operator.recurrence.index import RecurrenceIndex
from aiops_operator.recurrence.lookup import Recurrences
from aiops_operator.recurrence.record import RecordStore
from aiops_operator.remediation.attempt_status import Progress
from aiops_operator.remediation.executors.factory import build_executors
from aiops_operator.remediation.settings import RemediationSettings
from aiops_operator.remediation.stage import ExecutorsPort, Remediator, RemediatorConfig, done_statuses
from aiops_operator.retention.sweeper import RetentionSweeper
from aiops_operator.settings import OperatorSettings

if TYPE_CHECKING:
    from aiops_operator.analysis.llm import LlmAnalyzer
    from aiops_operator.api import ExternalRun, Incident, RemediationAttempt

log = logging.getLogger(__name__)


def utcnow() -> datetime:
    return datetime.now(UTC)


class EntryPointAnalyzer:
    """`analysis.service.analyze`: rules, then the configured LLM with the rules as fallback."""

    def __init__(self, llm: LlmAnalyzer | None) -> None:
        self._llm = llm

    async def analyze(self, request: AnalysisRequest) -> Analysis:
        return await analyze(request, llm=self._llm, clock=utcnow)

    async def aclose(self) -> None:
        if self._llm is not None:
            await self._llm.aclose()


def build_analyzer(settings: LlmSettings | None = None) -> EntryPointAnalyzer:
    """The analyzer from AIOPS_LLM_* (rules only when no provider is configured)."""
    return EntryPointAnalyzer(llm_from_settings(settings or LlmSettings()))


def build_integrations(settings: OperatorSettings, analyzer: Analyzer | None = None) -> Integrations:
    timeout = settings.integration_timeout_seconds
    enrichers: list[Enricher] = []
    if settings.databricks_enabled:
        enrichers.append(DatabricksEnricher(settings.databricks_pat, host=settings.databricks_host,
                                            timeout=timeout, clock=utcnow))
    if settings.adf_enabled:
        enrichers.append(AdfEnricher(
            settings.azure_tenant_id or "", settings.azure_client_id or "", settings.azure_secret,
            authority_host=settings.azure_authority_host,
            resource_manager_url=settings.azure_resource_manager_url, timeout=timeout, clock=utcnow,
        ))
    slack = (
        SlackNotifier(settings.slack_token, base_url=settings.slack_api_url,
                      dashboard_url=settings.dashboard_url, timeout=timeout)
        if settings.slack_enabled else None
    )
    jira = (
        JiraNotifier(settings.jira_url or "", settings.jira_user, settings.jira_token,
                     issue_type=settings.jira_issue_type, dashboard_url=settings.dashboard_url, timeout=timeout)
        if settings.jira_enabled else None
    )
    return Integrations(analyzer=analyzer or build_analyzer(), enrichers=enrichers, slack=slack, jira=jira)


def analyzing_config(settings: OperatorSettings, remediation: RemediationSettings) -> AnalyzingConfig:
    return AnalyzingConfig(
        sla_targets=settings.sla_seconds(),
        ownership=OwnershipDefaults(
            team=settings.default_team,
            owner=settings.default_owner,
            cost_center=settings.default_cost_center,
            slack_channel=settings.default_slack_channel,
            jira_project=settings.default_jira_project,
            keyword_rules=tuple(settings.ownership_rules),
        ),
        resync_seconds=settings.resync_seconds,
        dashboard_url=settings.dashboard_url,
        auto_remediation_enabled=remediation.auto_remediation_enabled,  # the one kill switch
    )


class FencedExecutors:
    """The executors behind the leader's fence: a launch is refused (NotLeader) unless this replica leads
    with time to spare. Checked on the executor's thread, right before the SDK call."""

    def __init__(self, executors: ExecutorsPort, fence: Callable[[], None]) -> None:
        self._executors = executors
        self._fence = fence

    def launch(self, incident: Incident, attempt: RemediationAttempt) -> ExternalRun:
        self._fence()
        return self._executors.launch(incident, attempt)

    def poll(self, incident: Incident, attempt: RemediationAttempt) -> Progress:
        return self._executors.poll(incident, attempt)


def build_remediator(
    settings: OperatorSettings, kube: KubeClient, policies: PolicyCache, crash_hook: CrashPoint,
    on_activity: Callable[[str], None], fence: Callable[[], None] = lambda: None,
) -> tuple[Remediator, Callable[[], None]]:
    """The remediation stage with the production executors; (stage, close)."""
    remediation_settings = RemediationSettings()
    executors = build_executors(settings, remediation_settings, clock=utcnow)
    stage = Remediator(
        kube, FencedExecutors(executors, fence), remediation_settings, policies,
        config=RemediatorConfig(jira_done_statuses=done_statuses(settings.jira_done_statuses),
                                max_running=remediation_settings.remediation_max_running),
        crash_hook=crash_hook, on_activity=on_activity, clock=utcnow,
    )
    def close() -> None:
        stage.close()
        executors.close()

    return stage, close


WAKE_SECONDS = 0.5
"""A group's change reaches its other incidents within this delay; changes inside it coalesce."""
EVENTS_YIELD_ABOVE_RECONCILES = 4
"""More reconciles than this in flight is a burst: Events then trickle (`events.EventRecorder`)."""
FORBIDDEN = 403
FORBIDDEN_RETRY_SECONDS = 60.0
"""A missing permission is not fixed by retrying soon; a corrected Role is picked up within a minute."""
DENIED_TRACKED = 1000


def lease_identity(settings: OperatorSettings) -> str:
    """`<pod name>_<random>` (client-go's convention): unique per process, readable in `kubectl get lease`."""
    return f"{settings.pod_name or socket.gethostname()}_{secrets.token_hex(4)}"


def lease_namespace(settings: OperatorSettings, kube_config: KubeConfig, watched: list[str]) -> str:
    """Where the Lease lives: the setting, the pod's namespace, the first watched namespace, the kubeconfig's."""
    return (settings.leader_election_namespace or settings.pod_namespace or (sorted(watched)[0] if watched else None)
            or kube_config.namespace or "default")


def build_elector(settings: OperatorSettings, kube_config: KubeConfig, namespace: str, *,
                  on_started_leading: Callable[[], None], on_stopped_leading: Callable[[], None]) -> LeaderElector:
    timing = settings.election_timing()
    # A client of its own: renewals never wait behind a burst's writes, and each try gives up in time for
    # the next one within the renew deadline.
    kube = KubeClient(kube_config, field_manager="aiops-rca-operator", max_connections=2,
                      timeout=max(1.0, timing.renew_deadline / 2),
                      on_request=lambda verb: metrics.API_REQUESTS.labels("election", verb).inc())
    identity = lease_identity(settings)
    metrics.LEADER.labels(identity).set(0)

    def started() -> None:
        metrics.LEADER.labels(identity).set(1)
        on_started_leading()

    def stopped() -> None:
        metrics.LEADER.labels(identity).set(0)
        on_stopped_leading()

    def new_leader(holder: str) -> None:
        metrics.LEADER_TRANSITIONS.inc()
        log.info("lease %s/%s: held by %s", namespace, settings.leader_election_lease_name, holder or "nobody")

    return LeaderElector(LeaseLock(kube, namespace, settings.leader_election_lease_name), identity, timing,
                         on_started_leading=started, on_stopped_leading=stopped, on_new_leader=new_leader)


class Runtime:
    """Everything the Kopf handlers delegate to."""

    def __init__(
        self,
        settings: OperatorSettings,
        kube_config: KubeConfig,
        *,
        remediation: RemediationStage | None = None,
        integrations: Integrations | None = None,
        watched_namespaces: list[str] | None = None,
        crash_hook: CrashPoint = no_crash,
    ) -> None:
        self.settings = settings
        self.kube_config = kube_config
        self.elector: LeaderElector | None = None
        if settings.leader_election:
            self.elector = build_elector(settings, kube_config,
                                         lease_namespace(settings, kube_config, watched_namespaces or []),
                                         on_started_leading=self._started_leading,
                                         on_stopped_leading=self._stopped_leading)
        # What the watches showed, kept on standbys too: a new leader reconciles all of it at once.
        self._known: dict[str, tuple[str, str]] = {}  # incident uid -> (namespace, name)
        self._uids: dict[tuple[str, str], str] = {}  # (namespace, name) -> incident uid
        self._policy_bodies: dict[tuple[str, str], Mapping[str, Any]] = {}
        # 8 keep-alive connections carry hundreds of writes/s; requests beyond them queue in order.
        self.kube = KubeClient(kube_config, field_manager="aiops-rca-operator", max_connections=8,
                               max_in_flight=8, write_guard=self._fence,
                               on_request=lambda verb: metrics.API_REQUESTS.labels("operator", verb).inc())
        loop_time = asyncio.get_event_loop().time
        self.policies = PolicyCache(self.kube, loop_time)
        self._reconciling = 0
        # Events yield to lifecycle writes only under a burst (requests queue for the API server, or many
        # reconciles are in flight): a few incidents at a time post theirs at once.
        self.events = EventRecorder(self.kube, busy=lambda: (self.kube.queued > 0
                                                             or self._reconciling > EVENTS_YIELD_ABOVE_RECONCILES))
        self.policy_controller = PolicyController(self.kube, utcnow, stats_seconds=settings.policy_stats_seconds)
        self._closers: list[Callable[[], None]] = []
        self.remediator: Remediator | None = None
        if remediation is None:
            self.remediator, close = build_remediator(settings, self.kube, self.policies, crash_hook,
                                                      self.policy_controller.mark_dirty, fence=self._fence)
            self._closers.append(close)
            remediation = self.remediator
        # Every replica keeps the index (standbys too: a new leader counts recurrences at once); only the
        # leader writes the recurrence record and deletes.
        self.recurrence_index = RecurrenceIndex()
        self.records = RecordStore(self.kube)
        self.retention = RetentionSweeper(self.kube, self.recurrence_index, self.records,
                                          retention_seconds=settings.incident_retention_seconds, clock=utcnow,
                                          batch=settings.retention_batch, fence=self._fence)
        self.reconciler = Reconciler(
            self.kube,
            integrations or build_integrations(settings),
            config=analyzing_config(settings, RemediationSettings()),
            policies=self.policies,
            events=self.events,
            clock=utcnow,
            retry=RetryPolicy(settings.notify_retry_initial_seconds, settings.notify_retry_max_seconds),
            remediation=remediation,
            crash_hook=crash_hook,
            jira_done_transition=settings.jira_done_transition,
            fence=self._fence,
            recurrence=Recurrences(self.recurrence_index, self.records),
            wake=self._wake,
        )
        self._timers: dict[str, asyncio.TimerHandle] = {}
        self._tasks: set[asyncio.Task[None]] = set()
        self._denied: dict[str, str] = {}
        """uid -> the permission error last reported on that incident (bounded by DENIED_TRACKED)."""
        self._site: web.AppRunner | None = None

    # --- leadership --------------------------------------------------------------------

    def acting(self) -> bool:
        """Whether this replica acts: it leads with time to spare, or runs without election."""
        return self.elector is None or self.elector.may_act()

    def holding(self) -> bool:
        """Whether this replica holds the Lease, sure of it or not: it keeps the timers.

        Held but not sure (a renewal is late, the fence is shut) is a pause, not a hand-over: work that
        meets the fence waits one retry period and tries again, until the renewal succeeds or the Lease
        is lost (and the timers with it)."""
        return self.elector is None or self.elector.leading()

    def _retry_after_fence(self) -> float:
        return self.elector.timing.retry_period if self.elector is not None else 1.0

    def _fence(self, method: str = "", path: str = "") -> None:
        """Before every write and launch: refuse unless this replica leads with time to spare."""
        if self.elector is not None:
            self.elector.check(method, path)

    def _started_leading(self) -> None:
        """Level-based takeover: reconcile everything the warm watches showed, as after a restart."""
        log.info("leading: reconciling %d incidents and %d policies", len(self._known), len(self._policy_bodies))
        self.records.clear()  # the previous leader may have written records since this replica read them
        for uid, (namespace, name) in list(self._known.items()):
            self._schedule(uid, namespace, name, 0.0)
        loop = asyncio.get_running_loop()
        for body in list(self._policy_bodies.values()):
            task = loop.create_task(self._policy_status(body))
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)

    def _stopped_leading(self) -> None:
        """Lost or released: no more timers (in-flight reconciles run into the fence at their next write)."""
        log.warning("not leading: standing by")
        for uid in list(self._timers):
            self._cancel(uid)

    # --- incidents ---------------------------------------------------------------------

    async def on_incident_event(self, event_type: str, body: Mapping[str, Any]) -> None:
        self.recurrence_index.observe(event_type, body)
        meta = body.get("metadata") or {}
        uid = str(meta.get("uid") or "")
        namespace, name = str(meta.get("namespace")), str(meta.get("name"))
        if event_type == "DELETED" or meta.get("deletionTimestamp"):
            self._known.pop(uid, None)
            self._uids.pop((namespace, name), None)
            self._cancel(uid)
            self.reconciler.forget(uid)
            self._denied.pop(uid, None)
            return
        self._known[uid] = (namespace, name)
        self._uids[(namespace, name)] = uid
        if not self.holding():
            self.reconciler.observe(body)
            return
        if not self.acting():
            self.reconciler.observe(body)
            self._schedule(uid, namespace, name, self._retry_after_fence())
            return
        await self._reconcile(uid, namespace, name, body)

    async def _reconcile(self, uid: str, namespace: str, name: str, body: Mapping[str, Any] | None) -> None:
        self._reconciling += 1
        try:
            if body is None:
                delay = await self.reconciler.reconcile_by_name(namespace, name, uid)
            else:
                delay = await self.reconciler.reconcile(body)
        except NotLeader as exc:
            log.info("reconcile of %s/%s stopped: %s", namespace, name, exc)
            if self.holding():
                self._schedule(uid, namespace, name, self._retry_after_fence())
            return
        except (KubeUnavailable, ConnectionError, TimeoutError) as exc:
            log.warning("reconcile of %s/%s: API server unavailable (%s); retrying", namespace, name, exc)
            delay = 5.0
        except KubeApiError as exc:
            if exc.status != FORBIDDEN:
                log.exception("reconcile of %s/%s failed; retrying", namespace, name)
                delay = 30.0
            else:
                delay = await self._report_forbidden(exc, uid, namespace, name, body)
        except Exception:
            log.exception("reconcile of %s/%s failed; retrying", namespace, name)
            delay = 30.0
        finally:
            self._reconciling -= 1
        if delay == STALE:
            return
        if delay is None:
            self._cancel(uid)
        else:
            self._schedule(uid, namespace, name, delay)

    async def _report_forbidden(
        self, exc: KubeApiError, uid: str, namespace: str, name: str, body: Mapping[str, Any] | None
    ) -> float:
        """A missing RBAC permission is a configuration error: say which, in the log and on the Incident.

        Retried slowly (a fixed Role is picked up without a restart); the Warning Event is posted once per
        distinct message per incident, not on every retry.
        """
        log.error("reconcile of %s/%s: the operator's ServiceAccount lacks a permission; grant it in its Role"
                  " (the Helm chart's RBAC) - retrying every %.0fs: %s", namespace, name, FORBIDDEN_RETRY_SECONDS,
                  exc)
        if self._denied.get(uid) == str(exc):
            return FORBIDDEN_RETRY_SECONDS
        with contextlib.suppress(KubeApiError, KubeUnavailable, ConnectionError, TimeoutError, ValueError):
            raw = body if body is not None else await self.kube.get(INCIDENTS, namespace, name)
            entry = HistoryEntry(time=utcnow(), action="PermissionDenied",
                                 message=f"The operator may not do what this incident needs: {exc}"[:1024])
            await self.events.post(Incident.from_object(dict(raw)), entry, warning=True, now=utcnow())
            if len(self._denied) >= DENIED_TRACKED:
                self._denied.pop(next(iter(self._denied)))
            self._denied[uid] = str(exc)
        return FORBIDDEN_RETRY_SECONDS

    def _schedule(self, uid: str, namespace: str, name: str, delay: float) -> None:
        """The timer: reconcile again after `delay` seconds (replacing any earlier timer)."""
        self._cancel(uid)
        if not self.holding():
            return  # a reconcile that ended after leadership was lost: the next leader has its own timers
        loop = asyncio.get_running_loop()

        def fire() -> None:
            self._timers.pop(uid, None)
            task = loop.create_task(self._reconcile(uid, namespace, name, None))
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)

        self._timers[uid] = loop.call_later(max(0.0, delay), fire)

    def _wake(self, namespace: str, name: str) -> None:
        """Another incident of its group changed: reconcile this one shortly (coalesced with its timer)."""
        uid = self._uids.get((namespace, name))
        if uid is None:
            return  # not seen yet: its own first event reconciles it
        timer = self._timers.get(uid)
        if timer is not None and timer.when() - asyncio.get_running_loop().time() <= WAKE_SECONDS:
            return  # already due
        self._schedule(uid, namespace, name, WAKE_SECONDS)

    def _cancel(self, uid: str) -> None:
        timer = self._timers.pop(uid, None)
        if timer is not None:
            timer.cancel()

    # --- policies ------------------------------------------------------------------------

    async def on_policy_event(self, body: Mapping[str, Any]) -> None:
        meta = body.get("metadata") or {}
        namespace = meta.get("namespace")
        if namespace:
            self.policies.invalidate(str(namespace))
        key = (str(namespace), str(meta.get("name")))
        if meta.get("deletionTimestamp"):
            self._policy_bodies.pop(key, None)
        else:
            self._policy_bodies[key] = body
        if self.holding():
            await self._policy_status(body)

    async def _policy_status(self, body: Mapping[str, Any]) -> None:
        try:
            await self.policy_controller.on_event(body)
        except NotLeader:
            if self.holding():
                loop = asyncio.get_running_loop()
                meta = body.get("metadata") or {}
                key = (str(meta.get("namespace")), str(meta.get("name")))

                def again() -> None:
                    latest = self._policy_bodies.get(key)
                    if latest is not None and self.holding():
                        task = loop.create_task(self._policy_status(latest))
                        self._tasks.add(task)
                        task.add_done_callback(self._tasks.discard)

                loop.call_later(self._retry_after_fence(), again)

    # --- attempts ------------------------------------------------------------------------

    def on_attempt_event(self, event_type: str, body: Mapping[str, Any]) -> None:
        """A human approved or denied, a playbook called back...: reconcile the owning Incident now.

        Events of our own writes are skipped (the reconcile that wrote them goes on by itself)."""
        if self.remediator is not None:
            self.remediator.observe(event_type, body)
        if event_type == "DELETED" or (self.remediator is not None and self.remediator.is_own_write(body)):
            return
        if not self.holding():
            return
        meta = body.get("metadata") or {}
        owner = next((r for r in meta.get("ownerReferences") or [] if r.get("kind") == "Incident"), None)
        if owner is None:
            return
        uid, name = str(owner.get("uid") or ""), str(owner.get("name") or "")
        timer = self._timers.get(uid)
        if timer is not None and timer.when() - asyncio.get_running_loop().time() <= 0.05:
            return  # already due
        self._schedule(uid, str(meta.get("namespace")), name, 0.0)

    # --- lifecycle -----------------------------------------------------------------------

    async def start_http(self, port: int) -> None:
        """/metrics (Prometheus) and /healthz on one port (the chart probes /healthz there)."""
        if port <= 0:
            return

        async def metrics_view(_: web.Request) -> web.Response:
            return web.Response(body=generate_latest(metrics.REGISTRY),
                                headers={"Content-Type": CONTENT_TYPE_LATEST})

        async def healthz(_: web.Request) -> web.Response:
            # Answered by the operator's own event loop: a wedged loop fails the probe.
            return web.json_response({"ok": True})

        app = web.Application()
        app.router.add_get("/metrics", metrics_view)
        app.router.add_get("/healthz", healthz)
        runner = web.AppRunner(app, access_log=None)
        await runner.setup()
        await web.TCPSite(runner, "0.0.0.0", port).start()  # noqa: S104 - probes and scrapes reach the pod IP
        self._site = runner

    def start_background(self) -> None:
        self.policy_controller.start()
        self.retention.start(self.settings.retention_sweep_seconds, self.acting)
        if self.elector is not None:
            self.elector.start()

    async def close(self) -> None:
        if self.elector is not None:
            # First: stop acting and free the Lease, so a standby takes over at its next try.
            await self.elector.stop(release=True)
            await self.elector.lock.kube.close()
        await self.policy_controller.stop()
        await self.retention.stop()
        for uid in list(self._timers):
            self._cancel(uid)
        for task in list(self._tasks):
            task.cancel()
        if self._site is not None:
            await self._site.cleanup()
        for integration in (self.reconciler.integrations.slack, self.reconciler.integrations.analyzer):
            close = getattr(integration, "close", None) or getattr(integration, "aclose", None)
            if close is not None:
                await close()
        for closer in self._closers:
            closer()
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self.events.flush(), 5.0)
        await self.events.close()
        await self.kube.close()
