"""The chaos tests' crash hook: SIGKILL the operator once, right at a named point.

Production never builds one (`incident.reconcile.no_crash` is the default);
`tests/support/crashing_operator.py` injects it.
"""

from __future__ import annotations

import logging
import os
import signal
from pathlib import Path

log = logging.getLogger(__name__)

CRASH_AT_ENV = "AIOPS_RCA_CRASH_AT"
"""Comma-separated crash points (e.g. `after-launch,after-success`)."""
CRASH_MARKER_ENV = "AIOPS_RCA_CRASH_MARKER"
"""File recording that the hook fired, so each point fires once across restarts."""


class CrashHook:
    """Kill this process once at each named point.

    Without a `key` the hook fires once (the marker file records it). With a key (the
    incident's name) it fires once per point and key (marker `<marker>.<point>.<key>`), so one
    chaos run kills the operator at every point of every incident's lifecycle.
    """

    def __init__(self, at: str | None, marker: Path | None) -> None:
        self._at = frozenset(p.strip() for p in (at or "").split(",") if p.strip())
        self._marker = marker

    @classmethod
    def from_env(cls, environ: dict[str, str]) -> CrashHook:
        marker = environ.get(CRASH_MARKER_ENV)
        return cls(environ.get(CRASH_AT_ENV), Path(marker) if marker else None)

    def __call__(self, point: str, key: str | None = None) -> None:
        if point not in self._at:
            return
        if self._marker is not None:
            marker = self._marker if key is None else self._marker.with_name(f"{self._marker.name}.{point}.{key}")
            if marker.exists():
                return
            marker.write_text(point)
        log.warning("crash hook: killing the operator at %s%s", point, f" ({key})" if key else "")
        os.kill(os.getpid(), signal.SIGKILL)
