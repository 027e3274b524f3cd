"""The operator's composition root: builds the reconciler and its integrations from settings,
owns the requeue timers, and serves /metrics and /healthz.

handlers.py (Kopf wiring) only delegates here.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from aiohttp import web
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from aiops_operator import metrics
from aiops_operator.analysis.request import AnalysisRequest
from aiops_operator.analysis.service import analyze, llm_from_settings
from aiops_operator.analysis.settings import LlmSettings
from aiops_operator.api import Analysis
from aiops_operator.enrichment import Enricher
from aiops_operator.enrichment.adf import AdfEnricher
from aiops_operator.enrichment.databricks import DatabricksEnricher
from aiops_operator.events import EventRecorder
from aiops_operator.executors.factory import build_executors
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
from aiops_operator.incident.remediating import Remediator, RemediatorConfig, done_statuses
from aiops_operator.integrations.jira import JiraNotifier
from aiops_operator.integrations.slack import SlackNotifier
from aiops_operator.kube import KubeClient, KubeConfig, KubeUnavailable
from aiops_operator.ownership import OwnershipDefaults
from aiops_operator.policy.cache import PolicyCache
from aiops_operator.policy.controller import PolicyController
from aiops_operator.remediation.settings import RemediationSettings
from aiops_operator.settings import OperatorSettings

if TYPE_CHECKING:
    from aiops_operator.analysis.llm import LlmAnalyzer

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


def build_remediator(
    settings: OperatorSettings, kube: KubeClient, policies: PolicyCache, crash_hook: CrashPoint,
    on_activity: Callable[[str], None],
) -> tuple[Remediator, Callable[[], None]]:
    """The remediation stage with the production executors; (stage, close)."""
    remediation_settings = RemediationSettings()
    executors = build_executors(settings, remediation_settings, clock=utcnow)
    stage = Remediator(
        kube, executors, remediation_settings, policies,
        config=RemediatorConfig(jira_done_statuses=done_statuses(settings.jira_done_statuses)),
        crash_hook=crash_hook, on_activity=on_activity,
    )
    def close() -> None:
        stage.close()
        executors.close()

    return stage, close


EVENTS_YIELD_ABOVE_RECONCILES = 4
"""More reconciles than this in flight is a burst: Events then trickle (`events.EventRecorder`)."""


class Runtime:
    """Everything the Kopf handlers delegate to."""

    def __init__(
        self,
        settings: OperatorSettings,
        kube_config: KubeConfig,
        *,
        remediation: RemediationStage | None = None,
        integrations: Integrations | None = None,
        crash_hook: CrashPoint = no_crash,
    ) -> None:
        self.settings = settings
        self.kube_config = kube_config
        # 8 keep-alive connections carry hundreds of writes/s; requests beyond them queue in order.
        self.kube = KubeClient(kube_config, field_manager="aiops-rca-operator", max_connections=8,
                               max_in_flight=8)
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
                                                      self.policy_controller.mark_dirty)
            self._closers.append(close)
            remediation = self.remediator
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
        )
        self._timers: dict[str, asyncio.TimerHandle] = {}
        self._tasks: set[asyncio.Task[None]] = set()
        self._site: web.AppRunner | None = None

    # --- incidents ---------------------------------------------------------------------

    async def on_incident_event(self, event_type: str, body: Mapping[str, Any]) -> None:
        meta = body.get("metadata") or {}
        uid = str(meta.get("uid") or "")
        if event_type == "DELETED" or meta.get("deletionTimestamp"):
            self._cancel(uid)
            self.reconciler.forget(uid)
            return
        await self._reconcile(uid, str(meta.get("namespace")), str(meta.get("name")), body)

    async def _reconcile(self, uid: str, namespace: str, name: str, body: Mapping[str, Any] | None) -> None:
        self._reconciling += 1
        try:
            if body is None:
                delay = await self.reconciler.reconcile_by_name(namespace, name, uid)
            else:
                delay = await self.reconciler.reconcile(body)
        except (KubeUnavailable, ConnectionError, TimeoutError) as exc:
            log.warning("reconcile of %s/%s: API server unavailable (%s); retrying", namespace, name, exc)
            delay = 5.0
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

    def _schedule(self, uid: str, namespace: str, name: str, delay: float) -> None:
        """The timer: reconcile again after `delay` seconds (replacing any earlier timer)."""
        self._cancel(uid)
        loop = asyncio.get_running_loop()

        def fire() -> None:
            self._timers.pop(uid, None)
            task = loop.create_task(self._reconcile(uid, namespace, name, None))
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)

        self._timers[uid] = loop.call_later(max(0.0, delay), fire)

    def _cancel(self, uid: str) -> None:
        timer = self._timers.pop(uid, None)
        if timer is not None:
            timer.cancel()

    # --- policies ------------------------------------------------------------------------

    async def on_policy_event(self, body: Mapping[str, Any]) -> None:
        namespace = (body.get("metadata") or {}).get("namespace")
        if namespace:
            self.policies.invalidate(str(namespace))
        await self.policy_controller.on_event(body)

    # --- attempts ------------------------------------------------------------------------

    def on_attempt_event(self, event_type: str, body: Mapping[str, Any]) -> None:
        """A human approved or denied, a playbook called back...: reconcile the owning Incident now.

        Events of our own writes are skipped (the reconcile that wrote them goes on by itself)."""
        if self.remediator is not None:
            self.remediator.observe(event_type, body)
        if event_type == "DELETED" or (self.remediator is not None and self.remediator.is_own_write(body)):
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

    async def close(self) -> None:
        await self.policy_controller.stop()
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
