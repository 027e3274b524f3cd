"""Can this action be launched for this incident at all? (pure)

An action that needs an identity the incident does not carry — the factory of an ADF re-run,
the job of a RunJobNow, the cluster of a restart — can never launch, however often it is
retried. `missing_identity()` says so before any attempt is created, so the incident escalates
at once with `CannotRemediate` and a message naming what is missing and where to supply it,
instead of burning its attempts and their backoff. Configuration that only the running
operator knows (credentials, the workspace host) is checked by the executors at launch; they
raise `CannotRemediate` too.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

from aiops_operator.api import Incident, Parameter, RemediationAction, ResourceKind
from aiops_operator.api.actions import parameter


@dataclass(frozen=True)
class Missing:
    """What an action lacks, and how a user supplies it."""

    what: str
    remedy: str

    @property
    def message(self) -> str:
        return f"Cannot remediate: {self.what}. {self.remedy}"


_ADF_REMEDY = (
    "The factory's ARM resource id must reach the alert: project _ResourceId (or ResourceId) in the"
    " log alert query, target the alert rule at the factory, or map factoryResourceId in a custom"
    " payload; then re-fire the alert."
)


def _adf(incident: Incident, _parameters: Sequence[Parameter]) -> Missing | None:
    r = incident.spec.resource
    absent = [name for name, value in (("subscription", r.subscription_id), ("resource group", r.resource_group),
                                       ("factory", r.factory)) if not value]
    if not absent:
        return None
    return Missing(f"the ADF re-run needs the factory's {', '.join(absent)}, which the alert did not carry",
                   _ADF_REMEDY)


def _job(incident: Incident, parameters: Sequence[Parameter]) -> Missing | None:
    raw = parameter(parameters, "jobId") or incident.spec.resource.id
    if raw and raw.isdigit():
        return None
    return Missing("RunJobNow needs the Databricks job id, and neither the rule nor the alert names it",
                   "Set the rule parameter jobId, or send job_id in the Databricks notification or alert row.")


def _run(incident: Incident, _parameters: Sequence[Parameter]) -> Missing | None:
    if incident.spec.run_id.isdigit():
        return None
    return Missing(f"RepairRun needs the Databricks run id, and {incident.spec.run_id!r} is not one",
                   "Send run_id in the Databricks notification or alert row, or use RunJobNow for this rule.")


def _cluster(incident: Incident, parameters: Sequence[Parameter]) -> Missing | None:
    r = incident.spec.resource
    if parameter(parameters, "clusterId") or (r.kind is ResourceKind.CLUSTER and r.id):
        return None
    if incident.spec.run_id.isdigit():
        return None  # the executor finds the cluster through the job run
    return Missing("the cluster action has no cluster to act on: no clusterId, no cluster in the alert,"
                   " and no Databricks run to find it through",
                   "Set the rule parameter clusterId, or send cluster_id (or the run id) in the alert.")


_CHECKS: dict[RemediationAction, Callable[[Incident, Sequence[Parameter]], Missing | None]] = {
    RemediationAction.RERUN_PIPELINE: _adf,
    RemediationAction.CHECK_UPSTREAM_THEN_RERUN: _adf,
    RemediationAction.RUN_JOB_NOW: _job,
    RemediationAction.REPAIR_RUN: _run,
    RemediationAction.START_CLUSTER: _cluster,
    RemediationAction.RESTART_CLUSTER: _cluster,
    RemediationAction.RESIZE_CLUSTER: _cluster,
    RemediationAction.REINSTALL_LIBRARY: _cluster,
}
"""Per action, the identity check; actions without one (CallPlaybook) need only their parameters."""


def missing_identity(action: RemediationAction, incident: Incident, parameters: Sequence[Parameter]) -> Missing | None:
    """What keeps `action` from ever launching for `incident`, or None when it can be tried."""
    check = _CHECKS.get(action)
    return check(incident, parameters) if check is not None else None
