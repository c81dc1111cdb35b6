"""The client side of RFC 8628, the OAuth 2.0 Device Authorization Grant, against Zoom.

This module only asks and classifies; when to poll again is the caller's business, guided by
the `PollOutcome` returned here.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, field
from enum import Enum
from typing import Any

from bot.zoom.errors import OAuthError, ZoomProtocolError
from bot.zoom.oauth import OAuthClient, TokenSet, parse_token_answer

DEVICE_CODE_GRANT = "urn:ietf:params:oauth:grant-type:device_code"
DEFAULT_INTERVAL = 5  # RFC 8628 section 3.2, when the answer has no `interval`
SLOW_DOWN_STEP = 5  # RFC 8628 section 3.5


@dataclass(frozen=True)
class DeviceAuthorization:
    """A device authorization answer; `device_code` is secret and never shown to anyone."""

    device_code: str = field(repr=False)
    user_code: str
    verification_uri: str
    verification_uri_complete: str
    expires_at: float
    interval: int


class PollStatus(Enum):
    GRANTED = "granted"
    PENDING = "authorization_pending"
    SLOW_DOWN = "slow_down"
    DENIED = "access_denied"
    EXPIRED = "expired_token"
    FAILED = "failed"  # any other error: stop polling (RFC 8628 section 3.5)


@dataclass(frozen=True)
class PollOutcome:
    status: PollStatus
    tokens: TokenSet | None = None
    error: str | None = None


async def request_device_code(oauth: OAuthClient, now: float | None = None) -> DeviceAuthorization:
    """Start a device flow; Zoom takes the scopes from the app's configuration."""
    now = time.time() if now is None else now
    body = await oauth.post("/oauth/devicecode", {}, params={"client_id": oauth.client_id})
    return parse_device_authorization(body, now)


def parse_device_authorization(body: dict[str, Any], now: float) -> DeviceAuthorization:
    strings = {}
    for name in ("device_code", "user_code", "verification_uri"):
        value = body.get(name)
        if not isinstance(value, str) or not value:
            raise ZoomProtocolError(f"device authorization answer without {name}")
        strings[name] = value
    complete = body.get("verification_uri_complete")
    if not isinstance(complete, str) or not complete:
        complete = strings["verification_uri"]
    expires_in = body.get("expires_in")
    if isinstance(expires_in, bool) or not isinstance(expires_in, int | float) or expires_in <= 0:
        raise ZoomProtocolError("device authorization answer with a bad expires_in")
    interval = body.get("interval")
    if isinstance(interval, bool) or not isinstance(interval, int | float) or interval <= 0:
        interval = DEFAULT_INTERVAL
    return DeviceAuthorization(
        device_code=strings["device_code"],
        user_code=strings["user_code"],
        verification_uri=strings["verification_uri"],
        verification_uri_complete=complete,
        expires_at=now + float(expires_in),
        interval=max(1, math.ceil(interval)),  # never poll faster than asked
    )


async def poll_token(oauth: OAuthClient, device_code: str) -> PollOutcome:
    """Ask once whether the user has approved.

    Network trouble, 5xx and 429 propagate as ZoomUnavailable / ZoomRateLimited so the caller
    can back off and keep the flow alive; every OAuth answer becomes a PollOutcome.
    """
    try:
        body = await oauth.post(
            "/oauth/token", {"grant_type": DEVICE_CODE_GRANT, "device_code": device_code}
        )
    except OAuthError as exc:
        try:
            status = PollStatus(exc.error)
        except ValueError:
            status = PollStatus.FAILED
        if status is PollStatus.GRANTED:
            status = PollStatus.FAILED
        return PollOutcome(status, error=exc.error)
    return PollOutcome(PollStatus.GRANTED, tokens=parse_token_answer(body))
