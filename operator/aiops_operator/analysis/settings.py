"""Which LLM analyzes incidents, and the limits it runs under.

Read from the environment (prefix AIOPS_LLM_). No provider configured means the
rule-based analyzer alone. The API key comes from AIOPS_LLM_API_KEY or from a
file (AIOPS_LLM_API_KEY_FILE, e.g. a mounted Kubernetes Secret); it is a
SecretStr, so it never appears in reprs, logs or validation errors.
"""

from __future__ import annotations

from enum import StrEnum
from pathlib import Path
from typing import Any, Self

from pydantic import Field, SecretStr, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict


class LlmProvider(StrEnum):
    """Who serves the model. The value is what `Analysis.provider` records."""

    OPENAI = "OpenAI"
    AZURE_OPENAI = "AzureOpenAI"
    OLLAMA = "Ollama"
    GEMINI = "Gemini"
    OPENAI_COMPATIBLE = "OpenAICompatible"


_PROVIDER_ALIASES = {
    "openai": LlmProvider.OPENAI,
    "azure": LlmProvider.AZURE_OPENAI,
    "azureopenai": LlmProvider.AZURE_OPENAI,
    "ollama": LlmProvider.OLLAMA,
    "gemini": LlmProvider.GEMINI,
    "openaicompatible": LlmProvider.OPENAI_COMPATIBLE,
    "compatible": LlmProvider.OPENAI_COMPATIBLE,
}

DEFAULT_BASE_URLS: dict[LlmProvider, str] = {
    LlmProvider.OLLAMA: "http://localhost:11434/v1",
    LlmProvider.GEMINI: "https://generativelanguage.googleapis.com/v1beta/openai/",
}
DEFAULT_MODELS: dict[LlmProvider, str] = {
    LlmProvider.OPENAI: "gpt-4o-mini",
    LlmProvider.OLLAMA: "llama3.1",
    LlmProvider.GEMINI: "gemini-2.0-flash",
}
KEYLESS_PROVIDERS = frozenset({LlmProvider.OLLAMA, LlmProvider.OPENAI_COMPATIBLE})


class LlmConfigurationError(ValueError):
    """The LLM settings cannot work (missing endpoint, model or key). The message never contains the key."""


class LlmSettings(BaseSettings):
    """LLM analyzer settings; every field is read from AIOPS_LLM_<FIELD NAME IN CAPITALS>."""

    model_config = SettingsConfigDict(env_prefix="AIOPS_LLM_", extra="ignore", hide_input_in_errors=True)

    provider: LlmProvider | None = None
    """OpenAI, AzureOpenAI, Ollama, Gemini or OpenAICompatible (case and dashes ignored); unset: rules only."""
    base_url: str | None = None
    """Endpoint. Azure: https://<resource>.openai.azure.com. Defaults for Ollama and Gemini; required for
    AzureOpenAI and OpenAICompatible; the SDK's default for OpenAI."""
    api_key: SecretStr | None = None
    """API key. Not needed for Ollama and most OpenAI-compatible servers."""
    api_key_file: Path | None = None
    """File holding the API key (wins over api_key), e.g. a mounted Secret."""
    model: str | None = None
    """Model name; for AzureOpenAI the deployment name. Defaults: gpt-4o-mini, llama3.1, gemini-2.0-flash."""
    api_version: str = "2024-10-21"
    """Azure OpenAI API version (structured outputs need 2024-08-01-preview or later)."""
    timeout_seconds: float = Field(default=30.0, gt=0, le=600)
    """Timeout of one LLM request."""
    max_retries: int = Field(default=2, ge=0, le=10)
    """Retries of a rate-limited (429) request, after the server's Retry-After or exponential backoff."""
    max_backoff_seconds: float = Field(default=30.0, ge=0, le=600)
    """Longest wait before a retry; a longer Retry-After gives up and falls back to the rules."""
    max_tokens_per_incident: int = Field(default=6000, ge=256)
    """Token budget (prompt + completion, all attempts) for one incident; beyond it the rules answer."""
    max_completion_tokens: int = Field(default=800, ge=64)
    """Upper bound on one answer's tokens."""
    max_error_chars: int = Field(default=6000, ge=256, le=100_000)
    """How much of the (redacted) error text is sent."""
    temperature: float = Field(default=0.0, ge=0, le=2)
    """Sampling temperature; 0 for repeatable classifications."""

    @field_validator("provider", mode="before")
    @classmethod
    def _provider_alias(cls, value: Any) -> Any:
        if isinstance(value, str):
            key = value.strip().lower().replace("-", "").replace("_", "").replace(" ", "")
            if key in ("", "none", "rules", "off"):
                return None
            return _PROVIDER_ALIASES.get(key, value)
        return value

    @model_validator(mode="after")
    def _complete(self) -> Self:
        if self.provider in (LlmProvider.AZURE_OPENAI, LlmProvider.OPENAI_COMPATIBLE):
            if not self.base_url:
                raise ValueError(f"AIOPS_LLM_BASE_URL is required for provider {self.provider.value}")
            if not self.model:
                raise ValueError(f"AIOPS_LLM_MODEL is required for provider {self.provider.value}")
        return self

    @property
    def enabled(self) -> bool:
        return self.provider is not None

    @property
    def model_name(self) -> str:
        if self.model:
            return self.model
        if self.provider is None:
            return ""
        return DEFAULT_MODELS[self.provider]

    @property
    def endpoint(self) -> str | None:
        if self.base_url:
            return self.base_url
        return DEFAULT_BASE_URLS.get(self.provider) if self.provider else None

    def resolved_api_key(self) -> str | None:
        """The key from the file or the variable; raises LlmConfigurationError when a provider needs one."""
        key: str | None = None
        if self.api_key_file is not None:
            try:
                key = self.api_key_file.read_text(encoding="utf-8").strip() or None
            except OSError as exc:
                raise LlmConfigurationError(
                    f"cannot read AIOPS_LLM_API_KEY_FILE {self.api_key_file}: {exc.strerror}"
                ) from None
        elif self.api_key is not None:
            key = self.api_key.get_secret_value().strip() or None
        if key is None and self.provider is not None and self.provider not in KEYLESS_PROVIDERS:
            raise LlmConfigurationError(
                f"provider {self.provider.value} needs an API key: set AIOPS_LLM_API_KEY or AIOPS_LLM_API_KEY_FILE"
            )
        return key
