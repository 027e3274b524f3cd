"""The RemediationPolicy controller: validation status (kstatus) and per-rule counts.

On every watch event of a policy (create, resume, update, our own status
write) the spec is validated (`remediation.policy_validation`) and the
status written only when it would change: `Ready=True` with
`observedGeneration`, or `Ready=False` + `Stalled=True` with reason
`InvalidSpec` and a message naming the field. Invalid policies are never used
for remediation (`incident.reconcile.PolicyCache` skips them).

Rule counts (matched, attempted, succeeded) are level-based, recomputed from
the Incidents and RemediationAttempts in the namespace, and coalesced: the
remediation stage marks a namespace dirty when something happened there, and
a background loop recounts dirty namespaces at most every
`POLICY_STATS_SECONDS`, so a burst of a thousand incidents costs one status
write per policy per interval, not a thousand.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Mapping
from datetime import datetime
from typing import Any

from aiops_operator.api import (
    Condition,
    Incident,
    RemediationAttempt,
    RemediationPolicy,
    RemediationPolicyStatus,
    RuleStats,
)
from aiops_operator.api.labels import BUDGET_RESET_ANNOTATION
from aiops_operator.kube import ATTEMPTS, INCIDENTS, POLICIES, KubeApiError, KubeClient, KubeUnavailable, NotFound
from aiops_operator.policy.circuit import Launch, circuit, launch_of
from aiops_operator.policy.validation import (
    policy_conditions,
    policy_status,
    rule_stats,
    validate_policy_body,
)

log = logging.getLogger(__name__)

PAGE = 250
"""Objects per list page when counting (bounds memory with thousands of incidents)."""


def _conditions(raw: Any) -> list[Condition]:
    out = []
    for item in raw or []:
        try:
            out.append(Condition.model_validate(item))
        except ValueError:
            continue
    return out


def status_for(body: Mapping[str, Any], now: datetime, stats: list[RuleStats] | None = None,
               launches: list[Launch] | None = None) -> tuple[dict[str, Any], bool]:
    """(the status to write, whether the policy is valid), from a raw policy body."""
    policy, problems = validate_policy_body(body)
    meta = body.get("metadata") or {}
    generation = meta.get("generation")
    if policy is None:
        existing = _conditions((body.get("status") or {}).get("conditions"))
        conditions = policy_conditions(existing, problems, generation, now)
        return {"observedGeneration": generation, "conditions": [c.to_wire() for c in conditions],
                "rules": (body.get("status") or {}).get("rules") or []}, False
    budget = circuit(policy, launches, now).condition if launches is not None else None
    return policy_status(policy, problems, now, stats, budget=budget, recount=launches is not None).to_wire(), \
        not problems


def _same(body: Mapping[str, Any], status: Mapping[str, Any]) -> bool:
    current = dict(body.get("status") or {})
    try:
        return RemediationPolicyStatus.model_validate(current).to_wire() == \
            RemediationPolicyStatus.model_validate(dict(status)).to_wire()
    except ValueError:
        return False


def merge_stats(into: dict[str, dict[str, RuleStats]], policy: str, stats: list[RuleStats]) -> None:
    mine = into.setdefault(policy, {})
    for s in stats:
        old = mine.get(s.name) or RuleStats(name=s.name)
        mine[s.name] = RuleStats(name=s.name, matched=old.matched + s.matched, attempted=old.attempted + s.attempted,
                                 succeeded=old.succeeded + s.succeeded,
                                 would_have_launched=old.would_have_launched + s.would_have_launched)


class PolicyController:
    def __init__(self, kube: KubeClient, clock: Callable[[], datetime], *, stats_seconds: float = 30.0) -> None:
        self.kube = kube
        self.clock = clock
        self.stats_seconds = stats_seconds
        self._dirty: set[str] = set()
        self._due: dict[str, datetime] = {}
        """namespace -> when a circuit breaker there reopens by itself (recount then)."""
        self._task: asyncio.Task[None] | None = None

    async def on_event(self, body: Mapping[str, Any]) -> None:
        """Validate the policy and write its conditions when they change (its counts are carried)."""
        meta = body.get("metadata") or {}
        if meta.get("deletionTimestamp"):
            return
        namespace = str(meta.get("namespace") or "default")
        status, _ = status_for(body, self.clock())
        if not _same(body, status):
            await self._write(namespace, str(meta.get("name")), status, str(meta.get("resourceVersion") or ""))
        if not (body.get("status") or {}).get("rules") or BUDGET_RESET_ANNOTATION in (meta.get("annotations") or {}):
            self.mark_dirty(namespace)  # a human's budget reset shows on the next recount

    def mark_dirty(self, namespace: str) -> None:
        self._dirty.add(namespace)

    async def _write(self, namespace: str, name: str, status: Mapping[str, Any], rv: str) -> None:
        try:
            await self.kube.patch(POLICIES, namespace, name, {"status": dict(status)}, status=True,
                                  resource_version=rv or None)
        except (NotFound, KubeApiError) as exc:  # a conflict: the next event brings the fresh object
            log.debug("policy %s/%s status not written: %s", namespace, name, exc)

    # --- rule counts --------------------------------------------------------------------

    def start(self) -> None:
        if self._task is None:
            self._task = asyncio.get_running_loop().create_task(self._loop())

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            self._task = None

    async def _loop(self) -> None:
        while True:
            await asyncio.sleep(self.stats_seconds)
            now = self.clock()
            for namespace, due in list(self._due.items()):
                if due <= now:
                    del self._due[namespace]
                    self._dirty.add(namespace)
            dirty, self._dirty = self._dirty, set()
            for namespace in sorted(dirty):
                try:
                    await self.refresh_stats(namespace)
                except (KubeUnavailable, KubeApiError, ConnectionError, TimeoutError) as exc:
                    log.warning("policy counts of %s not refreshed: %s", namespace, exc)
                    self._dirty.add(namespace)
                except Exception:
                    log.exception("policy counts of %s not refreshed", namespace)

    async def _pages(self, rt: Any, namespace: str) -> Any:
        token: str | None = None
        while True:
            page = await self.kube.list_page(rt, namespace, limit=PAGE, continue_token=token)
            yield page.get("items", [])
            token = (page.get("metadata") or {}).get("continue")
            if not token:
                return

    async def refresh_stats(self, namespace: str) -> None:
        """Recount every valid policy's rules in `namespace` and write the counts that changed."""
        items, _ = await self.kube.list_all(POLICIES, namespace)
        policies: list[tuple[dict[str, Any], RemediationPolicy]] = []
        for item in items:
            policy, problems = validate_policy_body(item)
            if policy is not None and not problems:
                policies.append((item, policy))
        if not policies:
            return
        counts: dict[str, dict[str, RuleStats]] = {}
        async for page in self._pages(INCIDENTS, namespace):
            incidents = []
            for raw in page:
                remediation = (raw.get("status") or {}).get("remediation")
                if remediation and remediation.get("policy"):
                    try:
                        incidents.append(Incident.from_object(raw))
                    except ValueError:
                        continue
            for _, policy in policies:
                merge_stats(counts, policy.metadata.name, rule_stats(policy, incidents, []))
        launches: list[Launch] = []
        async for page in self._pages(ATTEMPTS, namespace):
            attempts = []
            for raw in page:
                try:
                    attempts.append(RemediationAttempt.from_object(raw))
                except ValueError:
                    continue
            launches += [launch for a in attempts if (launch := launch_of(a)) is not None]
            for _, policy in policies:
                merge_stats(counts, policy.metadata.name, rule_stats(policy, [], attempts))
        now = self.clock()
        for item, policy in policies:
            mine = counts.get(policy.metadata.name, {})
            stats = [mine.get(r.name) or RuleStats(name=r.name) for r in policy.spec.rules]
            status, _ = status_for(item, now, stats, launches)
            recheck = circuit(policy, launches, now).recheck_time
            if recheck is not None:
                self._due[namespace] = min(recheck, self._due.get(namespace, recheck))
            if not _same(item, status):
                meta = item.get("metadata") or {}
                await self._write(namespace, policy.metadata.name, status, str(meta.get("resourceVersion") or ""))
