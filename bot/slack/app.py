"""The bolt app: Slack's signature check, authorization and our listeners."""

from __future__ import annotations

from slack_bolt.async_app import AsyncApp
from slack_sdk.web.async_client import AsyncWebClient

from bot.config import Settings
from bot.services import Services
from bot.slack import listeners


def build_app(settings: Settings, services: Services) -> AsyncApp:
    app = AsyncApp(
        signing_secret=settings.slack_signing_secret or "",
        client=AsyncWebClient(token=settings.slack_bot_token, base_url=settings.slack_api_url),
        # Socket Mode requests arrive unsigned over an authenticated socket.
        request_verification_enabled=not settings.socket_mode,
        # A long-running server answers Slack as soon as a listener acks.
        process_before_response=False,
    )
    listeners.register(app, services)
    return app
