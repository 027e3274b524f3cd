"""Azure AD (Microsoft Entra ID) client-credentials flow, as MSAL and azure-identity drive it.

MSAL first reads `/{tenant}/v2.0/.well-known/openid-configuration` (tenant
discovery), then posts the client credentials to the token endpoint named
there. Instance discovery (a call to the public cloud's host) must be turned
off on the client: `disable_instance_discovery=True`.
"""

from __future__ import annotations

import base64
import json
import secrets
from typing import TYPE_CHECKING, Any

from starlette.responses import Response
from starlette.routing import Route

from sandbox.endpoint import ApiError, Exchange, endpoint, json_response, retry_after_header

if TYPE_CHECKING:
    from sandbox.world import World

TOKEN_LIFETIME_SECONDS = 3599


def _b64(data: dict[str, Any]) -> str:
    return base64.urlsafe_b64encode(json.dumps(data).encode()).rstrip(b"=").decode()


class AadState:
    """Access tokens this sandbox issued. Kept across resets: SDK clients cache their tokens."""

    def __init__(self) -> None:
        self.issued: set[str] = set()

    def issue(self, tenant: str, client_id: str, scope: str, base_url: str, now: float) -> str:
        claims = {
            "aud": scope.removesuffix("/.default").split(" ")[0],
            "iss": f"{base_url}/{tenant}/v2.0",
            "tid": tenant, "appid": client_id, "oid": client_id, "sub": client_id,
            "iat": int(now), "nbf": int(now), "exp": int(now) + TOKEN_LIFETIME_SECONDS,
            "jti": secrets.token_hex(8),
        }
        token = f"{_b64({'typ': 'JWT', 'alg': 'none'})}.{_b64(claims)}.sandbox"
        self.issued.add(token)
        return token

    def knows(self, token: str) -> bool:
        return token in self.issued


def aad_error(err: ApiError) -> Response:
    """The OAuth 2.0 error body Entra ID returns."""
    code = err.code or ("temporarily_unavailable" if err.status >= 500 else "invalid_request")
    return json_response({
        "error": code,
        "error_description": err.message or f"AADSTS90000: the request failed with status {err.status}.",
        "error_codes": [90000],
        "timestamp": "", "trace_id": "", "correlation_id": "",
    }, err.status, retry_after_header(err))


def routes(world: World) -> list[Route]:
    async def openid_configuration(ex: Exchange) -> Response:
        tenant = ex.path_params["tenant"]
        base = f"{ex.base_url}/{tenant}"
        return json_response({
            "token_endpoint": f"{base}/oauth2/v2.0/token",
            "token_endpoint_auth_methods_supported": ["client_secret_post", "private_key_jwt",
                                                      "client_secret_basic"],
            "jwks_uri": f"{ex.base_url}/{tenant}/discovery/v2.0/keys",
            "response_modes_supported": ["query", "fragment", "form_post"],
            "subject_types_supported": ["pairwise"],
            "id_token_signing_alg_values_supported": ["RS256"],
            "response_types_supported": ["code", "id_token", "code id_token", "id_token token"],
            "scopes_supported": ["openid", "profile", "email", "offline_access"],
            "issuer": f"{base}/v2.0",
            "authorization_endpoint": f"{base}/oauth2/v2.0/authorize",
            "device_authorization_endpoint": f"{base}/oauth2/v2.0/devicecode",
            "end_session_endpoint": f"{base}/oauth2/v2.0/logout",
            "tenant_region_scope": "EU",
            "cloud_instance_name": "sandbox",
        })

    async def token(ex: Exchange) -> Response:
        body = ex.body if isinstance(ex.body, dict) else {}
        grant = body.get("grant_type")
        if grant != "client_credentials":
            raise ApiError(400, "unsupported_grant_type",
                           f"AADSTS70003: The app requested an unsupported grant type '{grant}'.")
        client_id = str(body.get("client_id", ""))
        if body.get("client_secret") != world.credentials.azure_client_secret:
            raise ApiError(401, "invalid_client",
                           "AADSTS7000215: Invalid client secret provided. Ensure the secret being sent in the"
                           f" request is the client secret value, not the client secret ID, for app '{client_id}'.")
        scope = str(body.get("scope") or body.get("resource") or "")
        tenant = ex.path_params["tenant"]
        ex.call.target.update({"tenant": tenant, "client_id": client_id, "scope": scope})
        access = world.aad.issue(tenant, client_id, scope, ex.base_url, ex.now)
        return json_response({
            "token_type": "Bearer",
            "expires_in": TOKEN_LIFETIME_SECONDS,
            "ext_expires_in": TOKEN_LIFETIME_SECONDS,
            "access_token": access,
        })

    def route(path: str, op: str, handler: Any, method: str) -> Route:
        return Route(path, endpoint(world.plumbing, "aad", op, handler, aad_error), methods=[method])

    return [
        route("/{tenant}/v2.0/.well-known/openid-configuration", "openid-configuration",
              openid_configuration, "GET"),
        route("/{tenant}/oauth2/v2.0/token", "token", token, "POST"),
    ]
