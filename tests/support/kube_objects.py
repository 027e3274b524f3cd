"""The kubernetes client types every custom-object answer as `object`: one checked conversion for the tests."""

from __future__ import annotations

from typing import Any


def as_object(answer: object) -> dict[str, Any]:
    """A custom object (or list) as the API server answered it, checked to be a JSON object."""
    assert isinstance(answer, dict), f"expected a JSON object, got {type(answer).__name__}"
    return answer
