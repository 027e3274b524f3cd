"""Reading untrusted JSON: decoding JSON-in-strings, nested lookups and paths."""

from __future__ import annotations

import json
from typing import Any

import pytest

from webhook_receiver.parsing.fields import at_path, decoded, deep_index, first_found

INNER = {"code": "DRIVER_UNREACHABLE", "parameters": {"databricks_error_message": "driver gone"}}


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        pytest.param(json.dumps(INNER), INNER, id="once"),
        pytest.param(json.dumps(json.dumps(INNER)), INNER, id="twice"),
        pytest.param("not json {", "not json {", id="plain-text-kept"),
        pytest.param('{"broken": ', '{"broken": ', id="broken-json-kept"),
        pytest.param("42", "42", id="number-text-kept"),
        pytest.param(7, 7, id="not-a-string"),
        pytest.param("[" * 5000 + "]" * 5000, "[" * 5000 + "]" * 5000, id="too-deep-kept"),
    ],
)
def test_decoded(raw: Any, expected: Any) -> None:
    assert decoded(raw) == expected


def test_deep_index_finds_fields_inside_encoded_columns_and_prefers_the_shallow_one() -> None:
    row = {"ClusterId": "top", "Response": json.dumps({"statusCode": 200, "result": json.dumps(
        {"cluster_id": "nested", "termination_reason": INNER})})}
    index = deep_index(row)
    assert first_found(index, ("clusterid",), 64) == "top"
    assert first_found(index, ("code",), 64) == "DRIVER_UNREACHABLE"
    assert first_found(index, ("databricks_error_message",), 64) == "driver gone"


def test_deep_index_is_bounded() -> None:
    wide = {f"k{i}": {"x": i} for i in range(10_000)}
    assert len(deep_index(wide)) < 5000


@pytest.mark.parametrize(
    ("path", "expected"),
    [
        pytest.param("/data/run/id", "r-1", id="pointer"),
        pytest.param("data.run.id", "r-1", id="dotted"),
        pytest.param("data.items.1", "b", id="list-index"),
        pytest.param("/a~1b", "slash", id="pointer-escape"),
        pytest.param("data.encoded.pipeline", "pl", id="through-a-json-string"),
        pytest.param("data.missing.id", None, id="missing"),
        pytest.param("data.items.9", None, id="index-out-of-range"),
    ],
)
def test_at_path(path: str, expected: Any) -> None:
    doc = {"data": {"run": {"id": "r-1"}, "items": ["a", "b"], "encoded": json.dumps({"pipeline": "pl"})},
           "a/b": "slash"}
    assert at_path(doc, path) == expected
