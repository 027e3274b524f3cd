"""Receiver settings that are parsed, not just read: the custom-payload mapping."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from webhook_receiver.settings import ReceiverSettings


def test_custom_payload_fields_are_read_as_a_mapping() -> None:
    settings = ReceiverSettings(custom_payload_fields='{"pipeline": "/p", "runId": "run.id"}')
    assert settings.custom_fields() == {"pipeline": "/p", "runId": "run.id"}
    assert ReceiverSettings().custom_fields() == {}


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        pytest.param("{pipeline: /p}", "not JSON", id="not-json"),
        pytest.param('["/p"]', "JSON object of paths", id="not-an-object"),
        pytest.param('{"pipeline": ""}', "JSON object of paths", id="empty-path"),
        pytest.param('{"pipelineName": "/p"}', "unknown keys", id="unknown-key"),
    ],
)
def test_wrong_custom_payload_fields_stop_the_receiver(raw: str, message: str) -> None:
    with pytest.raises(ValidationError, match=message):
        ReceiverSettings(custom_payload_fields=raw)
