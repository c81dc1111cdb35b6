"""Button presses (`block_actions`), in messages and on the App Home tab."""

from __future__ import annotations

import re
from typing import Any

from slack_bolt.async_app import AsyncAck, AsyncApp, AsyncRespond
from slack_sdk.errors import SlackClientError
from slack_sdk.web.async_client import AsyncWebClient

from bot.services import Services
from bot.slack import meeting_messages, replies
from bot.slack.app_home import HOME_MEET_ACTION, HOME_PAIR_ACTION, HOME_UNPAIR_ACTION
from bot.slack.listeners.commands import start_meeting, start_pairing, try_pairing, user_key
from bot.slack.listeners.events import publish_home
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
        key, response_url = user_key(body), body.get("response_url")
        if not (key.known and isinstance(response_url, str) and response_url):
            return  # not a press Slack would send: nobody to answer
        await respond(
            replace_original=True, response_type="ephemeral", text=replies.pairing_started(None)
        )
        await start_pairing(services, key, response_url, respond)

    # The Home tab has no response_url: answers go into the tab itself, links into a DM.

    @app.action(HOME_PAIR_ACTION)
    async def home_pair(ack: AsyncAck, body: dict[str, Any], client: AsyncWebClient) -> None:
        await ack()
        key = user_key(body)
        if not key.known:
            return  # not a press Slack would send: nobody to answer
        notice = await try_pairing(services, key)
        await publish_home(services, client, key, notice or "")

    @app.action(HOME_MEET_ACTION)
    async def home_meet(ack: AsyncAck, body: dict[str, Any], client: AsyncWebClient) -> None:
        await ack()
        key = user_key(body)
        if not key.known:
            return  # not a press Slack would send: nobody to answer
        started = await start_meeting(services, key, "")
        if isinstance(started, str):
            await publish_home(services, client, key, started)
            return
        try:
            for text, blocks in (
                meeting_messages.channel_card(key.user_id, started.meeting),
                meeting_messages.host_card(started),
            ):
                await client.chat_postMessage(channel=key.user_id, text=text, blocks=blocks)
            notice = "Your meeting is ready: I sent you its links in a direct message."
        except SlackClientError:
            notice = replies.dm_failed("could not post")
        await publish_home(services, client, key, notice)

    @app.action(HOME_UNPAIR_ACTION)
    async def home_unpair(ack: AsyncAck, body: dict[str, Any], client: AsyncWebClient) -> None:
        await ack()
        key = user_key(body)
        if not key.known:
            return  # not a press Slack would send: nobody to answer
        result = await services.pairing.unpair(key)
        notice = (
            replies.unpaired(result.email, result.revoked)
            if result.had_pairing
            else replies.NOTHING_TO_UNPAIR
        )
        await publish_home(services, client, key, notice)
