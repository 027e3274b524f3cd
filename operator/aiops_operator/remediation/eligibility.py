"""Whether automatic remediation may act on an incident: decided here, once, for the hand-off and every attempt.

The Analyzing phase asks it at the hand-off (heal, or escalate at once); the
remediation decision asks it again before each new attempt, because a policy
can change or the kill switch be thrown in between. Same inputs, same answer.
"""

from __future__ import annotations

from aiops_operator.api import Analysis, Confidence, Incident, PolicyRule, RemediationPolicy
from aiops_operator.api.actions import applies_to
from aiops_operator.api.conditions import RemediatedReason
from aiops_operator.remediation.preflight import missing_identity

CONFIDENCE_RANK = {Confidence.LOW: 1, Confidence.MEDIUM: 2, Confidence.HIGH: 3}


def confidence_at_least(actual: Confidence, minimum: Confidence) -> bool:
    """High > Medium > Low."""
    return CONFIDENCE_RANK[actual] >= CONFIDENCE_RANK[minimum]


def ineligible(
    analysis: Analysis, incident: Incident, policy: RemediationPolicy | None, rule: PolicyRule | None,
    remediation_enabled: bool,
) -> tuple[RemediatedReason, str] | None:
    """(reason, message) why no (further) attempt may start, or None when one may.

    An action that lacks the identity it needs (`preflight`) can never launch: CannotRemediate, before
    any attempt is created. The kill switch is checked last: it is news only when a rule would
    otherwise have acted.
    """
    source = incident.spec.source
    error_type = analysis.error_type.value
    if not analysis.auto_heal_possible:
        return (RemediatedReason.NOT_AUTO_HEALABLE,
                f"The analysis says {error_type} cannot be healed automatically.")
    if policy is None:
        return RemediatedReason.NO_MATCHING_POLICY, "No enabled RemediationPolicy covers this resource."
    name = policy.metadata.name
    if not policy.spec.enabled:
        return RemediatedReason.POLICY_DISABLED, f"RemediationPolicy {name} is disabled."
    if rule is None:
        return RemediatedReason.NO_MATCHING_RULE, f"RemediationPolicy {name} has no rule for {error_type}."
    if rule.max_attempts == 0:
        return (RemediatedReason.RULE_DISABLED,
                f"Rule {rule.name} of RemediationPolicy {name} allows no attempts (maxAttempts: 0).")
    if not applies_to(rule.action, source):
        return (RemediatedReason.ACTION_NOT_APPLICABLE,
                f"Rule {rule.name}'s action {rule.action} cannot act on a {source} incident.")
    if not confidence_at_least(analysis.confidence, rule.min_confidence):
        return (RemediatedReason.CONFIDENCE_TOO_LOW,
                f"Analysis confidence {analysis.confidence} is below rule {rule.name}'s minimum"
                f" {rule.min_confidence}.")
    missing = missing_identity(rule.action, incident, rule.parameters)
    if missing is not None:
        return RemediatedReason.CANNOT_REMEDIATE, missing.message
    if not remediation_enabled:
        return (RemediatedReason.REMEDIATION_DISABLED,
                f"Rule {rule.name} of RemediationPolicy {name} covers {error_type}, but automatic remediation"
                " is switched off (AUTO_REMEDIATION_ENABLED=false).")
    return None
