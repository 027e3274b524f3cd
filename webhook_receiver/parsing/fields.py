"""Reading fields out of untrusted JSON: wrong types become None, text is cleaned and bounded."""

from __future__ import annotations

import hashlib
import json
from collections import deque
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from aiops_operator.api.sanitize import clean_text


def as_dict(value: Any) -> dict[str, Any]:
    """`value` if it is a JSON object, else an empty one."""
    return value if isinstance(value, dict) else {}


def as_list(value: Any) -> list[Any]:
    """`value` if it is a JSON array, else an empty one."""
    return value if isinstance(value, list) else []


def scalar(value: Any) -> str | None:
    """A JSON string or number as text; objects, arrays, booleans and blanks as None."""
    if isinstance(value, bool) or value is None:
        return None
    if isinstance(value, int | float):
        return str(value)
    if isinstance(value, str):
        stripped = value.strip()
        return stripped or None
    return None


def text(value: Any, max_chars: int) -> str | None:
    """A scalar as cleaned text (control characters stripped, secrets redacted, bounded), or None."""
    raw = scalar(value)
    if raw is None:
        return None
    cleaned = clean_text(raw, max_chars)
    return cleaned or None


def first_text(mapping: Mapping[str, Any], keys: tuple[str, ...], max_chars: int) -> str | None:
    """The first of `keys` (compared case-insensitively) holding a usable scalar."""
    lowered = {str(k).lower(): v for k, v in mapping.items()}
    for key in keys:
        found = text(lowered.get(key.lower()), max_chars)
        if found is not None:
            return found
    return None


def identifier(value: Any, max_chars: int) -> str | None:
    """An id as text: kept exactly when it fits, else a readable prefix plus a hash of the whole."""
    raw = scalar(value)
    if raw is None:
        return None
    cleaned = clean_text(raw, len(raw) + 1)
    if not cleaned:
        return None
    if len(cleaned) <= max_chars:
        return cleaned
    digest = hashlib.sha256(cleaned.encode()).hexdigest()[:16]
    return f"{cleaned[: max_chars - 17]}~{digest}"


def timestamp(value: Any) -> datetime | None:
    """An ISO-8601 string or epoch seconds/milliseconds as an aware UTC datetime, or None."""
    if isinstance(value, bool) or value is None:
        return None
    try:
        if isinstance(value, int | float):
            seconds = value / 1000 if value > 1e11 else value
            return datetime.fromtimestamp(seconds, UTC)
        if isinstance(value, str) and 0 < len(value) <= 64:
            raw = value.strip()
            if raw.isdigit():
                return timestamp(int(raw))
            # Azure writes 7 fractional digits; Python takes at most 6.
            if "." in raw:
                head, _, tail = raw.partition(".")
                digits = "".join(c for c in tail if c.isdigit())
                zone = tail[len(digits):]
                raw = f"{head}.{digits[:6]}{zone}"
            parsed = datetime.fromisoformat(raw.replace("Z", "+00:00").replace("z", "+00:00"))
            return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)
    except (ValueError, OverflowError, OSError):
        return None
    return None


MAX_DECODE_CHARS = 1_000_000
"""Longest JSON-encoded string decoded (Azure caps an alert at 256 KB anyway)."""
MAX_INDEX_NODES = 2000
"""Most keys and items `deep_index` visits in one row."""


def decoded(value: Any, depth: int = 3) -> Any:
    """`value` with JSON-encoded strings decoded, up to `depth` times (diagnostic columns are often encoded twice)."""
    for _ in range(depth):
        if not isinstance(value, str) or len(value) > MAX_DECODE_CHARS:
            return value
        stripped = value.strip()
        if not stripped or stripped[0] not in '{["':
            return value
        try:
            value = json.loads(stripped)
        except (ValueError, RecursionError):
            return value
    return value


def deep_index(mapping: Mapping[str, Any], depth: int = 4) -> dict[str, Any]:
    """Every key of `mapping` and of the objects nested in it (JSON strings decoded), lower-cased.

    Breadth first, so a top-level column wins over a nested field of the same name; bounded in
    nodes and depth so a hostile payload costs little.
    """
    index: dict[str, Any] = {}
    queue: deque[tuple[Any, int]] = deque([(mapping, 0)])
    visited = 0
    while queue and visited < MAX_INDEX_NODES:
        node, level = queue.popleft()
        items = node.items() if isinstance(node, dict) else enumerate(node) if isinstance(node, list) else ()
        for key, raw in items:
            visited += 1
            if visited > MAX_INDEX_NODES:
                break
            value = decoded(raw)
            if isinstance(key, str):
                index.setdefault(key.lower(), value)
            if isinstance(value, dict | list) and level < depth:
                queue.append((value, level + 1))
    return index


def first_found(index: Mapping[str, Any], keys: tuple[str, ...], max_chars: int) -> str | None:
    """The first of `keys` (lower-case) in a `deep_index` holding a usable scalar."""
    for key in keys:
        found = text(index.get(key), max_chars)
        if found is not None:
            return found
    return None


def at_path(document: Any, path: str) -> Any:
    """The value at a JSON pointer (`/data/run/id`) or dotted path (`data.run.id`, `rows.0`); None if absent."""
    if path.startswith("/"):
        parts = [p.replace("~1", "/").replace("~0", "~") for p in path[1:].split("/")]
    else:
        parts = path.split(".")
    node = document
    for part in parts:
        node = decoded(node)
        if isinstance(node, dict):
            node = node.get(part)
        elif isinstance(node, list) and part.isdigit() and int(part) < len(node):
            node = node[int(part)]
        else:
            return None
    return node
