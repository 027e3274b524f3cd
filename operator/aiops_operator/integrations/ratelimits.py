"""Honouring Slack's and Jira's 429 Retry-After across every incident of this process.

A 429 answer says "nothing before N seconds" for a part of the API (Slack:
chat.postMessage per channel, other methods per method; Jira: an endpoint or
an issue). If only the incident that got the 429 waited, the other incidents
posting to the same channel would keep knocking, each earning another 429 —
and Slack may disable apps that ignore Retry-After. So the notifiers share a
`RateGate`: per bucket, a not-before time set by the 429, and one request in
flight at a time (so a request cannot leave after a 429 it had no chance to
see). A call on a closed bucket raises `RateLimited` without being sent; the
reconcile turns that into a requeue at the not-before time. Nothing was sent,
so nothing is lost and nothing is posted twice: the message/issue is still
due in status and the find-before-post lookups stay in place.
"""

from __future__ import annotations

import asyncio
import email.utils
import time
from collections.abc import AsyncIterator, Callable, Mapping
from contextlib import asynccontextmanager
from dataclasses import dataclass

DEFAULT_RETRY_AFTER_SECONDS = 5.0
"""When a 429 comes without a usable Retry-After (Jira documents that it may)."""
MAX_RETRY_AFTER_SECONDS = 900.0
"""A Retry-After is trusted up to this; beyond it a typo or a clock jump would silence notifications."""
MAX_BUCKETS = 1024
"""Bound on remembered buckets (channels x methods); idle ones are dropped first."""


class RateLimited(Exception):
    """The service asked us to wait (HTTP 429), or an earlier answer still does; the request was not sent."""

    def __init__(self, what: str, retry_after: float) -> None:
        super().__init__(f"{what}: rate-limited, retry after {retry_after:.1f} s")
        self.what = what
        self.retry_after = retry_after


def retry_after_seconds(headers: Mapping[str, str] | None, now: Callable[[], float] = time.time) -> float:
    """Seconds from a Retry-After header (delay-seconds or an HTTP date), bounded; a default without one."""
    value = ""
    for name, raw in (headers or {}).items():
        if name.lower() == "retry-after":
            value = str(raw).strip()
    if not value:
        return DEFAULT_RETRY_AFTER_SECONDS
    try:
        seconds = float(value)
    except ValueError:
        try:
            seconds = email.utils.parsedate_to_datetime(value).timestamp() - now()
        except (TypeError, ValueError):
            return DEFAULT_RETRY_AFTER_SECONDS
    return min(MAX_RETRY_AFTER_SECONDS, max(0.0, seconds))


@dataclass
class _Bucket:
    lock: asyncio.Lock
    not_before: float = 0.0


class RateGate:
    """Per bucket: the time before which nothing may be sent, and one request in flight."""

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self._buckets: dict[str, _Bucket] = {}

    def _bucket(self, key: str) -> _Bucket:
        bucket = self._buckets.get(key)
        if bucket is None:
            if len(self._buckets) >= MAX_BUCKETS:
                self._prune()
            bucket = self._buckets[key] = _Bucket(asyncio.Lock())
        return bucket

    def _prune(self) -> None:
        now = self._clock()
        for key in [k for k, b in self._buckets.items() if not b.lock.locked() and b.not_before <= now]:
            del self._buckets[key]

    def check(self, key: str, what: str) -> None:
        """Raise RateLimited while `key` is closed (before doing work that only makes sense if it is open)."""
        bucket = self._buckets.get(key)
        wait = 0.0 if bucket is None else bucket.not_before - self._clock()
        if wait > 0:
            raise RateLimited(what, wait)

    @asynccontextmanager
    async def slot(self, key: str, what: str) -> AsyncIterator[None]:
        """Hold the bucket's one request slot; RateLimited if the bucket is closed once it is our turn."""
        bucket = self._bucket(key)
        async with bucket.lock:
            self.check(key, what)
            yield

    def refuse(self, key: str, retry_after: float) -> None:
        """A 429 on `key`: nothing more there for `retry_after` seconds."""
        bucket = self._bucket(key)
        bucket.not_before = max(bucket.not_before, self._clock() + retry_after)
