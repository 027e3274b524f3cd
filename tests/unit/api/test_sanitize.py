from __future__ import annotations

import pytest
from aiops_operator.api.sanitize import REDACTED, clean_text, redact_secrets, strip_control, truncate


@pytest.mark.parametrize(
    ("text", "secret"),
    [
        pytest.param(
            "DefaultEndpointsProtocol=https;AccountName=st;AccountKey=abc123XYZ+/==;EndpointSuffix=core",
            "abc123XYZ", id="storage-connection-string"),
        pytest.param("Server=tcp:x.database.windows.net;User ID=etl;Password=Sup3r$ecret!;", "Sup3r$ecret",
                     id="sql-password"),
        pytest.param("GET https://st.blob.core.windows.net/c/f.csv?sv=2021&sp=r&sig=AbCd%2BeF%3D",
                     "AbCd%2BeF", id="sas-sig"),
        pytest.param("Authorization: Bearer eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.c2lnbmF0dXJlMTIz",
                     "eyJhbGciOiJSUzI1NiJ9", id="bearer-jwt"),
        pytest.param("token dapi0123456789abcdef0123456789abcdef rejected", "dapi0123456789abcdef",
                     id="databricks-pat"),
        pytest.param("jdbc:postgresql://etl:hunter2@db:5432/x", "hunter2", id="url-credentials"),
        pytest.param('{"client_secret": "s3cr3t-value"}', "s3cr3t-value", id="json-client-secret"),
        pytest.param("xoxb-123456789012-abcdefghijkl", "abcdefghijkl", id="slack-token"),
        pytest.param("PersonalAccessToken=pat0123456789abcdef;", "pat0123456789abcdef", id="compound-token-name"),
        pytest.param("Ocp-Apim-Subscription-Key: 0123456789abcdef0123", "0123456789abcdef0123", id="apim-key-header"),
        pytest.param('{"db_password": "hunter2-prod"}', "hunter2-prod", id="compound-password-name"),
        pytest.param("-----BEGIN RSA PRIVATE KEY-----\nMIIEowIBAAKCAQEA7\n-----END RSA PRIVATE KEY-----",
                     "MIIEowIBAAKCAQEA7", id="pem-private-key"),
        pytest.param("aws key AKIAIOSFODNN7EXAMPLE used", "AKIAIOSFODNN7EXAMPLE", id="aws-access-key-id"),
        pytest.param("ghp_" + "a1B2" * 9 + " leaked", "a1B2a1B2a1B2", id="github-token"),
    ],
)
def test_secrets_are_redacted(text: str, secret: str) -> None:
    out = redact_secrets(text)
    assert secret not in out
    assert REDACTED in out


def test_plain_error_text_is_untouched() -> None:
    text = "Operation on target Copy_Sales failed: ErrorCode=2200 Execution Timeout Expired."
    assert redact_secrets(text) == text


@pytest.mark.parametrize(
    "text",
    [
        pytest.param("Failed to get the secret from key vault, secretName: sql-conn, secretVersion: ,", id="kv-names"),
        pytest.param("AADSTS7000222: The provided client secret keys for app 'x' are expired.", id="aadsts-prose"),
        pytest.param("max_tokens: 800 exceeded; Invalid access token.", id="token-prose"),
    ],
)
def test_error_prose_about_secrets_is_kept(text: str) -> None:
    assert redact_secrets(text) == text


def test_emails_only_when_asked() -> None:
    text = "Login failed for user alice@contoso.com"
    assert redact_secrets(text) == text
    assert "alice@contoso.com" not in redact_secrets(text, emails=True)


def test_control_characters_are_stripped() -> None:
    assert strip_control("a\x00b\x1b[31mc\r\nd\te\x85") == "ab[31mc\nd\te"


def test_truncate_says_so() -> None:
    out = truncate("x" * 100, 20)
    assert len(out) == 20
    assert out.endswith("[truncated]")
    assert truncate("short", 20) == "short"


def test_clean_text_bounds_anything() -> None:
    huge = "Password=hunter2 " + "ü" * 1_000_000
    out = clean_text(huge, 500)
    assert len(out) <= 500
    assert "hunter2" not in out
    assert clean_text(None, 10) == ""
    assert clean_text(12345, 10) == "12345"
