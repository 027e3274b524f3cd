"""Injected misbehaviour: which fault, if any, answers the next request of an operation.

Faults are consulted in the order they were added; a fault with `times`
stops matching once used up, so "one 429, then success" is a single entry.
"""

from __future__ import annotations

from dataclasses import dataclass

from sandbox.scenario import Fault


@dataclass
class ActiveFault:
    fault: Fault
    used: int = 0

    def matches(self, service: str, op: str) -> bool:
        if self.fault.service != service or (self.fault.op is not None and self.fault.op != op):
            return False
        return self.fault.times is None or self.used < self.fault.times


class FaultBook:
    def __init__(self) -> None:
        self._faults: list[ActiveFault] = []

    def add(self, fault: Fault) -> None:
        self._faults.append(ActiveFault(fault))

    def take(self, service: str, op: str) -> Fault | None:
        """The first matching fault, counted as used, or None."""
        for active in self._faults:
            if active.matches(service, op):
                active.used += 1
                return active.fault
        return None

    def clear(self) -> None:
        self._faults.clear()

    def describe(self) -> list[dict[str, object]]:
        return [{**a.fault.model_dump(exclude_defaults=True), "used": a.used} for a in self._faults]
