"""The plumbing every fake API shares: parse the body, log the call, apply injected faults and rate limits.

A service module writes plain handlers `async (Exchange) -> Response` and an
error shaper that renders an error the way that vendor does (ARM `{"error":
{...}}`, Databricks `error_code`, Slack `ok: false`, ...). `endpoint()` wraps
them so that logging and fault injection look the same everywhere.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from sandbox.calllog import Call, CallLog
from sandbox.clock import Clock
from sandbox.faults import FaultBook
from sandbox.ratelimits import Limit, RateLimiter, RateLimits
from sandbox.scenario import Fault


@dataclass
class Plumbing:
    """What `endpoint()` needs from the sandbox: a clock, the call log, the fault book and the rate limiter."""

    clock: Clock
    calls: CallLog = field(default_factory=CallLog)
    faults: FaultBook = field(default_factory=FaultBook)
    limiter: RateLimiter = field(default_factory=lambda: RateLimiter(RateLimits()))


class ApiError(Exception):
    """Raised by handlers; rendered by the service's error shaper."""

    def __init__(self, status: int, code: str | None, message: str,
                 retry_after: float | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.retry_after = retry_after


@dataclass
class Exchange:
    """One request as a handler sees it."""

    request: Request
    call: Call
    query: dict[str, str]
    body: Any
    now: float
    fault: Fault | None = None
    """A fault the handler must render itself (the LLM's malformed/out-of-taxonomy answers)."""

    @property
    def path_params(self) -> dict[str, str]:
        return {k: str(v) for k, v in self.request.path_params.items()}

    @property
    def base_url(self) -> str:
        """Scheme, host and port the client used, without a trailing slash."""
        return str(self.request.base_url).rstrip("/")

    def header(self, name: str) -> str | None:
        return self.request.headers.get(name)

    def bearer(self) -> str | None:
        auth = self.request.headers.get("authorization", "")
        return auth[7:].strip() or None if auth.lower().startswith("bearer ") else None

    def field(self, name: str) -> Any:
        """A parameter from the body (JSON or form) or, failing that, from the query string."""
        if isinstance(self.body, dict) and name in self.body:
            return self.body[name]
        return self.query.get(name)


Handler = Callable[[Exchange], Awaitable[Response]]
ErrorShaper = Callable[[ApiError], Response]
Endpoint = Callable[[Request], Awaitable[Response]]

SELF_RENDERED_FAULTS = frozenset({"malformed_json", "out_of_taxonomy", "obedient"})


async def read_body(request: Request) -> Any:
    raw = await request.body()
    if not raw:
        return None
    content_type = request.headers.get("content-type", "")
    text = raw.decode("utf-8", errors="replace")
    if "application/x-www-form-urlencoded" in content_type:
        return dict(parse_qsl(text, keep_blank_values=True))
    try:
        return json.loads(text)
    except ValueError:
        return text


LimitKeys = Callable[[Exchange], list[tuple[str, str, Limit]]]
"""The rate-limit buckets a request counts against (sandbox/ratelimits.py), from its body and path."""


def endpoint(plumbing: Plumbing, service: str, op: str, handler: Handler, shaper: ErrorShaper,
             limit_keys: LimitKeys | None = None) -> Endpoint:
    async def run(request: Request) -> Response:
        body = await read_body(request)
        query = dict(request.query_params)
        call = plumbing.calls.record(
            time=plumbing.clock.now(), service=service, op=op, method=request.method,
            path=request.url.path, query=query, body=body,
        )
        exchange = Exchange(request=request, call=call, query=query, body=body, now=call.time)
        response = await _answer(plumbing, exchange, handler, shaper, limit_keys)
        call.status = response.status_code
        if response.status_code == 429 and (response.headers.get("retry-after") or "").isdigit():
            call.retry_after = int(response.headers["retry-after"])
        return response

    return run


async def _answer(plumbing: Plumbing, ex: Exchange, handler: Handler, shaper: ErrorShaper,
                  limit_keys: LimitKeys | None) -> Response:
    """An injected fault's answer, a rate limit's 429, or the handler's answer, in that order."""
    call = ex.call
    keys = limit_keys(ex) if limit_keys is not None else []
    call.limit_keys = [key for key, _, _ in keys]
    fault = plumbing.faults.take(call.service, call.op)
    if fault is not None and fault.kind not in SELF_RENDERED_FAULTS:
        call.fault = f"{fault.kind}:{fault.status}" if fault.kind == "status" else fault.kind
        if fault.kind != "latency":
            return await _fault_response(fault, shaper)
        await asyncio.sleep(fault.seconds)
        fault = None
    elif fault is not None:
        call.fault = fault.kind
    denial = plumbing.limiter.admit(keys, plumbing.clock.now()) if keys else None
    if denial is not None:
        call.limit_key = denial.key
        return shaper(ApiError(429, denial.reason, "", float(denial.retry_after)))
    ex.fault = fault
    ex.now = plumbing.clock.now()
    try:
        return await handler(ex)
    except ApiError as err:
        return shaper(err)


async def _fault_response(fault: Fault, shaper: ErrorShaper) -> Response:
    if fault.kind == "timeout":
        await asyncio.sleep(fault.seconds or 60)
        return shaper(ApiError(504, fault.error or "GatewayTimeout", fault.message or "The operation timed out."))
    retry_after = fault.retry_after if fault.retry_after is not None else (1.0 if fault.status == 429 else None)
    return shaper(ApiError(fault.status, fault.error, fault.message or "", retry_after))


def retry_after_header(err: ApiError) -> dict[str, str]:
    """Retry-After is whole seconds on the wire; round up so clients never retry early."""
    if err.retry_after is None:
        return {}
    seconds = int(err.retry_after) if err.retry_after == int(err.retry_after) else int(err.retry_after) + 1
    return {"Retry-After": str(seconds)}


def json_response(body: Any, status: int = 200, headers: dict[str, str] | None = None) -> JSONResponse:
    return JSONResponse(body, status_code=status, headers=headers)
