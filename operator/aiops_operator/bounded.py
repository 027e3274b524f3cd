"""A mapping that keeps only its newest entries: the in-memory caches of the operator and the receiver are all
bounded by it.

It imports only the standard library, so the receiver may use it without depending on the operator's logic
(the import contract allows exactly this module).
"""

from __future__ import annotations

import time
from collections import OrderedDict
from collections.abc import Callable
from typing import Generic, TypeVar

K = TypeVar("K")
V = TypeVar("V")


class BoundedCache(Generic[K, V]):
    """At most `max_entries` entries; writing one makes it the newest, and the oldest go first.

    With `ttl_seconds`, an entry is also forgotten once more than that many seconds of `clock` have passed
    since it was last written.
    """

    def __init__(
        self, max_entries: int, *, ttl_seconds: float | None = None, clock: Callable[[], float] = time.monotonic
    ) -> None:
        if max_entries < 1:
            raise ValueError("a bounded cache holds at least one entry")
        if ttl_seconds is not None and ttl_seconds <= 0:
            raise ValueError("an entry's time to live is a positive number of seconds")
        self.max_entries = max_entries
        self.ttl_seconds = ttl_seconds
        self._clock = clock
        # key -> (deadline, value); the deadline is +inf without a TTL.
        self._entries: OrderedDict[K, tuple[float, V]] = OrderedDict()

    def get(self, key: K) -> V | None:
        self._expire()
        entry = self._entries.get(key)
        return None if entry is None else entry[1]

    def put(self, key: K, value: V) -> None:
        self._expire()
        deadline = float("inf") if self.ttl_seconds is None else self._clock() + self.ttl_seconds
        self._entries[key] = (deadline, value)
        self._entries.move_to_end(key)
        while len(self._entries) > self.max_entries:
            self._entries.popitem(last=False)

    def pop(self, key: K) -> V | None:
        self._expire()
        entry = self._entries.pop(key, None)
        return None if entry is None else entry[1]

    def __contains__(self, key: object) -> bool:
        self._expire()
        return key in self._entries

    def __len__(self) -> int:
        self._expire()
        return len(self._entries)

    def _expire(self) -> None:
        # Every write moves its key to the end with a deadline no earlier than those before it (one TTL, a
        # monotonic clock), so the expired entries are exactly a run at the oldest end.
        if self.ttl_seconds is None:
            return
        now = self._clock()
        while self._entries:
            deadline, _ = next(iter(self._entries.values()))
            if deadline >= now:
                return
            self._entries.popitem(last=False)
