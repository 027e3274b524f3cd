"""Playbook callbacks."""

from __future__ import annotations

from typing import Any

import pytest

from tests.unit.webhook_receiver.goldens import NOW, golden
from webhook_receiver.parsing import Unrecognized, callback


def test_success() -> None:
    parsed = callback.parse(golden("callback/succeeded.json"), NOW)
    assert (parsed.ticket, parsed.attempt_number) == ("adf-pl-copy-sales-daily-3afbb53e40", 1)
    assert parsed.result.success is True
    assert parsed.result.received_time == NOW


def test_strings_for_numbers_and_booleans_and_secret_redacted() -> None:
    parsed = callback.parse(golden("callback/failed.json"), NOW)
    assert parsed.attempt_number == 2
    assert parsed.result.success is False
    assert parsed.result.error_message is not None
    assert "abcdEFGH" not in parsed.result.error_message


@pytest.mark.parametrize(
    "payload",
    [
        pytest.param({}, id="empty"),
        pytest.param({"ticket_id": "inc-1", "attempt_number": 0, "success": True}, id="attempt-zero"),
        pytest.param({"ticket_id": "inc-1", "attempt_number": True, "success": True}, id="attempt-bool"),
        pytest.param({"ticket_id": "inc-1", "success": "maybe"}, id="success-unknown"),
        pytest.param({"ticket_id": "../etc/passwd", "success": True}, id="ticket-path"),
        pytest.param({"ticket_id": {"x": 1}, "success": True}, id="ticket-object"),
    ],
)
def test_unrecognisable(payload: Any) -> None:
    with pytest.raises(Unrecognized, match="expected"):
        callback.parse(payload, NOW)
