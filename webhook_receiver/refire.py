"""Re-fires: an alert for a run whose Incident was already resolved opens the next occurrence, linked to it.

The first Incident of a run has the deterministic name (`api.naming.incident_name`);
occurrence n ≥ 2 is `<that name>-r<n>` (`api.naming.occurrence_name`). When a create
answers 409, the receiver reads the run's chain of occurrences (GET by name, oldest
first, until one is missing) and `decide()` says whether the alert is a duplicate of
the newest one or opens the next:

- the newest occurrence is still open (any phase but Resolved): a duplicate;
- it was resolved, but the alert fired at or before its resolution: a late copy of
  an alert it already handled (a retried delivery), so a duplicate too;
- it was resolved before the alert fired: a re-fire, occurrence n+1 with
  `spec.previousIncidentRef` and the label `aiops-rca.io/previous-incident`.

Two receiver replicas that see the same chain decide the same name; the API server
lets one create it and answers the other 409, which reads the chain again and finds
that occurrence open. Retention deletes a chain newest first, so the chain has no gap.

`decide()` is shaped like the operator's decisions (pure, its time passed in, the
cases above checked in that order, table-tested) but returns its own small `Verdict`,
not a plan with a condition reason and message like `remediation.decision.RemediationPlan`:
the receiver writes no status (every condition is the operator's), so a reason would
have no reader; the verdict's one consumer is the create-and-retry loop in
`store.IncidentStore._after_conflict`, which needs only the name, the occurrence and
the link; and the import contract keeps the receiver out of the operator's remediation code.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from aiops_operator.api.naming import occurrence_name
from aiops_operator.api.recurrence import MAX_OCCURRENCES
from aiops_operator.kube import INCIDENTS, KubeClient, NotFound


@dataclass(frozen=True)
class Occurrence:
    """One existing Incident of the run, as far as the decision needs it."""

    name: str
    occurrence: int
    resolved_time: datetime | None
    """status.resolution.resolvedTime; None while the Incident is open."""


@dataclass(frozen=True)
class Verdict:
    """The alert is a duplicate of `name`, or (`create`) it opens occurrence `occurrence` named `name`."""

    name: str
    create: bool
    occurrence: int
    previous: str | None = None


def decide(chain: Sequence[Occurrence], first_name: str, alert_time: datetime) -> Verdict:
    """What an alert that fired at `alert_time` is, given the run's occurrences (oldest first; may be empty)."""
    if not chain:
        return Verdict(first_name, create=True, occurrence=1)
    newest = chain[-1]
    if newest.resolved_time is None or alert_time <= newest.resolved_time or newest.occurrence >= MAX_OCCURRENCES:
        return Verdict(newest.name, create=False, occurrence=newest.occurrence)
    following = newest.occurrence + 1
    return Verdict(occurrence_name(first_name, following), create=True, occurrence=following, previous=newest.name)


def alert_time(body: dict[str, Any]) -> datetime:
    """When the alert in an Incident body fired (else when it was received): what a resolution is compared to."""
    spec = body.get("spec") or {}
    fired = (spec.get("alert") or {}).get("firedTime") or spec.get("receivedTime")
    return datetime.fromisoformat(str(fired))


def _occurrence(body: dict[str, Any], number: int) -> Occurrence:
    resolution = (body.get("status") or {}).get("resolution") or {}
    resolved = resolution.get("resolvedTime")
    return Occurrence(str(body["metadata"]["name"]), number,
                      datetime.fromisoformat(str(resolved)) if resolved else None)


async def read_chain(kube: KubeClient, namespace: str, first_name: str) -> list[Occurrence]:
    """The run's Incidents, oldest first: GET `<first>`, `<first>-r2`, ... until one is missing."""
    chain: list[Occurrence] = []
    for number in range(1, MAX_OCCURRENCES + 1):
        try:
            body = await kube.get(INCIDENTS, namespace, occurrence_name(first_name, number))
        except NotFound:
            break
        chain.append(_occurrence(body, number))
    return chain
