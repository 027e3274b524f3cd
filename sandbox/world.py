"""Everything the sandbox knows at one moment: scenario, per-service state, call log and faults.

All state lives in one asyncio event loop (the server's), so there are no
locks. `reset()` throws the state away and rebuilds it from the startup
scenario; `load()` does the same from a new one; `apply()` adds a scenario
fragment (more seeded runs, another fault) to what is already there.
"""

from __future__ import annotations

from dataclasses import dataclass

from sandbox.aad import AadState
from sandbox.adf import AdfState
from sandbox.clock import Clock, SystemClock
from sandbox.databricks import DatabricksState
from sandbox.endpoint import Plumbing
from sandbox.jira import JiraState
from sandbox.llm import LlmState
from sandbox.ratelimits import RateLimiter
from sandbox.scenario import Scenario
from sandbox.slack import SlackState


@dataclass(frozen=True)
class Credentials:
    """The credentials the sandbox accepts. Well-known test values, not secrets.

    Wrong credentials get each vendor's authentication error, so a
    misconfigured operator fails in the sandbox the way it would in the cloud.
    """

    azure_tenant_id: str = "00000000-0000-4000-8000-00000000a1d0"
    azure_subscription_id: str = "00000000-0000-4000-8000-0000000005b5"
    azure_client_id: str = "aiops-rca-sandbox"
    azure_client_secret: str = "sandbox-client-secret"  # noqa: S105 (public test value)
    databricks_token: str = "dapi-sandbox-token"  # noqa: S105 (public test value)
    slack_bot_token: str = "xoxb-sandbox-token"  # noqa: S105 (public test value)
    jira_user: str = "aiops-rca@example.com"
    jira_api_token: str = "sandbox-jira-token"  # noqa: S105 (public test value)
    llm_api_key: str = "sk-sandbox"


class World:
    def __init__(self, scenario: Scenario | None = None, clock: Clock | None = None,
                 credentials: Credentials | None = None) -> None:
        self.clock = clock or SystemClock()
        self.credentials = credentials or Credentials()
        self.plumbing = Plumbing(self.clock)
        self.aad = AadState()
        self.startup = scenario or Scenario()
        self.load(self.startup)

    def load(self, scenario: Scenario) -> None:
        """Forget everything (call log and faults included) and start over from this scenario."""
        self.scenario = scenario
        now = self.clock.now()
        self.plumbing.calls.clear()
        self.plumbing.faults.clear()
        self.plumbing.limiter = RateLimiter(scenario.rate_limits)
        self.adf = AdfState(scenario, now)
        self.databricks = DatabricksState(scenario, now)
        self.slack = SlackState(scenario)
        self.jira = JiraState(scenario)
        self.llm = LlmState(scenario)
        for fault in scenario.faults:
            self.plumbing.faults.add(fault)

    def reset(self) -> None:
        self.load(self.startup)

    def apply(self, fragment: Scenario) -> None:
        """Add a scenario fragment to the current state without forgetting anything."""
        now = self.clock.now()
        self.adf.apply(fragment, now)
        self.databricks.apply(fragment, now)
        self.slack.apply(fragment)
        self.jira.apply(fragment)
        self.llm.apply(fragment)
        for fault in fragment.faults:
            self.plumbing.faults.add(fault)
        if "rate_limits" in fragment.model_fields_set:
            self.scenario = self.scenario.model_copy(update={"rate_limits": fragment.rate_limits})
            self.plumbing.limiter = RateLimiter(fragment.rate_limits)
