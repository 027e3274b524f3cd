"""Building blocks shared by every aiops-rca API kind.

Python attributes are snake_case, the wire format is camelCase (Kubernetes API
conventions). Every field carries a docstring: it becomes the CRD description
that `kubectl explain` prints.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any, Self

from pydantic import BaseModel, ConfigDict, Field
from pydantic.alias_generators import to_camel

GROUP = "aiops-rca.io"
VERSION = "v1alpha1"
API_VERSION = f"{GROUP}/{VERSION}"

MAX_MESSAGE_CHARS = 4096
"""Bound on free-text messages (alert error text, root causes) kept in objects."""

MAX_CONDITION_MESSAGE_CHARS = 1024
MAX_HISTORY_ENTRIES = 50
"""The audit trail keeps the newest entries; Events expire after an hour, this does not."""


class ApiModel(BaseModel):
    """Base for API structs: camelCase on the wire, docstrings as descriptions.

    Unknown fields are ignored rather than rejected: the API server prunes
    fields its schema does not know, and an operator must keep reading objects
    written by a newer version during an upgrade.
    """

    model_config = ConfigDict(
        alias_generator=to_camel,
        populate_by_name=True,
        use_attribute_docstrings=True,
        extra="ignore",
    )

    def to_wire(self) -> dict[str, Any]:
        """The JSON-ready camelCase form, without unset optional fields."""
        return self.model_dump(mode="json", by_alias=True, exclude_none=True)


class ConditionStatus(StrEnum):
    TRUE = "True"
    FALSE = "False"
    UNKNOWN = "Unknown"


class Condition(ApiModel):
    """One aspect of the object's state, shaped like metav1.Condition."""

    type: str = Field(max_length=64, pattern=r"^[A-Z][A-Za-z0-9]*$")
    """CamelCase name of the aspect, e.g. Analyzed, Notified, Remediated, Ready."""
    status: ConditionStatus
    """Whether the aspect holds: True, False or Unknown."""
    reason: str = Field(max_length=64, pattern=r"^[A-Z][A-Za-z0-9]*$")
    """CamelCase machine-readable reason for the last transition, e.g. AttemptsExhausted."""
    message: str = Field(default="", max_length=MAX_CONDITION_MESSAGE_CHARS)
    """Human-readable sentence explaining the state."""
    last_transition_time: datetime
    """When status last changed."""
    observed_generation: int | None = Field(default=None, ge=0)
    """The metadata.generation this condition was computed from."""


class ObjectMeta(ApiModel):
    """The subset of Kubernetes object metadata aiops-rca reads."""

    name: str = ""
    """Object name, unique in its namespace."""
    namespace: str | None = None
    """Namespace of the object."""
    uid: str | None = None
    """Unique id assigned by the API server."""
    resource_version: str | None = None
    """Opaque version for optimistic concurrency and watches."""
    generation: int | None = None
    """Spec generation, bumped by the API server on every spec change."""
    creation_timestamp: datetime | None = None
    """When the object was created."""
    labels: dict[str, str] = Field(default_factory=dict)
    """Object labels."""
    annotations: dict[str, str] = Field(default_factory=dict)
    """Object annotations."""


class Resource(ApiModel):
    """Common envelope of a custom resource: apiVersion, kind, metadata."""

    api_version: str = API_VERSION
    """Always aiops-rca.io/v1alpha1."""
    kind: str
    """The kind of the object."""
    metadata: ObjectMeta = Field(default_factory=ObjectMeta)
    """Standard object metadata."""

    @classmethod
    def from_object(cls, body: Any) -> Self:
        """Parse an object as returned by the API server (a dict or a Kopf body)."""
        return cls.model_validate(dict(body))


def find_condition(conditions: list[Condition], type_: str) -> Condition | None:
    """The condition of the given type, if present."""
    return next((c for c in conditions if c.type == type_), None)


def is_true(conditions: list[Condition], type_: str) -> bool:
    """Whether the condition of the given type is present and True."""
    found = find_condition(conditions, type_)
    return found is not None and found.status is ConditionStatus.TRUE


def set_condition(conditions: list[Condition], new: Condition) -> list[Condition]:
    """Conditions with `new` replacing its type; keeps lastTransitionTime if status did not change."""
    old = find_condition(conditions, new.type)
    if old is not None and old.status == new.status:
        new = new.model_copy(update={"last_transition_time": old.last_transition_time})
    if old is None:
        return [*conditions, new]
    # In place: a reorder would be a status change, and a level-based reconcile would write it again.
    return [new if c.type == new.type else c for c in conditions]
