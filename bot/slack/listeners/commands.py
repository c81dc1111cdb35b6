"""The `/zoom` slash command and its subcommands.

Every subcommand acks first (Slack allows 3 seconds) and does its slow work afterwards,
answering through `respond`, which posts to the command's response_url.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from typing import Any

from slack_bolt.async_app import AsyncAck, AsyncApp, AsyncRespond

from bot.pairing import DirectMessageFailed
from bot.services import Services
from bot.slack import replies
from bot.store import UserKey
from bot.zoom.errors import ZoomError

log = logging.getLogger(__name__)

COMMAND = "/zoom"

Subcommand = Callable[[Services, dict[str, Any], str, AsyncAck, AsyncRespond], Awaitable[None]]


def user_key(payload: dict[str, Any]) -> UserKey:
    """Key a request by workspace, enterprise (when present) and user."""
    user = payload.get("user")
    user_id = payload.get("user_id") or (user.get("id") if isinstance(user, dict) else "")
    team = payload.get("team")
    team_id = payload.get("team_id") or (team.get("id") if isinstance(team, dict) else "")
    enterprise = payload.get("enterprise")
    enterprise_id = payload.get("enterprise_id") or (
        enterprise.get("id") if isinstance(enterprise, dict) else ""
    )
    return UserKey(team_id=team_id or "", user_id=user_id or "", enterprise_id=enterprise_id or "")


async def pair(
    services: Services, command: dict[str, Any], _: str, ack: AsyncAck, respond: AsyncRespond
) -> None:
    key = user_key(command)
    existing = services.store.get_pairing(key)
    await ack(
        response_type="ephemeral",
        text=replies.pairing_started(existing.zoom_email if existing else None),
    )
    await start_pairing(services, key, command.get("response_url", ""), respond)


async def start_pairing(
    services: Services, key: UserKey, response_url: str, respond: AsyncRespond
) -> None:
    """Start the device flow after the ack; also used by the "Pair Zoom" buttons."""
    try:
        await services.pairing.start(key, response_url)
    except ZoomError as exc:
        log.warning("event=pairing_not_started user=%s code=%s", key.user_id, exc.code)
        await respond(
            response_type="ephemeral",
            text=replies.zoom_problem(exc, "start pairing", "/zoom pair"),
        )
    except DirectMessageFailed as exc:
        await respond(response_type="ephemeral", text=replies.dm_failed(exc.error))


async def show_help(
    services: Services, command: dict[str, Any], _: str, ack: AsyncAck, respond: AsyncRespond
) -> None:
    await ack(response_type="ephemeral", text=replies.HELP)


SUBCOMMANDS: dict[str, Subcommand] = {
    "pair": pair,
    "help": show_help,
}


def register(app: AsyncApp, services: Services) -> None:
    @app.command(COMMAND)
    async def zoom(ack: AsyncAck, command: dict[str, Any], respond: AsyncRespond) -> None:
        word, _, rest = (command.get("text") or "").strip().partition(" ")
        handler = SUBCOMMANDS.get(word.lower(), show_help)
        try:
            await handler(services, command, rest.strip(), ack, respond)
        except Exception:
            log.exception(
                "event=command_failed subcommand=%s user=%s", word.lower(), command.get("user_id")
            )
            if ack.response is None:
                await ack(response_type="ephemeral", text=replies.BUG)
            else:
                await respond(response_type="ephemeral", text=replies.BUG)
