"""Operator configuration: every setting has a default, an environment variable and a description.

Environment variables carry no prefix (`SLACK_BOT_TOKEN`, `JIRA_URL`, ...):
the Helm chart fills them from one ConfigMap and one Secret shared by the
components. Every secret can also be given as a file (`<NAME>_FILE`, e.g. a
mounted Kubernetes Secret); the file is re-read on each use so rotation needs
no restart. Secrets are `SecretStr`: they never appear in `repr()`, logs,
Events, status or prompts.
"""

from __future__ import annotations

from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field, SecretStr, field_validator, model_validator
from pydantic.alias_generators import to_camel
from pydantic_settings import BaseSettings, SettingsConfigDict

from aiops_operator.api import Priority
from aiops_operator.leadership import ElectionTiming


class KeywordOwnershipRule(BaseModel):
    """Ownership for resources whose name matches, when no RemediationPolicy routes them."""

    model_config = ConfigDict(alias_generator=to_camel, populate_by_name=True, extra="forbid")

    keywords: list[str] = Field(default_factory=list)
    """Case-insensitive substrings of the pipeline/job/cluster name; any one matches."""
    team: str
    owner: str | None = None
    cost_center: str | None = None
    slack_channel: str | None = None
    jira_project: str | None = None


class OperatorSettings(BaseSettings):
    """How the operator analyzes, routes and notifies."""

    model_config = SettingsConfigDict(use_attribute_docstrings=True, extra="ignore")

    # --- runtime -----------------------------------------------------------------
    kubeconfig: str | None = None
    """Kubeconfig path; unset: $KUBECONFIG, the in-cluster service account, then ~/.kube/config."""
    log_level: str = "INFO"
    """Python log level."""
    metrics_port: int = Field(default=8080, ge=0, le=65535)
    """Port of the Prometheus /metrics endpoint (0: off)."""
    resync_seconds: float = Field(default=300.0, gt=0)
    """How often an unfinished Incident is reconciled again even when nothing changed."""
    dashboard_url: str | None = None
    """Base URL of the dashboard, for the Slack button and links (unset: no button)."""
    policy_stats_seconds: float = Field(default=30.0, gt=0)
    """How often RemediationPolicy rule counts are recounted (only in namespaces where something happened)."""

    # --- retention ---------------------------------------------------------------
    incident_retention_seconds: int = Field(default=14 * 86400, ge=0)
    """INCIDENT_RETENTION_SECONDS: delete a Resolved incident (its attempts go with it) this long after it was
    resolved, its summary kept in the recurrence record; 0 keeps incidents forever. At least 3600."""
    retention_sweep_seconds: float = Field(default=300.0, gt=0)
    """RETENTION_SWEEP_SECONDS: how often the leader looks for incidents past their retention."""
    retention_batch: int = Field(default=200, ge=1, le=10_000)
    """RETENTION_BATCH: most incidents deleted per sweep (the rest follow at the next one)."""

    @field_validator("incident_retention_seconds")
    @classmethod
    def _retention_at_least_an_hour(cls, value: int) -> int:
        # Slack and Jira retry for minutes: an incident is not deleted before its last update could go out.
        if 0 < value < 3600:
            raise ValueError("INCIDENT_RETENTION_SECONDS must be 0 (keep forever) or at least 3600")
        return value

    # --- high availability (leader election) -------------------------------------
    leader_election: bool = True
    """Elect one leader among the replicas on a Lease: only the holder acts (false: this process always acts)."""
    leader_election_lease_name: str = "aiops-rca-operator"
    """Name of the Lease; one per shard (the chart uses the release's name)."""
    leader_election_namespace: str | None = None
    """Namespace of the Lease; unset: $POD_NAMESPACE, else the first watched namespace, else the kubeconfig's."""
    leader_election_lease_duration_seconds: float = Field(default=15.0, gt=0)
    """How long a standby waits after the last renewal it saw before taking over (client-go's LeaseDuration)."""
    leader_election_renew_deadline_seconds: float = Field(default=10.0, gt=0)
    """How long the leader keeps acting without a successful renewal (client-go's RenewDeadline)."""
    leader_election_retry_period_seconds: float = Field(default=2.0, gt=0)
    """How often the leader renews and standbys try to acquire (client-go's RetryPeriod)."""
    pod_name: str | None = None
    """This replica's pod name (the chart sets it from the downward API); the Lease holder is
    `<pod name or hostname>_<random>`, so a restarted process never mistakes the old holder for itself."""
    pod_namespace: str | None = None
    """This replica's namespace (downward API); the Lease lives there unless LEADER_ELECTION_NAMESPACE says."""

    # --- SLA ---------------------------------------------------------------------
    sla_p1_seconds: int = Field(default=15 * 60, ge=1)
    """Time to resolve a P1 incident."""
    sla_p2_seconds: int = Field(default=30 * 60, ge=1)
    """Time to resolve a P2 incident."""
    sla_p3_seconds: int = Field(default=2 * 3600, ge=1)
    """Time to resolve a P3 incident."""
    sla_p4_seconds: int = Field(default=24 * 3600, ge=1)
    """Time to resolve a P4 incident."""

    # --- ownership ---------------------------------------------------------------
    default_team: str = "data-platform"
    """Team owning incidents that no policy or keyword rule routes."""
    default_owner: str | None = None
    """Owner for incidents that no policy or keyword rule routes."""
    default_cost_center: str | None = None
    """Cost center for incidents that no policy or keyword rule routes."""
    default_slack_channel: str | None = None
    """Slack channel (name or id) used when routing names none."""
    default_jira_project: str | None = None
    """Jira project key used when routing names none."""
    ownership_rules: list[KeywordOwnershipRule] = Field(default_factory=list)
    """JSON list of keyword rules, e.g. [{"keywords": ["sales"], "team": "sales-data", "slackChannel": "#sales"}]."""

    # --- Slack -------------------------------------------------------------------
    slack_bot_token: SecretStr | None = None
    """Slack bot token (xoxb-...); unset with no file: Slack is skipped."""
    slack_bot_token_file: Path | None = None
    """File holding the Slack bot token."""
    slack_api_url: str | None = None
    """Slack Web API base URL ending in /api/ (unset: Slack's own)."""

    # --- Jira --------------------------------------------------------------------
    jira_url: str | None = None
    """Jira base URL; unset: Jira is skipped."""
    jira_user: str | None = None
    """Jira user (e-mail for Jira Cloud) for basic auth with the API token."""
    jira_api_token: SecretStr | None = None
    """Jira API token."""
    jira_api_token_file: Path | None = None
    """File holding the Jira API token."""
    jira_issue_type: str = "Task"
    """Issue type of incident issues."""
    jira_done_transition: str = "Done"
    """Transition (by name, else by the name of the status it leads to) that closes the issue on resolution."""
    jira_done_statuses: list[str] = Field(default_factory=lambda: ["Done", "Closed", "Resolved"])
    """JSON list of Jira statuses meaning a human resolved the incident (moving the issue there resolves it)."""

    # --- Azure Data Factory (enrichment) -----------------------------------------
    azure_tenant_id: str | None = None
    """Azure AD tenant of the service principal; unset: ADF enrichment is skipped."""
    azure_client_id: str | None = None
    """Service principal (app) id."""
    azure_client_secret: SecretStr | None = None
    """Service principal secret."""
    azure_client_secret_file: Path | None = None
    """File holding the service principal secret."""
    azure_authority_host: str | None = None
    """Azure AD authority URL (unset: the public cloud's)."""
    azure_resource_manager_url: str | None = None
    """Azure Resource Manager URL (unset: the public cloud's)."""

    # --- Databricks (enrichment) -------------------------------------------------
    databricks_host: str | None = None
    """Workspace URL; unset: the Incident's own workspace URL."""
    databricks_token: SecretStr | None = None
    """Databricks personal access token; unset with no file: Databricks enrichment is skipped."""
    databricks_token_file: Path | None = None
    """File holding the Databricks token."""

    # --- integrations, common ----------------------------------------------------
    integration_timeout_seconds: float = Field(default=15.0, gt=0)
    """Timeout of one call to Slack, Jira, ADF or Databricks."""
    notify_retry_initial_seconds: float = Field(default=5.0, gt=0)
    """First wait before retrying a failed Slack/Jira call; doubles up to the maximum."""
    notify_retry_max_seconds: float = Field(default=300.0, gt=0)
    """Longest wait between Slack/Jira retries."""

    @model_validator(mode="after")
    def _election_timing_is_safe(self) -> OperatorSettings:
        problems = self.election_timing().problems()
        if self.leader_election and problems:
            raise ValueError("LEADER_ELECTION_*: " + "; ".join(problems))
        return self

    # --- derived -------------------------------------------------------------------
    def election_timing(self) -> ElectionTiming:
        return ElectionTiming(
            lease_duration=self.leader_election_lease_duration_seconds,
            renew_deadline=self.leader_election_renew_deadline_seconds,
            retry_period=self.leader_election_retry_period_seconds,
        )

    def sla_seconds(self) -> dict[Priority, int]:
        return {
            Priority.P1: self.sla_p1_seconds,
            Priority.P2: self.sla_p2_seconds,
            Priority.P3: self.sla_p3_seconds,
            Priority.P4: self.sla_p4_seconds,
        }

    def slack_token(self) -> str | None:
        return _secret(self.slack_bot_token, self.slack_bot_token_file)

    def jira_token(self) -> str | None:
        return _secret(self.jira_api_token, self.jira_api_token_file)

    def azure_secret(self) -> str | None:
        return _secret(self.azure_client_secret, self.azure_client_secret_file)

    def databricks_pat(self) -> str | None:
        return _secret(self.databricks_token, self.databricks_token_file)

    @property
    def slack_enabled(self) -> bool:
        return self.slack_bot_token is not None or self.slack_bot_token_file is not None

    @property
    def jira_enabled(self) -> bool:
        return bool(self.jira_url) and (self.jira_api_token is not None or self.jira_api_token_file is not None)

    @property
    def adf_enabled(self) -> bool:
        return bool(self.azure_tenant_id and self.azure_client_id) and (
            self.azure_client_secret is not None or self.azure_client_secret_file is not None
        )

    @property
    def databricks_enabled(self) -> bool:
        return self.databricks_token is not None or self.databricks_token_file is not None


def _secret(value: SecretStr | None, path: Path | None) -> str | None:
    """The file's content when a file is given (re-read: rotation), else the value."""
    if path is not None:
        try:
            return path.read_text().strip() or None
        except OSError:
            return value.get_secret_value() if value is not None else None
    return value.get_secret_value() if value is not None else None
