"""The last resort: a listener failed unexpectedly. Log it and still answer the person."""

from __future__ import annotations

import logging
from typing import Any

from slack_bolt.async_app import AsyncApp
from slack_sdk.web.async_client import AsyncWebClient
from slack_sdk.webhook.async_client import AsyncWebhookClient

from bot.services import Services
from bot.slack import replies
from bot.slack.listeners.commands import user_key
from bot.slack.listeners.events import publish_home

log = logging.getLogger(__name__)


def register(app: AsyncApp, services: Services) -> None:
    @app.error
    async def listener_failed(
        error: Exception, body: dict[str, Any], client: AsyncWebClient
    ) -> None:
        log.error("event=listener_failed error=%s", type(error).__name__, exc_info=error)
        try:
            response_url = body.get("response_url")
            if isinstance(response_url, str) and response_url:
                await AsyncWebhookClient(response_url).send(
                    text=replies.BUG, response_type="ephemeral"
                )
            elif (body.get("view") or {}).get("type") == "home":
                await publish_home(services, client, user_key(body), replies.BUG)
        except Exception as exc:
            log.warning("event=error_report_failed error=%s", type(exc).__name__)
