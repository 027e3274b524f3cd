"""Fan-out of changes to browsers as Server-Sent Events, with catch-up after a reconnect.

Every replayable event gets an id `<epoch>-<seq>`; the last ones are kept in
a buffer bounded in bytes. A browser that reconnects sends Last-Event-ID
(EventSource does so by itself): if the events after it are still buffered
it gets exactly those, otherwise (buffer overrun, or another server process
with another epoch) a fresh snapshot.

A browser that cannot keep up (its queue is full) is disconnected rather
than slowing everyone else; it reconnects and catches up the same way.
"""

from __future__ import annotations

import asyncio
import contextlib
import secrets
from collections import deque
from dataclasses import dataclass, field


def frame(event: str, data: str, event_id: str | None = None) -> str:
    """One SSE message. `data` must be a single line (JSON without indentation is)."""
    head = f"id: {event_id}\n" if event_id is not None else ""
    return f"{head}event: {event}\ndata: {data}\n\n"


@dataclass(eq=False)
class Subscriber:
    limit: int
    frames: deque[str] = field(default_factory=deque)
    wakeup: asyncio.Event = field(default_factory=asyncio.Event)
    closed: bool = False

    def push(self, text: str) -> None:
        if self.closed:
            return
        if len(self.frames) >= self.limit:
            self.close()
            return
        self.frames.append(text)
        self.wakeup.set()

    def close(self) -> None:
        self.closed = True
        self.frames.clear()
        self.wakeup.set()

    async def next_frames(self, wait_seconds: float) -> list[str] | None:
        """Frames waiting (possibly none after `wait_seconds`), or None once closed."""
        if not self.frames and not self.closed:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self.wakeup.wait(), wait_seconds)
        self.wakeup.clear()
        if self.closed:
            return None
        out = list(self.frames)
        self.frames.clear()
        return out


class Broadcaster:
    def __init__(self, *, replay_bytes: int = 32 << 20, queue_frames: int = 2000, epoch: str | None = None) -> None:
        self.epoch = epoch or secrets.token_hex(4)
        self.seq = 0
        self._replay: deque[tuple[int, str]] = deque()
        self._replay_bytes = 0
        self._replay_limit = replay_bytes
        self._queue_frames = queue_frames
        self.subscribers: set[Subscriber] = set()

    @property
    def last_id(self) -> str:
        return f"{self.epoch}-{self.seq}"

    def publish(self, event: str, data: str, *, replayable: bool = True) -> None:
        if replayable:
            self.seq += 1
            text = frame(event, data, self.last_id)
            self._replay.append((self.seq, text))
            self._replay_bytes += len(text)
            while self._replay_bytes > self._replay_limit and len(self._replay) > 1:
                _, dropped = self._replay.popleft()
                self._replay_bytes -= len(dropped)
        else:
            text = frame(event, data)
        for sub in list(self.subscribers):
            sub.push(text)
            if sub.closed:
                self.subscribers.discard(sub)

    def catch_up(self, last_event_id: str | None) -> list[str] | None:
        """The buffered frames after `last_event_id`, or None when a snapshot is needed instead."""
        if not last_event_id:
            return None
        epoch, _, seq_text = last_event_id.partition("-")
        if epoch != self.epoch or not seq_text.isdigit():
            return None
        seq = int(seq_text)
        if seq > self.seq:
            return None
        oldest = self._replay[0][0] if self._replay else self.seq + 1
        if seq < oldest - 1:
            return None
        return [text for s, text in self._replay if s > seq]

    def subscribe(self) -> Subscriber:
        sub = Subscriber(limit=self._queue_frames)
        self.subscribers.add(sub)
        return sub

    def unsubscribe(self, sub: Subscriber) -> None:
        self.subscribers.discard(sub)
        sub.close()

    def disconnect_all(self) -> None:
        """End every open stream (browsers reconnect and catch up); used at shutdown and by tests."""
        for sub in list(self.subscribers):
            self.unsubscribe(sub)
