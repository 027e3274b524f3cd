"""Finding Incidents and RemediationAttempts, and the few status fields the receiver writes.

The operator owns status. The receiver writes only `status.signals` of an
Incident (alertResolvedTime, jiraStatus/jiraActor/jiraStatusTime) and
`status.callback` and `status.approval` (a Slack button click) of a
RemediationAttempt, always as JSON merge patches of objects (never lists: a
merge patch replaces a list whole).
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from aiops_operator.api import Approval, ExternalSignals, PlaybookCallback, attempt_name
from aiops_operator.api.labels import JIRA_KEY_LABEL, RUN_ID_HASH_LABEL
from aiops_operator.kube import ATTEMPTS, INCIDENTS, Conflict, KubeClient, NotFound

from webhook_receiver import refire
from webhook_receiver.labels import run_id_hash
from webhook_receiver.parsing.jira import JIRA_KEY
from webhook_receiver.spool import Spool


@dataclass(frozen=True)
class Found:
    name: str
    source: str | None
    phase: str | None
    jira_key: str | None


def _found(obj: dict[str, Any]) -> Found:
    status = obj.get("status") or {}
    jira = (status.get("notifications") or {}).get("jira") or {}
    return Found(
        name=obj["metadata"]["name"],
        source=(obj.get("spec") or {}).get("source"),
        phase=status.get("phase"),
        jira_key=jira.get("key"),
    )


@dataclass(frozen=True)
class ApprovalResult:
    """What became of a Slack click: recorded, or why not (with the decision already there, if any)."""

    outcome: str
    """recorded, already_decided, not_awaiting (the attempt is past approval) or not_found."""
    existing: Approval | None = None


class Updates:
    def __init__(self, kube: KubeClient, namespace: str, spool: Spool) -> None:
        self.kube = kube
        self.namespace = namespace
        self.spool = spool

    async def incidents_for_run(self, run_id: str) -> tuple[list[Found], list[str]]:
        """Incidents on the API server for this run id, and names of those still in the spool."""
        digest = run_id_hash(run_id)
        page = await self.kube.list_page(INCIDENTS, self.namespace, label_selector=f"{RUN_ID_HASH_LABEL}={digest}")
        # The newest occurrence of the run first: it is the one a re-fire is about.
        items = sorted(page.get("items", []), key=lambda i: -int((i.get("spec") or {}).get("occurrence") or 1))
        found = [_found(item) for item in items]
        spooled = [n for n in self.spool.holds_run_id_hash(digest) if n not in {f.name for f in found}]
        return found, spooled

    async def incident_for_jira_key(self, key: str) -> str | None:
        """The Incident owning a Jira issue: by label, else by status.notifications.jira.key."""
        if not JIRA_KEY.match(key):
            return None
        page = await self.kube.list_page(INCIDENTS, self.namespace, label_selector=f"{JIRA_KEY_LABEL}={key}")
        items = page.get("items", [])
        if items:
            return str(items[0]["metadata"]["name"])
        everything, _ = await self.kube.list_all(INCIDENTS, self.namespace)
        for item in everything:
            if _found(item).jira_key == key:
                return str(item["metadata"]["name"])
        return None

    async def record_signals(self, incident: str, signals: ExternalSignals) -> bool:
        """Merge `signals` into the Incident's status.signals; False if there is no such Incident."""
        patch = {"status": {"signals": signals.to_wire()}}
        try:
            await self.kube.patch(INCIDENTS, self.namespace, incident, patch, status=True)
        except NotFound:
            return False
        return True

    async def record_resolved(self, incident: str, when: datetime) -> str | None:
        """Record a Resolved alert on the run's newest occurrence (`incident` is the run's first name); its name,
        or None when the run has no Incident."""
        chain = await refire.read_chain(self.kube, self.namespace, incident)
        if not chain or not await self.record_signals(chain[-1].name, ExternalSignals(alert_resolved_time=when)):
            return None
        return chain[-1].name

    async def record_callback(self, incident: str, attempt: int, callback: PlaybookCallback) -> str | None:
        """Record a playbook's outcome on attempt `<incident>-<attempt>`.

        Returns "recorded", "unchanged" (the same outcome was already there: a
        repeated callback changes nothing), or None if the attempt does not exist.
        """
        name = attempt_name(incident, attempt)
        try:
            current = await self.kube.get(ATTEMPTS, self.namespace, name)
        except NotFound:
            return None
        existing = ((current.get("status") or {}).get("callback")) or {}
        new = callback.to_wire()
        same_keys = ("status", "success", "remediationRunId", "errorMessage")
        if existing and all(existing.get(k) == new.get(k) for k in same_keys):
            return "unchanged"
        try:
            # Absent optional fields are sent as null so an earlier callback's values do not linger.
            replacement = {**dict.fromkeys(same_keys), **new}
            await self.kube.patch(ATTEMPTS, self.namespace, name, {"status": {"callback": replacement}}, status=True)
        except NotFound:
            return None
        return "recorded"

    async def record_approval(self, namespace: str, name: str, approval: Approval) -> ApprovalResult:
        """Record a Slack decision as the attempt's status.approval: first decision wins.

        Written only while the attempt is AwaitingApproval with no decision, as a merge patch
        conditional on the resourceVersion just read (a concurrent click or operator write is a
        409: read again and re-check).
        """
        for _ in range(3):
            try:
                current = await self.kube.get(ATTEMPTS, namespace, name)
            except NotFound:
                return ApprovalResult("not_found")
            status = current.get("status") or {}
            if status.get("approval"):
                existing = None
                with contextlib.suppress(ValueError):
                    existing = Approval.model_validate(status["approval"])
                return ApprovalResult("already_decided", existing)
            if status.get("phase") != "AwaitingApproval":
                return ApprovalResult("not_awaiting")
            version = str((current.get("metadata") or {}).get("resourceVersion") or "") or None
            try:
                await self.kube.patch(ATTEMPTS, namespace, name, {"status": {"approval": approval.to_wire()}},
                                      status=True, resource_version=version)
            except NotFound:
                return ApprovalResult("not_found")
            except Conflict:
                continue
            return ApprovalResult("recorded")
        return ApprovalResult("not_awaiting")
