from __future__ import annotations

from datetime import timedelta

import pytest
from aiops_operator.api import Backoff
from aiops_operator.remediation.backoff import MAX_WAIT_SECONDS, wait_before


@pytest.mark.parametrize(
    ("backoff", "attempt", "seconds"),
    [
        pytest.param(Backoff(seconds=[10, 30, 60]), 1, 10, id="list-first"),
        pytest.param(Backoff(seconds=[10, 30, 60]), 3, 60, id="list-last"),
        pytest.param(Backoff(seconds=[10, 30, 60]), 7, 60, id="list-last-repeats"),
        pytest.param(Backoff(seconds=[10, 30, 60], max_seconds=20), 3, 20, id="list-capped"),
        pytest.param(Backoff(initial_seconds=5), 1, 5, id="exp-first"),
        pytest.param(Backoff(initial_seconds=5), 3, 20, id="exp-default-factor-2"),
        pytest.param(Backoff(initial_seconds=5, factor=3), 3, 45, id="exp-factor-3"),
        pytest.param(Backoff(initial_seconds=5, factor=3, max_seconds=30), 3, 30, id="exp-capped"),
        pytest.param(Backoff(initial_seconds=1, factor=1000), 20, MAX_WAIT_SECONDS, id="exp-bounded"),
        pytest.param(Backoff(initial_seconds=0), 4, 0, id="exp-zero"),
        pytest.param(Backoff(), 1, 0, id="no-schedule"),
        pytest.param(Backoff(seconds=[-5]), 1, 0, id="negative-clamped"),
    ],
)
def test_wait_before(backoff: Backoff, attempt: int, seconds: float) -> None:
    assert wait_before(backoff, attempt) == timedelta(seconds=seconds)


def test_attempts_start_at_one() -> None:
    with pytest.raises(ValueError, match="from 1"):
        wait_before(Backoff(), 0)
