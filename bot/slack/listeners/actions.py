"""Button presses (`block_actions`)."""

from __future__ import annotations

import re
from typing import Any

from slack_bolt.async_app import AsyncAck, AsyncApp, AsyncRespond

from bot.services import Services
from bot.slack import replies
from bot.slack.listeners.commands import start_pairing, user_key
from bot.slack.meeting_messages import JOIN_ACTION, PAIR_ACTION, START_AS_HOST_ACTION
from bot.slack.pairing_dm import OPEN_LINK_ACTION

#: Buttons that only open a link; Slack still sends the press and wants it acked.
URL_BUTTONS = (OPEN_LINK_ACTION, JOIN_ACTION, START_AS_HOST_ACTION)


def register(app: AsyncApp, services: Services) -> None:
    @app.action(re.compile(f"^({'|'.join(URL_BUTTONS)})$"))
    async def open_link(ack: AsyncAck) -> None:
        await ack()

    @app.action(PAIR_ACTION)
    async def pair_button(ack: AsyncAck, body: dict[str, Any], respond: AsyncRespond) -> None:
        """The "Pair Zoom" button under a `/zoom meet` that found no pairing."""
        await ack()
        key = user_key(body)
        await respond(
            replace_original=True,
            response_type="ephemeral",
            text=replies.pairing_started(None),
        )
        await start_pairing(services, key, body.get("response_url", ""), respond)
