"""Remediation settings: every one has a default, an environment variable and a description.

Read by the remediation decision and the executor factory. Like the operator's
other settings, environment variables carry no prefix and secrets are
`SecretStr` (never in `repr()`, logs, Events or status), optionally read from
a file (`<NAME>_FILE`, re-read on each use so rotation needs no restart).
Credentials for ADF and Databricks are the operator's own (`AZURE_*`,
`DATABRICKS_*` in `aiops_operator.settings`).
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict

DEFAULT_FALLBACK_VERSIONS: Mapping[str, tuple[str, ...]] = {
    "pandas": ("2.1.4", "2.1.0", "2.0.3", "1.5.3"),
    "numpy": ("1.26.3", "1.24.3", "1.23.5", "1.22.4"),
    "pyspark": ("3.5.0", "3.4.1", "3.4.0", "3.3.2"),
    "scikit-learn": ("1.4.0", "1.3.2", "1.3.0", "1.2.2"),
    "pyarrow": ("14.0.2", "14.0.1", "13.0.0", "12.0.1"),
}
"""Known-good versions per library, newest first (LIBRARY_FALLBACK_VERSIONS overrides)."""


class RemediationSettings(BaseSettings):
    """How remediation decides, launches and monitors."""

    model_config = SettingsConfigDict(use_attribute_docstrings=True, extra="ignore")

    auto_remediation_enabled: bool = True
    """AUTO_REMEDIATION_ENABLED: global kill switch; false stops new attempts (running ones finish) and escalates."""
    remediation_poll_seconds: float = Field(default=30.0, gt=0)
    """REMEDIATION_POLL_SECONDS: how often a running attempt's external run is polled."""
    remediation_callback_url: SecretStr | None = None
    """REMEDIATION_CALLBACK_URL: the receiver's /api/remediation-callback URL given to playbooks
    (may carry ?api_key=..., hence a secret)."""
    remediation_callback_url_file: Path | None = None
    """REMEDIATION_CALLBACK_URL_FILE: file holding the callback URL."""
    library_fallback_versions: dict[str, list[str]] = Field(
        default_factory=lambda: {k: list(v) for k, v in DEFAULT_FALLBACK_VERSIONS.items()})
    """LIBRARY_FALLBACK_VERSIONS: JSON map of library → versions, newest first, tried in turn by ReinstallLibrary."""
    playbook_attempts: int = Field(default=4, ge=1, le=10)
    """PLAYBOOK_ATTEMPTS: POSTs to a playbook before giving up on a 5xx/429/connection error."""
    playbook_retry_initial_seconds: float = Field(default=1.0, ge=0)
    """PLAYBOOK_RETRY_INITIAL_SECONDS: first wait between playbook POSTs; doubles each time."""
    remediation_max_running: int = Field(default=20, ge=1, le=10_000)
    """REMEDIATION_MAX_RUNNING: attempts with an external run in flight at once, across the operator; an
    attempt due to launch over this cap waits (reason BackingOff) instead of launching."""
    executor_timeout_seconds: float = Field(default=30.0, gt=0)
    """EXECUTOR_TIMEOUT_SECONDS: timeout of one call to ADF, Databricks or a playbook."""
    executor_ca_bundle: Path | None = None
    """EXECUTOR_CA_BUNDLE: CA bundle (PEM) to verify ADF, Azure AD, Databricks and playbook TLS with
    (unset: the system's); for private endpoints and the sandbox."""

    def callback_url(self) -> str | None:
        """The callback URL, read from the file when one is given (rotation without restart)."""
        if self.remediation_callback_url_file is not None:
            try:
                return self.remediation_callback_url_file.read_text().strip() or None
            except OSError:
                pass
        return self.remediation_callback_url.get_secret_value() if self.remediation_callback_url else None
