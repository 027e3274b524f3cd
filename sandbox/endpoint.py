"""The plumbing every fake API shares: parse the body, log the call, apply injected faults.

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
from sandbox.scenario import Fault


@dataclass
class Plumbing:
    """What `endpoint()` needs from the sandbox: a clock, the call log and the fault book."""

    clock: Clock
    calls: CallLog = field(default_factory=CallLog)
    faults: FaultBook = field(default_factory=FaultBook)


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


def endpoint(plumbing: Plumbing, service: str, op: str, handler: Handler, shaper: ErrorShaper) -> Endpoint:
    async def run(request: Request) -> Response:
        body = await read_body(request)
        query = dict(request.query_params)
        call = plumbing.calls.record(
            time=plumbing.clock.now(), service=service, op=op, method=request.method,
            path=request.url.path, query=query, body=body,
        )
        fault = plumbing.faults.take(service, op)
        response: Response
        if fault is not None and fault.kind not in SELF_RENDERED_FAULTS:
            call.fault = f"{fault.kind}:{fault.status}" if fault.kind == "status" else fault.kind
            if fault.kind == "latency":
                await asyncio.sleep(fault.seconds)
                fault = None
            elif fault.kind == "timeout":
                await asyncio.sleep(fault.seconds or 60)
                response = shaper(ApiError(504, fault.error or "GatewayTimeout",
                                           fault.message or "The operation timed out."))
                call.status = response.status_code
                return response
            else:
                retry_after = fault.retry_after if fault.retry_after is not None else (
                    1.0 if fault.status == 429 else None)
                response = shaper(ApiError(fault.status, fault.error, fault.message or "", retry_after))
                call.status = response.status_code
                return response
        elif fault is not None:
            call.fault = fault.kind
        exchange = Exchange(request=request, call=call, query=query, body=body,
                            now=plumbing.clock.now(), fault=fault)
        try:
            response = await handler(exchange)
        except ApiError as err:
            response = shaper(err)
        call.status = response.status_code
        return response

    return run


def retry_after_header(err: ApiError) -> dict[str, str]:
    """Retry-After is whole seconds on the wire; round up so clients never retry early."""
    if err.retry_after is None:
        return {}
    seconds = int(err.retry_after) if err.retry_after == int(err.retry_after) else int(err.retry_after) + 1
    return {"Retry-After": str(seconds)}


def json_response(body: Any, status: int = 200, headers: dict[str, str] | None = None) -> JSONResponse:
    return JSONResponse(body, status_code=status, headers=headers)
