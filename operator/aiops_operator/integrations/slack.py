"""Slack: one Block Kit message per incident, edited in place as it moves, with thread replies.

Idempotency: every message carries Slack message `metadata` naming the
incident's uid (and, for thread replies, a key). Before posting, the channel's
history (or the thread) is searched for that metadata, so an operator killed
between "posted" and "recorded in status" finds its message instead of posting
a second one.

Rate limits: a 429's Retry-After closes that part of Slack (chat.postMessage
per channel, other methods per method) for every incident of this process;
calls there raise `SlackRateLimited` unsent until it has elapsed, and the
reconcile retries at that time (integrations/ratelimits.py).

The message building functions are pure (table-tested); `SlackNotifier` is the
only place that talks to Slack, through slack-sdk's `AsyncWebClient`.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

from aiops_operator.api import Incident, IncidentPhase, ResolvedBy, SlackRef
from aiops_operator.api.approval import (
    SLACK_APPROVE_ACTION,
    SLACK_DENY_ACTION,
    approval_decision,
    attempt_awaiting_approval,
    slack_button_value,
)
from aiops_operator.api.labels import approve_command
from aiops_operator.api.naming import dashboard_incident_url
from aiops_operator.api.recurrence import lineage_notes
from aiops_operator.api.sanitize import truncate
from aiops_operator.correlation.membership import members_summary
from aiops_operator.integrations.ratelimits import RateGate, RateLimited, retry_after_seconds

log = logging.getLogger(__name__)

METADATA_EVENT_TYPE = "aiops_rca_incident"
"""Slack message metadata event_type of every message the operator posts."""
MAX_HISTORY_PAGES = 10
"""Bound on the history searched before posting (pages of 200 messages)."""
_SECTION_CHARS = 2900  # Slack's section text limit is 3000.
_CHANNEL_ID = re.compile(r"^[CGD][A-Z0-9]{6,}$")

_PHASE_EMOJI = {
    IncidentPhase.ANALYZING: ":mag:",
    IncidentPhase.REMEDIATING: ":wrench:",
    IncidentPhase.MONITORING: ":hourglass_flowing_sand:",
    IncidentPhase.RESOLVED: ":white_check_mark:",
    IncidentPhase.ESCALATED: ":rotating_light:",
}


class SlackError(Exception):
    """Slack refused or could not be reached; the reconcile retries with backoff."""


class SlackRateLimited(SlackError, RateLimited):
    """Slack answered 429 (or an earlier 429 still holds): retry after `retry_after` seconds; nothing was sent."""


def escape(text: str) -> str:
    """Text from alerts, run output or a model, made inert in Slack mrkdwn.

    Slack's control sequences all live between `<` and `>` (`<!channel>`,
    `<@U123>`, `<https://evil|click here>`), so escaping &, < and > (Slack's own
    rule) leaves no live mention or disguised link; `verbatim` text objects
    (see `_mrkdwn`) stop Slack from linking a bare `@here` or URL.
    """
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _mrkdwn(text: str, limit: int = _SECTION_CHARS) -> dict[str, Any]:
    return {"type": "mrkdwn", "text": truncate(text, limit), "verbatim": True}


def incident_url(incident: Incident, dashboard_url: str | None) -> str | None:
    if not dashboard_url:
        return None
    return dashboard_incident_url(dashboard_url, incident.metadata.namespace or "default", incident.metadata.name)


def status_line(incident: Incident) -> str:
    """One sentence on where the incident stands and what happens next."""
    status = incident.status
    phase = status.phase or IncidentPhase.ANALYZING
    emoji = _PHASE_EMOJI.get(phase, "")
    if phase is IncidentPhase.ESCALATED:
        text = f"Escalated: a human is needed. {escape(status.escalation_reason or '')}".strip()
    elif phase is IncidentPhase.RESOLVED and status.resolution is not None:
        res = status.resolution
        rem = status.remediation
        if res.resolved_by is ResolvedBy.AUTO_HEAL:
            text = "Auto-healed"
            if rem is not None and rem.attempts_made:
                text += f" on attempt {rem.attempts_made}/{rem.max_attempts}"
            if res.run_id:
                text += f", new run `{escape(res.run_id)}`"
            text += f". MTTR {_minutes(res.mttr_seconds)}"
        else:
            who = f" {escape(res.actor)}" if res.actor else ""
            text = f"Resolved by{who} ({res.resolved_by.value}) in {_minutes(res.mttr_seconds)}"
        if status.sla is not None:
            text += f" (SLA {status.sla.state.value})"
    elif phase in (IncidentPhase.REMEDIATING, IncidentPhase.MONITORING) and status.remediation is not None:
        rem = status.remediation
        text = escape(f"{phase.value}: {rem.action or 'remediation'} under policy {rem.policy}, rule {rem.rule}")
        if rem.attempts_made:
            text += f", attempt {rem.attempts_made}/{rem.max_attempts}"
    else:
        text = phase.value
    return f"{emoji} *Status:* {text}".strip()


def _minutes(seconds: int) -> str:
    return f"{seconds} s" if seconds < 120 else f"{seconds // 60} min"


def build_message(incident: Incident, dashboard_url: str | None = None) -> tuple[str, list[dict[str, Any]]]:
    """(fallback text, Block Kit blocks) of the incident's message for its current state."""
    spec, status = incident.spec, incident.status
    analysis = status.analysis
    severity = analysis.severity.value if analysis else "Unknown"
    priority = analysis.priority.value if analysis else "?"
    header = truncate(f"{priority} {severity}: {spec.resource.name} failed", 150)
    fallback = escape(f"{header} ({analysis.error_type.value if analysis else 'analyzing'})")
    ids = [
        f"*Incident:* `{incident.metadata.namespace}/{incident.metadata.name}`",
        f"*Source:* {spec.source.value}",
        f"*Run:* <{escape(spec.run_url)}|{escape(spec.run_id)}>" if spec.run_url else f"*Run:* `{escape(spec.run_id)}`",
    ]
    if spec.resource.factory:
        ids.append(f"*Factory:* {escape(spec.resource.factory)}")
    activity = (status.enrichment.activity if status.enrichment else None) or spec.error.activity
    if activity:
        ids.append(f"*Activity/Task:* {escape(activity)}")
    if analysis:
        ids.append(f"*Error type:* {analysis.error_type.value} ({analysis.confidence.value} confidence)")
    if status.ownership:
        ids.append(f"*Team:* {escape(status.ownership.team)}")
    if status.sla:
        ids.append(f"*SLA:* {status.sla.state.value}, due <!date^{int(status.sla.deadline_time.timestamp())}"
                   f"^{{date_short_pretty}} {{time}}|{status.sla.deadline_time.isoformat()}>")
    notes = status.notifications
    if notes and notes.jira:
        key = escape(notes.jira.key)
        ids.append(f"*Jira:* <{escape(notes.jira.url)}|{key}>" if notes.jira.url else f"*Jira:* {key}")
    blocks: list[dict[str, Any]] = [
        {"type": "header", "text": {"type": "plain_text", "text": header, "emoji": True}},
        *_banner(incident),
        {"type": "section", "fields": [_mrkdwn(t, 1900) for t in ids[:10]]},
    ]
    if analysis:
        blocks.append({"type": "section", "text": _mrkdwn(f"*Root cause:* {escape(analysis.root_cause)}")})
        if analysis.recommendations:
            steps = "\n".join(f"{i}. {escape(r)}" for i, r in enumerate(analysis.recommendations, 1))
            blocks.append({"type": "section", "text": _mrkdwn(f"*Recommendations:*\n{steps}")})
    lineage = lineage_notes(spec.previous_incident_ref, spec.occurrence, status.recurrence,
                            analysis.error_type.value if analysis else None)
    if lineage:
        blocks.append({"type": "section", "text": _mrkdwn("*History:* " + escape(" ".join(lineage)))})
    summary = members_summary(status)
    if summary:  # a root: its members are told here, not in messages of their own
        blocks.append({"type": "section", "text": _mrkdwn(f"*Related failures:* {escape(summary)}")})
    blocks.append({"type": "context", "elements": [_mrkdwn(status_line(incident))]})
    blocks.extend(approval_blocks(incident))
    url = incident_url(incident, dashboard_url)
    if url:
        blocks.append({"type": "actions", "elements": [{
            "type": "button", "text": {"type": "plain_text", "text": "Open in dashboard"},
            "url": url, "action_id": "open_dashboard",
        }]})
    return fallback, blocks


def approval_blocks(incident: Incident) -> list[dict[str, Any]]:
    """Approve/Deny buttons while an attempt waits for approval; afterwards, who decided (buttons gone).

    The buttons' value names the attempt (`<namespace>/<attempt>`); the receiver's
    /webhook/slack/interactions verifies Slack's signature and records the clicking Slack user.
    """
    status = incident.status
    waiting = attempt_awaiting_approval(status)
    if waiting is None:
        decided = approval_decision(status)
        if decided is None:
            return []
        icon = ":no_entry:" if " denied by " in decided else ":ballot_box_with_check:"
        return [{"type": "section", "text": _mrkdwn(f"{icon} {escape(decided)}")}]
    namespace = incident.metadata.namespace or "default"
    rem = status.remediation
    action = f" ({escape(rem.action)})" if rem is not None and rem.action else ""
    # Not "anyone in this channel": the receiver may hold an approver list the operator does not know.
    who = (f":raised_hand: *Approval needed* for `{waiting}`{action}. Approvers may Approve or Deny here"
           " (the Slack user who clicks is recorded); or anyone allowed to patch remediationattempts in"
           f" `{namespace}`: `{approve_command(waiting, namespace)}` (or `=denied`).")
    value = slack_button_value(namespace, waiting)
    return [
        {"type": "section", "text": _mrkdwn(who)},
        {"type": "actions", "block_id": truncate(f"aiops_approval_{waiting}", 255), "elements": [
            {"type": "button", "action_id": SLACK_APPROVE_ACTION, "style": "primary", "value": value,
             "text": {"type": "plain_text", "text": "Approve"}},
            {"type": "button", "action_id": SLACK_DENY_ACTION, "style": "danger", "value": value,
             "text": {"type": "plain_text", "text": "Deny"},
             "confirm": {"title": {"type": "plain_text", "text": "Deny the remediation?"},
                         "text": _mrkdwn(f"`{waiting}` will be skipped and the incident escalated."),
                         "confirm": {"type": "plain_text", "text": "Deny"},
                         "deny": {"type": "plain_text", "text": "Cancel"}}},
        ]},
    ]


def _banner(incident: Incident) -> list[dict[str, Any]]:
    """A success (or escalation) banner under the header once the incident ended."""
    status = incident.status
    if status.phase is IncidentPhase.RESOLVED:
        return [{"type": "section", "text": _mrkdwn(status_line(incident))}]
    return []


def message_metadata(incident: Incident, key: str | None = None) -> dict[str, Any]:
    payload: dict[str, Any] = {
        "incident_uid": incident.metadata.uid or "",
        "incident": f"{incident.metadata.namespace}/{incident.metadata.name}",
    }
    if key:
        payload["key"] = key
    return {"event_type": METADATA_EVENT_TYPE, "event_payload": payload}


def is_ours(message: dict[str, Any], uid: str, key: str | None = None) -> bool:
    """Whether a message from history carries this incident's metadata (and reply key)."""
    meta = message.get("metadata") or {}
    if meta.get("event_type") != METADATA_EVENT_TYPE:
        return False
    payload = meta.get("event_payload") or {}
    return payload.get("incident_uid") == uid and payload.get("key") == key


class SlackNotifier:
    """Posts, finds, edits and threads the incident's message through slack-sdk's AsyncWebClient."""

    def __init__(
        self,
        token: Callable[[], str | None],
        *,
        base_url: str | None = None,
        dashboard_url: str | None = None,
        timeout: float = 15.0,
        gate: RateGate | None = None,
    ) -> None:
        """`gate` holds the Retry-After of Slack's 429s for every incident (one per process)."""
        from slack_sdk.web.async_client import AsyncWebClient

        kwargs: dict[str, Any] = {"timeout": int(max(1, timeout))}
        if base_url:
            kwargs["base_url"] = base_url if base_url.endswith("/") else base_url + "/"
        self._client = AsyncWebClient(**kwargs)
        self._token = token
        self._dashboard_url = dashboard_url
        self._channel_ids: dict[str, str] = {}
        self._channel_names: dict[str, str] = {}
        self._gate = gate or RateGate()

    def bucket(self, method: str, channel: str | None = None) -> str:
        """The part of Slack a 429 closes: chat.postMessage per channel (by name, whether we post by name or
        id), any other method per method (Slack's tiers are per method per workspace)."""
        if method != "chat.postMessage":
            return method
        ref = channel or ""
        return f"{method}:{self._channel_names.get(ref, ref.lstrip('#'))}"

    async def _call(self, method: str, **params: Any) -> dict[str, Any]:
        """One Web API call through the SDK's method of that name (e.g. chat.postMessage -> chat_postMessage).

        Rate limits: one call in flight per bucket; a closed bucket or a 429 raises SlackRateLimited."""
        from slack_sdk.errors import SlackApiError, SlackClientError

        self._client.token = self._token()  # re-read: a rotated Secret file needs no restart
        call = getattr(self._client, method.replace(".", "_"))
        bucket = self.bucket(method, params.get("channel"))
        async with self._gate.slot(bucket, method):
            try:
                response = await call(**{k: v for k, v in params.items() if v not in (None, "")})
            except SlackApiError as exc:
                if exc.response.status_code == 429:
                    wait = retry_after_seconds(exc.response.headers)
                    self._gate.refuse(bucket, wait)
                    raise SlackRateLimited(method, wait) from None
                raise SlackError(f"{method}: {exc.response.get('error', 'error')}") from None
            except (SlackClientError, OSError, TimeoutError) as exc:
                raise SlackError(f"{method}: {type(exc).__name__}") from None
        data: dict[str, Any] = dict(response.data) if isinstance(response.data, dict) else {}
        return data

    def _check_posting(self, channel: str) -> None:
        """Fail fast while the channel's posts are rate-limited: the lookup before the post would be wasted
        (and counts against its own tier)."""
        try:
            self._gate.check(self.bucket("chat.postMessage", channel), "chat.postMessage")
        except RateLimited as exc:
            raise SlackRateLimited(exc.what, exc.retry_after) from None

    async def channel_id(self, channel: str) -> str:
        """The channel's id: ids pass through; names are resolved once (conversations.list) and cached.
        Without the list scope (or where the API lacks it) the name is used as given."""
        if _CHANNEL_ID.match(channel):
            return channel
        if channel in self._channel_ids:
            return self._channel_ids[channel]
        name = channel.lstrip("#")
        cursor = ""
        try:
            for _ in range(MAX_HISTORY_PAGES):
                page = await self._call("conversations.list", limit=1000, cursor=cursor,
                                        types="public_channel,private_channel", exclude_archived=True)
                for conv in page.get("channels", []):
                    if conv.get("name") == name:
                        self._channel_ids[channel] = str(conv["id"])
                        self._channel_names[str(conv["id"])] = name
                        return str(conv["id"])
                cursor = (page.get("response_metadata") or {}).get("next_cursor") or ""
                if not cursor:
                    break
        except SlackError as exc:
            log.debug("cannot list Slack channels (%s); using %r as given", exc, channel)
        return channel

    async def find_message(self, incident: Incident, channel: str) -> SlackRef | None:
        """The incident's top-level message in `channel`, if one was posted (searched by metadata)."""
        uid = incident.metadata.uid or ""
        created = incident.metadata.creation_timestamp
        oldest = f"{(created - timedelta(minutes=5)).timestamp():.6f}" if created else "0"
        cursor = ""
        for _ in range(MAX_HISTORY_PAGES):
            try:
                page = await self._call("conversations.history", channel=channel, oldest=oldest, limit=200,
                                        include_all_metadata=True, cursor=cursor)
            except SlackError as exc:
                if "channel_not_found" in str(exc):
                    return None  # nothing was posted there; the post itself says whether the channel is usable
                raise
            for message in page.get("messages", []):
                if is_ours(message, uid):
                    return SlackRef(channel=channel, ts=str(message["ts"]))
            cursor = (page.get("response_metadata") or {}).get("next_cursor") or ""
            if not page.get("has_more") or not cursor:
                return None
        return None

    async def post_incident(self, incident: Incident, channel: str) -> tuple[SlackRef, bool]:
        """The incident's message in `channel`: found, or posted now. Returns (ref, posted_now)."""
        channel_id = await self.channel_id(channel)
        self._check_posting(channel_id)
        found = await self.find_message(incident, channel_id)
        if found is not None:
            return found, False
        text, blocks = build_message(incident, self._dashboard_url)
        data = await self._call("chat.postMessage", channel=channel_id, text=text, blocks=blocks,
                                metadata=message_metadata(incident), unfurl_links=False)
        ref = SlackRef(channel=str(data.get("channel") or channel_id), ts=str(data["ts"]))
        if ref.channel != channel_id:
            self._channel_ids[channel] = ref.channel
            self._channel_names[ref.channel] = self._channel_names.get(channel_id, channel_id.lstrip("#"))
        return ref, True

    async def update_incident(self, incident: Incident) -> None:
        """Edit the incident's message in place to show its current state."""
        ref = _ref(incident)
        text, blocks = build_message(incident, self._dashboard_url)
        await self._call("chat.update", channel=ref.channel, ts=ref.ts, text=text, blocks=blocks,
                         metadata=message_metadata(incident))

    async def reply_once(self, incident: Incident, key: str, text: str) -> bool:
        """Reply in the message's thread unless a reply with this `key` is already there.

        `key` names the reply (e.g. 'escalated', 'attempt-2-failed'); returns whether it posted now."""
        ref = _ref(incident)
        uid = incident.metadata.uid or ""
        self._check_posting(ref.channel)
        cursor = ""
        for _ in range(MAX_HISTORY_PAGES):
            page = await self._call("conversations.replies", channel=ref.channel, ts=ref.ts, limit=200,
                                    include_all_metadata=True, cursor=cursor)
            if any(is_ours(m, uid, key) for m in page.get("messages", [])):
                return False
            cursor = (page.get("response_metadata") or {}).get("next_cursor") or ""
            if not page.get("has_more") or not cursor:
                break
        await self._call("chat.postMessage", channel=ref.channel, thread_ts=ref.ts,
                         text=truncate(escape(text), 3000), metadata=message_metadata(incident, key))
        return True

    async def close(self) -> None:
        session = getattr(self._client, "session", None)
        if session is not None:
            await session.close()


def _ref(incident: Incident) -> SlackRef:
    notes = incident.status.notifications
    if notes is None or notes.slack is None:
        raise SlackError("the incident has no Slack message yet")
    return notes.slack


def seconds_until(moment: datetime, now: datetime) -> float:
    return max(0.0, (moment - now).total_seconds())
