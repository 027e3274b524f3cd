"""What an analysis looks at: one failure's error text and the little context around it."""

from __future__ import annotations

from enum import StrEnum

from pydantic import BaseModel, ConfigDict, Field

from aiops_operator.api import Incident, IncidentSource

MAX_ANALYZED_CHARS = 32_768
"""Bound on the error text an analysis reads; longer text keeps its head and its tail."""


class SourceFamily(StrEnum):
    """The vendor family that decides which taxonomy types are relevant."""

    ADF = "adf"
    DATABRICKS = "databricks"
    GENERIC = "generic"


_FAMILY: dict[IncidentSource, SourceFamily] = {
    IncidentSource.AZURE_DATA_FACTORY: SourceFamily.ADF,
    IncidentSource.DATABRICKS_JOB: SourceFamily.DATABRICKS,
    IncidentSource.DATABRICKS_CLUSTER: SourceFamily.DATABRICKS,
    IncidentSource.GENERIC: SourceFamily.GENERIC,
}


class AnalysisRequest(BaseModel):
    """One failure to analyze. Built by the operator from an Incident (spec + enrichment) or by the CLI."""

    model_config = ConfigDict(frozen=True)

    source: IncidentSource
    error_message: str = Field(default="", max_length=MAX_ANALYZED_CHARS)
    error_code: str | None = Field(default=None, max_length=128)
    """Vendor code: ADF error code, Databricks termination code or result state."""
    failure_type: str | None = Field(default=None, max_length=64)
    """ADF failure type (UserError, SystemError) when known."""
    activity: str | None = Field(default=None, max_length=260)
    """Failing ADF activity or Databricks task."""
    resource_name: str = Field(default="", max_length=260)
    """Pipeline, job or cluster name."""

    @property
    def family(self) -> SourceFamily:
        return _FAMILY[self.source]

    @classmethod
    def from_incident(cls, incident: Incident) -> AnalysisRequest:
        """The request for an Incident: enrichment's findings win over the alert's, field by field."""
        spec = incident.spec
        found = incident.status.enrichment
        message = (found.error_message if found and found.error_message else None) or spec.error.message
        return cls(
            source=spec.source,
            error_message=bound_text(message),
            error_code=(found.error_code if found and found.error_code else None) or spec.error.code,
            failure_type=spec.error.failure_type,
            activity=(found.activity if found and found.activity else None) or spec.error.activity,
            resource_name=spec.resource.name,
        )


def bound_text(text: str, max_chars: int = MAX_ANALYZED_CHARS) -> str:
    """`text` cut to `max_chars`, keeping the head and the tail (inner causes come last in stack traces)."""
    if len(text) <= max_chars:
        return text
    marker = "\n… [cut] …\n"
    head = (max_chars - len(marker)) * 3 // 4
    tail = max_chars - len(marker) - head
    return text[:head] + marker + text[-tail:]
