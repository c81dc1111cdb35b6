"""The `/zoom` slash command and its subcommands.

Every subcommand acks first (Slack allows 3 seconds) and does its Zoom work afterwards,
answering through `respond`, which posts to the command's response_url.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from typing import Any

from slack_bolt.async_app import AsyncAck, AsyncApp, AsyncRespond

from bot.meetings import StartedMeeting
from bot.pairing import DirectMessageFailed, PairingLimited
from bot.services import Services
from bot.slack import meeting_messages, replies
from bot.slack.pairing_dm import slack_date
from bot.store import UserKey
from bot.tokens import NotPaired, PairingExpired
from bot.zoom.errors import ZoomError

log = logging.getLogger(__name__)

COMMAND = "/zoom"

Subcommand = Callable[[Services, dict[str, Any], str, AsyncAck, AsyncRespond], Awaitable[None]]


def user_key(payload: dict[str, Any]) -> UserKey:
    """Key a request by workspace, enterprise (when present) and user.

    Slash commands carry flat `team_id`/`user_id`; interaction payloads nest them.
    """
    return UserKey(
        team_id=_id_of(payload, "team"),
        user_id=_id_of(payload, "user"),
        enterprise_id=_id_of(payload, "enterprise"),
    )


def _id_of(payload: dict[str, Any], name: str) -> str:
    """`{name}_id` (commands) or `{name}: {"id": ...}` (interactions); "" unless a string."""
    value = payload.get(f"{name}_id")
    if not value:
        nested = payload.get(name)
        value = nested.get("id") if isinstance(nested, dict) else None
    return value if isinstance(value, str) else ""


async def pair(
    services: Services, command: dict[str, Any], _: str, ack: AsyncAck, respond: AsyncRespond
) -> None:
    key = user_key(command)
    exceeded = services.pairing.check_limits(key)
    if exceeded is not None:
        await ack(response_type="ephemeral", text=replies.pairing_limited(exceeded))
        return
    existing = services.store.get_pairing(key)
    await ack(
        response_type="ephemeral",
        text=replies.pairing_started(existing.zoom_email if existing else None),
    )
    await start_pairing(services, key, command.get("response_url", ""), respond)


async def start_pairing(
    services: Services, key: UserKey, response_url: str, respond: AsyncRespond
) -> None:
    """Start the device flow after the ack; also used by the "Pair Zoom" button."""
    problem = await try_pairing(services, key, response_url)
    if problem is not None:
        await respond(response_type="ephemeral", text=problem)


async def try_pairing(services: Services, key: UserKey, response_url: str = "") -> str | None:
    """Start the device flow, or return the sentence that tells the person why it did not."""
    try:
        await services.pairing.start(key, response_url)
    except ZoomError as exc:
        log.warning("event=pairing_not_started user=%s code=%s", key.user_id, exc.code)
        return replies.zoom_problem(exc, "start pairing", "/zoom pair")
    except DirectMessageFailed as exc:
        return replies.dm_failed(exc.error)
    except PairingLimited as exc:
        return replies.pairing_limited(exc.exceeded)
    return None


async def start_meeting(services: Services, key: UserKey, topic: str) -> StartedMeeting | str:
    """Start a meeting, or return the sentence that tells the person why it did not start."""
    try:
        return await services.meetings.start(key, topic)
    except NotPaired:
        return meeting_messages.not_paired()[0]
    except PairingExpired:
        return replies.PAIRING_EXPIRED
    except ZoomError as exc:
        log.warning("event=meeting_not_started user=%s code=%s", key.user_id, exc.code)
        return replies.zoom_problem(exc, "start the meeting", "/zoom meet")


async def meet(
    services: Services, command: dict[str, Any], topic: str, ack: AsyncAck, respond: AsyncRespond
) -> None:
    key = user_key(command)
    if services.store.get_pairing(key) is None:
        text, blocks = meeting_messages.not_paired()
        await ack(response_type="ephemeral", text=text, blocks=blocks)
        return
    await ack()
    started = await start_meeting(services, key, topic)
    if isinstance(started, str):
        await respond(response_type="ephemeral", text=started)
        return
    text, blocks = meeting_messages.channel_card(key.user_id, started.meeting)
    posted = await respond(response_type="in_channel", text=text, blocks=blocks)
    if posted.status_code != 200:
        log.warning("event=meeting_post_failed user=%s status=%s", key.user_id, posted.status_code)
        text = replies.channel_post_failed(started.meeting.join_url)
        await respond(response_type="ephemeral", text=text)
    text, blocks = meeting_messages.host_card(started)
    await respond(response_type="ephemeral", text=text, blocks=blocks)


async def status(
    services: Services, command: dict[str, Any], _: str, ack: AsyncAck, respond: AsyncRespond
) -> None:
    key = user_key(command)
    pairing = services.store.get_pairing(key)
    pending = services.pairing.pending(key) is not None
    lines = []
    if pairing is None:
        lines.append("You have no Zoom account linked. Run `/zoom pair` to link one.")
    else:
        account = f"*{pairing.zoom_email}*" if pairing.zoom_email else "a Zoom account"
        lines.append(f"Paired with Zoom as {account} since {slack_date(pairing.paired_at)}.")
        scopes = ", ".join(f"`{scope}`" for scope in pairing.scopes.split()) or "none"
        lines.append(f"Granted scopes: {scopes}.")
    if pending:
        lines.append("A pairing is waiting for your approval: check your DMs for the code.")
    await ack(response_type="ephemeral", text="\n".join(lines))


async def unpair(
    services: Services, command: dict[str, Any], _: str, ack: AsyncAck, respond: AsyncRespond
) -> None:
    await ack()
    result = await services.pairing.unpair(user_key(command))
    if result.had_pairing:
        text = replies.unpaired(result.email, result.revoked)
    elif result.cancelled_flow:
        text = "I cancelled your pending pairing; no Zoom account was linked."
    else:
        text = replies.NOTHING_TO_UNPAIR
    await respond(response_type="ephemeral", text=text)


async def show_help(
    services: Services, command: dict[str, Any], _: str, ack: AsyncAck, respond: AsyncRespond
) -> None:
    await ack(response_type="ephemeral", text=replies.HELP)


SUBCOMMANDS: dict[str, Subcommand] = {
    "": meet,  # bare `/zoom` starts a meeting, as in Zoom's own Slack app
    "meet": meet,
    "meeting": meet,
    "pair": pair,
    "status": status,
    "unpair": unpair,
    "logout": unpair,
    "help": show_help,
}


def register(app: AsyncApp, services: Services) -> None:
    @app.command(COMMAND)
    async def zoom(ack: AsyncAck, command: dict[str, Any], respond: AsyncRespond) -> None:
        text = command.get("text")
        word, _, rest = (text if isinstance(text, str) else "").strip().partition(" ")
        word = word.lower()
        handler = SUBCOMMANDS.get(word)
        key = user_key(command)
        if not (key.known and command.get("response_url")):
            await ack(response_type="ephemeral", text=replies.UNREADABLE_REQUEST)
            return
        try:
            if handler is None:
                await ack(response_type="ephemeral", text=replies.unknown_subcommand(word))
                return
            await handler(services, command, rest.strip(), ack, respond)
        except Exception:
            log.exception(
                "event=command_failed subcommand=%s user=%s", word, command.get("user_id")
            )
            try:
                if ack.response is None:
                    await ack(response_type="ephemeral", text=replies.BUG)
                else:
                    await respond(response_type="ephemeral", text=replies.BUG)
            except Exception as exc:
                log.warning("event=bug_report_failed error=%s", type(exc).__name__)
