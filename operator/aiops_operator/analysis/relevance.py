"""Which taxonomy types apply to a failure, by source.

ADF failures use the connector/service types; Databricks failures use all of
them (jobs read storage, call databases, hit permissions). An ADF activity that
runs a Databricks notebook, jar or Python file can fail for Databricks
reasons, so the Databricks types are added when the failure mentions Databricks.
"""

from __future__ import annotations

import re

from aiops_operator.analysis.request import AnalysisRequest, SourceFamily
from aiops_operator.api import ErrorType

DATABRICKS_TYPES: tuple[ErrorType, ...] = (
    ErrorType.DATABRICKS_CLUSTER_START_FAILURE,
    ErrorType.DATABRICKS_TIMEOUT_ERROR,
    ErrorType.DATABRICKS_DRIVER_NOT_RESPONDING,
    ErrorType.DATABRICKS_RESOURCE_EXHAUSTED,
    ErrorType.CLUSTER_UNEXPECTED_TERMINATION,
    ErrorType.DATABRICKS_LIBRARY_INSTALLATION_ERROR,
    ErrorType.DATABRICKS_JOB_EXECUTION_ERROR,
)
GENERAL_TYPES: tuple[ErrorType, ...] = tuple(t for t in ErrorType if t not in DATABRICKS_TYPES)

# ADF error codes 3200-3208 belong to the Databricks notebook/jar/python activities.
_DATABRICKS_HINT = re.compile(
    r"(?i)databricks|notebook|\bspark|dbfs:|\bcluster\b|\b320[0-8]\b|\bpy4j|\bpyspark|\bdbutils"
)


def mentions_databricks(request: AnalysisRequest) -> bool:
    text = " ".join(filter(None, (request.error_code, request.activity, request.error_message)))
    return bool(_DATABRICKS_HINT.search(text))


def relevant_types(request: AnalysisRequest) -> tuple[ErrorType, ...]:
    """The taxonomy types an answer for this request may use, in taxonomy order."""
    if request.family is SourceFamily.ADF and not mentions_databricks(request):
        return GENERAL_TYPES
    return tuple(ErrorType)
