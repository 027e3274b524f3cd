"""Which RemediationPolicy covers an Incident, and which of its rules applies.

Pure functions shared by ownership routing (Analyzing) and remediation.

Matching: a policy covers an incident when it is enabled, its selector's
`sources` is empty or lists the incident's source, and its `namePatterns` is
empty or one shell-style pattern (fnmatch, case-sensitive) matches the
pipeline/job/cluster name. When several policies cover it, the choice is
deterministic: the highest `spec.priority` wins, then the oldest
(`metadata.creationTimestamp`), then the name in lexical order.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime
from fnmatch import fnmatchcase

from aiops_operator.api import ErrorType, IncidentSpec, PolicyRule, RemediationPolicy

_NEVER = datetime.max.replace(tzinfo=UTC)


def covers(policy: RemediationPolicy, spec: IncidentSpec) -> bool:
    """Whether the policy's selector (and its enabled switch) covers the incident."""
    if not policy.spec.enabled:
        return False
    selector = policy.spec.selector
    if selector.sources and spec.source not in selector.sources:
        return False
    return not selector.name_patterns or any(fnmatchcase(spec.resource.name, p) for p in selector.name_patterns)


def _precedence(policy: RemediationPolicy) -> tuple[int, datetime, str]:
    created = policy.metadata.creation_timestamp or _NEVER
    return (-policy.spec.priority, created, policy.metadata.name)


def select_policy(policies: Iterable[RemediationPolicy], spec: IncidentSpec) -> RemediationPolicy | None:
    """The policy that governs the incident: highest priority, then oldest, then name."""
    matching = [p for p in policies if covers(p, spec)]
    if not matching:
        return None
    return min(matching, key=_precedence)


def find_rule(policy: RemediationPolicy, error_type: ErrorType) -> PolicyRule | None:
    """The policy's rule for `error_type` (the first, if a policy lists several)."""
    return next((r for r in policy.spec.rules if r.error_type == error_type), None)
