"""The Incident object the receiver creates, and the labels other components find it by."""

from __future__ import annotations

import copy
import hashlib
from typing import Any

from aiops_operator.api import API_VERSION, IncidentSpec, incident_name
from aiops_operator.api.labels import (
    OCCURRENCE_LABEL,
    PREVIOUS_INCIDENT_LABEL,
    RUN_ID_HASH_LABEL,
    RUN_ID_ORIGIN_LABEL,
    SOURCE_LABEL,
    TARGET_LABEL,
    target_hash,
)

CREATED_BY_LABEL = "app.kubernetes.io/created-by"
CREATED_BY = "aiops-rca-receiver"


def run_id_hash(run_id: str) -> str:
    return hashlib.sha256(run_id.encode()).hexdigest()[:32]


def incident_object(spec: IncidentSpec) -> dict[str, Any]:
    """The Incident to create for `spec`: deterministic name, lookup labels, the spec on the wire."""
    return {
        "apiVersion": API_VERSION,
        "kind": "Incident",
        "metadata": {
            "name": incident_name(spec.source, spec.run_id, spec.resource.name),
            "labels": {
                SOURCE_LABEL: spec.source.value,
                RUN_ID_HASH_LABEL: run_id_hash(spec.run_id),
                RUN_ID_ORIGIN_LABEL: spec.run_id_origin.value,
                TARGET_LABEL: target_hash(spec.source.value, spec.resource.name),
                CREATED_BY_LABEL: CREATED_BY,
            },
        },
        "spec": spec.to_wire(),
    }



def refire_object(first: dict[str, Any], name: str, occurrence: int, previous: str | None) -> dict[str, Any]:
    """The Incident of occurrence `occurrence` of the run `first` (the first occurrence's body) describes."""
    body = copy.deepcopy(first)
    body["metadata"]["name"] = name
    if occurrence > 1:
        body["metadata"]["labels"][OCCURRENCE_LABEL] = str(occurrence)
        body["spec"]["occurrence"] = occurrence
    if previous:
        body["metadata"]["labels"][PREVIOUS_INCIDENT_LABEL] = previous
        body["spec"]["previousIncidentRef"] = previous
    return body
