"""One root cause, one incident: the grouping rules (pure).

`correlate(subject, others, settings, now)` decides whether the incident `subject` belongs to a
group and which incident is its root, from what the failures name (see `references`) and the
other incidents still open. The rules, first match wins:

1. **Databricks run** — an ADF activity that started a Databricks run, and that run's own
   incident: the Databricks incident is the root (the error is there), whichever alert came
   first. An ADF incident naming a run whose incident has not arrived yet waits for it up to
   `wait_for_root` before it goes on alone.
2. **Child pipeline** — a parent pipeline whose Execute Pipeline activity ran a child run that
   has its own incident: the child is the root; the parent waits likewise.
3. **Cluster** — a job run that ran on a cluster whose termination incident is open and was
   received within `cluster_window` of the job's: the cluster incident is the root. A job run
   that failed of a cluster error type (`CLUSTER_ERROR_TYPES`) before the cluster's alert came
   waits for it likewise.
4. **Storm** — at least `storm_threshold` open incidents of one error type naming one shared
   dependency (integration runtime, linked service, storage account, ...) received within
   `storm_window`: they form a storm (and a later failure of that type naming that dependency
   within the window joins it, even when its members have finished) whose root is a dedicated incident named by
   `storm_root_name()` from the minute of the storm's first failure (analyzed yet or not),
   deterministic, so two replicas deciding at once create one root (the second create answers
   409 and joins it).

Only open incidents (not Resolved or Escalated) take part; an incident never joins a group whose
root is itself a member of another group (no chains: the root's root is taken instead).
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from aiops_operator.api import IncidentSource
from aiops_operator.api.conditions import GroupReason
from aiops_operator.correlation.references import Dependency, References

__all__ = ["Correlation", "Facts", "GroupReason", "Settings", "correlate", "storm_root_name"]


CLUSTER_ERROR_TYPES = frozenset({"ClusterUnexpectedTermination", "DatabricksClusterStartFailure",
                                 "DatabricksDriverNotResponding"})
"""A job run failing of these names its cluster as the suspect: it waits for the cluster's own incident."""


@dataclass(frozen=True)
class Facts:
    """What correlation needs of one incident."""

    name: str
    source: IncidentSource
    run_id: str
    received_time: datetime
    references: References = field(default_factory=References)
    resource_id: str | None = None
    """Databricks cluster id (cluster incidents) or job id."""
    error_type: str | None = None
    analyzed_time: datetime | None = None
    """When its error type became known (its analysis): no storm can be seen before peers are analyzed."""
    open: bool = True
    root: str | None = None
    """The root this incident already belongs to, if any."""


@dataclass(frozen=True)
class Settings:
    wait_for_root: timedelta = timedelta(seconds=60)
    cluster_window: timedelta = timedelta(minutes=30)
    storm_threshold: int = 5
    storm_window: timedelta = timedelta(minutes=10)


@dataclass(frozen=True)
class Correlation:
    """The subject's place: a member of `root` (why), or waiting for a root that has not arrived."""

    reason: GroupReason
    root: str | None
    """The root incident's name; None while waiting (`wait_until`)."""
    message: str
    wait_until: datetime | None = None
    dependency: Dependency | None = None
    """The shared dependency of a storm."""
    create_root: bool = False
    """Storm: the root incident is dedicated and may not exist yet; create it (409 joins)."""


def storm_root_name(error_type: str, dependency: Dependency, bucket_start: datetime) -> str:
    """Deterministic name of a storm's root incident."""
    digest = hashlib.sha256(f"{error_type}|{dependency.kind}|{dependency.name}|{bucket_start.isoformat()}".encode())
    slug = "".join(c if c.isalnum() else "-" for c in dependency.name.lower())[:30].strip("-") or "dep"
    return f"storm-{slug}-{digest.hexdigest()[:10]}"


def correlate(subject: Facts, others: Sequence[Facts], settings: Settings, now: datetime) -> Correlation | None:
    """The subject's group, if any (see the module docstring for the rules)."""
    candidates = {o.name: o for o in others if o.open and o.name != subject.name}
    for rule in (_databricks_run, _child_pipeline, _cluster):
        found = rule(subject, candidates, settings, now)
        if found is not None:
            return _no_chain(found, candidates)
    return _storm(subject, [o for o in others if o.name != subject.name], settings)


def _no_chain(found: Correlation, candidates: dict[str, Facts]) -> Correlation:
    root = candidates.get(found.root or "")
    if root is not None and root.root and root.root in candidates:
        return Correlation(found.reason, root.root, found.message)
    return found


def _waiting(subject: Facts, reason: GroupReason, what: str, settings: Settings, now: datetime) -> Correlation | None:
    until = subject.received_time + settings.wait_for_root
    if now >= until:
        return None  # the root never came: the subject goes on alone
    return Correlation(reason, None, f"Waiting up to {int(settings.wait_for_root.total_seconds())} s for {what}.",
                       wait_until=until)


def _databricks_run(subject: Facts, candidates: dict[str, Facts], settings: Settings,
                    now: datetime) -> Correlation | None:
    if subject.source is not IncidentSource.AZURE_DATA_FACTORY or not subject.references.databricks_runs:
        return None
    runs = {r.run_id for r in subject.references.databricks_runs}
    for other in sorted(candidates.values(), key=lambda o: o.name):
        if other.source is IncidentSource.DATABRICKS_JOB and other.run_id in runs:
            return Correlation(GroupReason.DATABRICKS_RUN, other.name, f"The Databricks run {other.run_id} this"
                               f" pipeline started failed: {other.name} is the root.")
    return _waiting(subject, GroupReason.DATABRICKS_RUN, f"the incident of Databricks run {min(runs)}", settings, now)


def _child_pipeline(subject: Facts, candidates: dict[str, Facts], settings: Settings,
                    now: datetime) -> Correlation | None:
    if subject.source is not IncidentSource.AZURE_DATA_FACTORY or not subject.references.child_pipeline_runs:
        return None
    children = subject.references.child_pipeline_runs
    for other in sorted(candidates.values(), key=lambda o: o.name):
        if other.source is IncidentSource.AZURE_DATA_FACTORY and other.run_id.lower() in children:
            return Correlation(GroupReason.CHILD_PIPELINE, other.name,
                               f"The child pipeline run {other.run_id} failed first: {other.name} is the root.")
    return _waiting(subject, GroupReason.CHILD_PIPELINE, f"the incident of child run {min(children)}", settings, now)


def _cluster(subject: Facts, candidates: dict[str, Facts], settings: Settings, now: datetime) -> Correlation | None:
    if subject.source is not IncidentSource.DATABRICKS_JOB or not subject.references.clusters:
        return None
    near = [o for o in candidates.values()
            if o.source is IncidentSource.DATABRICKS_CLUSTER and o.resource_id in subject.references.clusters
            and abs(subject.received_time - o.received_time) <= settings.cluster_window]
    if not near:
        if subject.error_type not in CLUSTER_ERROR_TYPES:
            return None  # failed in its own code: the cluster is no suspect
        return _waiting(subject, GroupReason.CLUSTER_TERMINATED,
                        f"the termination incident of cluster {min(subject.references.clusters)}", settings, now)
    root = min(near, key=lambda o: (o.received_time, o.name))
    return Correlation(GroupReason.CLUSTER_TERMINATED, root.name,
                       f"The job ran on cluster {root.resource_id}, which terminated: {root.name} is the root.")


def _storm(subject: Facts, others: list[Facts], settings: Settings) -> Correlation | None:
    """`others`: open and finished incidents; only open ones form a storm, but a storm formed earlier in the
    window is joined even when its members have finished (its root healed and re-ran them, then more
    failures of the cause arrived): one root per storm, not a second one for its tail."""
    if subject.error_type is None or not subject.references.dependencies:
        return None
    for dependency in sorted(subject.references.dependencies):
        alike = [o for o in others
                 if o.error_type == subject.error_type and dependency in o.references.dependencies
                 and abs(subject.received_time - o.received_time) <= settings.storm_window]
        joined = sorted({o.root for o in alike if o.root and o.root.startswith("storm-")})
        peers = [o for o in alike if o.open]
        if joined:
            root = joined[0]  # a storm root exists already: join it
        elif len(peers) + 1 >= settings.storm_threshold:
            # The name's minute comes from the first failure of the storm as every decider sees it: also those
            # not analyzed yet or finished already. Analyses finish in any order, so two incidents deciding at once
            # can see different analyzed or open peers; all see the same arrivals (the watch indexes each before
            # its analysis).
            arrived = [o for o in others if o.error_type in (None, subject.error_type)
                       and dependency in o.references.dependencies
                       and abs(subject.received_time - o.received_time) <= settings.storm_window]
            first = min([subject, *arrived], key=lambda o: (o.received_time, o.name))
            bucket = first.received_time.replace(second=0, microsecond=0)
            root = storm_root_name(subject.error_type, dependency, bucket)
        else:
            continue
        return Correlation(GroupReason.STORM, root,
                           f"{len(peers) + 1} {subject.error_type} failures behind {dependency.kind}"
                           f" {dependency.name} within {int(settings.storm_window.total_seconds() // 60)} min.",
                           dependency=dependency, create_root=not joined)
    return None
