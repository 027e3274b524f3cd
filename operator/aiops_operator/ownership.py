"""Who owns a failing resource: the governing policy's routing, else keyword rules, else defaults."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from aiops_operator.api import IncidentSpec, Ownership, OwnershipOrigin, RemediationPolicy
from aiops_operator.settings import KeywordOwnershipRule


@dataclass(frozen=True)
class OwnershipDefaults:
    team: str = "data-platform"
    owner: str | None = None
    cost_center: str | None = None
    slack_channel: str | None = None
    jira_project: str | None = None
    keyword_rules: Sequence[KeywordOwnershipRule] = field(default_factory=tuple)


def resolve_ownership(
    spec: IncidentSpec, policy: RemediationPolicy | None, defaults: OwnershipDefaults
) -> Ownership:
    """Routing of the governing policy when it has any; else the first keyword rule whose
    keyword occurs in the resource name; else the defaults. Fields a source leaves empty fall
    back to the defaults (a policy naming only a team still gets the default Slack channel)."""
    routing = policy.spec.routing if policy is not None else None
    if routing is not None and routing.model_dump(exclude_none=True):
        return Ownership(
            team=routing.team or defaults.team,
            owner=routing.owner or defaults.owner,
            cost_center=routing.cost_center or defaults.cost_center,
            slack_channel=routing.slack_channel or defaults.slack_channel,
            jira_project=routing.jira_project or defaults.jira_project,
            origin=OwnershipOrigin.POLICY,
        )
    name = spec.resource.name.lower()
    for rule in defaults.keyword_rules:
        if any(k.lower() in name for k in rule.keywords if k):
            return Ownership(
                team=rule.team,
                owner=rule.owner or defaults.owner,
                cost_center=rule.cost_center or defaults.cost_center,
                slack_channel=rule.slack_channel or defaults.slack_channel,
                jira_project=rule.jira_project or defaults.jira_project,
                origin=OwnershipOrigin.KEYWORD_RULE,
            )
    return Ownership(
        team=defaults.team,
        owner=defaults.owner,
        cost_center=defaults.cost_center,
        slack_channel=defaults.slack_channel,
        jira_project=defaults.jira_project,
        origin=OwnershipOrigin.DEFAULT,
    )
