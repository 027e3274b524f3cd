"""Validate a RemediationPolicy beyond its schema, and the kstatus status that follows.

The CRD schema already rejects wrong types and enum values; what it cannot
express is checked here, and every problem names the field it is about
(`spec.rules[2].backoff: ...`) so `kubectl describe` tells the author what to
fix. The status follows kstatus, which Argo CD and Flux health checks read:
valid → `Ready=True` with `observedGeneration`; invalid → `Ready=False` and
`Stalled=True`, both with reason `InvalidSpec` and the problems as message.

Rule statistics are level-based: recomputed from the Incidents and
RemediationAttempts that name the policy, never incremented, so a crash or a
repeated reconcile cannot count twice.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from fnmatch import translate
from typing import Any

from pydantic import ValidationError

from aiops_operator.api import (
    AttemptPhase,
    Condition,
    ConditionStatus,
    Incident,
    PolicyRule,
    RemediationAttempt,
    RemediationPolicy,
    RemediationPolicySpec,
    RemediationPolicyStatus,
    RuleStats,
    set_condition,
)
from aiops_operator.api.actions import ACTIONS
from aiops_operator.api.base import MAX_CONDITION_MESSAGE_CHARS
from aiops_operator.api.conditions import PolicyCondition
from aiops_operator.policy.guardrails import freeze_window, validate_window

READY = "Ready"
STALLED = "Stalled"
INVALID_SPEC = "InvalidSpec"
VALID = "Valid"


@dataclass(frozen=True)
class Problem:
    """One thing wrong with a policy, and the field it is about."""

    field: str
    message: str

    def __str__(self) -> str:
        return f"{self.field}: {self.message}"


def _loc(parts: Iterable[Any]) -> str:
    out = ""
    for part in parts:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += f".{part}" if out else str(part)
    return out


def validate_policy_body(body: Mapping[str, Any]) -> tuple[RemediationPolicy | None, list[Problem]]:
    """Parse a policy object as the API server returns it, then validate it.

    A body the models cannot parse (possible when the CRD in the cluster is
    older than the operator) yields problems named after the offending field
    instead of an exception.
    """
    try:
        policy = RemediationPolicy.model_validate(dict(body))
    except ValidationError as exc:
        problems = [Problem(_loc(e["loc"]) or "spec", e["msg"]) for e in exc.errors(include_url=False)]
        return None, problems
    return policy, validate_policy(policy.spec)


def validate_policy(spec: RemediationPolicySpec) -> list[Problem]:
    """Everything wrong with the spec that its schema cannot catch; empty when valid."""
    problems: list[Problem] = []
    for i, pattern in enumerate(spec.selector.name_patterns):
        problem = _pattern_problem(pattern)
        if problem:
            problems.append(Problem(f"spec.selector.namePatterns[{i}]", problem))
    names: dict[str, int] = {}
    error_types: dict[str, int] = {}
    for i, rule in enumerate(spec.rules):
        where = f"spec.rules[{i}]"
        if rule.name in names:
            first = names[rule.name]
            problems.append(Problem(f"{where}.name", f"duplicate rule name {rule.name!r} (also spec.rules[{first}])"))
        else:
            names[rule.name] = i
        if rule.error_type in error_types:
            first = error_types[rule.error_type]
            problems.append(Problem(
                f"{where}.errorType",
                f"{rule.error_type} already has a rule (spec.rules[{first}]); only the first would ever apply",
            ))
        else:
            error_types[rule.error_type] = i
        problems += _rule_problems(where, rule, spec)
    return problems + _window_problems(spec)


def _window_problems(spec: RemediationPolicySpec) -> list[Problem]:
    """Freeze windows whose RRULE, time zone, duration or mode cannot be used, and duplicate names."""
    problems: list[Problem] = []
    seen: set[str] = set()
    for i, window in enumerate(spec.freeze_windows):
        where = f"spec.freezeWindows[{i}]"
        if window.name in seen:
            problems.append(Problem(f"{where}.name", f"duplicate freeze window name {window.name!r}"))
        seen.add(window.name)
        problem = validate_window(freeze_window(window))
        if problem:
            problems.append(Problem(where, problem))
    return problems


def _pattern_problem(pattern: str) -> str | None:
    if not pattern:
        return "empty pattern matches nothing"
    depth = 0
    for char in pattern:
        if char == "[":
            depth += 1
        elif char == "]" and depth:
            depth -= 1
    if depth:
        return f"unclosed '[' in {pattern!r} (it would match a literal '[')"
    try:
        re.compile(translate(pattern))
    except re.error as exc:
        return f"invalid pattern {pattern!r}: {exc}"
    return None


def _rule_problems(where: str, rule: PolicyRule, spec: RemediationPolicySpec) -> list[Problem]:
    problems: list[Problem] = []
    b = rule.backoff
    if b.seconds and (b.initial_seconds is not None or b.factor is not None):
        problems.append(Problem(f"{where}.backoff", "seconds and initialSeconds/factor are mutually exclusive"))
    if not b.seconds and b.initial_seconds is None and b.factor is not None:
        problems.append(Problem(f"{where}.backoff.factor", "factor needs initialSeconds"))
    if b.initial_seconds is not None and b.max_seconds is not None and b.max_seconds < b.initial_seconds:
        problems.append(Problem(f"{where}.backoff.maxSeconds", "maxSeconds is smaller than initialSeconds"))
    for j, seconds in enumerate(b.seconds):
        if seconds < 0:
            problems.append(Problem(f"{where}.backoff.seconds[{j}]", f"must not be negative, got {seconds}"))
    action = ACTIONS[rule.action]
    if spec.selector.sources and not action.sources.intersection(spec.selector.sources):
        allowed = ", ".join(sorted(spec.selector.sources))
        problems.append(Problem(
            f"{where}.action",
            f"{rule.action} cannot act on incidents from {allowed} (the sources spec.selector allows)",
        ))
    seen: set[str] = set()
    for j, param in enumerate(rule.parameters):
        field = f"{where}.parameters[{j}]"
        if param.name in seen:
            problems.append(Problem(f"{field}.name", f"duplicate parameter {param.name!r}"))
        seen.add(param.name)
        if param.name not in action.known:
            known = ", ".join(sorted(action.known)) or "none"
            problems.append(Problem(f"{field}.name", f"{rule.action} has no parameter {param.name!r} (known: {known})"))
            continue
        problem = action.check(param.name, param.value)
        if problem:
            problems.append(Problem(f"{field}.value", f"{param.name} {problem}"))
    for required in action.required:
        if required not in seen:
            problems.append(Problem(f"{where}.parameters", f"{rule.action} needs parameter {required!r}"))
    return problems


def policy_conditions(
    existing: list[Condition], problems: list[Problem], generation: int | None, now: datetime,
) -> list[Condition]:
    """kstatus conditions for a policy with these problems (lastTransitionTime kept when unchanged)."""
    if problems:
        message = _bounded("; ".join(str(p) for p in problems))
        ready = Condition(type=READY, status=ConditionStatus.FALSE, reason=INVALID_SPEC, message=message,
                          last_transition_time=now, observed_generation=generation)
        stalled = Condition(type=STALLED, status=ConditionStatus.TRUE, reason=INVALID_SPEC, message=message,
                            last_transition_time=now, observed_generation=generation)
        return set_condition(set_condition(existing, ready), stalled)
    ready = Condition(type=READY, status=ConditionStatus.TRUE, reason=VALID, message="The policy is valid.",
                      last_transition_time=now, observed_generation=generation)
    return [c for c in set_condition(existing, ready) if c.type != STALLED]


def _bounded(message: str) -> str:
    if len(message) <= MAX_CONDITION_MESSAGE_CHARS:
        return message
    return message[: MAX_CONDITION_MESSAGE_CHARS - 1] + "…"


def rule_stats(
    policy: RemediationPolicy, incidents: Iterable[Incident], attempts: Iterable[RemediationAttempt],
) -> list[RuleStats]:
    """Per-rule counts, recomputed from the objects that name this policy.

    matched: Incidents whose status.remediation names the policy and rule;
    attempted: RemediationAttempts created under the rule that were not
    skipped (dry runs, denials); succeeded: those that healed;
    wouldHaveLaunched: records instead of launches (run mode Observe, dryRun).
    """
    name = policy.metadata.name
    stats = {r.name: RuleStats(name=r.name) for r in policy.spec.rules}
    for incident in incidents:
        summary = incident.status.remediation
        if summary is not None and summary.policy == name and summary.rule in stats:
            stats[summary.rule].matched += 1
    for attempt in attempts:
        if attempt.spec.policy != name or attempt.spec.rule not in stats:
            continue
        phase = attempt.status.phase
        if phase not in (None, AttemptPhase.PENDING, AttemptPhase.AWAITING_APPROVAL, AttemptPhase.SKIPPED):
            stats[attempt.spec.rule].attempted += 1
        if phase is AttemptPhase.SUCCEEDED:
            stats[attempt.spec.rule].succeeded += 1
        if phase is AttemptPhase.SKIPPED and attempt.spec.dry_run and attempt.status.would_have_done:
            stats[attempt.spec.rule].would_have_launched += 1
    return list(stats.values())


def policy_status(
    policy: RemediationPolicy, problems: list[Problem], now: datetime, stats: list[RuleStats] | None = None,
    *, budget: Condition | None = None, recount: bool = False,
) -> RemediationPolicyStatus:
    """The whole status to write: conditions, observedGeneration and rule counts (kept when not given).

    `recount`: `budget` is the circuit breaker from a fresh count (None: the policy has no budgets, the
    condition goes); otherwise the existing one is kept."""
    generation = policy.metadata.generation
    conditions = policy_conditions(policy.status.conditions, problems, generation, now)
    if recount:
        conditions = [c for c in conditions if c.type != PolicyCondition.BUDGET_EXHAUSTED]
        if budget is not None:
            conditions = set_condition(conditions, budget)
    return RemediationPolicyStatus(
        observed_generation=generation,
        conditions=conditions,
        rules=stats if stats is not None else _carried_stats(policy),
    )


def _carried_stats(policy: RemediationPolicy) -> list[RuleStats]:
    """Existing counts reshaped to the current rules: one entry per rule, in order."""
    old = {s.name: s for s in policy.status.rules}
    return [old.get(r.name) or RuleStats(name=r.name) for r in policy.spec.rules]
