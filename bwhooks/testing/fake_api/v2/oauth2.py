"""The OAuth2 token endpoint (client credentials), and which callers the v2 APIs let in:
a ``Bearer`` token it issued and that has not expired, or the API user's Basic credentials."""

from __future__ import annotations

import base64
import secrets
import time
from typing import Protocol

from werkzeug.wrappers import Request, Response

from bwhooks.auth import basic_authorization
from bwhooks.testing.fake_api.serving import json_response

__all__ = ["OAUTH2_PATH", "TokenEndpoint"]

#: Where the token endpoint is, on the fake's server.
OAUTH2_PATH = "/api/v1/oauth2/token"


class Credentials(Protocol):
    """What the token endpoint reads and writes of the fake."""

    client_id: str
    client_secret: str
    token_lifetime: int
    tokens: dict[str, float]

    def authorization(self) -> str: ...


class TokenEndpoint:
    """Issues access tokens to the fake's OAuth2 client, and checks what callers present."""

    def __init__(self, account: Credentials) -> None:
        self._account = account

    def grant(self, request: Request) -> Response:
        """The client-credentials grant (RFC 6749 error bodies: Bandwidth documents none)."""
        account = self._account
        expected = basic_authorization(account.client_id, account.client_secret)
        if request.headers.get("Authorization") != expected:
            error = {"error": "invalid_client", "error_description": "Bad client credentials"}
            return json_response(error, 401)
        if request.form.get("grant_type") != "client_credentials":
            error = {"error": "unsupported_grant_type", "error_description": "client_credentials"}
            return json_response(error, 400)
        token = base64.urlsafe_b64encode(secrets.token_bytes(24)).decode().rstrip("=")
        account.tokens[token] = time.time() + account.token_lifetime
        grant = {
            "access_token": token,
            "token_type": "Bearer",
            "expires_in": account.token_lifetime,
        }
        return json_response(grant)

    def authenticated(self, request: Request) -> bool:
        """Whether the request carries a live token of ours or the API user's credentials."""
        header = request.headers.get("Authorization", "")
        if header.startswith("Bearer "):
            expiry = self._account.tokens.get(header[len("Bearer ") :])
            return expiry is not None and expiry > time.time()
        return header == self._account.authorization()
