"""Generate the CustomResourceDefinitions from the API models.

pydantic emits JSON Schema (draft 2020-12); Kubernetes wants a *structural*
OpenAPI v3 schema: every node typed, no `$ref`, no `anyOf` with null, no
`additionalProperties` beside `properties`, no `uniqueItems`, no `const`. This
module rewrites one into the other and adds the CRD envelope (status
subresource, printer columns, short names, category).
"""

from __future__ import annotations

import copy
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel

from aiops_operator.api import (
    GROUP,
    VERSION,
    Incident,
    RemediationAttempt,
    RemediationPolicy,
)

JsonSchema = dict[str, Any]

_DROPPED_KEYS = {"title", "uniqueItems", "const", "examples", "discriminator"}


@dataclass(frozen=True)
class PrinterColumn:
    name: str
    json_path: str
    type: str = "string"
    description: str = ""
    priority: int = 0

    def to_crd(self) -> dict[str, Any]:
        column: dict[str, Any] = {
            "name": self.name,
            "type": self.type,
            "jsonPath": self.json_path,
        }
        if self.description:
            column["description"] = self.description
        if self.priority:
            column["priority"] = self.priority
        return column


@dataclass(frozen=True)
class KindInfo:
    model: type[BaseModel]
    kind: str
    plural: str
    singular: str
    short_names: list[str]
    columns: list[PrinterColumn] = field(default_factory=list)

    @property
    def crd_name(self) -> str:
        return f"{self.plural}.{GROUP}"

    @property
    def file_name(self) -> str:
        return f"{self.plural}.yaml"


AGE = PrinterColumn("Age", ".metadata.creationTimestamp", "date")

KINDS: list[KindInfo] = [
    KindInfo(
        model=Incident,
        kind="Incident",
        plural="incidents",
        singular="incident",
        short_names=["inc", "incs"],
        columns=[
            PrinterColumn("Phase", ".status.phase", description="Lifecycle phase"),
            PrinterColumn("Source", ".spec.source", description="Failing system"),
            PrinterColumn("Pipeline/Job", ".spec.resource.name", description="Failing resource"),
            PrinterColumn("Error Type", ".status.analysis.errorType"),
            PrinterColumn("Severity", ".status.analysis.severity"),
            PrinterColumn("Attempts", ".status.remediation.attemptsMade", "integer"),
            PrinterColumn("Root", ".status.correlation.root.name", description="Root incident of its group"),
            PrinterColumn("Members", ".status.correlation.memberCount", "integer",
                          description="Incidents grouped under this root"),
            AGE,
            PrinterColumn("Jira", ".status.notifications.jira.key", priority=1),
            PrinterColumn("Team", ".status.ownership.team", priority=1),
            PrinterColumn("Recurrences", ".status.recurrence.count", "integer", priority=1,
                          description="Earlier failures of this target with this error type in 30 days"),
            PrinterColumn("Previous", ".spec.previousIncidentRef", priority=1,
                          description="The resolved incident of the same run this one re-fired after"),
        ],
    ),
    KindInfo(
        model=RemediationAttempt,
        kind="RemediationAttempt",
        plural="remediationattempts",
        singular="remediationattempt",
        short_names=["ra"],
        columns=[
            PrinterColumn("Incident", ".spec.incidentRef"),
            PrinterColumn("Action", ".spec.action"),
            PrinterColumn("Phase", ".status.phase"),
            AGE,
            PrinterColumn("Run", ".status.externalRun.runId", priority=1),
        ],
    ),
    KindInfo(
        model=RemediationPolicy,
        kind="RemediationPolicy",
        plural="remediationpolicies",
        singular="remediationpolicy",
        short_names=["rp", "rpol"],
        columns=[
            PrinterColumn("Ready", '.status.conditions[?(@.type=="Ready")].status'),
            PrinterColumn("Mode", ".spec.mode", description="Run mode: Observe, Review or Auto"),
            PrinterColumn("Budget Exhausted", '.status.conditions[?(@.type=="BudgetExhausted")].status',
                          description="Circuit breaker: True while a launch budget is used up"),
            AGE,
            PrinterColumn("Enabled", ".spec.enabled", "boolean", priority=1),
        ],
    ),
]


class SchemaError(ValueError):
    """The models produce a schema that cannot be made structural."""


def _resolve(node: JsonSchema, defs: dict[str, JsonSchema]) -> JsonSchema:
    ref = node.get("$ref")
    if ref is None:
        return node
    target = copy.deepcopy(defs[ref.rsplit("/", 1)[-1]])
    # The field's own description wins over the referenced model's docstring.
    for key, value in node.items():
        if key != "$ref":
            target[key] = value
    return target


def _structural(node: JsonSchema, defs: dict[str, JsonSchema], path: str) -> JsonSchema:
    node = _resolve(node, defs)
    any_of = node.pop("anyOf", None)
    if any_of is not None:
        options = [opt for opt in any_of if opt.get("type") != "null"]
        if len(options) != 1:
            raise SchemaError(f"{path}: unions other than Optional[X] are not structural")
        # Optional fields are simply omitted; null is never stored.
        inner = _resolve(options[0], defs)
        node = {**inner, **node}
        if node.get("default", 0) is None:
            del node["default"]
    node = {k: v for k, v in node.items() if k not in _DROPPED_KEYS}
    if "enum" in node and "type" not in node:
        node["type"] = "string"
    # Only scalar defaults go to the API server; v1.20 also misreads "" as null.
    if "default" in node and node["default"] in (None, "", [], {}):
        del node["default"]
    if isinstance(node.get("default"), (dict, list)):
        del node["default"]
    if node.get("type") == "object":
        props = node.get("properties")
        if props is not None:
            node.pop("additionalProperties", None)
            node["properties"] = {
                name: _structural(sub, defs, f"{path}.{name}") for name, sub in props.items()
            }
        elif isinstance(node.get("additionalProperties"), dict):
            node["additionalProperties"] = _structural(
                node["additionalProperties"], defs, f"{path}.*"
            )
    elif node.get("type") == "array":
        node["items"] = _structural(node["items"], defs, f"{path}[]")
    if "type" not in node:
        raise SchemaError(f"{path}: no type in schema {node}")
    return node


def structural_schema(model: type[BaseModel]) -> JsonSchema:
    """The model's schema, rewritten to a Kubernetes structural schema."""
    raw = model.model_json_schema(by_alias=True, mode="validation")
    defs = raw.pop("$defs", {})
    return _structural(raw, defs, model.__name__)


def openapi_schema(info: KindInfo) -> JsonSchema:
    """The openAPIV3Schema of a kind: the model's spec and status plus the envelope."""
    model_schema = structural_schema(info.model)
    props = model_schema["properties"]
    return {
        "type": "object",
        "description": model_schema.get("description", info.kind),
        "required": ["spec"],
        "properties": {
            "apiVersion": {
                "type": "string",
                "description": "Versioned schema of this representation: aiops-rca.io/v1alpha1.",
            },
            "kind": {
                "type": "string",
                "description": f"REST resource this object represents: {info.kind}.",
            },
            # The API server forbids anything but `type` on metadata.
            "metadata": {"type": "object"},
            "spec": props["spec"],
            "status": props["status"],
        },
    }


def crd(info: KindInfo) -> dict[str, Any]:
    """The CustomResourceDefinition for one kind."""
    return {
        "apiVersion": "apiextensions.k8s.io/v1",
        "kind": "CustomResourceDefinition",
        "metadata": {
            "name": info.crd_name,
            "labels": {"app.kubernetes.io/part-of": "aiops-rca"},
        },
        "spec": {
            "group": GROUP,
            "scope": "Namespaced",
            "names": {
                "kind": info.kind,
                "listKind": f"{info.kind}List",
                "plural": info.plural,
                "singular": info.singular,
                "shortNames": info.short_names,
                "categories": ["aiops"],
            },
            "versions": [
                {
                    "name": VERSION,
                    "served": True,
                    "storage": True,
                    "subresources": {"status": {}},
                    "additionalPrinterColumns": [c.to_crd() for c in info.columns],
                    "schema": {"openAPIV3Schema": openapi_schema(info)},
                }
            ],
        },
    }


HEADER = "# Generated by `aiops-rca crds` from the models in operator/aiops_operator/api. Do not edit.\n"


def render(info: KindInfo) -> str:
    """The CRD as the YAML text committed under crds/."""
    return HEADER + yaml.safe_dump(crd(info), sort_keys=False, width=100, allow_unicode=True)


def write_crds(out_dirs: list[Path]) -> list[Path]:
    """Write every CRD into each directory; returns the files written."""
    written: list[Path] = []
    for out in out_dirs:
        out.mkdir(parents=True, exist_ok=True)
        for info in KINDS:
            path = out / info.file_name
            path.write_text(render(info), encoding="utf-8")
            written.append(path)
    return written
