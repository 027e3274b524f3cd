"""Fleet guardrails (pure): run modes, freeze windows and launch budgets.

A rule that matches may still not launch on its own. Three brakes sit above `maxAttempts`:

- **Run mode** (policy default, rule override): `Observe` decides and records what would have
  run, never launches; `Review` asks for approval before every launch; `Auto` launches as the
  rule says. Observe is the strictest, Auto the loosest.
- **Freeze windows**: recurring windows (an RFC 5545 RRULE in an explicit IANA time zone, with
  a duration) during which the mode is tightened to the window's mode (Review or Observe).
- **Budgets**: at most N launches per target (pipeline, job, cluster) and per policy within a
  rolling window. The counts come from the launch times of the RemediationAttempts (the record
  that survives restarts), never from memory; a human resets a budget by stamping a reset time
  on the policy, after which earlier launches no longer count.

Everything here takes `now` and plain values; the remediation stage gathers the launch times.
"""

from __future__ import annotations

import functools
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from dateutil import rrule

from aiops_operator.api import (
    AttemptPhase,
    FreezeWindowSpec,
    LaunchBudget,
    PolicyRule,
    RemediationAttempt,
    RemediationPolicySpec,
    RunMode,
)
from aiops_operator.api.labels import BUDGET_RESET_ANNOTATION

_STRICTNESS = {RunMode.OBSERVE: 0, RunMode.REVIEW: 1, RunMode.AUTO: 2}


def strictest(*modes: RunMode | None) -> RunMode:
    """The strictest of the given modes (Auto when none is given)."""
    given = [m for m in modes if m is not None]
    return min(given, key=_STRICTNESS.__getitem__) if given else RunMode.AUTO


_ANCHOR = datetime(2024, 1, 1)  # a Monday: phases WEEKLY;INTERVAL=2 and the like when no DTSTART is given
_LOOKBACK = timedelta(days=400)
"""How far back an occurrence may start and still be open: longer windows are refused by validation."""


@dataclass(frozen=True)
class FreezeWindow:
    name: str
    rrule: str
    """`FREQ=MONTHLY;BYMONTHDAY=-1;BYHOUR=18`, optionally with a `DTSTART:` line before an `RRULE:` line."""
    duration: timedelta
    time_zone: str
    mode: RunMode = RunMode.REVIEW


def freeze_window(spec: FreezeWindowSpec) -> FreezeWindow:
    """The window a policy's spec.freezeWindows[] entry describes."""
    return FreezeWindow(spec.name, spec.rrule, timedelta(seconds=spec.duration_seconds), spec.time_zone, spec.mode)


class FreezeWindowError(ValueError):
    """The window cannot be evaluated; the message says which part is wrong (policy validation)."""


@functools.lru_cache(maxsize=256)
def _rule(text: str, time_zone: str) -> rrule.rrule | rrule.rruleset:
    try:
        zone = ZoneInfo(time_zone)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise FreezeWindowError(f"unknown time zone {time_zone!r}") from exc
    body = text.strip()
    if not body.upper().startswith(("RRULE:", "DTSTART")):
        body = f"RRULE:{body}"
    try:
        # An explicit DTSTART line in the text wins over the anchor.
        return rrule.rrulestr(body, dtstart=_ANCHOR.replace(tzinfo=zone), cache=True, forceset=False)
    except (ValueError, TypeError) as exc:
        raise FreezeWindowError(f"invalid RRULE {text!r}: {exc}") from exc


def validate_window(window: FreezeWindow) -> str | None:
    """Why the window is unusable, or None."""
    if window.duration <= timedelta(0) or window.duration > _LOOKBACK:
        return f"freeze window {window.name}: duration must be between 1 second and {_LOOKBACK.days} days"
    if window.mode is RunMode.AUTO:
        return f"freeze window {window.name}: mode must be Review or Observe"
    try:
        _rule(window.rrule, window.time_zone)
    except FreezeWindowError as exc:
        return f"freeze window {window.name}: {exc}"
    return None


def open_window(windows: Iterable[FreezeWindow], now: datetime) -> tuple[FreezeWindow, datetime] | None:
    """The strictest freeze window open at `now`, with when it closes; None outside every window.

    Windows that fail validation are skipped here (the policy shows them as InvalidSpec).
    """
    found: list[tuple[FreezeWindow, datetime]] = []
    for window in windows:
        if validate_window(window) is not None:
            continue
        rule = _rule(window.rrule, window.time_zone)
        start = rule.before(now.astimezone(ZoneInfo(window.time_zone)), inc=True)
        if start is not None and now < start + window.duration:
            found.append((window, start + window.duration))
    if not found:
        return None
    return min(found, key=lambda pair: (_STRICTNESS[pair[0].mode], -pair[1].timestamp()))


@dataclass(frozen=True)
class Budget:
    max_launches: int
    window: timedelta


def budget(spec: LaunchBudget) -> Budget:
    return Budget(spec.max_launches, timedelta(seconds=spec.window_seconds))


@dataclass(frozen=True)
class BudgetVerdict:
    scope: str
    """What the budget counts: "target" or "policy"."""
    used: int
    limit: int
    reopens_time: datetime | None
    """When the oldest counted launch leaves the window (None while launches are left)."""

    @property
    def exhausted(self) -> bool:
        return self.used >= self.limit

    @property
    def message(self) -> str:
        reopens = f"; the next launch is allowed after {self.reopens_time:%Y-%m-%dT%H:%M:%SZ}" \
            if self.reopens_time else ""
        return f"{self.used} of {self.limit} launches per {self.scope} used in the budget window{reopens}."


def budget_verdict(scope: str, launches: Sequence[datetime], budget: Budget, now: datetime,
                   reset_time: datetime | None = None) -> BudgetVerdict:
    """How much of `budget` the `launches` (start times of attempts) use at `now`."""
    since = now - budget.window
    if reset_time is not None:
        since = max(since, reset_time)
    counted = sorted(t for t in launches if since < t <= now)
    used = len(counted)
    reopens = None
    if used >= budget.max_launches > 0:
        # Launches drop out oldest first: the budget reopens when enough of them have left the window.
        reopens = counted[used - budget.max_launches] + budget.window
    return BudgetVerdict(scope, used, budget.max_launches, reopens)


def first_exhausted(verdicts: Iterable[BudgetVerdict]) -> BudgetVerdict | None:
    """The exhausted budget that stays closed longest, if any."""
    closed = [v for v in verdicts if v.exhausted]
    if not closed:
        return None
    return max(closed, key=lambda v: (v.reopens_time is None, v.reopens_time.timestamp() if v.reopens_time else 0))


@dataclass(frozen=True)
class Mode:
    """The run mode that applies to one launch, and why it is stricter than Auto (None when Auto)."""

    mode: RunMode
    why: str | None = None


def effective_mode(spec: RemediationPolicySpec, rule: PolicyRule, now: datetime) -> Mode:
    """The strictest of the policy's mode, the rule's mode and the mode of a freeze window open at `now`."""
    opened = open_window((freeze_window(w) for w in spec.freeze_windows), now)
    window_mode = opened[0].mode if opened else None
    mode = strictest(spec.mode, rule.mode, window_mode)
    if mode is RunMode.AUTO:
        return Mode(mode)
    if opened is not None and window_mode is mode:
        window, closes = opened
        return Mode(mode, f"freeze window {window.name} is open until {closes.astimezone(UTC):%Y-%m-%dT%H:%M:%SZ}"
                          f" (mode {mode})")
    if rule.mode is mode:
        return Mode(mode, f"rule {rule.name} runs in mode {mode}")
    return Mode(mode, f"the policy runs in mode {mode}")


def launch_time(attempt: RemediationAttempt) -> datetime | None:
    """The time an attempt spends budget from: its launch (status.startTime).

    An attempt created and not yet launched nor ended (Pending, AwaitingApproval) holds its launch from
    its creation time, so two reconciles creating at once, or a crash between the launch and its record,
    cannot slip an extra launch past the budget. Records (dryRun / Observe) and attempts that ended without
    launching (denied, timed out waiting, skipped) spend nothing."""
    status = attempt.status
    if status.start_time is not None:
        return status.start_time
    if attempt.spec.dry_run or status.phase not in (None, AttemptPhase.PENDING, AttemptPhase.AWAITING_APPROVAL):
        return None
    return attempt.metadata.creation_timestamp or attempt.spec.not_before_time


def reset_time(annotations: dict[str, str]) -> datetime | None:
    """The policy's budget reset time (aiops-rca.io/budget-reset), None when unset or not a time."""
    value = annotations.get(BUDGET_RESET_ANNOTATION)
    if not value:
        return None
    try:
        parsed = datetime.fromisoformat(value.strip())
    except ValueError:
        return None
    return parsed if parsed.tzinfo is not None else parsed.replace(tzinfo=UTC)
