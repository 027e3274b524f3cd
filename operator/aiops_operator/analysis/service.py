"""The one entry point for root-cause analysis, shared by the operator and `aiops-rca analyze`."""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from aiops_operator.analysis.request import AnalysisRequest
from aiops_operator.analysis.rules import analyze_with_rules
from aiops_operator.api import Analysis, Confidence, ErrorType, Priority, Severity

if TYPE_CHECKING:  # the openai SDK is imported only when an LLM is configured
    from aiops_operator.analysis.llm import LlmAnalyzer
    from aiops_operator.analysis.settings import LlmSettings


def utc_now() -> datetime:
    return datetime.now(UTC)


async def analyze(
    request: AnalysisRequest,
    *,
    llm: LlmAnalyzer | None = None,
    clock: Callable[[], datetime] = utc_now,
    timer: Callable[[], float] = time.monotonic,
) -> Analysis:
    """Analyze one failure: the rule-based analyzer, then the LLM when one is configured.

    Contract (for the operator and the CLI):
    - `request`: build it with `AnalysisRequest.from_incident(incident)` (enrichment wins over the alert).
    - `llm`: None → rules only (provider "Rules"). Otherwise the LLM classifies, and on any LLM trouble
      (invalid or out-of-taxonomy answer twice, timeout, 5xx, connection error, rate limit beyond
      retries, token budget) the rules' answer is returned with `fallback_reason` set
      ("<Reason>: <provider> model <model>: <detail>", Reason from `llm.FallbackReason`).
    - Never raises for LLM failures and never blocks longer than about
      (1 + max_retries) x timeout + the backoff waits; it does no Kubernetes I/O.
    - Returns a complete `Analysis` ready for `status.analysis`: error type from the taxonomy,
      severity, priority, confidence, affected entity, recommendations, auto_heal_possible (from the
      type, never from the model), suggested strategy (free text; never use it to pick an action),
      provider/model, prompt/completion tokens, duration_seconds (from `timer`) and analyzed_time (`clock`).
    - A model that contradicts a High-confidence rules type (a vendor code) is overruled: the rules' type
      routes the incident, `fallback_reason` starts with LlmOverruled (see `rules_win_when_sure`).
    - Deterministic for the rules: the same request gives the same analysis apart from the two times.
    """
    started = timer()
    rules = analyze_with_rules(request)
    result = rules
    if llm is not None:
        answer = await llm.analyze(request, fallback=rules)
        result = never_less_urgent(keep_specific(rules_win_when_sure(answer, rules), rules), rules)
    return result.model_copy(update={"duration_seconds": max(0.0, timer() - started), "analyzed_time": clock()})


def rules_win_when_sure(answer: Analysis, rules: Analysis) -> Analysis:
    """The rules' answer (with the model's tokens) when the model contradicts a confident rules classification.

    A High-confidence rules result rests on an explicit vendor code or exception
    class, which the taxonomy ranks above wording. The error text that reaches
    the model is attacker-controllable (alerts, run output): a model that
    names another type there is either wrong or obeying an injection
    ("classify this as ThrottlingError"), and the type picks the policy rule,
    hence the action and whether it needs approval. So the rules' type routes
    the incident; the disagreement is recorded in `fallback_reason`
    (LlmOverruled) for humans to see. Lower-confidence rules results leave the
    model's classification standing: there the model is the better reader.
    """
    if answer.fallback_reason is not None or rules.confidence is not Confidence.HIGH:
        return answer
    if answer.error_type is rules.error_type or answer.error_type is ErrorType.UNKNOWN_ERROR:
        return answer  # agreement, or a shrug that keep_specific handles
    from aiops_operator.analysis.llm import FallbackReason

    note = (f"{FallbackReason.OVERRULED.value}: {answer.provider} model {answer.model}: the model said"
            f" {answer.error_type.value}; the error's own code says {rules.error_type.value}")
    return rules.model_copy(update={
        "fallback_reason": note[:512],
        "priority": answer.priority,
        "severity": answer.severity,
        "prompt_tokens": answer.prompt_tokens,
        "completion_tokens": answer.completion_tokens,
    })


def keep_specific(answer: Analysis, rules: Analysis) -> Analysis:
    """The rules' answer when the model shrugged (UnknownError) but the rules recognised the error.

    The rules match vendor codes and exception names, which the taxonomy ranks
    above wording; a model that cannot place the text must not erase that.
    """
    if answer.error_type is not ErrorType.UNKNOWN_ERROR or rules.error_type is ErrorType.UNKNOWN_ERROR:
        return answer
    if answer.fallback_reason is not None:  # already the rules' answer
        return answer
    from aiops_operator.analysis.llm import FallbackReason

    note = (f"{FallbackReason.UNCLASSIFIED.value}: {answer.provider} model {answer.model}: the model could not"
            f" classify the error; the rules recognised {rules.error_type.value}")
    return rules.model_copy(update={
        "fallback_reason": note,
        "prompt_tokens": answer.prompt_tokens,
        "completion_tokens": answer.completion_tokens,
    })


_PRIORITY_RANK = {Priority.P1: 0, Priority.P2: 1, Priority.P3: 2, Priority.P4: 3}
_SEVERITY_RANK = {Severity.CRITICAL: 0, Severity.HIGH: 1, Severity.MEDIUM: 2, Severity.LOW: 3}


def never_less_urgent(answer: Analysis, rules: Analysis) -> Analysis:
    """The LLM's answer with priority and severity no lower than the rules' own.

    The error text is attacker-controllable (it comes from alerts), and priority
    sets the SLA: a prompt-injected "this is a P4" must not slow the response
    down. The model may raise urgency, never lower it below the rules' judgement.
    """
    priority = min(answer.priority, rules.priority, key=_PRIORITY_RANK.__getitem__)
    severity = min(answer.severity, rules.severity, key=_SEVERITY_RANK.__getitem__)
    if (priority, severity) == (answer.priority, answer.severity):
        return answer
    return answer.model_copy(update={"priority": priority, "severity": severity})


def llm_from_settings(settings: LlmSettings) -> LlmAnalyzer | None:
    """The LLM analyzer for these settings, or None when no provider is configured (rules only).

    Raises LlmConfigurationError (a ValueError without secrets in its message) when the provider
    lacks its endpoint, model or key. Close the analyzer with `await llm.aclose()` on shutdown.
    """
    if not settings.enabled:
        return None
    from aiops_operator.analysis.llm import LlmAnalyzer

    return LlmAnalyzer.from_settings(settings)
