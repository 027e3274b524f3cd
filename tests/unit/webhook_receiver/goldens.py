"""Golden webhook payloads (tests/data/webhooks) and the fixed clock parser tests use."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

WEBHOOKS = Path(__file__).resolve().parents[2] / "data" / "webhooks"
NOW = datetime(2026, 11, 23, 7, 0, tzinfo=UTC)


def golden(relative: str) -> Any:
    return json.loads((WEBHOOKS / relative).read_text())


