"""Settings from flags and environment, and who gets in."""

from __future__ import annotations

import argparse
import base64
import re
from pathlib import Path

import pytest

from dashboard import auth
from dashboard.settings import AuthMode, Settings, SettingsError, add_arguments, from_args

REMOTE = "192.0.2.10"  # any non-loopback address
STATIC = Path(__file__).resolve().parents[3] / "dashboard" / "static"


def parse(argv: list[str], env: dict[str, str] | None = None) -> Settings:
    env = env or {}
    parser = argparse.ArgumentParser()
    add_arguments(parser, env)
    return from_args(parser.parse_args(argv), env)


def test_defaults_are_loopback_without_auth() -> None:
    s = parse([])
    assert (s.host, s.port, s.auth, s.namespaces) == ("127.0.0.1", 8080, AuthMode.NONE, ())


def test_environment_and_flags() -> None:
    s = parse(["--port", "9000"], {"AIOPS_RCA_DASHBOARD_NAMESPACES": "a, b", "AIOPS_RCA_DASHBOARD_PORT": "1"})
    assert s.port == 9000
    assert s.namespaces == ("a", "b")


@pytest.mark.parametrize(
    ("argv", "env", "message"),
    [
        pytest.param(["--host", REMOTE], {}, "without authentication", id="remote-without-auth"),
        pytest.param(["--auth", "basic"], {}, "basic-auth-file", id="basic-without-users"),
        pytest.param(["--auth", "token"], {}, "token-file", id="token-without-token"),
        pytest.param(["--auth", "magic"], {}, "must be one of", id="unknown-mode"),
        pytest.param(["--port", "x"], {}, "not a number", id="bad-number"),
    ],
)
def test_refuses(argv: list[str], env: dict[str, str], message: str) -> None:
    with pytest.raises(SettingsError, match=message):
        parse(argv, env)


def test_remote_without_auth_when_asked() -> None:
    assert parse(["--host", REMOTE, "--allow-remote-without-auth"]).host == REMOTE


def _basic(user: str, password: str) -> dict[str, str]:
    return {"authorization": "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()}


def test_basic_auth(tmp_path: Path) -> None:
    users = tmp_path / "users"
    users.write_text("# on-call\nalice:s3cret\nbob:pw\n")
    s = parse(["--auth", "basic", "--basic-auth-file", str(users), "--host", REMOTE])
    assert auth.authenticate(s, _basic("alice", "s3cret"), {}) == "alice"
    assert auth.authenticate(s, _basic("alice", "wrong"), {}) is None
    assert auth.authenticate(s, {"authorization": "Basic !!!"}, {}) is None
    assert auth.authenticate(s, {}, {}) is None


def test_token_auth_header_or_cookie() -> None:
    s = parse(["--auth", "token"], {"AIOPS_RCA_DASHBOARD_TOKEN": "tok"})
    assert auth.authenticate(s, {"authorization": "Bearer tok"}, {}) == "token"
    assert auth.authenticate(s, {"authorization": "Bearer nope"}, {}) is None
    assert auth.authenticate(s, {}, {auth.COOKIE: auth.session_value("tok")}) == "token"
    assert auth.authenticate(s, {}, {auth.COOKIE: "tok"}) is None, "the cookie never holds the token itself"


def test_proxy_header_auth() -> None:
    s = parse(["--auth", "proxy"])
    assert auth.authenticate(s, {"x-auth-request-user": "carol"}, {}) == "carol"
    assert auth.authenticate(s, {"x-forwarded-user": " dave "}, {}) == "dave"
    assert auth.authenticate(s, {}, {}) is None


def test_front_end_never_parses_data_as_html() -> None:
    """Root causes come from LLMs and alerts: the front end builds DOM with textContent only."""
    forbidden = re.compile(
        r"innerHTML|outerHTML|insertAdjacentHTML|document\.write|\beval\(|new Function|setAttribute\(\"on"
    )
    for path in sorted(STATIC.rglob("*.js")):
        assert not forbidden.search(path.read_text()), f"{path.name} builds HTML from strings"
    for path in sorted(STATIC.rglob("*.html")):
        text = path.read_text()
        assert not re.search(r"\son[a-z]+=", text), f"{path.name} has an inline event handler"
        assert not re.search(r"<script(?![^>]*\bsrc=)[^>]*>", text), f"{path.name} has an inline script"
        assert not re.search(r"\sstyle=", text), f"{path.name} has an inline style"
