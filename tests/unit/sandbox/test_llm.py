"""The fake LLM: classification by the taxonomy, answers shaped by whatever schema is asked for."""

from __future__ import annotations

from typing import Any

import pytest
from aiops_operator.api.taxonomy import ErrorType

from sandbox.llm import TAXONOMY, analyse, classify, fill


def test_every_answerable_type_is_in_the_operator_taxonomy() -> None:
    assert {e.value for e in ErrorType} >= TAXONOMY


@pytest.mark.parametrize(("text", "expected"), [
    pytest.param("java.lang.OutOfMemoryError: GC overhead limit exceeded", "DatabricksResourceExhausted", id="oom"),
    pytest.param("ErrorCode=UserErrorSourceBlobNotExists", "UserErrorSourceBlobNotExists", id="blob"),
    pytest.param("HTTP 429 Too Many Requests", "ThrottlingError", id="throttle"),
    pytest.param("AADSTS7000215: Invalid client secret", "AuthenticationError", id="auth"),
    pytest.param("something odd", "UnknownError", id="unknown"),
])
def test_classify(text: str, expected: str) -> None:
    assert classify(text) == expected


def test_instructions_listing_the_taxonomy_do_not_decide_the_type() -> None:
    messages = [{"role": "system", "content": "Types: ThrottlingError means 429."},
                {"role": "user", "content": "Types: ThrottlingError (429)\nError: java.lang.OutOfMemoryError"}]
    assert analyse(messages, []).error_type == "DatabricksResourceExhausted"


def test_answer_follows_a_schema_with_refs_enums_and_nullables() -> None:
    schema: dict[str, Any] = {
        "type": "object",
        "$defs": {"Kind": {"enum": ["ThrottlingError", "UnknownError"]}},
        "properties": {
            "errorType": {"$ref": "#/$defs/Kind"},
            "rootCause": {"type": "string", "maxLength": 30},
            "confidence": {"type": "number", "minimum": 0, "maximum": 1},
            "affectedEntity": {"anyOf": [{"type": "string"}, {"type": "null"}]},
            "recommendations": {"type": "array", "items": {"type": "string"}},
            "autoHealPossible": {"type": "boolean"},
        },
    }
    analysis = analyse([{"role": "user", "content": "pipeline: sales\nError: 429 Too Many Requests"}], [])
    answer = fill(schema, schema, "analysis", analysis)
    assert answer["errorType"] == "ThrottlingError"
    assert len(answer["rootCause"]) <= 30
    assert 0 <= answer["confidence"] <= 1
    assert answer["affectedEntity"] == "sales"
    assert len(answer["recommendations"]) == 2
    assert answer["autoHealPossible"] is True
