from __future__ import annotations

import pytest
from aiops_operator.bounded import BoundedCache


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
