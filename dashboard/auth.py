"""Who may look: nobody checked (loopback default), basic auth, a bearer token, or an auth proxy's header.

Browsers cannot put a bearer token on an EventSource, so token mode also
accepts a cookie set by a small login form; the cookie holds an HMAC of the
token, never the token itself. /healthz and /metrics stay open for probes and
scrapers (they carry counts only, no incident data).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from collections.abc import Mapping
from urllib.parse import parse_qs

from starlette.requests import Request
from starlette.responses import PlainTextResponse, RedirectResponse, Response
from starlette.types import ASGIApp, Receive, Scope, Send

from dashboard.settings import AuthMode, Settings

COOKIE = "aiops_rca_dashboard"
OPEN_PATHS = frozenset({"/healthz", "/metrics", "/login", "/static/app.css", "/static/login.css"})
REALM = "aiops-rca dashboard"


def session_value(token: str) -> str:
    return hmac.new(token.encode(), b"aiops-rca-dashboard-session", hashlib.sha256).hexdigest()


def _basic_user(header: str, users: tuple[tuple[str, str], ...]) -> str | None:
    scheme, _, encoded = header.partition(" ")
    if scheme.lower() != "basic":
        return None
    try:
        user, _, password = base64.b64decode(encoded, validate=True).decode().partition(":")
    except (ValueError, UnicodeDecodeError):
        return None
    ok = False
    for known_user, known_password in users:
        # Compare every entry so timing does not reveal which user exists.
        ok |= hmac.compare_digest(user.encode(), known_user.encode()) & hmac.compare_digest(
            password.encode(), known_password.encode()
        )
    return user if ok else None


def authenticate(settings: Settings, headers: Mapping[str, str], cookies: Mapping[str, str]) -> str | None:
    """The user's name ('' when auth is off), or None when the request is not allowed."""
    if settings.auth is AuthMode.NONE:
        return ""
    if settings.auth is AuthMode.BASIC:
        return _basic_user(headers.get("authorization", ""), settings.basic_users)
    if settings.auth is AuthMode.TOKEN:
        token = settings.token or ""
        scheme, _, given = headers.get("authorization", "").partition(" ")
        if scheme.lower() == "bearer" and hmac.compare_digest(given.strip().encode(), token.encode()):
            return "token"
        cookie = cookies.get(COOKIE, "")
        return "token" if cookie and hmac.compare_digest(cookie.encode(), session_value(token).encode()) else None
    for name in settings.proxy_headers:
        user = headers.get(name.lower(), "").strip()
        if user:
            return user
    return None


def _denied(settings: Settings, path: str) -> Response:
    if settings.auth is AuthMode.BASIC:
        return PlainTextResponse(
            "authentication required", status_code=401, headers={"WWW-Authenticate": f'Basic realm="{REALM}"'}
        )
    if settings.auth is AuthMode.TOKEN and not path.startswith("/api/"):
        return RedirectResponse("/login", status_code=303)
    return PlainTextResponse("authentication required", status_code=401)


class AuthMiddleware:
    def __init__(self, app: ASGIApp, settings: Settings) -> None:
        self.app = app
        self.settings = settings

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"] in OPEN_PATHS:
            await self.app(scope, receive, send)
            return
        request = Request(scope)
        user = authenticate(self.settings, request.headers, request.cookies)
        if user is None:
            await _denied(self.settings, scope["path"])(scope, receive, send)
            return
        scope.setdefault("state", {})["user"] = user
        await self.app(scope, receive, send)


async def login(request: Request, settings: Settings, page: bytes) -> Response:
    """Token mode's form: GET shows it, POST checks the token and sets the session cookie."""
    if settings.auth is not AuthMode.TOKEN:
        return RedirectResponse("/", status_code=303)
    if request.method == "GET":
        return Response(page, media_type="text/html; charset=utf-8")
    body = (await request.body())[:4096].decode(errors="replace")
    given = (parse_qs(body).get("token") or [""])[0].strip()
    token = settings.token or ""
    if not hmac.compare_digest(given.encode(), token.encode()):
        return RedirectResponse("/login?failed=1", status_code=303)
    response = RedirectResponse("/", status_code=303)
    response.set_cookie(
        COOKIE,
        session_value(token),
        httponly=True,
        samesite="strict",
        secure=request.url.scheme == "https" or request.headers.get("x-forwarded-proto") == "https",
        max_age=12 * 3600,
    )
    return response
