"""Slack interactivity requests (POST /webhook/slack/interactions): an Approve or Deny button click.

Slack sends `application/x-www-form-urlencoded` with one field, `payload`, a
JSON document; a button click is a `block_actions` payload:

    {"type": "block_actions", "user": {"id": "U0…", "username": "ana", "name": "ana", "team_id": "T0…"},
     "team": {...}, "channel": {...}, "container": {"type": "message", "message_ts": "…"},
     "response_url": "https://hooks.slack.com/actions/…",
     "actions": [{"type": "button", "action_id": "aiops_approve", "value": "<namespace>/<attempt>", ...}]}

Only the signature (checked before parsing) makes any of it trustworthy.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from urllib.parse import parse_qs

from aiops_operator.api import ApprovalDecision
from aiops_operator.api.approval import SLACK_ACTIONS, parse_slack_button_value

from webhook_receiver.parsing.alerts import Unrecognized
from webhook_receiver.parsing.fields import as_dict, as_list, text

_EXPECTED = ("expected a Slack interactivity request: a form field payload={\"type\": \"block_actions\","
             " \"user\": {\"id\": ...}, \"actions\": [{\"action_id\": ..., \"value\": ...}]}")


@dataclass(frozen=True)
class Click:
    """One Approve/Deny click on an incident's message."""

    decision: ApprovalDecision
    namespace: str
    attempt: str
    user_id: str
    user_name: str | None
    response_url: str | None


def parse(body: bytes) -> Click | None:
    """The click in a Slack interactivity request; None for interactions that are not our buttons.

    Raises Unrecognized for a body that is not a Slack interactivity request at all.
    """
    try:
        form = parse_qs(body.decode("utf-8"), keep_blank_values=True, max_num_fields=20)
        raw = form.get("payload", [""])[0]
        payload = json.loads(raw) if raw else None
    except (UnicodeDecodeError, ValueError, RecursionError) as exc:
        raise Unrecognized(_EXPECTED) from exc
    if not isinstance(payload, dict) or not isinstance(payload.get("type"), str):
        raise Unrecognized(_EXPECTED)
    if payload["type"] != "block_actions":
        return None
    user = as_dict(payload.get("user"))
    user_id = text(user.get("id"), 64)
    if not user_id:
        raise Unrecognized("a block_actions payload without user.id")
    for action in as_list(payload.get("actions")):
        action = as_dict(action)
        decision = SLACK_ACTIONS.get(text(action.get("action_id"), 255) or "")
        target = parse_slack_button_value(text(action.get("value"), 320) or "")
        if decision is None or target is None:
            continue
        name = text(user.get("name"), 120) or text(user.get("username"), 120)
        url = payload.get("response_url")  # kept verbatim: its path is a token that cleaning could redact
        response_url = url if isinstance(url, str) and len(url) <= 2048 else None
        return Click(decision, target[0], target[1], user_id, name, response_url)
    return None
