"""Injected misbehaviour: which fault, if any, answers the next request of an operation.

Faults are consulted in the order they were added; a fault with `times`
stops matching once used up, so "one 429, then success" is a single entry.
A fault with `probability` < 1 affects that share of the matching requests
(seeded draws), so several of them make a cloud that fails 10-30 % of the time.
"""

from __future__ import annotations

import random
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
    def __init__(self, seed: int = 19) -> None:
        self._faults: list[ActiveFault] = []
        self._seed = seed
        self._draws = random.Random(seed)  # noqa: S311 - fault injection, not cryptography

    def add(self, fault: Fault) -> None:
        self._faults.append(ActiveFault(fault))

    def take(self, service: str, op: str) -> Fault | None:
        """The first matching fault, counted as used, or None."""
        for active in self._faults:
            if not active.matches(service, op):
                continue
            if active.fault.probability < 1 and self._draws.random() >= active.fault.probability:
                continue
            active.used += 1
            return active.fault
        return None

    def clear(self) -> None:
        self._faults.clear()
        self._draws = random.Random(self._seed)  # noqa: S311

    def describe(self) -> list[dict[str, object]]:
        return [{**a.fault.model_dump(exclude_defaults=True), "used": a.used} for a in self._faults]
