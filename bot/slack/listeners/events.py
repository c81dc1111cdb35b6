"""Events API: the App Home tab and the workspace leaving (uninstall, revoked tokens)."""

from __future__ import annotations

import logging
from typing import Any

from slack_bolt.async_app import AsyncApp, AsyncBoltContext
from slack_bolt.listener.async_builtins import AsyncTokenRevocationListeners
from slack_sdk.web.async_client import AsyncWebClient

from bot.services import Services
from bot.slack.app_home import home_view
from bot.store import UserKey

log = logging.getLogger(__name__)


async def publish_home(
    services: Services, client: AsyncWebClient, key: UserKey, notice: str = ""
) -> None:
    view = home_view(
        services.store.get_pairing(key), services.pairing.pending(key) is not None, notice
    )
    await client.views_publish(user_id=key.user_id, view=view)


def register(app: AsyncApp, services: Services) -> None:
    revocation = (
        AsyncTokenRevocationListeners(services.installations)
        if services.installations is not None
        else None
    )

    @app.event("app_home_opened")
    async def home_opened(
        event: dict[str, Any], context: AsyncBoltContext, client: AsyncWebClient
    ) -> None:
        if event.get("tab", "home") != "home":
            return
        user = event.get("user")
        key = UserKey(
            team_id=context.team_id or "",
            user_id=user if isinstance(user, str) else "",
            enterprise_id=context.enterprise_id or "",
        )
        if key.known:
            await publish_home(services, client, key)

    @app.event("app_uninstalled")
    async def uninstalled(context: AsyncBoltContext) -> None:
        await services.pairing.forget_workspace(context.team_id or "", context.enterprise_id or "")
        if revocation is not None:
            await revocation.handle_app_uninstalled_events(context)

    @app.event("tokens_revoked")
    async def tokens_revoked(event: dict[str, Any], context: AsyncBoltContext) -> None:
        log.info("event=slack_tokens_revoked team=%s", context.team_id)
        if revocation is not None:
            await revocation.handle_tokens_revoked_events(event, context)
