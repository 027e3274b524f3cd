"""What a failure's own texts name of other runs and of shared dependencies (pure).

Data platforms fail in cascades, and the texts say so: an ADF Databricks activity's output
carries the run page URL of the Databricks run it started; an Execute Pipeline activity's
output names the child pipeline's run id; a job run names the cluster it ran on; and
connector errors name the integration runtime, linked service, storage account, SQL server
or Key Vault they could not reach. `references()` collects those names from any mix of
strings and decoded JSON (activity output, error objects, alert rows), bounded in how much it
reads, so the correlation rules can put failures of one cause into one group.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

MAX_TEXT_CHARS = 64 * 1024
"""Texts are read up to this size: references sit near the start of outputs and errors."""
MAX_VALUES = 2_000
"""At most this many JSON values are walked per failure."""


class DependencyKind(StrEnum):
    INTEGRATION_RUNTIME = "IntegrationRuntime"
    LINKED_SERVICE = "LinkedService"
    STORAGE_ACCOUNT = "StorageAccount"
    SQL_SERVER = "SqlServer"
    KEY_VAULT = "KeyVault"
    DATABRICKS_WORKSPACE = "DatabricksWorkspace"
    INSTANCE_POOL = "InstancePool"


@dataclass(frozen=True, order=True)
class Dependency:
    kind: DependencyKind
    name: str
    """Lower-cased: Azure names are case-insensitive."""


@dataclass(frozen=True, order=True)
class RunRef:
    run_id: str
    host: str | None = None
    """Workspace host of a Databricks run, when the reference said."""


@dataclass
class References:
    databricks_runs: set[RunRef] = field(default_factory=set)
    child_pipeline_runs: set[str] = field(default_factory=set)
    clusters: set[str] = field(default_factory=set)
    dependencies: set[Dependency] = field(default_factory=set)


_GUID = r"[0-9a-fA-F]{8}-(?:[0-9a-fA-F]{4}-){3}[0-9a-fA-F]{12}"
# Run page URLs, old (#job/1/run/2) and new (/jobs/1/runs/2) UI, on Azure, AWS and GCP hosts.
_RUN_URL = re.compile(
    r"https://(?P<host>[A-Za-z0-9.-]+\.(?:azuredatabricks\.net|cloud\.databricks\.com|gcp\.databricks\.com))"
    r"[^\s\"'<>]*?(?:#job/\d+/run/|/jobs/\d+/runs/|#run/|/runs/)(?P<run>\d+)"
)
_HOSTS = {
    DependencyKind.STORAGE_ACCOUNT: re.compile(
        r"\b([a-z0-9]{3,24})\.(?:blob|dfs|file|queue|table)\.core\.(?:windows\.net|chinacloudapi\.cn)", re.I),
    DependencyKind.SQL_SERVER: re.compile(r"\b([a-z0-9][a-z0-9-]{0,62})\.database\.(?:windows\.net|chinacloudapi\.cn)",
                                          re.I),
    DependencyKind.KEY_VAULT: re.compile(r"\b([a-z0-9][a-z0-9-]{1,22})\.vault\.azure\.net", re.I),
    DependencyKind.DATABRICKS_WORKSPACE: re.compile(r"\b(adb-\d+\.\d+)\.azuredatabricks\.net", re.I),
}
_NAMED = {
    # "integration runtime 'SHIR-01'", "IntegrationRuntime: SHIR-01", "on the self-hosted IR SHIR-01 ..."
    DependencyKind.INTEGRATION_RUNTIME: re.compile(
        r"integration\s*runtime(?:\s*\(?name\)?)?\s*[:=]?\s*['\"\[]?(?!is\b|was\b|the\b|of\b)([A-Za-z0-9][\w-]{1,127})",
        re.I),
    DependencyKind.LINKED_SERVICE: re.compile(
        r"linked\s*service(?:\s*name)?\s*[:=]?\s*['\"\[]?(?!is\b|was\b|the\b|of\b)([A-Za-z0-9][\w-]{1,127})", re.I),
}
_IGNORED_NAMES = {"autoresolveintegrationruntime", "azure", "type", "reference", "name", "connection"}
_KEYS: dict[str, str] = {
    # JSON keys whose value is a reference (ADF activity output, Jobs API run, DatabricksJobs rows).
    "runpageurl": "url",
    "pipelinerunid": "child",
    "cluster_id": "cluster",
    "clusterid": "cluster",
    "existing_cluster_id": "cluster",
    "effectiveintegrationruntime": "ir",
    "instance_pool_id": "pool",
    "instancepoolid": "pool",
    "databricks_run_id": "dbrun",
}


def references(*sources: Any) -> References:
    """Every run and dependency named by `sources` (strings, numbers, JSON objects and lists)."""
    found = References()
    for key, value in _walk(sources):
        if isinstance(value, str):
            _from_key(found, key, value)
            _from_text(found, value[:MAX_TEXT_CHARS])
        elif isinstance(value, int) and not isinstance(value, bool):
            _from_key(found, key, str(value))
    return found


def _walk(sources: Iterable[Any]) -> Iterable[tuple[str, Any]]:
    stack: list[tuple[str, Any]] = [("", s) for s in reversed(list(sources))]
    seen = 0
    while stack and seen < MAX_VALUES:
        key, value = stack.pop()
        seen += 1
        if isinstance(value, Mapping):
            stack.extend((str(k), v) for k, v in reversed(list(value.items())))  # reversed: read in document order
        elif isinstance(value, list | tuple):
            stack.extend((key, v) for v in reversed(value))
        else:
            yield key, value


def _from_key(found: References, key: str, value: str) -> None:
    role = _KEYS.get(key.replace("-", "").replace(" ", "").lower()) or _KEYS.get(key.lower())
    value = value.strip()
    if role == "child" and re.fullmatch(_GUID, value):
        found.child_pipeline_runs.add(value.lower())
    elif role == "cluster" and re.fullmatch(r"\d{4}-\d{6}-[a-z0-9]{6,10}", value):
        found.clusters.add(value)
    elif role == "ir" and value:
        name = value.split(" (")[0].strip()
        if name.lower() not in _IGNORED_NAMES:
            found.dependencies.add(Dependency(DependencyKind.INTEGRATION_RUNTIME, name.lower()))
    elif role == "pool" and value:
        found.dependencies.add(Dependency(DependencyKind.INSTANCE_POOL, value.lower()))
    elif role == "dbrun" and value.isdigit():
        found.databricks_runs.add(RunRef(value))


def _from_text(found: References, text: str) -> None:
    for match in _RUN_URL.finditer(text):
        found.databricks_runs.add(RunRef(match["run"], match["host"].lower()))
    for kind, pattern in _HOSTS.items():
        found.dependencies.update(Dependency(kind, m.lower()) for m in pattern.findall(text))
    for kind, pattern in _NAMED.items():
        for name in pattern.findall(text):
            if name.lower() not in _IGNORED_NAMES:
                found.dependencies.add(Dependency(kind, name.lower()))
