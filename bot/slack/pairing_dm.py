"""The direct message that carries a pairing code, and the states it moves through.

Only the person who asked ever sees the code and the link: everything here goes to their DM
(or, when Slack refuses the DM, to an ephemeral answer only they can see).
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass, field
from datetime import UTC, datetime
from enum import Enum

from slack_sdk.errors import SlackApiError, SlackClientError
from slack_sdk.models.blocks import (
    ActionsBlock,
    Block,
    ButtonElement,
    ContextBlock,
    HeaderBlock,
    MarkdownTextObject,
    SectionBlock,
)
from slack_sdk.web.async_client import AsyncWebClient
from slack_sdk.webhook.async_client import AsyncWebhookClient

from bot.qr_code import qr_png

log = logging.getLogger(__name__)

OPEN_LINK_ACTION = "pairing_open_link"
QR_FILENAME = "zoom-pairing-qr.png"


class DeadReason(Enum):
    """Why a code can no longer be approved; each value is the sentence the user reads."""

    EXPIRED = "This code expired before it was approved. Run `/zoom pair` to get a new one."
    DENIED = (
        "You declined this request in Zoom, so nothing was linked. "
        "Run `/zoom pair` if you want to try again."
    )
    REPLACED = "This code was replaced by a newer one: use the code in the latest message."
    FAILED = "Zoom refused this code, so nothing was linked. Run `/zoom pair` to try again."
    CANCELLED = (
        "You unpaired before approving this code, so it no longer works. "
        "Run `/zoom pair` to link your Zoom account again."
    )
    UNREADABLE = (
        "Zoom sent an answer the bot could not read, so nothing was linked. "
        "Run `/zoom pair` to try again."
    )


@dataclass(frozen=True)
class PairingCode:
    """What the person needs to approve: RFC 8628's user-facing fields, never the device code."""

    user_code: str
    verification_uri: str
    verification_uri_complete: str
    expires_at: float


@dataclass(frozen=True)
class CodeMessage:
    """Where the code went, so the message can be updated and the QR file deleted later."""

    channel: str
    ts: str
    file_id: str = ""
    #: Set when the code went out as an ephemeral answer because Slack refused the DM.
    response_url: str = field(default="", repr=False)


def slack_date(epoch: float, pattern: str = "{date_short_pretty} at {time}") -> str:
    """Slack date formatting, shown in each reader's time zone, with a UTC fallback."""
    fallback = datetime.fromtimestamp(epoch, UTC).strftime("%Y-%m-%d %H:%M UTC")
    return f"<!date^{int(epoch)}^{pattern}|{fallback}>"


def code_blocks(code: PairingCode) -> list[Block]:
    user_code, verification_uri = code.user_code, code.verification_uri
    return [
        HeaderBlock(text=f"Your Zoom code: {user_code}"),
        SectionBlock(
            text=MarkdownTextObject(
                text=(
                    "To link your Zoom account, approve this code in Zoom on any device where "
                    "you are signed in: press *Approve in Zoom*, or scan the QR code below with "
                    "your phone.\n"
                    f"If the button does not work, open {verification_uri} and type "
                    f"*{user_code}*."
                )
            )
        ),
        ActionsBlock(
            elements=[
                ButtonElement(
                    text="Approve in Zoom",
                    url=code.verification_uri_complete,
                    action_id=OPEN_LINK_ACTION,
                    style="primary",
                )
            ]
        ),
        ContextBlock(
            elements=[
                MarkdownTextObject(
                    text=(
                        f"The code expires {slack_date(code.expires_at)}. "
                        "Approve it only if you just typed `/zoom pair` yourself."
                    )
                )
            ]
        ),
    ]


def code_text(code: PairingCode) -> str:
    return f"Your Zoom code is {code.user_code}: approve it at {code.verification_uri}"


def paired_blocks(email: str) -> list[Block]:
    account = f"*{email}*" if email else "your Zoom account"
    return [
        SectionBlock(
            text=MarkdownTextObject(
                text=(
                    f":white_check_mark: Paired with Zoom as {account}. "
                    "Start a meeting with `/zoom meet [topic]`."
                )
            )
        )
    ]


def paired_text(email: str) -> str:
    return f"Paired with Zoom as {email}." if email else "Paired with Zoom."


def dead_blocks(user_code: str, reason: DeadReason) -> list[Block]:
    return [
        SectionBlock(text=MarkdownTextObject(text=f":no_entry_sign: ~{user_code}~ {reason.value}"))
    ]


async def send_code(client: AsyncWebClient, user_id: str, code: PairingCode) -> CodeMessage:
    """DM the code and link, then the QR code; raises SlackApiError when the DM fails.

    A failed QR upload is logged and skipped: the message alone is enough to pair.
    """
    opened = await client.conversations_open(users=user_id)
    channel = opened["channel"]["id"]
    posted = await client.chat_postMessage(
        channel=channel, text=code_text(code), blocks=code_blocks(code)
    )
    file_id = ""
    try:
        upload = await client.files_upload_v2(
            channel=channel,
            content=await asyncio.to_thread(qr_png, code.verification_uri_complete),
            filename=QR_FILENAME,
            title="Scan to approve in Zoom",
        )
        file_id = upload["file"]["id"]
    except Exception as exc:  # the message alone is enough to pair
        log.warning("event=qr_upload_failed error=%s", slack_error(exc))
    return CodeMessage(channel=channel, ts=posted["ts"], file_id=file_id)


async def send_code_ephemeral(response_url: str, code: PairingCode) -> CodeMessage:
    """The fallback when Slack refuses the DM: the same code, visible only to the requester.

    Raises SlackClientError when the response_url refuses too.
    """
    await _post_ephemeral(response_url, code_text(code), code_blocks(code))
    return CodeMessage(channel="", ts="", response_url=response_url)


async def show_paired(client: AsyncWebClient, message: CodeMessage, email: str) -> None:
    await _replace(client, message, paired_text(email), paired_blocks(email))


async def show_dead(
    client: AsyncWebClient, message: CodeMessage, user_code: str, reason: DeadReason
) -> None:
    await _replace(client, message, reason.value, dead_blocks(user_code, reason))


async def _replace(
    client: AsyncWebClient, message: CodeMessage, text: str, blocks: list[Block]
) -> None:
    """Update the code message in place and remove the QR code, whose link is now useless."""
    try:
        if message.channel and message.ts:
            await client.chat_update(
                channel=message.channel, ts=message.ts, text=text, blocks=blocks
            )
        elif message.response_url:
            await _post_ephemeral(message.response_url, text, blocks)
    except SlackClientError as exc:
        log.warning("event=dm_update_failed error=%s", slack_error(exc))
    if message.file_id:
        try:
            await client.files_delete(file=message.file_id)
        except SlackClientError as exc:
            log.warning("event=qr_delete_failed error=%s", slack_error(exc))


async def _post_ephemeral(response_url: str, text: str, blocks: list[Block]) -> None:
    response = await AsyncWebhookClient(response_url).send(
        text=text, blocks=blocks, response_type="ephemeral"
    )
    if response.status_code != 200:
        raise SlackClientError(f"response_url answered HTTP {response.status_code}")


def slack_error(exc: BaseException) -> str:
    """Slack's error code, or the exception's name: safe to log and to show."""
    if isinstance(exc, SlackApiError):
        return str(exc.response.get("error", "unknown"))
    return type(exc).__name__
