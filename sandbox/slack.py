"""Slack Web API: chat.postMessage / chat.update, conversations.history / replies, auth.test.

slack-sdk posts JSON or form bodies (and GETs with query strings) to
`<base_url><method>`, with the bot token as a Bearer header. Errors are HTTP
200 with `{"ok": false, "error": "..."}`, except rate limiting: HTTP 429,
`error: ratelimited` and a Retry-After header (when: sandbox/ratelimits.py).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from starlette.responses import Response
from starlette.routing import Route

from sandbox.endpoint import ApiError, Exchange, LimitKeys, endpoint, json_response, retry_after_header
from sandbox.ratelimits import Limit, slack_keys
from sandbox.scenario import Scenario

if TYPE_CHECKING:
    from sandbox.world import World

TEAM_ID = "T0SANDBOX"
BOT_USER_ID = "U0AIOPSBOT"
BOT_ID = "B0AIOPSBOT"


@dataclass
class Message:
    ts: str
    text: str
    blocks: list[Any] | None
    attachments: list[Any] | None
    thread_ts: str | None
    edits: list[dict[str, Any]] = field(default_factory=list)
    """Earlier versions, oldest first: {"text", "blocks", "replaced_at"}."""
    metadata: Any = None

    def as_wire(self, replies: list[Message], include_metadata: bool = False) -> dict[str, Any]:
        body: dict[str, Any] = {
            "type": "message", "user": BOT_USER_ID, "bot_id": BOT_ID,
            "app_id": "A0AIOPSRCA", "text": self.text, "ts": self.ts, "team": TEAM_ID,
        }
        if include_metadata and self.metadata is not None:
            # Slack returns message metadata from history/replies only with include_all_metadata=true.
            body["metadata"] = self.metadata
        if self.blocks is not None:
            body["blocks"] = self.blocks
        if self.attachments is not None:
            body["attachments"] = self.attachments
        if self.edits:
            body["edited"] = {"user": BOT_USER_ID, "ts": self.edits[-1]["replaced_at"]}
        if self.thread_ts is not None:
            body["thread_ts"] = self.thread_ts
            if self.thread_ts != self.ts:
                body["parent_user_id"] = BOT_USER_ID
        if replies:
            body.update({"thread_ts": self.ts, "reply_count": len(replies), "reply_users": [BOT_USER_ID],
                         "reply_users_count": 1, "latest_reply": replies[-1].ts})
        return body


@dataclass
class Channel:
    id: str
    name: str
    messages: list[Message] = field(default_factory=list)

    def find(self, ts: str) -> Message | None:
        return next((m for m in self.messages if m.ts == ts), None)

    def replies_to(self, ts: str) -> list[Message]:
        return [m for m in self.messages if m.thread_ts == ts and m.ts != ts]

    def top_level(self) -> list[Message]:
        return [m for m in self.messages if m.thread_ts is None or m.thread_ts == m.ts]


class SlackState:
    def __init__(self, scenario: Scenario) -> None:
        self.channels: dict[str, Channel] = {}
        self.strict = False
        self._last_ts = 0.0
        self.apply(scenario)

    def apply(self, scenario: Scenario) -> None:
        for name in scenario.slack.channels:
            self.strict = True
            self._create(name.lstrip("#"))

    def _create(self, name: str) -> Channel:
        channel = Channel(id=f"C{len(self.channels) + 1:08d}", name=name)
        self.channels[channel.id] = channel
        return channel

    def channel(self, ref: str, create: bool = False) -> Channel:
        """A channel by id or name (with or without #); unknown names are created unless channels are listed."""
        ref = (ref or "").strip()
        if ref in self.channels:
            return self.channels[ref]
        name = ref.lstrip("#")
        for channel in self.channels.values():
            if channel.name == name:
                return channel
        if create and name and not self.strict and not name.startswith(("C0", "D0", "G0")):
            return self._create(name)
        raise ApiError(200, "channel_not_found", "")

    def new_ts(self, now: float) -> str:
        """Message timestamps are unique per workspace and increase, like Slack's."""
        ts = max(round(now, 6), round(self._last_ts + 0.000001, 6))
        self._last_ts = ts
        return f"{ts:.6f}"

    def post(self, ref: str, text: str, blocks: Any, attachments: Any, thread_ts: str | None,
             metadata: Any, now: float) -> tuple[Channel, Message]:
        channel = self.channel(ref, create=True)
        if not text and not blocks and not attachments:
            raise ApiError(200, "no_text", "")
        if thread_ts is not None:
            parent = channel.find(thread_ts)
            if parent is None:
                raise ApiError(200, "thread_not_found", "")
            thread_ts = parent.thread_ts or parent.ts
        message = Message(ts=self.new_ts(now), text=text, blocks=blocks, attachments=attachments,
                          thread_ts=thread_ts, metadata=metadata)
        channel.messages.append(message)
        return channel, message

    def update(self, ref: str, ts: str, text: str | None, blocks: Any, attachments: Any,
               now: float) -> tuple[Channel, Message]:
        channel = self.channel(ref)
        message = channel.find(ts)
        if message is None:
            raise ApiError(200, "message_not_found", "")
        message.edits.append({"text": message.text, "blocks": message.blocks, "replaced_at": self.new_ts(now)})
        if text is not None:
            message.text = text
        if blocks is not None:
            message.blocks = blocks
        if attachments is not None:
            message.attachments = attachments
        return channel, message

    def view(self, ref: str) -> dict[str, Any]:
        """The channel as a person sees it: messages oldest first, each with its edits and thread."""
        channel = self.channel(ref)

        def show(m: Message) -> dict[str, Any]:
            return {"ts": m.ts, "text": m.text, "blocks": m.blocks, "attachments": m.attachments,
                    "edits": m.edits, "edit_count": len(m.edits)}

        return {
            "id": channel.id, "name": channel.name,
            "messages": [{**show(m), "replies": [show(r) for r in channel.replies_to(m.ts)]}
                         for m in channel.top_level()],
        }


def slack_error(err: ApiError) -> Response:
    # A 429 is always `ratelimited` on the wire, whichever limit (err.code names it) ran out.
    code = "ratelimited" if err.status == 429 else err.code or {
        401: "invalid_auth", 500: "internal_error", 503: "service_unavailable", 504: "request_timeout",
    }.get(err.status, "fatal_error")
    status = 429 if code == "ratelimited" and err.status == 200 else err.status
    headers = retry_after_header(err)
    if status == 429 and not headers:
        headers = {"Retry-After": "1"}
    body: dict[str, Any] = {"ok": False, "error": code}
    if err.message:
        body["warning"] = err.message
    return json_response(body, status, headers)


def _json_field(value: Any) -> Any:
    """Form-encoded calls send blocks/attachments as JSON strings."""
    if isinstance(value, str) and value.strip().startswith(("[", "{")):
        try:
            return json.loads(value)
        except ValueError:
            return value
    return value


def _flag(value: Any) -> bool:
    return value is True or str(value or "").lower() in ("true", "1")


class SlackApi:
    """The Slack Web API slice: one method per endpoint."""

    def __init__(self, world: World) -> None:
        self.world = world

    def check(self, ex: Exchange) -> None:
        token = ex.bearer() or ex.field("token")
        if not token:
            raise ApiError(200, "not_authed", "")
        if token != self.world.credentials.slack_bot_token:
            raise ApiError(200, "invalid_auth", "")

    async def post_message(self, ex: Exchange) -> Response:
        self.check(ex)
        thread_ts = ex.field("thread_ts")
        channel, message = self.world.slack.post(
            str(ex.field("channel") or ""), str(ex.field("text") or ""), _json_field(ex.field("blocks")),
            _json_field(ex.field("attachments")), str(thread_ts) if thread_ts else None,
            _json_field(ex.field("metadata")), ex.now)
        ex.call.target.update({"channel": channel.id, "channel_name": channel.name, "ts": message.ts,
                               "thread_ts": message.thread_ts})
        return json_response({"ok": True, "channel": channel.id, "ts": message.ts,
                              "message": message.as_wire([])})

    async def update(self, ex: Exchange) -> Response:
        self.check(ex)
        text = ex.field("text")
        channel, message = self.world.slack.update(
            str(ex.field("channel") or ""), str(ex.field("ts") or ""), str(text) if text is not None else None,
            _json_field(ex.field("blocks")), _json_field(ex.field("attachments")), ex.now)
        ex.call.target.update({"channel": channel.id, "channel_name": channel.name, "ts": message.ts})
        return json_response({"ok": True, "channel": channel.id, "ts": message.ts, "text": message.text,
                              "message": message.as_wire(channel.replies_to(message.ts))})

    def page(self, messages: list[dict[str, Any]], ex: Exchange) -> dict[str, Any]:
        limit = int(ex.field("limit") or 100)
        offset = int(ex.field("cursor") or 0)
        chunk = messages[offset: offset + limit]
        more = offset + limit < len(messages)
        return {"ok": True, "messages": chunk, "has_more": more,
                "response_metadata": {"next_cursor": str(offset + limit) if more else ""}}

    def in_window(self, ts: str, ex: Exchange) -> bool:
        oldest, latest = ex.field("oldest"), ex.field("latest")
        inclusive = str(ex.field("inclusive") or "").lower() in ("true", "1")
        value = float(ts)
        if oldest and (value < float(oldest) or (value == float(oldest) and not inclusive)):
            return False
        return not (latest and (value > float(latest) or (value == float(latest) and not inclusive)))

    async def history(self, ex: Exchange) -> Response:
        self.check(ex)
        channel = self.world.slack.channel(str(ex.field("channel") or ""))
        ex.call.target["channel"] = channel.id
        meta = _flag(ex.field("include_all_metadata"))
        newest_first = [m.as_wire(channel.replies_to(m.ts), meta) for m in reversed(channel.top_level())
                        if self.in_window(m.ts, ex)]
        return json_response(self.page(newest_first, ex))

    async def replies(self, ex: Exchange) -> Response:
        self.check(ex)
        channel = self.world.slack.channel(str(ex.field("channel") or ""))
        ts = str(ex.field("ts") or "")
        ex.call.target.update({"channel": channel.id, "ts": ts})
        parent = channel.find(ts)
        if parent is None:
            raise ApiError(200, "thread_not_found", "")
        root = channel.find(parent.thread_ts) if parent.thread_ts else parent
        root = root or parent
        thread = [root, *channel.replies_to(root.ts)]
        meta = _flag(ex.field("include_all_metadata"))
        wires = [m.as_wire(channel.replies_to(m.ts) if m is root else [], meta) for m in thread
                 if self.in_window(m.ts, ex) or m is root]
        return json_response(self.page(wires, ex))

    async def auth_test(self, ex: Exchange) -> Response:
        self.check(ex)
        return json_response({"ok": True, "url": f"{ex.base_url}/", "team": "aiops-rca sandbox", "user": "aiops-rca",
                              "team_id": TEAM_ID, "user_id": BOT_USER_ID, "bot_id": BOT_ID, "is_enterprise_install":
                              False})

    async def unknown(self, ex: Exchange) -> Response:
        self.check(ex)
        raise ApiError(200, "unknown_method", "")

    def limit_keys(self, method: str) -> LimitKeys:
        """The Slack rate limits a call of `method` counts against (chat.postMessage: per channel).

        A channel is keyed by name: posting by id or by name is one bucket, and so is the first post,
        which creates the channel (its id does not exist yet)."""

        def keys(ex: Exchange) -> list[tuple[str, str, Limit]]:
            channel = None
            if method == "chat.postMessage":
                ref = str(ex.field("channel") or "")
                try:
                    channel = self.world.slack.channel(ref).name
                except ApiError:
                    channel = ref.strip().lstrip("#")
            return slack_keys(self.world.plumbing.limiter.limits.slack, method, channel)

        return keys

    def route(self, method: str, handler: Any) -> Route:
        return Route(f"/slack/api/{method}", endpoint(self.world.plumbing, "slack", method, handler, slack_error,
                                                      self.limit_keys(method)), methods=["GET", "POST"])

    def routes(self) -> list[Route]:
        return [
            self.route("chat.postMessage", self.post_message),
            self.route("chat.update", self.update),
            self.route("conversations.history", self.history),
            self.route("conversations.replies", self.replies),
            self.route("auth.test", self.auth_test),
            Route("/slack/api/{method}", _unknown_method(self.world, self.unknown), methods=["GET", "POST"]),
        ]


def routes(world: World) -> list[Route]:
    return SlackApi(world).routes()


def _unknown_method(world: World, handler: Any) -> Any:
    async def run(request: Any) -> Response:
        op = str(request.path_params.get("method", "unknown"))
        return await endpoint(world.plumbing, "slack", op, handler, slack_error)(request)

    return run
