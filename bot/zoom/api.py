"""Zoom's REST API, called with a user's access token in the Authorization header only."""

from __future__ import annotations

import asyncio
import logging
import re
from dataclasses import dataclass
from typing import Any

import httpx

from bot.zoom.errors import (
    InvalidAccessToken,
    MissingScope,
    ZoomAPIError,
    ZoomError,
    ZoomProtocolError,
    ZoomRateLimited,
    ZoomUnavailable,
)
from bot.zoom.rate_limits import retry_after_seconds
from bot.zoom.transport import send

INVALID_ACCESS_TOKEN = 124
MISSING_SCOPE = 4700
MAX_TOPIC_LENGTH = 200

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class ZoomUser:
    id: str
    account_id: str
    email: str
    display_name: str


@dataclass(frozen=True)
class Meeting:
    """An instant meeting; `start_url` embeds the host's ZAK and is kept out of repr."""

    id: int
    topic: str
    join_url: str
    password: str
    start_url: str = ""

    def __repr__(self) -> str:
        return f"Meeting(id={self.id!r}, topic={self.topic!r})"


class ZoomAPI:
    """REST calls for one API base (`https://api.zoom.us/v2` or a user's own `api_url`)."""

    def __init__(self, http: httpx.AsyncClient, base_url: str) -> None:
        self.http = http
        self.base_url = base_url.rstrip("/")

    async def me(self, access_token: str) -> ZoomUser:
        body = await self._call("GET", "/users/me", access_token)
        user_id = body.get("id")
        email = body.get("email")
        if not isinstance(user_id, str) or not isinstance(email, str):
            raise ZoomProtocolError("users/me answer without id or email")
        name = body.get("display_name") or " ".join(
            part for part in (body.get("first_name"), body.get("last_name")) if part
        )
        account = body.get("account_id")
        return ZoomUser(
            id=user_id,
            account_id=account if isinstance(account, str) else "",
            email=email,
            display_name=name if isinstance(name, str) else "",
        )

    async def zak(self, access_token: str) -> str:
        body = await self._call("GET", "/users/me/zak", access_token)
        token = body.get("token")
        if not isinstance(token, str) or not token:
            raise ZoomProtocolError("users/me/zak answer without a token")
        return token

    async def create_instant_meeting(self, access_token: str, topic: str) -> Meeting:
        body = await self._call(
            "POST",
            "/users/me/meetings",
            access_token,
            json={"type": 1, "topic": topic[:MAX_TOPIC_LENGTH]},
        )
        meeting_id = body.get("id")
        join_url = body.get("join_url")
        if isinstance(meeting_id, bool) or not isinstance(meeting_id, int):
            raise ZoomProtocolError("meeting answer without a numeric id")
        if not isinstance(join_url, str) or not join_url:
            raise ZoomProtocolError("meeting answer without join_url")
        password = body.get("password")
        start_url = body.get("start_url")
        return Meeting(
            id=meeting_id,
            topic=str(body.get("topic") or topic),
            join_url=join_url,
            password=password if isinstance(password, str) else "",
            start_url=start_url if isinstance(start_url, str) else "",
        )

    async def _call(
        self, method: str, path: str, access_token: str, json: Any = None
    ) -> dict[str, Any]:
        response = await send(
            self.http,
            method,
            f"{self.base_url}{path}",
            json=json,
            headers={"Authorization": f"Bearer {access_token}"},
        )
        return read_api_answer(response)


def read_api_answer(response: httpx.Response) -> dict[str, Any]:
    status = response.status_code
    try:
        body = response.json()
    except ValueError:
        body = None
    if status == 429:
        code = body.get("code") if isinstance(body, dict) else None
        raise ZoomRateLimited(
            retry_after_seconds(response.headers), code=code if isinstance(code, int) else None
        )
    if status >= 500:
        raise ZoomUnavailable(f"Zoom answered HTTP {status}", status=status)
    if status >= 400:
        code = body.get("code") if isinstance(body, dict) else None
        message = str(body.get("message", "")) if isinstance(body, dict) else ""
        code = code if isinstance(code, int) and not isinstance(code, bool) else None
        if code == INVALID_ACCESS_TOKEN or (status == 401 and code is None):
            raise InvalidAccessToken(status, code, message)
        if code == MISSING_SCOPE:
            raise MissingScope(status, code, message, _scopes_named_in(message))
        raise ZoomAPIError(status, code, message)
    if not isinstance(body, dict):
        raise ZoomProtocolError(f"Zoom answered HTTP {status} without a JSON object")
    return body


def _scopes_named_in(message: str) -> list[str]:
    """Zoom names the missing scopes as `... does not contain scopes: [a, b].`"""
    match = re.search(r"\[([^\]]*)\]", message)
    if not match:
        return []
    return [scope.strip() for scope in match.group(1).split(",") if scope.strip()]


async def read_profile(api: ZoomAPI, access_token: str, attempts: int = 3) -> ZoomUser | None:
    """Who the tokens belong to; None when Zoom keeps failing (the tokens are kept anyway)."""
    for attempt in range(attempts):
        try:
            return await api.me(access_token)
        except (ZoomUnavailable, ZoomRateLimited):
            if attempt + 1 < attempts:
                await asyncio.sleep(2**attempt)
        except ZoomError as exc:
            log.warning("event=profile_unreadable code=%s", exc.code)
            return None
    log.warning("event=profile_unreadable code=unavailable")
    return None
