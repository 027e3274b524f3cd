"""What each remediation action needs: the sources it applies to and its parameters.

One table serves policy validation (a rule's action must fit the sources its
policy selects; required parameters must be present), the decision (an
action that cannot act on this incident's source escalates instead of
launching) and dry runs (what would have been done, in a sentence).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from aiops_operator.api import IncidentSource, Parameter, RemediationAction

_ADF = frozenset({IncidentSource.AZURE_DATA_FACTORY})
_JOB = frozenset({IncidentSource.DATABRICKS_JOB})
# A cluster action fits a cluster incident, and a job incident through the job run's cluster.
_CLUSTER = frozenset({IncidentSource.DATABRICKS_CLUSTER, IncidentSource.DATABRICKS_JOB})
_ANY = frozenset(IncidentSource)


def _positive_int(value: str) -> str | None:
    if not value.strip().isdigit() or int(value) < 1:
        return f"must be a positive integer, got {value!r}"
    return None


def _percent(value: str) -> str | None:
    problem = _positive_int(value)
    if problem is None and int(value) > 1000:
        return f"must be at most 1000, got {value}"
    return problem


def _http_url(value: str) -> str | None:
    if not value.startswith(("http://", "https://")) or len(value) < 10:
        return "must be an http:// or https:// URL"
    return None


def _boolean(value: str) -> str | None:
    return None if value.lower() in ("true", "false") else f"must be true or false, got {value!r}"


def _version_list(value: str) -> str | None:
    versions = [v.strip() for v in value.split(",")]
    if not all(versions):
        return "must be a comma-separated list of versions, newest first"
    return None


def _task_list(value: str) -> str | None:
    return None if all(t.strip() for t in value.split(",")) else "must be a comma-separated list of task keys"


Validator = Callable[[str], str | None]


@dataclass(frozen=True)
class ActionSpec:
    sources: frozenset[IncidentSource]
    required: tuple[str, ...] = ()
    optional: dict[str, Validator | None] = field(default_factory=dict)
    validators: dict[str, Validator] = field(default_factory=dict)

    @property
    def known(self) -> set[str]:
        return {*self.required, *self.optional}

    def check(self, name: str, value: str) -> str | None:
        validate = self.validators.get(name) or self.optional.get(name)
        return validate(value) if validate is not None else None


_RERUN_PARAMS: dict[str, Validator | None] = {"startActivity": None, "recovery": _boolean}
_CLUSTER_PARAMS: dict[str, Validator | None] = {"clusterId": None}

ACTIONS: dict[RemediationAction, ActionSpec] = {
    RemediationAction.RERUN_PIPELINE: ActionSpec(_ADF, optional=_RERUN_PARAMS),
    RemediationAction.CHECK_UPSTREAM_THEN_RERUN: ActionSpec(
        _ADF, required=("upstreamPipeline",),
        optional={**_RERUN_PARAMS, "lookbackHours": _positive_int, "upstreamFactory": None},
    ),
    RemediationAction.RUN_JOB_NOW: ActionSpec(_JOB, optional={"jobId": _positive_int}),
    RemediationAction.REPAIR_RUN: ActionSpec(_JOB, optional={"rerunTasks": _task_list}),
    RemediationAction.START_CLUSTER: ActionSpec(_CLUSTER, optional=_CLUSTER_PARAMS),
    RemediationAction.RESTART_CLUSTER: ActionSpec(_CLUSTER, optional=_CLUSTER_PARAMS),
    RemediationAction.RESIZE_CLUSTER: ActionSpec(
        _CLUSTER, optional={**_CLUSTER_PARAMS, "scalePercent": _percent, "maxWorkers": _positive_int},
    ),
    RemediationAction.REINSTALL_LIBRARY: ActionSpec(
        _CLUSTER, optional={**_CLUSTER_PARAMS, "library": None, "versions": _version_list},
    ),
    RemediationAction.CALL_PLAYBOOK: ActionSpec(_ANY, required=("url",), validators={"url": _http_url}),
}
"""Per action: the incident sources it can act on and the parameters it reads."""


def applies_to(action: RemediationAction, source: IncidentSource) -> bool:
    """Whether the action can act on an incident from `source`."""
    return source in ACTIONS[action].sources


def parameter(parameters: Sequence[Parameter], name: str) -> str | None:
    """The value of the first parameter called `name`, if any."""
    return next((p.value for p in parameters if p.name == name), None)


def describe(action: RemediationAction, parameters: Sequence[Parameter], resource: str) -> str:
    """What the action does to `resource`, in a sentence (dry runs, Events)."""

    def get(name: str) -> str | None:
        return parameter(parameters, name)

    match action:
        case RemediationAction.RERUN_PIPELINE:
            start = get("startActivity")
            frm = f" from activity {start}" if start else " from the failed activity when known"
            return f"Re-run ADF pipeline {resource} in recovery mode{frm}."
        case RemediationAction.CHECK_UPSTREAM_THEN_RERUN:
            return (f"Check that upstream pipeline {get('upstreamPipeline')} succeeded in the last"
                    f" {get('lookbackHours') or 24} h, then re-run ADF pipeline {resource}.")
        case RemediationAction.RUN_JOB_NOW:
            return f"Run Databricks job {get('jobId') or resource} now."
        case RemediationAction.REPAIR_RUN:
            tasks = get("rerunTasks")
            return f"Repair the failed run of Databricks job {resource}, re-running {tasks or 'all failed tasks'}."
        case RemediationAction.START_CLUSTER:
            return f"Start Databricks cluster {get('clusterId') or resource} and wait until it runs."
        case RemediationAction.RESTART_CLUSTER:
            return f"Restart Databricks cluster {get('clusterId') or resource} and wait until it runs."
        case RemediationAction.RESIZE_CLUSTER:
            return (f"Resize Databricks cluster {get('clusterId') or resource} by +{get('scalePercent') or 50} %"
                    " within its limits.")
        case RemediationAction.REINSTALL_LIBRARY:
            lib = get("library") or "the failing library"
            return f"Reinstall {lib} on Databricks cluster {get('clusterId') or resource} with an older version."
        case RemediationAction.CALL_PLAYBOOK:
            return "Call the HTTP playbook configured in the rule and wait for its callback."
