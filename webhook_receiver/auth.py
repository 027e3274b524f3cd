"""Who may call the receiver: API keys, HTTP Basic (Databricks destinations), Jira and Slack signatures.

Every comparison is constant-time over all configured secrets (both sides are
hashed first, so lengths do not leak either). Secrets come from files (mounted
Secrets) that are re-read when they change, so keys rotate without a restart:
add the new key, move senders over, remove the old one.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import logging
import time
from collections.abc import Callable
from pathlib import Path

log = logging.getLogger(__name__)


def _digest(value: str | bytes) -> bytes:
    raw = value.encode() if isinstance(value, str) else value
    return hashlib.sha256(raw).digest()


class SecretLines:
    """Secrets, one per line, from a file and/or a fixed list; the file is re-read when its mtime changes."""

    def __init__(
        self,
        static: list[str] | None = None,
        path: Path | None = None,
        *,
        recheck_seconds: float = 5.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._static = [s for s in (static or []) if s]
        self._path = path
        self._recheck = recheck_seconds
        self._clock = clock
        self._checked_at = float("-inf")
        self._mtime: float | None = None
        self._from_file: list[str] = []
        self._digests: list[bytes] = [_digest(s) for s in self._static]

    def _refresh(self) -> None:
        if self._path is None or self._clock() - self._checked_at < self._recheck:
            return
        self._checked_at = self._clock()
        try:
            mtime = self._path.stat().st_mtime
            if mtime == self._mtime:
                return
            lines = [line.strip() for line in self._path.read_text().splitlines()]
        except OSError as exc:
            # Keep the last good secrets; a missing file at startup means none from the file.
            log.warning("cannot read secret file %s: %s", self._path, type(exc).__name__)
            return
        self._mtime = mtime
        self._from_file = [line for line in lines if line and not line.startswith("#")]
        self._digests = [_digest(s) for s in (*self._static, *self._from_file)]

    def configured(self) -> bool:
        self._refresh()
        return bool(self._digests)

    def secrets(self) -> list[str]:
        self._refresh()
        return [*self._static, *self._from_file]

    def matches(self, candidate: str | None) -> bool:
        """Whether `candidate` equals one of the secrets; every secret is compared (constant time)."""
        self._refresh()
        if candidate is None:
            return False
        probe = _digest(candidate)
        found = False
        for digest in self._digests:
            found |= hmac.compare_digest(probe, digest)
        return found


def basic_credentials(authorization: str | None) -> str | None:
    """'user:password' from an `Authorization: Basic ...` header, or None."""
    if not authorization:
        return None
    scheme, _, value = authorization.partition(" ")
    if scheme.lower() != "basic" or not value or len(value) > 4096:
        return None
    try:
        return base64.b64decode(value.strip(), validate=True).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError, ValueError):
        return None


class Authenticator:
    """The receiver's credential checks; pure over header values, no request objects."""

    def __init__(
        self,
        api_keys: SecretLines,
        basic: SecretLines,
        jira_secret: SecretLines,
        *,
        slack_secret: SecretLines | None = None,
        allow_unauthenticated: bool = False,
    ) -> None:
        self.api_keys = api_keys
        self.basic = basic
        self.jira_secret = jira_secret
        self.slack_secret = slack_secret or SecretLines()
        self.allow_unauthenticated = allow_unauthenticated

    def open(self) -> bool:
        """No credentials configured and explicitly allowed to run that way."""
        return self.allow_unauthenticated and not self.api_keys.configured() and not self.basic.configured()

    def api_key(self, header: str | None, query: str | None) -> bool:
        if self.open():
            return True
        # Evaluate both so timing does not say which one was tried.
        by_header = self.api_keys.matches(header)
        by_query = self.api_keys.matches(query)
        return by_header or by_query

    def api_key_or_basic(self, header: str | None, query: str | None, authorization: str | None) -> bool:
        by_key = self.api_key(header, query)
        by_basic = self.basic.matches(basic_credentials(authorization))
        return by_key or by_basic

    def jira_signature_required(self) -> bool:
        return self.jira_secret.configured()

    def jira_signature(self, header: str | None, body: bytes) -> bool:
        """`X-Hub-Signature: sha256=<hex HMAC-SHA256 of the raw body>` with any configured secret."""
        if not header:
            return False
        algorithm, _, received = header.strip().partition("=")
        if algorithm.lower() != "sha256" or not received:
            return False
        found = False
        for secret in self.jira_secret.secrets():
            expected = hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
            found |= hmac.compare_digest(expected.encode(), received.strip().lower().encode())
        return found

    def slack_configured(self) -> bool:
        return self.slack_secret.configured()

    def slack_signature(self, timestamp: str | None, signature: str | None, body: bytes, now: float) -> bool:
        """Slack's request signing, as Slack documents it.

        `X-Slack-Signature: v0=<hex HMAC-SHA256 of "v0:<X-Slack-Request-Timestamp>:<raw body>">` with the
        app's signing secret (any configured one, for rotation), compared in constant time; a timestamp
        more than five minutes from `now` (Unix seconds) is refused, so a captured request cannot be replayed.
        """
        return slack_signature_valid(self.slack_secret.secrets(), timestamp, signature, body, now)


SLACK_MAX_SKEW_SECONDS = 300


def slack_signature_valid(
    secrets: list[str], timestamp: str | None, signature: str | None, body: bytes, now: float,
) -> bool:
    """See `Authenticator.slack_signature`; pure over its inputs."""
    if not secrets or not timestamp or not signature:
        return False
    stamp = timestamp.strip()
    if not stamp.isdigit() or len(stamp) > 12 or abs(now - int(stamp)) > SLACK_MAX_SKEW_SECONDS:
        return False
    version, _, received = signature.strip().partition("=")
    if version != "v0" or not received:
        return False
    base = b"v0:" + stamp.encode() + b":" + body
    found = False
    for secret in secrets:
        expected = "v0=" + hmac.new(secret.encode(), base, hashlib.sha256).hexdigest()
        found |= hmac.compare_digest(expected.encode(), signature.strip().lower().encode())
    return found
