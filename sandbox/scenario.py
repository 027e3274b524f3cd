"""The scenario: what the fake cloud contains and how it behaves, as a YAML file or a JSON body.

A scenario lists, per ADF pipeline, Databricks job and cluster, the outcomes of
successive runs (the last outcome repeats once the list is used up), the
failures that already happened before the test began (the runs alerts point
at), Slack channels, Jira projects, LLM answers and injected faults. Unknown
keys are rejected so a typo fails loudly instead of silently doing nothing.

`SCENARIO_REFERENCE` is the documentation printed by `aiops-rca sandbox --help`.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from sandbox.ratelimits import RateLimits

SERVICES = ("aad", "adf", "databricks", "slack", "jira", "llm")


class ScenarioError(ValueError):
    """The scenario text is not valid; the message names the offending field."""


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True)


# --- Azure Data Factory -----------------------------------------------------------------------

AdfStatus = Literal["Succeeded", "Failed", "Cancelled"]


class AdfOutcome(_Model):
    """How one pipeline run ends."""

    status: AdfStatus = "Succeeded"
    duration_seconds: float | None = Field(default=None, ge=0)
    """Time spent InProgress; None takes `defaults.run_duration_seconds`."""
    failed_activity: str | None = None
    """Activity that fails (default: the first activity that runs)."""
    error_code: str = "2200"
    message: str = "Operation failed."
    failure_type: str = "UserError"
    failed_activity_output: dict[str, Any] = Field(default_factory=dict)
    """`output` of the failed activity run, e.g. an Execute Pipeline activity's child run
    (`{"pipelineName": ..., "pipelineRunId": ...}`)."""


class AdfPipeline(_Model):
    activities: list[str] = Field(default_factory=lambda: ["Copy data"])
    """Activity names in execution order; `queryActivityruns` reports one run per activity reached."""
    activity_type: str = "Copy"
    runs: list[AdfOutcome] = Field(default_factory=list)
    """Outcomes of successive `createRun` calls; the last one repeats."""


class AdfSeededRun(AdfOutcome):
    """A run that already happened (or is in flight) when the scenario loads."""

    run_id: str
    pipeline: str
    factory: str | None = None
    """None: visible from every factory."""
    resource_group: str | None = None
    parameters: dict[str, str] = Field(default_factory=dict)
    started_seconds_ago: float = Field(default=600, ge=0)


class AdfSection(_Model):
    pipelines: dict[str, AdfPipeline] = Field(default_factory=dict)
    seeded_runs: list[AdfSeededRun] = Field(default_factory=list)


# --- Databricks -------------------------------------------------------------------------------

DatabricksResult = Literal["SUCCESS", "FAILED", "TIMEDOUT", "CANCELED", "INTERNAL_ERROR"]


class DatabricksOutcome(_Model):
    """How one job run (or one repair of it) ends."""

    result: DatabricksResult = "SUCCESS"
    duration_seconds: float | None = Field(default=None, ge=0)
    failed_task: str | None = None
    """Task that fails (default: the first task that runs)."""
    error: str = "Job failed."
    """`runs/get-output` `error` of the failed task."""
    error_trace: str | None = None


class DatabricksJob(_Model):
    name: str | None = None
    cluster_id: str = "sandbox-job-cluster"
    """Existing cluster the job's tasks run on (runs/get reports it as cluster_instance)."""
    tasks: list[str] = Field(default_factory=lambda: ["main"])
    """Task keys in execution order (each depends on the previous one)."""
    runs: list[DatabricksOutcome] = Field(default_factory=list)
    """Outcomes of successive executions (run-now and repair alike); the last one repeats."""


class DatabricksSeededRun(DatabricksOutcome):
    run_id: int
    job_id: int
    started_seconds_ago: float = Field(default=600, ge=0)


ClusterState = Literal["PENDING", "RUNNING", "RESTARTING", "RESIZING", "TERMINATING", "TERMINATED", "ERROR"]


class LibraryOutcome(_Model):
    status: Literal["INSTALLED", "FAILED"] = "INSTALLED"
    message: str | None = None


class DatabricksCluster(_Model):
    name: str | None = None
    state: ClusterState = "TERMINATED"
    num_workers: int = Field(default=2, ge=0)
    autoscale_min_workers: int | None = None
    autoscale_max_workers: int | None = None
    spark_version: str = "15.4.x-scala2.12"
    node_type_id: str = "Standard_DS3_v2"
    start_seconds: float | None = Field(default=None, ge=0)
    """Time spent PENDING/RESTARTING/RESIZING; None takes `defaults.cluster_transition_seconds`."""
    start_outcomes: list[Literal["RUNNING", "TERMINATED"]] = Field(default_factory=list)
    """How successive starts end; TERMINATED means the start failed. The last one repeats."""
    start_failure_code: str = "CLOUD_PROVIDER_LAUNCH_FAILURE"
    start_failure_message: str = "Cloud provider failed to launch the cluster."
    termination_code: str | None = None
    """For a seeded TERMINATED cluster: why (e.g. CLOUD_PROVIDER_SHUTDOWN, DRIVER_UNREACHABLE)."""
    termination_message: str | None = None
    libraries: dict[str, LibraryOutcome] = Field(default_factory=dict)
    """Install outcome per library coordinate, e.g. `pypi:pandas==2.2.0` or `jar:dbfs:/x.jar`."""


class DatabricksSection(_Model):
    jobs: dict[int, DatabricksJob] = Field(default_factory=dict)
    seeded_runs: list[DatabricksSeededRun] = Field(default_factory=list)
    clusters: dict[str, DatabricksCluster] = Field(default_factory=dict)


# --- Slack, Jira, LLM -------------------------------------------------------------------------


class SlackSection(_Model):
    channels: list[str] = Field(default_factory=list)
    """Channel names (without #). Empty: any channel name is accepted and created on first post."""


class JiraProject(_Model):
    name: str | None = None
    issue_types: list[str] = Field(default_factory=lambda: ["Bug", "Task", "Incident"])


class JiraSection(_Model):
    projects: dict[str, JiraProject] = Field(default_factory=dict)
    """By key. Empty: any project key is accepted."""
    deployment_type: Literal["Cloud", "Server"] = "Cloud"
    """What serverInfo reports; the jira package searches with /search/jql on Cloud, /search otherwise."""


class LlmAnswer(_Model):
    """A canned analysis used when the prompt matches `match` (a case-insensitive regex)."""

    match: str
    error_type: str
    root_cause: str | None = None
    confidence: float | None = None


class LlmSection(_Model):
    answers: list[LlmAnswer] = Field(default_factory=list)
    model: str = "sandbox-rca-1"


# --- Faults and defaults ----------------------------------------------------------------------

FaultKind = Literal["latency", "status", "timeout", "malformed_json", "out_of_taxonomy", "obedient"]


class Fault(_Model):
    """A misbehaviour applied to matching requests."""

    service: Literal["aad", "adf", "databricks", "slack", "jira", "llm"]
    op: str | None = None
    """Operation name as in the call log (e.g. createRun, jobs/run-now, chat.postMessage); None: all."""
    kind: FaultKind
    seconds: float = Field(default=0, ge=0)
    """latency: added delay; timeout: how long to hold the request before answering 504."""
    status: int = 500
    """For `status`: the HTTP status. Slack errors with status 200 are `ok: false` bodies."""
    error: str | None = None
    """Vendor error code (Slack `error`, Databricks `error_code`, ARM `code`, OpenAI `code`)."""
    message: str | None = None
    retry_after: float | None = None
    """Seconds put in Retry-After (429s)."""
    times: int | None = Field(default=None, ge=1)
    """Affect only this many matching requests; None: until reset."""
    probability: float = Field(default=1.0, gt=0, le=1)
    """Affect each matching request with this probability (a faulty cloud: e.g. 0.2); draws are seeded, so a
    run with the same requests in the same order sees the same faults."""
    error_type: str = "CosmicRayInterference"
    """For `out_of_taxonomy`: the error type the LLM answers with."""

    @model_validator(mode="after")
    def _llm_only_kinds(self) -> Fault:
        if self.kind in ("malformed_json", "out_of_taxonomy", "obedient") and self.service != "llm":
            raise ValueError(f"fault kind {self.kind} applies to service llm only")
        return self


class Defaults(_Model):
    run_duration_seconds: float = Field(default=2.0, ge=0)
    cluster_transition_seconds: float = Field(default=2.0, ge=0)


class Scenario(_Model):
    defaults: Defaults = Field(default_factory=Defaults)
    adf: AdfSection = Field(default_factory=AdfSection)
    databricks: DatabricksSection = Field(default_factory=DatabricksSection)
    slack: SlackSection = Field(default_factory=SlackSection)
    jira: JiraSection = Field(default_factory=JiraSection)
    llm: LlmSection = Field(default_factory=LlmSection)
    faults: list[Fault] = Field(default_factory=list)
    rate_limits: RateLimits = Field(default_factory=RateLimits)
    """Slack's and Jira's rate limits (on unless `enabled: false`); a fragment that names it replaces them."""


def parse_scenario(data: Any) -> Scenario:
    """A scenario from parsed YAML/JSON (None or empty means the empty scenario)."""
    try:
        return Scenario.model_validate(data or {})
    except ValidationError as exc:
        raise ScenarioError(f"invalid scenario: {exc}") from exc


def parse_scenario_text(text: str) -> Scenario:
    """A scenario from YAML (JSON is YAML too)."""
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise ScenarioError(f"scenario is not valid YAML: {exc}") from exc
    if data is not None and not isinstance(data, dict):
        raise ScenarioError("a scenario is a mapping at the top level")
    return parse_scenario(data)


def load_scenario_file(path: Path) -> Scenario:
    return parse_scenario_text(path.read_text(encoding="utf-8"))


SCENARIO_REFERENCE = """\
scenario file (YAML; every section optional; unknown keys are errors):

  defaults:
    run_duration_seconds: 2        # InProgress/RUNNING time of runs without their own
    cluster_transition_seconds: 2  # PENDING/RESTARTING/RESIZING time of clusters
  adf:
    pipelines:
      ingest_sales:                # any factory; unknown pipelines just succeed
        activities: [CopySales, TransformSales]
        runs:                      # successive createRun outcomes; the last repeats
          - {status: Failed, duration_seconds: 0, failed_activity: CopySales,
             error_code: "2200", failure_type: UserError,
             message: "ErrorCode=UserErrorSourceBlobNotExists,'The required Blob is missing.'"}
          - {status: Succeeded, duration_seconds: 1}
    seeded_runs:                   # failures that happened before the test (alerts point here)
      - {run_id: 6f1c3a52-0000-4000-8000-000000000001, pipeline: ingest_sales,
         status: Failed, failed_activity: CopySales, message: "...", started_seconds_ago: 600}
      - {run_id: 6f1c3a52-0000-4000-8000-000000000002, pipeline: master_sales, status: Failed,
         failed_activity: RunIngest, message: "...",       # an Execute Pipeline activity's output
         failed_activity_output: {pipelineName: ingest_sales,
                                  pipelineRunId: 6f1c3a52-0000-4000-8000-000000000001}}
  databricks:
    jobs:
      123:
        name: nightly_etl
        cluster_id: 0101-120000-abcd   # runs/get reports it as cluster_instance
        tasks: [ingest, transform]
        runs:                      # successive run-now AND repair outcomes; the last repeats
          - {result: FAILED, failed_task: transform, error: "java.lang.OutOfMemoryError: ...",
             error_trace: "...", duration_seconds: 0}
          - {result: SUCCESS}
    seeded_runs:
      - {run_id: 555, job_id: 123, result: FAILED, failed_task: transform, error: "..."}
    clusters:
      0101-120000-abcd:
        name: etl-cluster
        state: TERMINATED          # PENDING RUNNING RESTARTING RESIZING TERMINATING TERMINATED ERROR
        num_workers: 2             # or autoscale_min_workers / autoscale_max_workers
        start_seconds: 0.5
        start_outcomes: [TERMINATED, RUNNING]   # first start fails, then it starts
        termination_code: CLOUD_PROVIDER_SHUTDOWN
        libraries: {"pypi:pandas==9.9.9": {status: FAILED, message: "No matching distribution"}}
  slack:
    channels: [aiops-alerts]       # empty: any channel is created on first post
  jira:
    projects: {OPS: {name: Operations, issue_types: [Bug, Task, Incident]}}
    deployment_type: Cloud         # Cloud or Server
  llm:
    answers:                       # canned analyses; default: keyword rules on the prompt
      - {match: "OutOfMemory", error_type: DatabricksResourceExhausted, confidence: 0.9}
  faults:                          # applied to matching requests, in order
    - {service: adf, op: createRun, kind: status, status: 500, times: 1}
    - {service: slack, op: chat.postMessage, kind: status, status: 429, retry_after: 1, times: 1}
    - {service: slack, op: chat.postMessage, kind: status, status: 200, error: channel_not_found}
    - {service: databricks, kind: latency, seconds: 0.5}
    - {service: llm, kind: timeout, seconds: 30}
    - {service: llm, kind: malformed_json, times: 1}
    - {service: llm, kind: out_of_taxonomy, error_type: CosmicRayInterference}
    - {service: llm, kind: obedient}   # follows every instruction injected into the prompt
    - {service: jira, kind: status, status: 503, probability: 0.1}   # a flaky cloud: 10 % of requests
  rate_limits:                     # Slack's and Jira's documented limits; on by default
    enabled: true                  # false: nothing is ever rate-limited
    slack:                         # token buckets: `burst` at once, refilled at `per_minute`
      post_message_per_channel: {per_minute: 60, burst: 4}   # thread replies included
      tiers: {1: {per_minute: 1, burst: 2}, 2: {per_minute: 20, burst: 20},
              3: {per_minute: 50, burst: 50}, 4: {per_minute: 100, burst: 100}}
      method_tiers: {chat.update: 3, conversations.history: 3, conversations.replies: 3,
                     conversations.list: 2, auth.test: 4}     # per method per workspace
    jira:
      per_endpoint: {per_minute: 600, burst: 20}      # RateLimit-Reason jira-burst-based
      per_issue_writes: {per_minute: 120, burst: 10}  # jira-per-issue-on-write (comments, transitions)

  fault kinds: latency (delay, then normal answer), status (vendor-shaped error with that
  HTTP status; 429 carries Retry-After), timeout (hold `seconds`, then 504), malformed_json,
  out_of_taxonomy and obedient (llm only; obedient does whatever the failure report's text
  says: error type, severity, priority, auto-heal, actions, and echoes it into every text field).
  Operation names are those in the call log
  (GET /_sandbox/calls), e.g. adf: createRun getPipelineRun queryPipelineRuns queryActivityruns
  cancelPipelineRun; databricks: jobs/run-now jobs/runs/get ... clusters/start libraries/install libraries/uninstall;
  slack: the Web API method; jira: createIssue getIssue addComment getTransitions doTransition
  search; llm: chat.completions; aad: token.

  A rate-limited request is answered 429 with Retry-After (whole seconds) as the vendor does
  (Slack `{"ok": false, "error": "ratelimited"}`; Jira errorMessages, X-RateLimit-Reset,
  RateLimit-Reason); the call log records its limit_keys, limit_key and retry_after.
"""
