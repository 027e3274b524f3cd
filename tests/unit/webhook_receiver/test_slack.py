"""Slack Approve/Deny clicks: signature verification, payload parsing, recording the first decision."""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import httpx
import pytest
from aiops_operator.api import ApprovalDecision
from aiops_operator.api.approval import SLACK_APPROVE_ACTION, SLACK_DENY_ACTION
from pydantic import ValidationError

from tests.support.apiserver import FakeApiServer
from tests.unit.webhook_receiver.goldens import NOW, WEBHOOKS
from tests.unit.webhook_receiver.test_app import settings_for
from webhook_receiver.app import Receiver, build_app, make_receiver
from webhook_receiver.auth import slack_signature_valid
from webhook_receiver.parsing import slack
from webhook_receiver.parsing.alerts import Unrecognized
from webhook_receiver.settings import ReceiverSettings

SECRET = "8f742231b10e8888abcd99yyyzzz85a5"
NAMESPACE, ATTEMPT = "data-platform", "dbx-spark-bigmem-1a2b3c4d5e-1"
GOLDEN = (WEBHOOKS / "slack" / "block-actions-approve.json").read_text()


def form(payload: str) -> bytes:
    return urlencode({"payload": payload}).encode()


def sign(body: bytes, timestamp: int, secret: str = SECRET) -> dict[str, str]:
    digest = hmac.new(secret.encode(), f"v0:{timestamp}:".encode() + body, hashlib.sha256).hexdigest()
    return {"x-slack-request-timestamp": str(timestamp), "x-slack-signature": f"v0={digest}",
            "content-type": "application/x-www-form-urlencoded"}


def payload(action_id: str = SLACK_APPROVE_ACTION, user: str = "U04ANA1234", name: str = "ana.silva") -> str:
    doc = json.loads(GOLDEN)
    doc["actions"][0]["action_id"] = action_id
    doc["user"].update({"id": user, "name": name, "username": name})
    return json.dumps(doc)


# --- signature --------------------------------------------------------------------------------------

BODY = form(GOLDEN)
NOW_S = 1_732_345_260


@pytest.mark.parametrize(("secrets", "headers", "now", "ok"), [
    pytest.param([SECRET], sign(BODY, NOW_S), NOW_S, True, id="valid"),
    pytest.param(["old-secret", SECRET], sign(BODY, NOW_S), NOW_S, True, id="valid-while-rotating"),
    pytest.param([SECRET], sign(BODY, NOW_S, "wrong-secret"), NOW_S, False, id="wrong-secret"),
    pytest.param([SECRET], sign(BODY, NOW_S - 301), NOW_S, False, id="stale-timestamp"),
    pytest.param([SECRET], sign(BODY, NOW_S + 301), NOW_S, False, id="future-timestamp"),
    pytest.param([SECRET], sign(BODY, NOW_S - 3600), NOW_S, False, id="replay-of-an-old-request"),
    pytest.param([SECRET], sign(BODY, NOW_S - 299), NOW_S, True, id="within-five-minutes"),
    pytest.param([SECRET], {"x-slack-signature": sign(BODY, NOW_S)["x-slack-signature"]}, NOW_S, False,
                 id="missing-timestamp"),
    pytest.param([SECRET], {"x-slack-request-timestamp": str(NOW_S)}, NOW_S, False, id="missing-signature"),
    pytest.param([SECRET], {**sign(BODY, NOW_S), "x-slack-signature": "v1=" + "0" * 64}, NOW_S, False,
                 id="other-version"),
    pytest.param([SECRET], {**sign(BODY, NOW_S), "x-slack-request-timestamp": "12ab"}, NOW_S, False,
                 id="timestamp-not-a-number"),
    pytest.param([], sign(BODY, NOW_S), NOW_S, False, id="no-secret-configured"),
])
def test_slack_signature(secrets: list[str], headers: dict[str, str], now: int, ok: bool) -> None:
    result = slack_signature_valid(secrets, headers.get("x-slack-request-timestamp"),
                                   headers.get("x-slack-signature"), BODY, now)
    assert result is ok


def test_signature_covers_the_body() -> None:
    headers = sign(BODY, NOW_S)
    tampered = form(payload(SLACK_DENY_ACTION))
    assert not slack_signature_valid([SECRET], headers["x-slack-request-timestamp"], headers["x-slack-signature"],
                                     tampered, NOW_S)


# --- parsing ------------------------------------------------------------------------------------------


def test_golden_block_actions_click() -> None:
    click = slack.parse(BODY)
    assert click == slack.Click(ApprovalDecision.APPROVED, NAMESPACE, ATTEMPT, "U04ANA1234", "ana.silva",
                                "https://hooks.slack.com/actions/T0CONTOSO1/7831928374/FAKEresponseURLtoken0123")


@pytest.mark.parametrize(("body", "expected"), [
    pytest.param(form(payload(SLACK_DENY_ACTION)), ApprovalDecision.DENIED, id="deny"),
    pytest.param(form(payload("open_dashboard")), None, id="dashboard-link-button"),
    pytest.param(form(json.dumps({"type": "view_closed", "user": {"id": "U1"}})), None, id="other-type"),
    pytest.param(form(GOLDEN.replace(f"{NAMESPACE}/{ATTEMPT}", "../../etc")), None, id="value-not-ours"),
])
def test_parse_decisions(body: bytes, expected: ApprovalDecision | None) -> None:
    click = slack.parse(body)
    assert (click.decision if click else None) == expected


@pytest.mark.parametrize("body", [
    pytest.param(b"payload=not-json", id="not-json"),
    pytest.param(b"", id="empty"),
    pytest.param(form("[1, 2]"), id="not-an-object"),
    pytest.param(form(json.dumps({"type": "block_actions", "actions": []})), id="no-user"),
    pytest.param(b"\xff\xfe", id="not-utf8"),
])
def test_parse_refuses_what_is_not_an_interaction(body: bytes) -> None:
    with pytest.raises(Unrecognized):
        slack.parse(body)


# --- the endpoint -------------------------------------------------------------------------------------


@pytest.fixture
def api() -> FakeApiServer:
    fake = FakeApiServer()
    fake.objects[("remediationattempts", NAMESPACE, ATTEMPT)] = {
        "metadata": {"name": ATTEMPT, "namespace": NAMESPACE, "resourceVersion": "7"},
        "status": {"phase": "AwaitingApproval"},
    }
    return fake


@pytest.fixture
def replies() -> list[tuple[str, dict[str, Any]]]:
    return []


async def _client(receiver: Receiver) -> AsyncIterator[httpx.AsyncClient]:
    app = build_app(receiver)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://receiver") as c:
        yield c


@pytest.fixture
def approvers() -> str | None:
    """AIOPS_RCA_RECEIVER_SLACK_APPROVERS of the receiver under test (tests override this fixture)."""
    return None


@pytest.fixture
async def client(tmp_path: Path, api: FakeApiServer, replies: list[tuple[str, dict[str, Any]]],
                 approvers: str | None) -> AsyncIterator[httpx.AsyncClient]:
    secret = tmp_path / "slack-signing-secret"
    secret.write_text(SECRET + "\n")
    settings = settings_for(tmp_path, slack_signing_secret_file=secret, slack_approvers=approvers)
    receiver = make_receiver(settings, api.client(), "ns", now=lambda: NOW)

    async def reply(url: str, message: dict[str, Any]) -> None:
        replies.append((url, message))

    receiver.slack_reply = reply
    async for c in _client(receiver):
        yield c


async def click(client: httpx.AsyncClient, body: bytes, headers: dict[str, str] | None = None) -> httpx.Response:
    return await client.post("/webhook/slack/interactions", content=body,
                             headers=headers if headers is not None else sign(body, int(time.time())))


async def test_first_click_is_recorded_and_a_second_changes_nothing(
    client: httpx.AsyncClient, api: FakeApiServer, replies: list[tuple[str, dict[str, Any]]],
) -> None:
    first = await click(client, BODY)
    assert first.status_code == 200, first.text
    assert first.json()["response_type"] == "ephemeral"
    assert "You approved" in first.json()["text"]
    approval = api.objects[("remediationattempts", NAMESPACE, ATTEMPT)]["status"]["approval"]
    assert approval == {"decision": "Approved", "by": "ana.silva (Slack user U04ANA1234)",
                        "time": "2026-11-23T07:00:00Z", "via": "Slack"}
    patches = [c for c in api.calls if c[0] == "PATCH"]
    assert patches == [("PATCH", f"/apis/aiops-rca.io/v1alpha1/namespaces/{NAMESPACE}/remediationattempts/{ATTEMPT}"
                                 "/status")]

    second = await click(client, form(payload(SLACK_DENY_ACTION, user="U0BOB56789", name="bob")))
    assert second.status_code == 200
    assert "already approved by ana.silva" in second.json()["text"]
    assert api.objects[("remediationattempts", NAMESPACE, ATTEMPT)]["status"]["approval"] == approval
    assert len([c for c in api.calls if c[0] == "PATCH"]) == 1
    await asyncio.sleep(0)  # the ephemeral answers go out off the request's path
    assert [url for url, _ in replies] == [
        "https://hooks.slack.com/actions/T0CONTOSO1/7831928374/FAKEresponseURLtoken0123"] * 2
    metrics = (await client.get("/metrics")).text
    assert 'endpoint="slack-interactions",outcome="slack_recorded"' in metrics
    assert 'endpoint="slack-interactions",outcome="slack_already_decided"' in metrics


async def test_forged_or_stale_click_is_401_and_records_nothing(client: httpx.AsyncClient,
                                                                 api: FakeApiServer) -> None:
    now = int(time.time())
    for headers in (sign(BODY, now, "forged"), sign(BODY, now - 600), {}):
        response = await click(client, BODY, headers)
        assert response.status_code == 401
    assert SECRET not in response.text
    assert "approval" not in api.objects[("remediationattempts", NAMESPACE, ATTEMPT)]["status"]
    assert not [c for c in api.calls if c[0] in ("GET", "PATCH")]


async def test_attempt_past_approval_or_unknown_is_answered_politely(client: httpx.AsyncClient,
                                                                     api: FakeApiServer) -> None:
    api.objects[("remediationattempts", NAMESPACE, ATTEMPT)]["status"]["phase"] = "Running"
    response = await click(client, BODY)
    assert response.status_code == 200
    assert "no longer waits for approval" in response.json()["text"]
    del api.objects[("remediationattempts", NAMESPACE, ATTEMPT)]
    response = await click(client, BODY)
    assert response.status_code == 200
    assert "There is no remediation attempt" in response.json()["text"]


async def test_not_a_click_is_ignored_and_garbage_is_422(client: httpx.AsyncClient) -> None:
    assert (await click(client, form(payload("open_dashboard")))).json() == {"status": "ignored"}
    assert (await click(client, b"payload=%7Bnope")).status_code == 422


async def test_disabled_without_a_signing_secret(tmp_path: Path, api: FakeApiServer) -> None:
    receiver = make_receiver(settings_for(tmp_path), api.client(), "ns", now=lambda: NOW)
    async for c in _client(receiver):
        response = await click(c, BODY)
        assert response.status_code == 404
        assert "AIOPS_RCA_RECEIVER_SLACK_SIGNING_SECRET_FILE" in response.json()["error"]


# --- who may decide: AIOPS_RCA_RECEIVER_SLACK_APPROVERS -------------------------------------------------

APPROVERS = "U04ANA1234,W0CAROL123"
RESPONSE_URL = "https://hooks.slack.com/actions/T0CONTOSO1/7831928374/FAKEresponseURLtoken0123"


@pytest.mark.parametrize(("value", "expected"), [
    pytest.param(None, frozenset(), id="unset-anyone"),
    pytest.param("", frozenset(), id="empty-anyone"),
    pytest.param(" , ", frozenset(), id="only-separators-anyone"),
    pytest.param("U012AB3CD", frozenset({"U012AB3CD"}), id="one"),
    pytest.param(" U012AB3CD , W045EF6GH,", frozenset({"U012AB3CD", "W045EF6GH"}), id="spaces-and-grid-ids"),
])
def test_approver_ids(tmp_path: Path, value: str | None, expected: frozenset[str]) -> None:
    assert settings_for(tmp_path, slack_approvers=value).slack_approver_ids() == expected


@pytest.mark.parametrize("value", [
    pytest.param("ana.silva", id="username"),
    pytest.param("@ana", id="mention"),
    pytest.param("U012AB3CD,u045ef6gh", id="lowercase-id"),
    pytest.param("S0APPROVERS", id="user-group-id"),
    pytest.param("C0DATAINC1", id="channel-id"),
])
def test_approvers_must_be_user_ids(tmp_path: Path, value: str) -> None:
    """Names and groups are refused at startup: the click carries neither reliably, so they would never match."""
    with pytest.raises(ValidationError, match="expected Slack user IDs"):
        settings_for(tmp_path, slack_approvers=value)


def test_approvers_come_from_the_environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("AIOPS_RCA_RECEIVER_SLACK_APPROVERS", "U012AB3CD,U045EF6GH")
    assert ReceiverSettings(spool_dir=tmp_path).slack_approver_ids() == {"U012AB3CD", "U045EF6GH"}


@pytest.mark.parametrize("approvers", [APPROVERS])
async def test_listed_approver_is_recorded(client: httpx.AsyncClient, api: FakeApiServer) -> None:
    response = await click(client, BODY)  # ana, U04ANA1234
    assert response.status_code == 200, response.text
    assert "You approved" in response.json()["text"]
    approval = api.objects[("remediationattempts", NAMESPACE, ATTEMPT)]["status"]["approval"]
    assert (approval["decision"], approval["by"]) == ("Approved", "ana.silva (Slack user U04ANA1234)")


@pytest.mark.parametrize("approvers", [APPROVERS])
@pytest.mark.parametrize("action", [SLACK_APPROVE_ACTION, SLACK_DENY_ACTION])
async def test_click_from_someone_not_listed_records_nothing(
    client: httpx.AsyncClient, api: FakeApiServer, replies: list[tuple[str, dict[str, Any]]],
    caplog: pytest.LogCaptureFixture, action: str,
) -> None:
    # ana.silva's name, someone else's ID: only the ID counts.
    response = await click(client, form(payload(action, user="U0MALLORY1", name="ana.silva")))
    assert response.status_code == 200, response.text
    verb = "Approve" if action == SLACK_APPROVE_ACTION else "Deny"
    assert response.json() == {
        "response_type": "ephemeral", "replace_original": False,
        "text": f"You are not on the approver list, so your {verb} of remediation attempt `{NAMESPACE}/{ATTEMPT}`"
                " was not recorded; nothing changed. Ask an approver to decide."}
    assert "approval" not in api.objects[("remediationattempts", NAMESPACE, ATTEMPT)]["status"]
    assert not [c for c in api.calls if c[0] in ("GET", "PATCH")], "the attempt is not even read"
    await asyncio.sleep(0)
    assert replies == [(RESPONSE_URL, response.json())]
    refused = [r for r in caplog.records if "refused" in r.getMessage()]
    assert [r.levelname for r in refused] == ["WARNING"]
    assert "U0MALLORY1" in refused[0].getMessage()
    logged = caplog.text
    assert SECRET not in logged
    assert "FAKEresponseURLtoken" not in logged
    metrics = (await client.get("/metrics")).text
    assert 'endpoint="slack-interactions",outcome="slack_not_an_approver"} 1.0' in metrics

    # An approver still decides afterwards: the refused click took nothing away.
    approver = await click(client, form(payload(action, user="W0CAROL123", name="carol")))
    assert "You approved" in approver.json()["text"] or "You denied" in approver.json()["text"]
    assert api.objects[("remediationattempts", NAMESPACE, ATTEMPT)]["status"]["approval"]["by"] == (
        "carol (Slack user W0CAROL123)")


@pytest.mark.parametrize("approvers", [None, ""])
async def test_without_a_list_anyone_in_the_channel_decides(client: httpx.AsyncClient, api: FakeApiServer) -> None:
    response = await click(client, form(payload(SLACK_DENY_ACTION, user="U0MALLORY1", name="mallory")))
    assert response.status_code == 200, response.text
    assert "You denied" in response.json()["text"]
    approval = api.objects[("remediationattempts", NAMESPACE, ATTEMPT)]["status"]["approval"]
    assert (approval["decision"], approval["by"]) == ("Denied", "mallory (Slack user U0MALLORY1)")


@pytest.mark.parametrize("approvers", [APPROVERS])
async def test_forged_click_from_a_listed_id_is_still_401(client: httpx.AsyncClient, api: FakeApiServer) -> None:
    """The list narrows who may decide; the signature still decides whether Slack sent the click at all."""
    response = await click(client, BODY, sign(BODY, int(time.time()), "forged"))
    assert response.status_code == 401
    assert "approval" not in api.objects[("remediationattempts", NAMESPACE, ATTEMPT)]["status"]
