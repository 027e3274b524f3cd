"""API keys (rotation, files), HTTP Basic and Jira signatures."""

from __future__ import annotations

import base64
import hashlib
import hmac
import os
from pathlib import Path

import pytest

from webhook_receiver.auth import Authenticator, SecretLines, basic_credentials


def auth(keys: list[str] | None = None, basic: list[str] | None = None, jira: list[str] | None = None) -> Authenticator:
    return Authenticator(SecretLines(keys), SecretLines(basic), SecretLines(jira))


@pytest.mark.parametrize(
    ("header", "query", "ok"),
    [
        pytest.param("key-old", None, True, id="old-key-header"),
        pytest.param(None, "key-new", True, id="new-key-query"),
        pytest.param("wrong", None, False, id="wrong"),
        pytest.param(None, None, False, id="missing"),
        pytest.param("", "", False, id="empty"),
        pytest.param("key-old ", None, False, id="trailing-space"),
        pytest.param("wrong", "key-new", True, id="either-place"),
        pytest.param("ключ", None, False, id="non-ascii"),
    ],
)
def test_api_keys(header: str | None, query: str | None, ok: bool) -> None:
    assert auth(["key-old", "key-new"]).api_key(header, query) is ok


def test_no_keys_means_nobody_unless_explicitly_open() -> None:
    assert not auth([]).api_key("anything", None)
    open_auth = Authenticator(SecretLines(), SecretLines(), SecretLines(), allow_unauthenticated=True)
    assert open_auth.api_key(None, None)


def test_key_file_is_reread_when_it_changes(tmp_path: Path) -> None:
    path = tmp_path / "keys"
    path.write_text("# rotated monthly\nfirst\n\n")
    clock = [0.0]
    keys = SecretLines(path=path, recheck_seconds=5, clock=lambda: clock[0])
    assert keys.matches("first")
    assert not keys.matches("# rotated monthly")
    path.write_text("first\nsecond\n")
    os.utime(path, (1, 1))
    assert not keys.matches("second")  # not re-checked yet
    clock[0] = 10
    assert keys.matches("second")


def test_unreadable_key_file_keeps_the_last_good_keys(tmp_path: Path) -> None:
    path = tmp_path / "keys"
    path.write_text("first\n")
    clock = [0.0]
    keys = SecretLines(path=path, recheck_seconds=1, clock=lambda: clock[0])
    assert keys.matches("first")
    path.unlink()
    clock[0] = 5
    assert keys.matches("first")


def _basic(value: str) -> str:
    return "Basic " + base64.b64encode(value.encode()).decode()


@pytest.mark.parametrize(
    ("authorization", "ok"),
    [
        pytest.param(_basic("databricks:s3cret-pass"), True, id="right"),
        pytest.param(_basic("databricks:wrong"), False, id="wrong-password"),
        pytest.param("Basic !!!notbase64", False, id="garbage"),
        pytest.param("Bearer abc", False, id="other-scheme"),
        pytest.param(None, False, id="missing"),
        pytest.param("Basic " + base64.b64encode(b"\xff\xfe").decode(), False, id="not-utf8"),
    ],
)
def test_basic(authorization: str | None, ok: bool) -> None:
    assert auth(["k"], basic=["databricks:s3cret-pass"]).api_key_or_basic(None, None, authorization) is ok


def test_basic_credentials_parsing() -> None:
    assert basic_credentials(_basic("u:p:with:colons")) == "u:p:with:colons"


def test_jira_signature() -> None:
    body = b'{"webhookEvent": "jira:issue_updated"}'
    good = "sha256=" + hmac.new(b"jira-secret", body, hashlib.sha256).hexdigest()
    a = auth(jira=["jira-secret"])
    assert a.jira_signature_required()
    assert a.jira_signature(good, body)
    assert a.jira_signature(good.upper().replace("SHA256", "sha256"), body)
    assert not a.jira_signature(good, body + b" ")
    assert not a.jira_signature("sha1=" + good[7:], body)
    assert not a.jira_signature(None, body)
    assert not a.jira_signature("sha256=", body)
    assert not auth().jira_signature_required()
