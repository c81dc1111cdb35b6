"""Button presses (`block_actions`)."""

from __future__ import annotations

from slack_bolt.async_app import AsyncAck, AsyncApp

from bot.services import Services
from bot.slack.pairing_dm import OPEN_LINK_ACTION


def register(app: AsyncApp, services: Services) -> None:
    @app.action(OPEN_LINK_ACTION)
    async def open_link(ack: AsyncAck) -> None:
        """A URL button opens its link in the browser; Slack still wants the press acked."""
        await ack()
