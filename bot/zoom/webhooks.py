"""Verifying Zoom's webhooks (event subscriptions) and reading the events the bot acts on.

Framework-free on purpose: the web layer passes headers and the raw body in and maps
`WebhookRejected.status` to its answer, so the checks can be tested without a server.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

URL_VALIDATION = "endpoint.url_validation"
APP_DEAUTHORIZED = "app_deauthorized"

SIGNATURE_HEADER = "x-zm-signature"
TIMESTAMP_HEADER = "x-zm-request-timestamp"
DEFAULT_TOLERANCE = 300.0  # Zoom: reject timestamps more than 5 minutes from now


class WebhookRejected(Exception):
    """A webhook the bot must not act on; `status` is the HTTP answer to give Zoom."""

    status: int = 400

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class WebhookUnauthorized(WebhookRejected):
    """Not provably from Zoom, or replayed: missing/bad signature, missing/stale timestamp."""

    status = 401


class WebhookMalformed(WebhookRejected):
    """Signed by Zoom but not an event we can read (not JSON, not an object, missing fields)."""

    status = 400


@dataclass(frozen=True)
class Deauthorization:
    """A user removed the app: delete everything the bot holds for `user_id`."""

    account_id: str
    user_id: str
    client_id: str
    deauthorization_time: str


class WebhookVerifier:
    """Checks that a request is a fresh webhook signed with the app's secret token."""

    def __init__(
        self,
        secret_token: str,
        *,
        tolerance: float = DEFAULT_TOLERANCE,
        clock: Callable[[], float] = time.time,
    ) -> None:
        # An empty secret would make every signature computable by anyone.
        if not secret_token:
            raise ValueError("secret_token must not be empty")
        if tolerance < 0:
            raise ValueError("tolerance must not be negative")
        self._secret = secret_token
        self._tolerance = tolerance
        self._clock = clock

    def __repr__(self) -> str:
        return f"WebhookVerifier(tolerance={self._tolerance})"  # never show the secret

    def verify(self, headers: Mapping[str, str], body: bytes) -> dict[str, Any]:
        """The parsed event if signature and timestamp hold; `WebhookRejected` otherwise."""
        lowered = {name.lower(): value for name, value in headers.items()}
        signature = lowered.get(SIGNATURE_HEADER)
        timestamp = lowered.get(TIMESTAMP_HEADER)
        if not signature:
            raise WebhookUnauthorized("missing signature")
        if not timestamp:
            raise WebhookUnauthorized("missing timestamp")
        # ASCII digits only (int() also takes " 12", "+12", "1_2" and other scripts' digits), and
        # few enough that int() cannot refuse them: Unix seconds have 10.
        if not (timestamp.isascii() and timestamp.isdigit() and len(timestamp) <= 12):
            raise WebhookUnauthorized("bad timestamp")
        if abs(self._clock() - int(timestamp)) > self._tolerance:
            raise WebhookUnauthorized("stale timestamp")
        expected = "v0=" + _sign(self._secret, b"v0:%s:%s" % (timestamp.encode(), body))
        if not hmac.compare_digest(expected.encode(), signature.encode("utf-8", "replace")):
            raise WebhookUnauthorized("bad signature")
        return _parse_event(body)

    def url_validation_answer(self, plain_token: str) -> dict[str, str]:
        """The answer Zoom expects to `endpoint.url_validation`, proving we hold the secret."""
        return {
            "plainToken": plain_token,
            "encryptedToken": _sign(self._secret, plain_token.encode()),
        }


def parse_url_validation(event: Mapping[str, Any]) -> str:
    """The `plainToken` of a URL validation event, to pass to `url_validation_answer`."""
    token = _payload(event, URL_VALIDATION).get("plainToken")
    if not isinstance(token, str) or not token:
        raise WebhookMalformed("missing payload.plainToken")
    return token


def parse_deauthorization(event: Mapping[str, Any]) -> Deauthorization:
    """The typed `app_deauthorized` payload; empty ids are refused, they identify nobody."""
    payload = _payload(event, APP_DEAUTHORIZED)
    fields = ("account_id", "user_id", "client_id", "deauthorization_time")
    values: dict[str, str] = {}
    for name in fields:
        value = payload.get(name)
        if not isinstance(value, str) or not value:
            raise WebhookMalformed(f"missing payload.{name}")
        values[name] = value
    return Deauthorization(**values)


def _parse_event(body: bytes) -> dict[str, Any]:
    try:
        event = json.loads(body)
    except (ValueError, RecursionError):  # bad JSON or UTF-8; absurd nesting
        raise WebhookMalformed("malformed body") from None
    if not isinstance(event, dict):
        raise WebhookMalformed("malformed body")
    if not isinstance(event.get("event"), str):
        raise WebhookMalformed("missing event")
    return event


def _payload(event: Mapping[str, Any], name: str) -> Mapping[str, Any]:
    if event.get("event") != name:
        raise WebhookMalformed(f"not an {name} event")
    payload = event.get("payload")
    if not isinstance(payload, dict):
        raise WebhookMalformed("missing payload")
    return payload


def _sign(secret_token: str, message: bytes) -> str:
    """Hex HMAC-SHA256, the primitive behind both Zoom's signatures and URL validation."""
    return hmac.new(secret_token.encode(), message, hashlib.sha256).hexdigest()
