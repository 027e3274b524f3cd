"""Receiver configuration: every setting has a default, an environment variable and a description.

Environment variables are `AIOPS_RCA_RECEIVER_<NAME>` (e.g.
`AIOPS_RCA_RECEIVER_API_KEYS_FILE`). Secrets (API keys, Basic credentials, the
Jira webhook secret, the Slack signing secret) are read from files so a Kubernetes Secret can be mounted
and rotated without a restart; they never appear in `repr()` or logs.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

from pydantic import Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

ENV_PREFIX = "AIOPS_RCA_RECEIVER_"

DEFAULT_BENIGN_TERMINATION_CODES = ("SUCCESS", "INACTIVITY", "USER_REQUEST", "JOB_FINISHED")

SLACK_USER_ID = re.compile(r"^[UW][A-Z0-9]{6,20}$")
"""A Slack user ID as a block_actions payload's user.id carries it (W…: Enterprise Grid)."""


class ReceiverSettings(BaseSettings):
    """How the receiver listens, authenticates, stores and spools."""

    model_config = SettingsConfigDict(env_prefix=ENV_PREFIX, use_attribute_docstrings=True, extra="ignore")

    host: str = "0.0.0.0"  # noqa: S104 - a receiver in a pod listens on all interfaces
    """Address to listen on."""
    port: int = Field(default=8080, ge=0, le=65535)
    """TCP port to listen on."""
    kubeconfig: str | None = None
    """Kubeconfig path; unset: $KUBECONFIG, the in-cluster service account, then ~/.kube/config."""
    namespace: str | None = None
    """Namespace Incidents are created in; unset: the kubeconfig context's (or the pod's) namespace."""

    api_keys: SecretStr | None = None
    """Comma-separated API keys (prefer api_keys_file). Several keys allow rotation."""
    api_keys_file: Path | None = None
    """File with one API key per line (a mounted Secret); re-read when it changes."""
    basic_auth_file: Path | None = None
    """File with `user:password` lines accepted as HTTP Basic credentials on /databricks-monitor."""
    jira_webhook_secret_file: Path | None = None
    """File holding the Jira webhook secret; when set, /webhook/jira requires a valid X-Hub-Signature."""
    slack_signing_secret_file: Path | None = None
    """File holding the Slack app's signing secret (one per line while rotating); when set,
    /webhook/slack/interactions takes Approve/Deny button clicks, verified by X-Slack-Signature."""
    slack_approvers: str | None = None
    """Comma-separated Slack user IDs (U012AB3CD,W045EF6GH: a profile's "Copy member ID") whose Approve/Deny
    clicks count; a click from anyone else records nothing. Unset: anyone who can click in the channel decides."""
    slack_response_url_prefix: str = "https://hooks.slack.com/"
    """Only a click's response_url starting with this gets the ephemeral answer (no requests elsewhere)."""
    allow_unauthenticated: bool = False
    """Accept requests without credentials when no key is configured (local demos only)."""

    max_body_bytes: int = Field(default=1024 * 1024, ge=1024)
    """Largest request body accepted; bigger ones get 413 without being read."""
    max_message_chars: int = Field(default=4096, ge=64, le=4096)
    """Bound on an error message stored on an Incident."""
    fingerprint_bucket_seconds: int = Field(default=3600, ge=60)
    """Time bucket of the fingerprint used as run id when an alert carries none."""
    benign_termination_codes: str = ",".join(DEFAULT_BENIGN_TERMINATION_CODES)
    """Comma-separated Databricks cluster termination codes that never create an Incident."""

    custom_payload_fields: str | None = None
    """JSON object saying where custom (non-common-schema) alert payloads keep their fields, e.g.
    `{"pipeline": "/data/pipelineName", "runId": "data.runId", "message": "/data/error/message",
    "errorCode": "/data/error/code", "factoryResourceId": "/data/factoryId"}`: values are JSON pointers
    or dotted paths; keys pipeline, runId, message, errorCode, factoryResourceId, activity, failureType,
    status, alertRule, severity, firedTime."""

    api_timeout_seconds: float = Field(default=5.0, gt=0)
    """How long a create may take before the alert is spooled instead."""
    ack_budget_seconds: float = Field(default=0.05, ge=0)
    """Under light load, a create still running after this long is spooled and answered 202 while it completes
    (bounds latency when the API server stalls); 0: always wait up to api_timeout_seconds."""
    max_background_creates: int = Field(default=8, ge=0)
    """Load limit for early answers: with more creates in flight (or finishing behind an answer) requests wait."""
    recent_cache_size: int = Field(default=10000, ge=0)
    """Names of recently created Incidents remembered to answer duplicates without an API call (0: off)."""
    recent_cache_ttl_seconds: float = Field(default=300.0, ge=0)
    """How long a remembered name answers duplicates."""

    spool_dir: Path = Path("/var/spool/aiops-rca")
    """Directory of the durable spool (a volume); alerts wait here while the API server is unreachable."""
    spool_max_files: int = Field(default=10000, ge=1)
    """Most alerts the spool holds."""
    spool_max_bytes: int = Field(default=256 * 1024 * 1024, ge=1024)
    """Most bytes the spool holds."""
    spool_replay_interval_seconds: float = Field(default=2.0, gt=0)
    """How often the spool is replayed into the API server while it holds alerts."""
    retry_after_seconds: int = Field(default=10, ge=1)
    """Retry-After sent with 503 (Azure Monitor retries only for about 75 seconds)."""

    log_level: str = "INFO"
    """Python log level."""

    @field_validator("slack_approvers")
    @classmethod
    def _slack_user_ids(cls, value: str | None) -> str | None:
        # IDs only: a click's user.name/username are handles the user can change (Slack vouches for the ID),
        # and the payload names no user groups. A name here would silently lock everyone out.
        if value is None:
            return None
        ids = [v.strip() for v in value.split(",") if v.strip()]
        wrong = [v[:40] for v in ids if not SLACK_USER_ID.match(v)]
        if wrong:
            raise ValueError(f"expected Slack user IDs (U… or W…, not names): {', '.join(wrong[:5])}")
        return ",".join(ids) or None

    @field_validator("custom_payload_fields")
    @classmethod
    def _custom_fields(cls, value: str | None) -> str | None:
        if value is None or not value.strip():
            return None
        parse_custom_payload_fields(value)
        return value

    def custom_fields(self) -> dict[str, str]:
        return parse_custom_payload_fields(self.custom_payload_fields) if self.custom_payload_fields else {}

    def termination_codes(self) -> frozenset[str]:
        return frozenset(c.strip().upper() for c in self.benign_termination_codes.split(",") if c.strip())

    def slack_approver_ids(self) -> frozenset[str]:
        """Slack user IDs whose clicks count; empty: anyone's."""
        return frozenset(self.slack_approvers.split(",")) if self.slack_approvers else frozenset()


CUSTOM_PAYLOAD_KEYS = ("pipeline", "runId", "message", "errorCode", "factoryResourceId", "activity", "failureType",
                       "status", "alertRule", "severity", "firedTime")


def parse_custom_payload_fields(raw: str) -> dict[str, str]:
    """The custom-payload mapping from its JSON text; ValueError naming what is wrong."""
    try:
        mapping = json.loads(raw)
    except ValueError as exc:
        raise ValueError(f"custom_payload_fields is not JSON: {exc}") from exc
    if not isinstance(mapping, dict) or not all(isinstance(v, str) and v for v in mapping.values()):
        raise ValueError('custom_payload_fields must be a JSON object of paths, e.g. {"pipeline": "/data/pipeline"}')
    unknown = sorted(set(mapping) - set(CUSTOM_PAYLOAD_KEYS))
    if unknown:
        raise ValueError(f"custom_payload_fields: unknown keys {unknown}; known: {', '.join(CUSTOM_PAYLOAD_KEYS)}")
    return {str(k): str(v) for k, v in mapping.items()}
