from __future__ import annotations

import pytest
from aiops_operator.bounded import BoundedCache

from tests.support.clock import ManualClock


def test_the_oldest_written_entry_goes_first() -> None:
    cache: BoundedCache[str, int] = BoundedCache(2)
    cache.put("a", 1)
    cache.put("b", 2)
    cache.put("a", 3)  # rewritten: now the newest
    cache.put("c", 4)
    assert ("a" in cache, "b" in cache, "c" in cache) == (True, False, True)
    assert (cache.get("a"), len(cache)) == (3, 2)


def test_pop_and_missing_keys() -> None:
    cache: BoundedCache[str, int] = BoundedCache(1)
    assert cache.pop("x") is None
    cache.put("x", 1)
    assert cache.pop("x") == 1
    assert cache.get("x") is None


def test_a_cache_holds_at_least_one_entry() -> None:
    with pytest.raises(ValueError, match="at least one"):
        BoundedCache[str, int](0)


@pytest.mark.parametrize(
    ("elapsed", "kept"),
    [
        pytest.param(4.0, True, id="within-the-ttl"),
        pytest.param(5.0, True, id="exactly-the-ttl"),
        pytest.param(5.5, False, id="past-the-ttl"),
    ],
)
def test_an_entry_lives_for_its_ttl(elapsed: float, kept: bool) -> None:
    clock = ManualClock()
    cache: BoundedCache[str, int] = BoundedCache(10, ttl_seconds=5.0, clock=clock)
    cache.put("a", 1)
    clock.now = elapsed
    assert ("a" in cache, cache.get("a"), len(cache)) == ((True, 1, 1) if kept else (False, None, 0))


def test_writing_an_entry_again_renews_its_ttl() -> None:
    clock = ManualClock()
    cache: BoundedCache[str, int] = BoundedCache(10, ttl_seconds=5.0, clock=clock)
    cache.put("a", 1)
    cache.put("b", 2)
    clock.now = 3.0
    cache.put("a", 3)
    clock.now = 7.0
    assert (cache.get("a"), "b" in cache, len(cache)) == (3, False, 1)
    assert cache.pop("a") == 3


def test_expired_entries_are_dropped_before_a_write_counts_against_the_size() -> None:
    clock = ManualClock()
    cache: BoundedCache[str, int] = BoundedCache(2, ttl_seconds=5.0, clock=clock)
    cache.put("old", 1)
    clock.now = 2.0
    cache.put("b", 2)
    clock.now = 6.0
    cache.put("c", 3)  # "old" expired; "b" stays although the cache was full
    assert ("old" in cache, cache.get("b"), cache.get("c")) == (False, 2, 3)


def test_the_size_bound_holds_with_a_ttl() -> None:
    cache: BoundedCache[str, int] = BoundedCache(2, ttl_seconds=100.0, clock=ManualClock())
    for i, key in enumerate("abc"):
        cache.put(key, i)
    assert ("a" in cache, len(cache)) == (False, 2)


def test_a_ttl_is_positive() -> None:
    with pytest.raises(ValueError, match="positive"):
        BoundedCache[str, int](1, ttl_seconds=0)
