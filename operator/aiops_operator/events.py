"""Kubernetes Events for `kubectl describe`: one per audit-trail entry, with its specific reason.

Events expire (an hour by default); the bounded `status.history` keeps the
story. Posting is best effort: a failed Event never fails a reconcile.
"""

from __future__ import annotations

import hashlib
import logging
from datetime import datetime

from aiops_operator.api import API_VERSION, HistoryEntry, Incident
from aiops_operator.api.sanitize import truncate
from aiops_operator.kube import EVENTS, KubeApiError, KubeClient, KubeUnavailable

log = logging.getLogger(__name__)

COMPONENT = "aiops-rca-operator"


def event_body(incident: Incident, entry: HistoryEntry, warning: bool, now: datetime) -> dict[str, object]:
    """A core/v1 Event about the incident; its name is derived from the entry, so a re-post is a 409."""
    meta = incident.metadata
    digest = hashlib.sha256(f"{meta.uid}/{entry.time.isoformat()}/{entry.action}/{entry.message}".encode())
    stamp = now.strftime("%Y-%m-%dT%H:%M:%SZ")
    return {
        "apiVersion": "v1",
        "kind": "Event",
        "metadata": {"name": f"{meta.name}.{digest.hexdigest()[:16]}", "namespace": meta.namespace},
        "involvedObject": {
            "apiVersion": API_VERSION, "kind": "Incident", "name": meta.name,
            "namespace": meta.namespace, "uid": meta.uid, "resourceVersion": meta.resource_version,
        },
        "type": "Warning" if warning else "Normal",
        "reason": entry.action,
        "message": truncate(entry.message, 1024),
        "source": {"component": COMPONENT},
        "reportingComponent": COMPONENT,
        "reportingInstance": COMPONENT,
        "firstTimestamp": stamp,
        "lastTimestamp": stamp,
        "count": 1,
    }


class EventRecorder:
    def __init__(self, kube: KubeClient) -> None:
        self._kube = kube

    async def post(self, incident: Incident, entry: HistoryEntry, *, warning: bool, now: datetime) -> None:
        body = event_body(incident, entry, warning, now)
        try:
            await self._kube.create(EVENTS, incident.metadata.namespace or "default", body)
        except (KubeApiError, KubeUnavailable) as exc:
            log.debug("event %s for %s not posted: %s", entry.action, incident.metadata.name, exc)
