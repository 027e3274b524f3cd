"""OpenAI-compatible chat completions (OpenAI, Azure OpenAI, Ollama, Gemini's compatible path).

The default answer is a plausible root-cause analysis of the error text in
the prompt: keyword rules pick an error type from the aiops-rca taxonomy, and
the answer is shaped to the JSON schema the client sent in `response_format`,
so whatever analysis model the operator asks for comes back valid. Canned
answers (scenario `llm.answers`) and faults (slow, 429, 500, malformed JSON,
out-of-taxonomy type, obedient to prompt injections: sandbox/obedient.py) make the operator's fallbacks testable.
"""

from __future__ import annotations

import json
import re
import secrets
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from starlette.responses import Response
from starlette.routing import Route

from sandbox.endpoint import ApiError, Exchange, endpoint, json_response, retry_after_header
from sandbox.obedient import obey
from sandbox.scenario import LlmAnswer, Scenario

if TYPE_CHECKING:
    from sandbox.world import World

# (error type, pattern) in precedence order: specific vendor codes and named capacity first.
RULES: list[tuple[str, str]] = [
    ("ThrottlingError", r"\b429\b|too ?many ?requests|throttl|rate.?limit|request_limit_exceeded|serverbusy|"
                        r"server busy|request rate is large|\b40501\b"),
    ("DatabricksResourceExhausted", r"outofmemory|out of memory|gc overhead|no space left|exit code 137|"
                                    r"maxresultsize|quota exceeded|stockout|insufficient capacity"),
    ("UserErrorSourceBlobNotExists", r"usererrorsourceblobnotexists|blob is missing|blobnotfound|pathnotfound|"
                                     r"path_not_found|filenotfoundexception|no such file"),
    ("DatabricksLibraryInstallationError", r"library installation|no matching distribution|modulenotfounderror|"
                                           r"could not resolve dependencies|unresolved dependency"),
    ("DatabricksDriverNotResponding", r"driver_unreachable|driver_unresponsive|driver (?:is )?(?:not responding|"
                                      r"unreachable|unresponsive)|stopped unexpectedly and is restarting|"
                                      r"could not reach driver|kernel is unresponsive"),
    ("ClusterUnexpectedTermination", r"cloud_provider_shutdown|spot_instance_termination|communication_lost|"
                                     r"instance_unreachable|terminated unexpectedly"),
    ("DatabricksClusterStartFailure", r"cloud_provider_launch_failure|spark_startup_failure|bootstrap_timeout|"
                                      r"init.?script|failed to (?:start|launch) (?:the )?cluster"),
    ("DatabricksTimeoutError", r"\btimedout\b|max(?:imum)? run duration|futures timed out|"
                               r"notebook.*timed out|exceeded (?:the )?timeout"),
    ("GatewayTimeout", r"\b504\b|\b408\b|gateway timeout|timed out|timeout expired|operationtimedout|"
                       r"sqlbatchwritetimeout"),
    ("AuthenticationError", r"aadsts|\b401\b|login failed|invalid_client|failed to authenticate|"
                            r"authentication failed|(?:token|secret|sas|credential)s? (?:has |is )?expired"),
    ("PermissionDenied", r"permission|forbidden|\b403\b|not authorized|authorizationpermissionmismatch|"
                         r"access (?:is )?denied"),
    ("HttpConnectionFailed", r"connection refused|connection reset|name or service not known|could not connect|"
                             r"forcibly closed|\b10060\b|unable to connect|no route to host"),
    ("SchemaMismatch", r"schema mismatch|failed_to_merge_fields|invalid column|column .* not found|"
                       r"type mismatch|missing column|unexpected column|columnmapping|column mapping"),
    ("DataQualityError", r"cast_invalid_input|null constraint|not null|violat|malformed record|duplicate key|"
                         r"truncat|expectation"),
    ("InternalServerError", r"\b500\b|\b503\b|internal server error|service unavailable|temporarily unavailable|"
                            r"internalerror"),
    ("ConfigurationError", r"linked service|misconfigur|invalid configuration|missing (?:required )?property|"
                           r"not configured|invalid expression|cluster .* does not exist|unsupported node type"),
    ("DatabricksJobExecutionError", r"exception|traceback|syntaxerror|table_or_view_not_found|"
                                    r"job execution failed|error in sql"),
]
TAXONOMY = frozenset([name for name, _ in RULES] + ["UnknownError"])
TRANSIENT = frozenset({"ThrottlingError", "GatewayTimeout", "HttpConnectionFailed", "InternalServerError",
                       "ClusterUnexpectedTermination", "DatabricksClusterStartFailure",
                       "DatabricksDriverNotResponding", "DatabricksResourceExhausted",
                       "DatabricksLibraryInstallationError", "DatabricksTimeoutError"})
ROOT_CAUSES = {
    "ThrottlingError": "The service rejected the request because a rate or quota limit was reached",
    "DatabricksResourceExhausted": "The cluster ran out of memory or capacity while running the workload",
    "UserErrorSourceBlobNotExists": "An input file or blob the pipeline reads does not exist",
    "DatabricksLibraryInstallationError": "A library required by the job could not be installed",
    "DatabricksDriverNotResponding": "The Spark driver stopped responding",
    "ClusterUnexpectedTermination": "The cluster was terminated by the cloud provider while the job ran",
    "DatabricksClusterStartFailure": "The cluster could not be started",
    "DatabricksTimeoutError": "The Databricks run exceeded its configured time limit",
    "GatewayTimeout": "A remote call did not complete in time",
    "AuthenticationError": "A credential used by the pipeline is invalid or expired",
    "PermissionDenied": "The identity used by the pipeline lacks permission on a resource",
    "HttpConnectionFailed": "A network connection to a dependency could not be established",
    "SchemaMismatch": "The data's structure no longer matches what the sink or code expects",
    "DataQualityError": "Input values violate a data-quality rule",
    "InternalServerError": "A dependency returned a server-side error",
    "ConfigurationError": "The pipeline or job definition is misconfigured",
    "DatabricksJobExecutionError": "User code failed while the job ran",
    "UnknownError": "The error text does not identify a cause",
}
RECOMMENDATIONS = {
    True: ["Retry the failed run after a short backoff.", "Watch the re-run; escalate if it fails again."],
    False: ["Fix the underlying problem before re-running.", "Assign the incident to the owning team."],
}
ERROR_KEYS = ("error_message", "errorMessage", "message", "error", "error_trace", "errorCode", "error_code",
              "stateMessage", "state_message")


def prompt_text(messages: list[Any]) -> str:
    parts: list[str] = []
    for message in messages:
        content = message.get("content") if isinstance(message, dict) else None
        if isinstance(content, str):
            parts.append(content)
        elif isinstance(content, list):
            parts.extend(str(p.get("text", "")) for p in content if isinstance(p, dict))
    return "\n".join(parts)


def error_text(messages: list[Any]) -> str:
    """The part of the prompt that describes the failure, not the instructions around it.

    Instructions usually list the whole taxonomy, so lines naming a taxonomy
    type are dropped, and only user messages are read.
    """
    users = [m for m in messages if isinstance(m, dict) and m.get("role") == "user"] or messages
    text = prompt_text(users)
    found: list[str] = []
    for match in re.finditer(r"\{.*\}", text, re.DOTALL):
        try:
            found.extend(_error_values(json.loads(match.group(0))))
        except ValueError:
            continue
    if found:
        return "\n".join(found)
    return "\n".join(line for line in text.splitlines() if not any(name in line for name in TAXONOMY))


def _error_values(value: Any) -> list[str]:
    if isinstance(value, dict):
        out: list[str] = []
        for key, item in value.items():
            if key in ERROR_KEYS and isinstance(item, str | int):
                out.append(str(item))
            else:
                out.extend(_error_values(item))
        return out
    if isinstance(value, list):
        return [v for item in value for v in _error_values(item)]
    return []


def classify(text: str) -> str:
    lowered = text.lower()
    for name, pattern in RULES:
        if re.search(pattern, lowered):
            return name
    return "UnknownError"


@dataclass
class Analysis:
    error_type: str
    root_cause: str
    confidence: float
    entity: str

    @property
    def auto_heal(self) -> bool:
        return self.error_type in TRANSIENT


def analyse(messages: list[Any], answers: list[LlmAnswer]) -> Analysis:
    whole = prompt_text(messages)
    focus = error_text(messages)
    entity_match = re.search(r"(?:pipeline|job|cluster)(?:[ _]?name)?[\"']?\s*[:=]\s*[\"']?([\w.-]+)", whole, re.I)
    entity = entity_match.group(1) if entity_match else "unknown"
    snippet = " ".join(focus.split())[:200]
    for answer in answers:
        if re.search(answer.match, whole, re.IGNORECASE):
            return Analysis(answer.error_type, answer.root_cause or f"{ROOT_CAUSES.get(answer.error_type, '')}:"
                            f" {snippet}", answer.confidence if answer.confidence is not None else 0.9, entity)
    kind = classify(focus)
    cause = ROOT_CAUSES[kind] + (f": {snippet}" if snippet else ".")
    return Analysis(kind, cause, 0.55 if kind == "UnknownError" else 0.82, entity)


def _resolve(schema: Any, root: dict[str, Any]) -> dict[str, Any]:
    while isinstance(schema, dict) and "$ref" in schema:
        ref = str(schema["$ref"])
        target: Any = root
        for part in ref.lstrip("#/").split("/"):
            target = target.get(part, {}) if isinstance(target, dict) else {}
        schema = target
    return schema if isinstance(schema, dict) else {}


def fill(schema: Any, root: dict[str, Any], name: str, analysis: Analysis) -> Any:
    """A value for `name` that satisfies `schema`, chosen to read like an RCA."""
    schema = _resolve(schema, root)
    for combinator in ("anyOf", "oneOf", "allOf"):
        if combinator in schema:
            options = [_resolve(o, root) for o in schema[combinator]]
            non_null = [o for o in options if o.get("type") != "null"] or options
            return fill(non_null[0], root, name, analysis)
    if "const" in schema:
        return schema["const"]
    kind = schema.get("type")
    if isinstance(kind, list):
        kind = next((k for k in kind if k != "null"), "null")
    key = re.sub(r"[^a-z]", "", name.lower())
    if "enum" in schema:
        return _pick_enum(list(schema["enum"]), key, analysis)
    if kind == "object" or "properties" in schema:
        props = schema.get("properties") or {}
        return {prop: fill(sub, root, prop, analysis) for prop, sub in props.items()}
    if kind == "array":
        item_schema = schema.get("items") or {"type": "string"}
        count = max(int(schema.get("minItems", 0)), 2 if "recommend" in key or "action" in key else 1)
        count = min(count, int(schema.get("maxItems", count)))
        if "recommend" in key or "action" in key or "step" in key:
            texts = RECOMMENDATIONS[analysis.auto_heal]
            return [fill(item_schema, root, name, analysis) if _resolve(item_schema, root).get("type") != "string"
                    else texts[i % len(texts)] for i in range(count)]
        return [fill(item_schema, root, name, analysis) for _ in range(count)]
    if kind == "boolean":
        return analysis.auto_heal if ("heal" in key or "retry" in key or "remedia" in key or "transient" in key) \
            else False
    if kind in ("number", "integer"):
        value: float = analysis.confidence if "confidence" in key or "score" in key or "probab" in key else 1
        if kind == "integer":
            value = round(value * 100) if value < 1 and "percent" in key else int(value)
        low, high = schema.get("minimum"), schema.get("maximum")
        if low is not None:
            value = max(value, low)
        if high is not None:
            value = min(value, high)
        return value
    if kind == "null":
        return None
    text = _string_for(key, analysis)
    if schema.get("maxLength"):
        text = text[: int(schema["maxLength"])]
    return text


def _string_for(key: str, analysis: Analysis) -> str:
    if "errortype" in key or "category" in key or "classification" in key:
        return analysis.error_type
    if "rootcause" in key or "cause" in key or "reason" in key or "explanation" in key:
        return analysis.root_cause
    if "entity" in key or "resource" in key or "component" in key:
        return analysis.entity
    if "severity" in key:
        return "High" if not analysis.auto_heal else "Medium"
    if "priority" in key:
        return "P2"
    if "summary" in key or "title" in key:
        return f"{analysis.error_type}: {analysis.root_cause[:120]}"
    if "recommend" in key or "action" in key:
        return RECOMMENDATIONS[analysis.auto_heal][0]
    return analysis.root_cause


def _pick_enum(options: list[Any], key: str, analysis: Analysis) -> Any:
    lowered = {str(o).lower(): o for o in options}
    wanted: list[str] = []
    if "errortype" in key or "category" in key or "classification" in key or analysis.error_type in options:
        wanted = [analysis.error_type.lower(), "unknownerror"]
    elif "severity" in key:
        wanted = ["medium", "high", "warning", "sev2"] if analysis.auto_heal else ["high", "critical", "error", "sev1"]
    elif "priority" in key:
        wanted = ["p2", "high", "medium"]
    for w in wanted:
        if w in lowered:
            return lowered[w]
    return options[0]


def default_schema() -> dict[str, Any]:
    """The shape answered when the client asks for JSON without giving a schema."""
    string = {"type": "string"}
    return {"type": "object", "properties": {
        "root_cause": string, "error_type": string, "severity": string, "priority": string,
        "confidence": {"type": "number"}, "affected_entity": string,
        "recommendations": {"type": "array", "items": string}, "auto_heal_possible": {"type": "boolean"},
    }}


class LlmState:
    def __init__(self, scenario: Scenario) -> None:
        self.answers: list[LlmAnswer] = []
        self.model = scenario.llm.model
        self.apply(scenario)

    def apply(self, scenario: Scenario) -> None:
        self.answers.extend(scenario.llm.answers)


def openai_error(err: ApiError) -> Response:
    kind, code, message = {
        401: ("invalid_request_error", "invalid_api_key", "Incorrect API key provided."),
        404: ("invalid_request_error", "DeploymentNotFound", "The API deployment for this resource does not exist."),
        429: ("requests", "rate_limit_exceeded", "Rate limit reached for requests. Please try again later."),
        500: ("server_error", None, "The server had an error while processing your request. Sorry about that!"),
        503: ("server_error", None, "The engine is currently overloaded, please try again later."),
        504: ("server_error", "timeout", "Request timed out."),
    }.get(err.status, ("invalid_request_error", None, "Invalid request."))
    return json_response({"error": {"message": err.message or message, "type": kind, "param": None,
                                    "code": err.code or code}}, err.status, retry_after_header(err))


def completion(ex: Exchange, world: World, model: str, azure: bool) -> dict[str, Any]:
    body = ex.body if isinstance(ex.body, dict) else {}
    messages = body.get("messages")
    if not isinstance(messages, list) or not messages:
        raise ApiError(400, None, "'messages' is a required property and must be a non-empty array.")
    if body.get("stream"):
        raise ApiError(400, None, "The sandbox does not stream; call without stream=true.")
    analysis = analyse(messages, world.llm.answers)
    fault = ex.fault
    if fault is not None and fault.kind == "out_of_taxonomy":
        analysis.error_type = fault.error_type
    response_format = body.get("response_format") or {}
    schema: dict[str, Any] = default_schema()
    if isinstance(response_format, dict) and response_format.get("type") == "json_schema":
        schema = (response_format.get("json_schema") or {}).get("schema") or schema
    answer = fill(schema, schema, "analysis", analysis)
    if fault is not None and fault.kind == "out_of_taxonomy":
        answer = _force_error_type(answer, fault.error_type)
    if fault is not None and fault.kind == "obedient":
        users = [m for m in messages if isinstance(m, dict) and m.get("role") == "user"]
        answer = obey(answer, prompt_text(users[:1]), TAXONOMY)
        analysis.error_type = str(answer.get("error_type", analysis.error_type)) if isinstance(answer, dict) \
            else analysis.error_type
    content = json.dumps(answer)
    if fault is not None and fault.kind == "malformed_json":
        content = content[: max(10, len(content) // 2)] + ' "... (truncated'
    ex.call.target.update({"model": model, "error_type": analysis.error_type, "azure": azure})
    prompt_tokens = max(1, len(prompt_text(messages)) // 4)
    completion_tokens = max(1, len(content) // 4)
    choice: dict[str, Any] = {"index": 0, "message": {"role": "assistant", "content": content, "refusal": None},
                              "logprobs": None, "finish_reason": "stop"}
    out: dict[str, Any] = {
        "id": f"chatcmpl-{secrets.token_hex(12)}", "object": "chat.completion", "created": int(ex.now),
        "model": model, "system_fingerprint": "fp_sandbox", "choices": [choice],
        "usage": {"prompt_tokens": prompt_tokens, "completion_tokens": completion_tokens,
                  "total_tokens": prompt_tokens + completion_tokens},
    }
    if azure:
        no_filter = {k: {"filtered": False, "severity": "safe"} for k in ("hate", "self_harm", "sexual", "violence")}
        out["prompt_filter_results"] = [{"prompt_index": 0, "content_filter_results": no_filter}]
        choice["content_filter_results"] = no_filter
    return out


def _force_error_type(answer: Any, error_type: str) -> Any:
    """Overwrite every error-type-like field, ignoring the schema's enum (that is the point)."""
    if isinstance(answer, dict):
        return {k: (error_type if re.sub(r"[^a-z]", "", k.lower()) in ("errortype", "category",
                                                                          "classification") else
                    _force_error_type(v, error_type)) for k, v in answer.items()}
    return answer


def routes(world: World) -> list[Route]:
    def check(ex: Exchange, azure: bool) -> None:
        key = ex.bearer() or (ex.header("api-key") if azure else None)
        if key != world.credentials.llm_api_key:
            raise ApiError(401, None, "Incorrect API key provided." if key else
                           "You didn't provide an API key.")

    async def openai_chat(ex: Exchange) -> Response:
        check(ex, azure=False)
        body = ex.body if isinstance(ex.body, dict) else {}
        return json_response(completion(ex, world, str(body.get("model") or world.llm.model), azure=False))

    async def azure_chat(ex: Exchange) -> Response:
        check(ex, azure=True)
        if not ex.query.get("api-version"):
            raise ApiError(404, "404", "Resource not found")
        return json_response(completion(ex, world, ex.path_params["deployment"], azure=True))

    async def models(ex: Exchange) -> Response:
        check(ex, azure=False)
        return json_response({"object": "list", "data": [{"id": world.llm.model, "object": "model",
                                                          "created": 1700000000, "owned_by": "aiops-rca-sandbox"}]})

    def route(path: str, op: str, handler: Any, method: str) -> Route:
        return Route(path, endpoint(world.plumbing, "llm", op, handler, openai_error), methods=[method])

    return [
        route("/v1/chat/completions", "chat.completions", openai_chat, "POST"),
        route("/v1beta/openai/chat/completions", "chat.completions", openai_chat, "POST"),
        route("/openai/deployments/{deployment}/chat/completions", "chat.completions", azure_chat, "POST"),
        route("/v1/models", "models", models, "GET"),
    ]
