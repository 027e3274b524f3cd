"""Every request the sandbox received, so tests assert on what the operator actually did.

"Exactly one createRun for attempt 2" or "one Slack message, updated three
times" are questions about calls, not about state, so each request is recorded
with its service, operation, target and body (secrets masked).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

SECRET_KEYS = frozenset({
    "client_secret", "client_assertion", "password", "token", "api_key", "apikey",
    "authorization", "access_token", "refresh_token", "secret",
})
MAX_BODY_CHARS = 20_000


def mask_secrets(value: Any) -> Any:
    """A copy of a JSON-like value with secret-looking keys replaced by `***`."""
    if isinstance(value, dict):
        return {
            k: ("***" if str(k).lower().replace("-", "_") in SECRET_KEYS else mask_secrets(v))
            for k, v in value.items()
        }
    if isinstance(value, list):
        return [mask_secrets(v) for v in value]
    if isinstance(value, str) and len(value) > MAX_BODY_CHARS:
        return value[:MAX_BODY_CHARS] + "...[truncated]"
    return value


@dataclass
class Call:
    seq: int
    time: float
    service: str
    op: str
    method: str
    path: str
    query: dict[str, str]
    body: Any
    status: int = 0
    fault: str | None = None
    """The injected fault that answered, if any (e.g. `status:429`)."""
    target: dict[str, Any] = field(default_factory=dict)
    """What the call was about, filled by the handler (run id, pipeline, channel, issue key...)."""
    limit_keys: list[str] = field(default_factory=list)
    """The rate-limit buckets the call counted against (sandbox/ratelimits.py)."""
    limit_key: str | None = None
    """The bucket that was empty, when the sandbox's rate limit answered 429."""
    retry_after: int | None = None
    """Seconds in the Retry-After of a 429 answer (rate limit or injected fault)."""

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


class CallLog:
    def __init__(self) -> None:
        self._calls: list[Call] = []

    def record(self, *, time: float, service: str, op: str, method: str, path: str,
               query: dict[str, str], body: Any) -> Call:
        call = Call(
            seq=len(self._calls) + 1, time=time, service=service, op=op, method=method,
            path=path, query=mask_secrets(query), body=mask_secrets(body),
        )
        self._calls.append(call)
        return call

    def query(self, service: str | None = None, op: str | None = None, since: int = 0) -> list[Call]:
        """Calls in arrival order, filtered by service, operation and sequence number (> since)."""
        return [
            c for c in self._calls
            if (service is None or c.service == service) and (op is None or c.op == op) and c.seq > since
        ]

    def clear(self) -> None:
        self._calls.clear()
