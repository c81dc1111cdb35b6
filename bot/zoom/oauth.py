"""Zoom's OAuth endpoints: one place that authenticates the app and reads OAuth answers.

Every request uses HTTP Basic auth with the app's credentials and sends codes and tokens in the
form body only, so no secret ends up in a URL, a proxy log or an httpx log line.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

import httpx

from bot.zoom.errors import OAuthError, ZoomProtocolError, ZoomRateLimited, ZoomUnavailable
from bot.zoom.rate_limits import retry_after_seconds
from bot.zoom.transport import send


@dataclass(frozen=True)
class TokenSet:
    """What a successful token request grants; tokens stay out of repr and so out of logs."""

    access_token: str = field(repr=False)
    refresh_token: str = field(repr=False)
    expires_at: float
    scopes: tuple[str, ...]
    api_url: str | None = None


def parse_token_answer(body: dict[str, Any], now: float | None = None) -> TokenSet:
    """Turn a token endpoint answer into a TokenSet, refusing anything malformed."""
    now = time.time() if now is None else now
    access = body.get("access_token")
    refresh = body.get("refresh_token")
    expires_in = body.get("expires_in", 3599)
    if not isinstance(access, str) or not access or not isinstance(refresh, str) or not refresh:
        raise ZoomProtocolError("token answer without access_token or refresh_token")
    if isinstance(expires_in, bool) or not isinstance(expires_in, int | float) or expires_in <= 0:
        raise ZoomProtocolError("token answer with a bad expires_in")
    scope = body.get("scope", "")
    api_url = body.get("api_url")
    return TokenSet(
        access_token=access,
        refresh_token=refresh,
        expires_at=now + float(expires_in),
        scopes=tuple(scope.split()) if isinstance(scope, str) else (),
        api_url=api_url.rstrip("/") if isinstance(api_url, str) and api_url else None,
    )


class OAuthClient:
    """The app's side of Zoom's OAuth server (`/oauth/devicecode`, `/oauth/token`, revoke)."""

    def __init__(
        self,
        http: httpx.AsyncClient,
        *,
        oauth_url: str,
        client_id: str,
        client_secret: str,
    ) -> None:
        self.http = http
        self.oauth_url = oauth_url.rstrip("/")
        self.client_id = client_id
        self._auth = httpx.BasicAuth(client_id, client_secret)

    async def post(
        self, path: str, form: dict[str, str], *, params: dict[str, str] | None = None
    ) -> dict[str, Any]:
        """POST a form to the OAuth server and return its JSON answer.

        Raises OAuthError for a refusal with an OAuth error body (whatever the status, as Zoom
        does not document it), ZoomRateLimited for 429, ZoomUnavailable for network trouble
        and 5xx, ZoomProtocolError for an answer that is not the JSON object promised.
        """
        response = await send(
            self.http, "POST", f"{self.oauth_url}{path}", data=form, params=params, auth=self._auth
        )
        return read_oauth_answer(response)

    async def refresh(self, refresh_token: str) -> TokenSet:
        body = await self.post(
            "/oauth/token", {"grant_type": "refresh_token", "refresh_token": refresh_token}
        )
        return parse_token_answer(body)

    async def revoke(self, token: str) -> None:
        await self.post("/oauth/revoke", {"token": token})


#: Zoom codes that mean the user's grant is gone: user deleted (4735), app disabled by an admin
#: (4738), tokens revoked by a newer authorization (4741). Treated like `invalid_grant`.
GRANT_GONE_CODES = frozenset({4735, 4738, 4741})


def read_oauth_answer(response: httpx.Response) -> dict[str, Any]:
    status = response.status_code
    if status == 429:
        raise ZoomRateLimited(retry_after_seconds(response.headers))
    body = _json_object(response)
    if body is not None and 400 <= status < 500 and body.get("code") in GRANT_GONE_CODES:
        raise OAuthError("invalid_grant", f"Zoom code {body['code']}", status=status)
    # Zoom does not document the status of its OAuth errors: an `error` field is one, whatever
    # the status (short of 5xx, which is Zoom failing, and 429, handled above).
    if body is not None and isinstance(body.get("error"), str) and status < 500:
        reason = body.get("reason") or body.get("error_description") or ""
        raise OAuthError(body["error"], str(reason), status=status)
    if status >= 500:
        raise ZoomUnavailable(f"Zoom answered HTTP {status}", status=status)
    if status >= 400:
        raise OAuthError("invalid_request", f"HTTP {status}", status=status)
    if body is None:
        raise ZoomProtocolError(f"Zoom answered HTTP {status} without a JSON object")
    return body


def _json_object(response: httpx.Response) -> dict[str, Any] | None:
    try:
        body = response.json()
    except ValueError:
        return None
    return body if isinstance(body, dict) else None
