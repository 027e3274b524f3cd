"""Assertion helper: every value in `expected` appears at the same place in `actual`."""

from __future__ import annotations

from typing import Any


def missing_from(expected: Any, actual: Any, path: str = "") -> list[str]:
    """Paths where `actual` lacks or differs from `expected` (extra keys in `actual` are fine)."""
    if isinstance(expected, dict):
        if not isinstance(actual, dict):
            return [f"{path}: expected an object, got {actual!r}"]
        return [m for k, v in expected.items() for m in missing_from(v, actual.get(k), f"{path}.{k}")]
    if isinstance(expected, list):
        if not isinstance(actual, list) or len(actual) != len(expected):
            return [f"{path}: expected {len(expected)} items, got {actual!r}"]
        return [m for i, (e, a) in enumerate(zip(expected, actual, strict=True))
                for m in missing_from(e, a, f"{path}[{i}]")]
    if expected != actual:
        return [f"{path}: expected {expected!r}, got {actual!r}"]
    return []
