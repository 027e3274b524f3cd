"""The receiver's HTTP surface: thin Starlette routes over the parsers, the store and the updates.

Every route runs inside `_guard`, which turns each failure into its HTTP answer
(401, 413, 415, 400, 422, 404, 503 with Retry-After) and records metrics; an
unexpected exception becomes a 503 (Azure Monitor retries those, never a 500)
logged by type only, because payloads and query strings may hold secrets.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Coroutine
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from aiops_operator.api import Approval
from aiops_operator.api.approval import slack_approval, slack_user
from aiops_operator.kube import Invalid, KubeApiError, KubeClient, KubeUnavailable
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from pydantic import ValidationError
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from webhook_receiver.auth import Authenticator
from webhook_receiver.labels import incident_object
from webhook_receiver.metrics import ReceiverMetrics
from webhook_receiver.parsing import (
    ParsedAlert,
    ParseOptions,
    Unrecognized,
    azure_alerts,
    callback,
    databricks,
    jira,
    slack,
)
from webhook_receiver.settings import ReceiverSettings
from webhook_receiver.spool import SpoolFull
from webhook_receiver.store import CreateResult, IncidentStore, Outcome
from webhook_receiver.updates import ApprovalResult, Updates

log = logging.getLogger(__name__)

AlertParser = Callable[[Any, datetime, ParseOptions], ParsedAlert]
Clock = Callable[[], datetime]
SlackReply = Callable[[str, dict[str, Any]], Coroutine[Any, Any, None]]
SLACK_RECORD_BUDGET_SECONDS = 2.5
"""Slack wants an answer within 3 s: recording a click may take this long."""


class Problem(Exception):
    """An answer other than success: status, metrics outcome, message for the caller."""

    def __init__(self, status: int, outcome: str, message: str, headers: dict[str, str] | None = None) -> None:
        super().__init__(message)
        self.status, self.outcome, self.message, self.headers = status, outcome, message, headers or {}


@dataclass
class Receiver:
    """Everything the routes use, injected (tests pass fakes or a real API server's client)."""

    settings: ReceiverSettings
    auth: Authenticator
    store: IncidentStore
    updates: Updates
    metrics: ReceiverMetrics
    options: ParseOptions
    now: Clock
    _ready_cache: tuple[float, bool] = (float("-inf"), False)
    slack_reply: SlackReply | None = None
    """Posts the ephemeral answer to a click's response_url (None: the HTTP answer only)."""
    _background: set[asyncio.Task[None]] = field(default_factory=set)

    def answer_click(self, response_url: str | None, message: dict[str, Any]) -> None:
        """Send the clicker `message` through Slack's response_url, off the request's path."""
        prefix = self.settings.slack_response_url_prefix
        if self.slack_reply is None or not response_url or not prefix or not response_url.startswith(prefix):
            return
        task = asyncio.create_task(self.slack_reply(response_url, message))
        self._background.add(task)
        task.add_done_callback(self._background.discard)

    def unavailable(self, message: str) -> Problem:
        return Problem(503, "unavailable", message, {"Retry-After": str(self.settings.retry_after_seconds)})

    async def api_reachable(self) -> bool:
        checked_at, ok = self._ready_cache
        if time.monotonic() - checked_at < 2.0:
            return ok
        ok = await self.store.kube.ready()
        self._ready_cache = (time.monotonic(), ok)
        return ok


# -- request reading ---------------------------------------------------------------------------


async def read_body(request: Request, limit: int) -> bytes:
    """The body, refusing (413) before reading past `limit` whatever Content-Length claims."""
    declared = request.headers.get("content-length")
    if declared is not None:
        if not declared.strip().isdigit():
            raise Problem(400, "bad_request", "Content-Length is not a number")
        if int(declared) > limit:
            raise Problem(413, "too_large", f"body larger than {limit} bytes")
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise Problem(413, "too_large", f"body larger than {limit} bytes")
        chunks.append(chunk)
    return b"".join(chunks)


def decode_json(body: bytes, content_type: str | None) -> Any:
    """The JSON document in `body`: 415 for a non-JSON content type, 400 for bytes that are not JSON."""
    if content_type:
        media = content_type.split(";")[0].strip().lower()
        if not (media.endswith("/json") or media.endswith("+json") or media == "text/plain"):
            raise Problem(415, "unsupported_media_type", f"expected application/json, got {media[:64]}")
    if not body.strip():
        raise Problem(400, "bad_json", "empty body: expected a JSON object")
    try:
        return json.loads(body)
    except (ValueError, RecursionError) as exc:
        raise Problem(400, "bad_json", "body is not valid JSON (UTF-8)") from exc


def _require_object(payload: Any, what: str) -> dict[str, Any]:
    if not isinstance(payload, dict):
        raise Problem(422, "unrecognized", f"expected a JSON object ({what}), got a JSON {type(payload).__name__}")
    return payload


# -- routes ------------------------------------------------------------------------------------


Handler = Callable[[Receiver, Request], Awaitable[tuple[int, dict[str, Any], str]]]


def _to_problem(receiver: Receiver, endpoint: str, exc: Exception) -> Problem:
    """The HTTP answer for a failure; unexpected ones become 503 (retryable), never 500."""
    if isinstance(exc, Problem):
        return exc
    if isinstance(exc, Unrecognized):
        return Problem(422, "unrecognized", str(exc))
    if isinstance(exc, ValidationError):
        return Problem(422, "unrecognized", f"payload fields out of range: {exc.error_count()} validation error(s)")
    if isinstance(exc, SpoolFull):
        return receiver.unavailable("API server unavailable and the spool is full; retry later")
    if isinstance(exc, KubeUnavailable | TimeoutError):
        return receiver.unavailable("API server unavailable; retry later")
    if isinstance(exc, Invalid):
        return Problem(422, "invalid", f"the API server rejected the object: {exc.message[:300]}")
    if isinstance(exc, KubeApiError):
        log.error("%s: API server answered %s %s", endpoint, exc.status, exc.reason)
        return receiver.unavailable("API server refused the request; retry later")
    # Log the type only: payloads and query strings may hold secrets.
    log.error("%s: unexpected %s", endpoint, type(exc).__name__, exc_info=log.isEnabledFor(logging.DEBUG))
    problem = receiver.unavailable("internal error; retry later")
    problem.outcome = "error"
    return problem


def _guard(receiver: Receiver, endpoint: str, handler: Handler) -> Callable[[Request], Awaitable[Response]]:
    async def route(request: Request) -> Response:
        started = time.perf_counter()
        headers: dict[str, str] = {}
        try:
            status, body, outcome = await handler(receiver, request)
        except Exception as exc:
            problem = _to_problem(receiver, endpoint, exc)
            status, outcome, headers = problem.status, problem.outcome, problem.headers
            body = {"error": problem.message}
        receiver.metrics.requests.labels(endpoint, outcome).inc()
        receiver.metrics.latency.labels(endpoint).observe(time.perf_counter() - started)
        if status >= 400:
            log.info("%s %s -> %d %s", request.method, request.url.path, status, outcome)
        if status == 401:
            headers = {**headers, "WWW-Authenticate": 'Basic realm="aiops-rca"'}
        return JSONResponse(body, status_code=status, headers=headers)

    return route


def _unauthorized() -> Problem:
    return Problem(401, "unauthorized", "missing or wrong credentials")


def _check_key(receiver: Receiver, request: Request, *, basic: bool = False) -> None:
    header, query = request.headers.get("x-api-key"), request.query_params.get("api_key")
    if basic:
        ok = receiver.auth.api_key_or_basic(header, query, request.headers.get("authorization"))
    else:
        ok = receiver.auth.api_key(header, query)
    if not ok:
        raise _unauthorized()


def alert_handler(parser: AlertParser, *, basic: bool = False) -> Handler:
    async def handle(receiver: Receiver, request: Request) -> tuple[int, dict[str, Any], str]:
        _check_key(receiver, request, basic=basic)
        body = await read_body(request, receiver.settings.max_body_bytes)
        payload = _require_object(decode_json(body, request.headers.get("content-type")), "an alert")
        parsed = parser(payload, receiver.now(), receiver.options)
        return await _apply(receiver, parsed)

    return handle


async def _apply(receiver: Receiver, parsed: ParsedAlert) -> tuple[int, dict[str, Any], str]:
    objects = [incident_object(spec) for spec in parsed.incidents]
    results: list[CreateResult] = list(await asyncio.gather(*(receiver.store.create(o) for o in objects)))
    resolved: list[dict[str, Any]] = []
    for spec in parsed.resolved:
        name = incident_object(spec)["metadata"]["name"]
        newest = await receiver.updates.record_resolved(name, parsed.resolved_time or receiver.now())
        resolved.append({"name": newest or name, "recorded": newest is not None})
    outcomes = {r.outcome for r in results}
    if Outcome.SPOOLED in outcomes:
        status, outcome = 202, "spooled"
    elif Outcome.CREATED in outcomes:
        status, outcome = 201, "created"
    elif results:
        status, outcome = 200, "duplicate"
    elif resolved:
        status, outcome = 200, "resolved"
    else:
        status, outcome = 200, "ignored"
    body: dict[str, Any] = {
        "status": outcome,
        "incidents": [{"name": r.name, "outcome": r.outcome.value} for r in results],
    }
    if resolved:
        body["resolved"] = resolved
    if parsed.ignored:
        body["ignored"] = parsed.ignored[:20]
    return status, body, outcome


async def check_ticket_exists(receiver: Receiver, request: Request) -> tuple[int, dict[str, Any], str]:
    _check_key(receiver, request)
    run_id = request.path_params["run_id"]
    if not run_id or len(run_id) > 256:
        raise Problem(400, "bad_request", "run_id must be 1 to 256 characters")
    found, spooled = await receiver.updates.incidents_for_run(run_id)
    incidents = [{"name": f.name, "source": f.source, "phase": f.phase, "jiraKey": f.jira_key} for f in found]
    incidents += [{"name": n, "source": None, "phase": "Spooled", "jiraKey": None} for n in spooled]
    exists = bool(incidents)
    body = {
        "exists": exists,
        "run_id": run_id,
        "ticket_id": incidents[0]["name"] if exists else None,
        "incidents": incidents,
    }
    return 200, body, "found" if exists else "not_found"


async def remediation_callback(receiver: Receiver, request: Request) -> tuple[int, dict[str, Any], str]:
    _check_key(receiver, request)
    body = await read_body(request, receiver.settings.max_body_bytes)
    payload = _require_object(decode_json(body, request.headers.get("content-type")), "a remediation callback")
    parsed = callback.parse(payload, receiver.now(), receiver.settings.max_message_chars)
    incident = parsed.ticket
    if not incident.islower():
        # A Jira key: find the Incident that owns it.
        incident = await receiver.updates.incident_for_jira_key(parsed.ticket) or ""
    result = None
    if incident:
        result = await receiver.updates.record_callback(incident, parsed.attempt_number, parsed.result)
    if result is None:
        raise Problem(404, "not_found", f"no RemediationAttempt {parsed.attempt_number} for {parsed.ticket}")
    return 200, {"status": result, "incident": incident, "attempt": parsed.attempt_number}, result


async def jira_webhook(receiver: Receiver, request: Request) -> tuple[int, dict[str, Any], str]:
    if not receiver.auth.jira_signature_required():
        _check_key(receiver, request)
    body = await read_body(request, receiver.settings.max_body_bytes)
    if receiver.auth.jira_signature_required() and not receiver.auth.jira_signature(
        request.headers.get("x-hub-signature"), body
    ):
        raise _unauthorized()
    payload = _require_object(decode_json(body, request.headers.get("content-type")), "a Jira webhook")
    change = jira.parse(payload, receiver.now())
    if change is None:
        return 200, {"status": "ignored", "reason": "not a status change"}, "ignored"
    incident = await receiver.updates.incident_for_jira_key(change.key)
    if incident is None:
        return 200, {"status": "ignored", "reason": f"no Incident owns {change.key}"}, "ignored"
    if not await receiver.updates.record_signals(incident, change.signals):
        return 200, {"status": "ignored", "reason": f"Incident {incident} is gone"}, "ignored"
    return 200, {"status": "recorded", "incident": incident, "meaning": change.meaning.value}, "recorded"


def _click_answer(click: slack.Click, result: ApprovalResult) -> str:
    what = f"`{click.namespace}/{click.attempt}`"
    if result.outcome == "recorded":
        verb = "approved" if click.decision.value == "Approved" else "denied"
        return f"You {verb} remediation attempt {what}; the operator acts on it now."
    if result.outcome == "already_decided":
        e = result.existing
        who = f" {e.decision.value.lower()} by {e.by} via {e.via.value}" if e is not None else " decided"
        return f"Remediation attempt {what} was already{who}; your click changed nothing."
    if result.outcome == "not_awaiting":
        return f"Remediation attempt {what} no longer waits for approval; your click changed nothing."
    return f"There is no remediation attempt {what} (it may have been cleaned up); nothing was recorded."


def _not_an_approver(click: slack.Click) -> str:
    verb = "Approve" if click.decision.value == "Approved" else "Deny"
    return (f"You are not on the approver list, so your {verb} of remediation attempt"
            f" `{click.namespace}/{click.attempt}` was not recorded; nothing changed. Ask an approver to decide.")


async def slack_interactions(receiver: Receiver, request: Request) -> tuple[int, dict[str, Any], str]:
    if not receiver.auth.slack_configured():
        raise Problem(404, "disabled", "Slack interactivity is off: set AIOPS_RCA_RECEIVER_SLACK_SIGNING_SECRET_FILE")
    body = await read_body(request, receiver.settings.max_body_bytes)
    signed = receiver.auth.slack_signature(request.headers.get("x-slack-request-timestamp"),
                                           request.headers.get("x-slack-signature"), body, time.time())
    if not signed:
        raise _unauthorized()
    click = slack.parse(body)
    if click is None:
        return 200, {"status": "ignored"}, "ignored"
    approvers = receiver.settings.slack_approver_ids()
    if approvers and click.user_id not in approvers:
        # Answered 200 with a message only the clicker sees: an error status would make Slack show
        # a generic failure, and the click is Slack-verified, just not from an approver.
        log.warning("Slack %s of %s/%s by %s refused: not in AIOPS_RCA_RECEIVER_SLACK_APPROVERS",
                    click.decision.value, click.namespace, click.attempt, click.user_id)
        message = {"response_type": "ephemeral", "replace_original": False, "text": _not_an_approver(click)}
        receiver.answer_click(click.response_url, message)
        return 200, message, "slack_not_an_approver"
    approval: Approval = slack_approval(click.decision, slack_user(click.user_id, click.user_name), receiver.now())
    try:
        result = await asyncio.wait_for(
            receiver.updates.record_approval(click.namespace, click.attempt, approval), SLACK_RECORD_BUDGET_SECONDS)
    except KubeApiError as exc:
        if exc.status != 403:
            raise
        result = ApprovalResult("not_found")  # a namespace the receiver may not touch: as good as unknown
    message = {"response_type": "ephemeral", "replace_original": False, "text": _click_answer(click, result)}
    receiver.answer_click(click.response_url, message)
    log.info("Slack %s of %s/%s by %s: %s", click.decision.value, click.namespace, click.attempt, click.user_id,
             result.outcome)
    return 200, message, f"slack_{result.outcome}"


async def healthz(receiver: Receiver, request: Request) -> tuple[int, dict[str, Any], str]:
    return 200, {"status": "ok"}, "ok"


async def readyz(receiver: Receiver, request: Request) -> tuple[int, dict[str, Any], str]:
    reachable = await receiver.api_reachable()
    room = receiver.store.spool.has_room()
    ready = reachable or room
    body = {"ready": ready, "apiServer": reachable, "spoolRoom": room, "spoolDepth": receiver.store.spool.depth}
    return (200 if ready else 503), body, "ready" if ready else "not_ready"


def build_app(receiver: Receiver, *, close_kube: bool = True) -> Starlette:
    """The Starlette app; its lifespan opens the spool and runs the replay task."""
    r = receiver

    async def metrics_endpoint(request: Request) -> Response:
        spool = r.store.spool
        r.metrics.spool_depth.set(spool.depth)
        r.metrics.spool_bytes.set(spool.bytes_used)
        r.metrics.spool_limit.labels("files").set(spool.max_files)
        r.metrics.spool_limit.labels("bytes").set(spool.max_bytes)
        return Response(generate_latest(r.metrics.registry), media_type=CONTENT_TYPE_LATEST)

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        await asyncio.to_thread(r.store.spool.open)
        r.metrics.spool_depth.set(r.store.spool.depth)
        task = asyncio.create_task(r.store.replay_forever(r.settings.spool_replay_interval_seconds))
        try:
            yield
        finally:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
            if close_kube:
                await r.store.kube.close()

    routes = [
        Route("/azure-monitor", _guard(r, "azure-monitor", alert_handler(azure_alerts.parse)), methods=["POST"]),
        Route(
            "/databricks-monitor",
            _guard(r, "databricks-monitor", alert_handler(databricks.parse, basic=True)),
            methods=["POST"],
        ),
        Route(
            "/azure-monitor-alert", _guard(r, "azure-monitor-alert", alert_handler(azure_alerts.parse)),
            methods=["POST"],
        ),
        Route(
            "/api/check-ticket-exists/{run_id:path}", _guard(r, "check-ticket-exists", check_ticket_exists),
            methods=["GET"],
        ),
        Route("/api/remediation-callback", _guard(r, "remediation-callback", remediation_callback), methods=["POST"]),
        Route("/webhook/jira", _guard(r, "jira", jira_webhook), methods=["POST"]),
        Route("/webhook/slack/interactions", _guard(r, "slack-interactions", slack_interactions), methods=["POST"]),
        Route("/healthz", _guard(r, "healthz", healthz), methods=["GET"]),
        Route("/readyz", _guard(r, "readyz", readyz), methods=["GET"]),
        Route("/metrics", metrics_endpoint, methods=["GET"]),
    ]
    return Starlette(routes=routes, lifespan=lifespan)


def make_receiver(
    settings: ReceiverSettings,
    kube: KubeClient,
    namespace: str,
    *,
    now: Clock = lambda: datetime.now(UTC),
    metrics: ReceiverMetrics | None = None,
) -> Receiver:
    """Wire the parts from settings (the production defaults; tests override pieces)."""
    from webhook_receiver.auth import SecretLines
    from webhook_receiver.spool import Spool
    from webhook_receiver.store import RecentNames

    metrics = metrics or ReceiverMetrics()
    static_keys = [k.strip() for k in settings.api_keys.get_secret_value().split(",")] if settings.api_keys else []
    auth = Authenticator(
        SecretLines(static_keys, settings.api_keys_file),
        SecretLines([], settings.basic_auth_file),
        SecretLines([], settings.jira_webhook_secret_file),
        slack_secret=SecretLines([], settings.slack_signing_secret_file),
        allow_unauthenticated=settings.allow_unauthenticated,
    )
    spool = Spool(settings.spool_dir, max_files=settings.spool_max_files, max_bytes=settings.spool_max_bytes)
    store = IncidentStore(
        kube, namespace, spool, metrics,
        timeout=settings.api_timeout_seconds,
        ack_budget=settings.ack_budget_seconds,
        max_background=settings.max_background_creates,
        recent=RecentNames(settings.recent_cache_size, settings.recent_cache_ttl_seconds),
    )
    options = ParseOptions(
        max_message_chars=settings.max_message_chars,
        fingerprint_bucket_seconds=settings.fingerprint_bucket_seconds,
        benign_termination_codes=settings.termination_codes(),
        custom_payload_fields=settings.custom_fields(),
    )
    return Receiver(settings, auth, store, Updates(kube, namespace, spool), metrics, options, now,
                    slack_reply=post_response_url)


async def post_response_url(url: str, message: dict[str, Any]) -> None:
    """POST `message` to a Slack response_url; failures are logged (without the URL: it is a token)."""
    import httpx

    try:
        async with httpx.AsyncClient(timeout=5.0) as client:
            response = await client.post(url, json=message)
        if response.status_code >= 400:
            log.warning("Slack response_url answered %d", response.status_code)
    except httpx.HTTPError as exc:
        log.warning("Slack response_url failed: %s", type(exc).__name__)
