"""What free text may look like before it is stored in an object or sent to an LLM.

Alert payloads and error messages are hostile input: they can be huge, carry
control characters, and leak credentials (SAS tokens, connection strings,
bearer tokens, passwords). Everything the receiver stores and everything the
analyzer sends out goes through `clean_text`.
"""

from __future__ import annotations

import re

REDACTED = "[REDACTED]"
REDACTED_EMAIL = "[EMAIL]"

# Order matters: whole connection strings before their parts.
_SECRET_PATTERNS: list[tuple[re.Pattern[str], str]] = [
    # Key=value secrets inside connection strings and config dumps.
    (
        re.compile(
            r"(?i)\b(AccountKey|SharedAccessKey|SharedAccessSignature|Password|Pwd|"
            r"client_secret|clientSecret|api[_-]?key|apikey|access[_-]?token|secret|token)"
            r"([\"']?\s*[=:]\s*)(\"[^\"]*\"|'[^']*'|[^\s;,&\"']+)"
        ),
        rf"\1\2{REDACTED}",
    ),
    # Compound key names: PersonalAccessToken=, refresh_token:, db_password=, Ocp-Apim-Subscription-Key: ...
    (
        re.compile(
            r"(?i)\b([A-Za-z0-9_-]*(?:token|secret|password|passwd|api[_-]?key|subscription[_-]?key|"
            r"access[_-]?key|private[_-]?key))([\"']?\s*[=:]\s*)(\"[^\"]*\"|'[^']*'|[^\s;,&\"']+)"
        ),
        rf"\1\2{REDACTED}",
    ),
    # PEM private keys.
    (
        re.compile(r"-----BEGIN [A-Z ]*PRIVATE KEY-----.*?(?:-----END [A-Z ]*PRIVATE KEY-----|$)", re.DOTALL),
        REDACTED,
    ),
    # AWS access key ids, GitHub tokens, Google API keys.
    (re.compile(r"\b(?:AKIA|ASIA)[0-9A-Z]{16}\b"), REDACTED),
    (re.compile(r"\bgh[pousr]_[A-Za-z0-9]{36,}\b"), REDACTED),
    (re.compile(r"\bAIza[0-9A-Za-z_-]{35}\b"), REDACTED),
    # SAS signatures in URLs (sig=..., and the whole query's se/sp/sv are harmless).
    (re.compile(r"(?i)([?&]sig=)[^&\s\"']+"), rf"\1{REDACTED}"),
    # Authorization headers.
    (re.compile(r"(?i)\b(Bearer|Basic)\s+[A-Za-z0-9._~+/=-]{8,}"), rf"\1 {REDACTED}"),
    # Databricks personal access tokens.
    (re.compile(r"\bdapi[0-9a-f]{32}(-\d+)?\b"), REDACTED),
    # JSON Web Tokens.
    (re.compile(r"\beyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}\b"), REDACTED),
    # Slack tokens.
    (re.compile(r"\bxox[abposr]-[A-Za-z0-9-]{10,}\b"), REDACTED),
    # OpenAI-style API keys.
    (re.compile(r"\bsk-[A-Za-z0-9_-]{20,}\b"), REDACTED),
    # Credentials embedded in URLs: scheme://user:password@host
    (re.compile(r"(?i)\b([a-z][a-z0-9+.-]*://[^/\s:@]+:)[^@\s/]+@"), rf"\1{REDACTED}@"),
    # Long base64 blobs that look like storage account keys (88 chars ending in ==).
    (re.compile(r"\b[A-Za-z0-9+/]{86}==(?![A-Za-z0-9+/=])"), REDACTED),
]
_EMAIL = re.compile(r"\b[A-Za-z0-9._%+-]+@[A-Za-z0-9.-]+\.[A-Za-z]{2,}\b")
# C0 and C1 control characters except tab and newline; also lone surrogates.
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f\ud800-\udfff]")


def redact_secrets(text: str, *, emails: bool = False) -> str:
    """`text` with credentials replaced by [REDACTED] (and e-mail addresses by [EMAIL] if asked)."""
    for pattern, replacement in _SECRET_PATTERNS:
        text = pattern.sub(replacement, text)
    if emails:
        text = _EMAIL.sub(REDACTED_EMAIL, text)
    return text


def strip_control(text: str) -> str:
    """`text` without control characters (tab and newline kept; carriage returns dropped)."""
    return _CONTROL.sub("", text.replace("\r\n", "\n"))


def truncate(text: str, max_chars: int, marker: str = "… [truncated]") -> str:
    """`text` cut to at most `max_chars` characters, saying so when cut."""
    if len(text) <= max_chars:
        return text
    return text[: max(0, max_chars - len(marker))] + marker


def clean_text(text: object, max_chars: int, *, emails: bool = False) -> str:
    """Any value as bounded, printable, secret-free text.

    Redaction runs before truncation so a secret cut in half by the bound
    cannot survive as an unrecognisable fragment.
    """
    raw = text if isinstance(text, str) else ("" if text is None else str(text))
    # Bound the work on huge inputs before running regexes over them.
    raw = raw[: max_chars * 4 + 1024]
    return truncate(redact_secrets(strip_control(raw), emails=emails).strip(), max_chars)
