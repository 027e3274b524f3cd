"""The LLM analyzer: classification through the `openai` SDK, with the rule-based answer as fallback.

One code path for OpenAI, Azure OpenAI, Ollama, Gemini's OpenAI-compatible
endpoint and any OpenAI-compatible server. The client is injected (tests pass
one backed by httpx.MockTransport). The SDK's own retries are switched off:
this module retries rate-limited requests itself, honouring Retry-After, with
an injected sleep so tests do not wait.

Whatever goes wrong — invalid or out-of-taxonomy answers (after one retry),
timeouts, 5xx, connection errors, exhausted rate limits, the token budget — the
rule-based Analysis is returned with `fallback_reason` saying why, and the
tokens spent so far. It never raises for LLM trouble.
"""

from __future__ import annotations

import asyncio
import email.utils
import math
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any

import openai

from aiops_operator.analysis.guidance import GUIDANCE, recommendations_for
from aiops_operator.analysis.prompt import (
    MAX_RECOMMENDATIONS,
    InvalidAnswer,
    LlmAnswer,
    build_messages,
    parse_answer,
    response_format,
    retry_message,
)
from aiops_operator.analysis.relevance import relevant_types
from aiops_operator.analysis.request import AnalysisRequest
from aiops_operator.analysis.settings import LlmProvider, LlmSettings
from aiops_operator.api import Analysis, ErrorType
from aiops_operator.api.sanitize import clean_text

MIN_COMPLETION_TOKENS = 128
"""Below this many tokens left in the budget an answer cannot fit; the rules answer instead."""
CHARS_PER_TOKEN = 3
"""Conservative estimate used to check the budget before a request (real tokenizers average ~4)."""


class FallbackReason(StrEnum):
    """Why the rule-based answer was used; the first word of `Analysis.fallback_reason` (a metrics label)."""

    INVALID_ANSWER = "InvalidAnswer"
    OUT_OF_TAXONOMY = "OutOfTaxonomy"
    RATE_LIMITED = "RateLimited"
    TIMEOUT = "Timeout"
    CONNECTION_FAILED = "ConnectionFailed"
    SERVER_ERROR = "ServerError"
    CREDENTIALS_REJECTED = "CredentialsRejected"
    REQUEST_REJECTED = "RequestRejected"
    TOKEN_BUDGET_EXCEEDED = "TokenBudgetExceeded"  # noqa: S105 - a reason name, not a credential
    LLM_ERROR = "LlmError"
    UNCLASSIFIED = "LlmUnclassified"
    """The model answered UnknownError where the rules recognised a specific type."""
    OVERRULED = "LlmOverruled"
    """The model named another type than a confident (vendor-code) rules classification; the rules' type won."""


class _Failure(Exception):
    def __init__(self, reason: FallbackReason, detail: str) -> None:
        super().__init__(detail)
        self.reason = reason
        self.detail = detail


@dataclass
class _Spent:
    prompt_tokens: int = 0
    completion_tokens: int = 0

    @property
    def total(self) -> int:
        return self.prompt_tokens + self.completion_tokens


Sleep = Callable[[float], Awaitable[None]]


def build_llm_client(settings: LlmSettings, *, http_client: Any = None) -> openai.AsyncOpenAI:
    """The SDK client for the configured provider (AsyncAzureOpenAI for Azure).

    `http_client` is an httpx-style async client, for tests (the SDK's http
    library differs across its major versions, hence the loose type).
    Raises LlmConfigurationError when the settings lack a key the provider needs.
    """
    if settings.provider is None:
        raise ValueError("no LLM provider configured")
    key = settings.resolved_api_key()
    common: dict[str, Any] = {"timeout": settings.timeout_seconds, "max_retries": 0, "http_client": http_client}
    if settings.provider is LlmProvider.AZURE_OPENAI:
        return openai.AsyncAzureOpenAI(
            api_key=key, azure_endpoint=settings.endpoint or "", api_version=settings.api_version, **common
        )
    # Keyless servers (Ollama, most local OpenAI-compatible ones) ignore the key; the SDK insists on one.
    return openai.AsyncOpenAI(api_key=key or "unused", base_url=settings.endpoint, **common)


def retry_after_seconds(headers: Any) -> float | None:
    """Seconds from retry-after-ms or Retry-After (seconds or an HTTP date), if the response said."""
    if headers is None:
        return None
    millis = headers.get("retry-after-ms")
    if millis:
        try:
            return max(0.0, float(millis) / 1000)
        except ValueError:
            pass
    value = headers.get("retry-after")
    if not value:
        return None
    try:
        seconds = float(value)
    except ValueError:
        try:
            when = email.utils.parsedate_to_datetime(value)
        except (TypeError, ValueError):
            return None
        if when.tzinfo is None:
            when = when.replace(tzinfo=UTC)
        seconds = (when - datetime.now(UTC)).total_seconds()
    return max(0.0, seconds) if math.isfinite(seconds) else None


class LlmAnalyzer:
    """Classifies one failure with the configured LLM; the rule-based answer is its fallback."""

    def __init__(
        self,
        settings: LlmSettings,
        client: openai.AsyncOpenAI,
        *,
        sleep: Sleep = asyncio.sleep,
    ) -> None:
        if settings.provider is None:
            raise ValueError("LlmAnalyzer needs a provider; use the rule-based analyzer without one")
        self.settings = settings
        self.provider: LlmProvider = settings.provider
        self.model = settings.model_name
        self._client = client
        self._sleep = sleep

    @classmethod
    def from_settings(cls, settings: LlmSettings, *, http_client: Any = None) -> LlmAnalyzer:
        return cls(settings, build_llm_client(settings, http_client=http_client))

    async def aclose(self) -> None:
        await self._client.close()

    async def analyze(self, request: AnalysisRequest, *, fallback: Analysis) -> Analysis:
        """The LLM's Analysis, or `fallback` (the rules' answer) with fallback_reason and the tokens spent."""
        types = relevant_types(request)
        messages: list[dict[str, str]] = build_messages(request, types, self.settings.max_error_chars)
        spent = _Spent()
        rejected: InvalidAnswer | None = None
        for _attempt in range(2):  # an invalid or out-of-taxonomy answer is retried once
            try:
                content = await self._complete(messages, types, spent)
                answer, error_type = parse_answer(content, types)
            except InvalidAnswer as exc:
                rejected = exc
                messages = [*messages, retry_message(exc.reason)]
                continue
            except _Failure as exc:
                return self._fallback(fallback, exc.reason, exc.detail, spent)
            return self._analysis(answer, error_type, request, fallback, spent)
        assert rejected is not None
        return self._fallback(fallback, FallbackReason(rejected.kind), f"{rejected.reason} (twice)", spent)

    async def _complete(
        self, messages: list[dict[str, str]], types: tuple[ErrorType, ...], spent: _Spent
    ) -> str | None:
        estimate = sum(len(m["content"]) for m in messages) // CHARS_PER_TOKEN + 16 * len(messages)
        room = self.settings.max_tokens_per_incident - spent.total - estimate
        max_tokens = min(self.settings.max_completion_tokens, room)
        if max_tokens < MIN_COMPLETION_TOKENS:
            raise _Failure(
                FallbackReason.TOKEN_BUDGET_EXCEEDED,
                f"~{estimate} prompt tokens with {spent.total} spent exceed the budget of"
                f" {self.settings.max_tokens_per_incident}",
            )
        # OpenAI's newer models take only max_completion_tokens; the other servers know max_tokens.
        limit_name = (
            "max_completion_tokens"
            if self.provider in (LlmProvider.OPENAI, LlmProvider.AZURE_OPENAI)
            else "max_tokens"
        )
        completion = await self._create_with_backoff(
            model=self.model,
            messages=messages,
            response_format=response_format(types),
            temperature=self.settings.temperature,
            **{limit_name: max_tokens},
        )
        usage = completion.usage
        if usage is not None:
            spent.prompt_tokens += usage.prompt_tokens
            spent.completion_tokens += usage.completion_tokens
        else:  # some compatible servers do not report usage
            spent.prompt_tokens += estimate
        if not completion.choices:
            return None
        message = completion.choices[0].message
        return None if message.refusal else message.content

    async def _create_with_backoff(self, **kwargs: Any) -> Any:
        for retry in range(self.settings.max_retries + 1):
            try:
                return await self._client.chat.completions.create(**kwargs)
            except openai.RateLimitError as exc:
                if retry == self.settings.max_retries:
                    raise _Failure(
                        FallbackReason.RATE_LIMITED, f"still rate limited after {retry} retries"
                    ) from None
                told = retry_after_seconds(exc.response.headers)
                delay = told if told is not None else min(2.0**retry, self.settings.max_backoff_seconds)
                if delay > self.settings.max_backoff_seconds:
                    raise _Failure(
                        FallbackReason.RATE_LIMITED,
                        f"Retry-After {delay:.0f}s exceeds the {self.settings.max_backoff_seconds:.0f}s cap",
                    ) from None
                await self._sleep(delay)
            except openai.APITimeoutError:
                raise _Failure(
                    FallbackReason.TIMEOUT, f"no answer within {self.settings.timeout_seconds:g}s"
                ) from None
            except openai.APIConnectionError as exc:
                raise _Failure(FallbackReason.CONNECTION_FAILED, type(exc).__name__) from None
            except (openai.AuthenticationError, openai.PermissionDeniedError) as exc:
                raise _Failure(FallbackReason.CREDENTIALS_REJECTED, f"HTTP {exc.status_code}") from None
            except openai.InternalServerError as exc:
                raise _Failure(FallbackReason.SERVER_ERROR, f"HTTP {exc.status_code}") from None
            except openai.APIStatusError as exc:
                raise _Failure(FallbackReason.REQUEST_REJECTED, f"HTTP {exc.status_code}") from None
            except openai.OpenAIError as exc:
                raise _Failure(FallbackReason.LLM_ERROR, type(exc).__name__) from None
        raise AssertionError("unreachable")  # pragma: no cover

    def _fallback(self, rules: Analysis, reason: FallbackReason, detail: str, spent: _Spent) -> Analysis:
        note = f"{reason.value}: {self.provider.value} model {self.model}: {detail}"
        return rules.model_copy(
            update={
                "fallback_reason": clean_text(note, 512),
                "prompt_tokens": spent.prompt_tokens,
                "completion_tokens": spent.completion_tokens,
            }
        )

    def _analysis(
        self,
        answer: LlmAnswer,
        error_type: ErrorType,
        request: AnalysisRequest,
        rules: Analysis,
        spent: _Spent,
    ) -> Analysis:
        entity = clean_text(answer.affected_entity, 512, emails=True) or rules.affected_entity
        steps = [clean_text(step, 400, emails=True) for step in answer.recommendations]
        steps = [step for step in steps if step][:MAX_RECOMMENDATIONS]
        return Analysis(
            root_cause=clean_text(answer.root_cause, 1024, emails=True),
            error_type=error_type,
            severity=answer.severity,
            priority=answer.priority,
            confidence=answer.confidence,
            affected_entity=entity,
            recommendations=steps or recommendations_for(error_type, entity or request.resource_name),
            # Whether a retry can help follows from the type, never from the model's say-so.
            auto_heal_possible=GUIDANCE[error_type].auto_heal_possible,
            suggested_strategy=clean_text(answer.suggested_strategy, 512, emails=True) or None,
            provider=self.provider.value,
            model=clean_text(self.model, 128),
            prompt_tokens=spent.prompt_tokens,
            completion_tokens=spent.completion_tokens,
        )
