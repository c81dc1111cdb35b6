"""The App Home tab: the person's pairing state and buttons to pair, meet and unpair."""

from __future__ import annotations

from slack_sdk.models.blocks import (
    ActionsBlock,
    Block,
    ButtonElement,
    ConfirmObject,
    ContextBlock,
    DividerBlock,
    HeaderBlock,
    MarkdownTextObject,
    SectionBlock,
)
from slack_sdk.models.views import View

from bot.slack.meeting_messages import escape
from bot.slack.pairing_dm import slack_date
from bot.store import Pairing

HOME_PAIR_ACTION = "home_pair"
HOME_MEET_ACTION = "home_meet"
HOME_UNPAIR_ACTION = "home_unpair"


def home_view(pairing: Pairing | None, pending: bool, notice: str = "") -> View:
    blocks: list[Block] = [HeaderBlock(text="Zoom")]
    if notice:
        blocks.append(SectionBlock(text=MarkdownTextObject(text=notice)))
    if pairing is None:
        blocks += [
            SectionBlock(
                text=MarkdownTextObject(
                    text="Link your Zoom account to start Zoom meetings from Slack. "
                    "I'll DM you a code to approve in Zoom, on any device where you're signed in."
                )
            ),
            ActionsBlock(
                elements=[
                    ButtonElement(text="Pair Zoom", action_id=HOME_PAIR_ACTION, style="primary")
                ]
            ),
        ]
    else:
        account = f"*{escape(pairing.zoom_email)}*" if pairing.zoom_email else "a Zoom account"
        blocks += [
            SectionBlock(
                text=MarkdownTextObject(
                    text=f"Paired with Zoom as {account} since {slack_date(pairing.paired_at)}."
                )
            ),
            ActionsBlock(
                elements=[
                    ButtonElement(
                        text="Start a meeting", action_id=HOME_MEET_ACTION, style="primary"
                    ),
                    ButtonElement(
                        text="Unpair",
                        action_id=HOME_UNPAIR_ACTION,
                        style="danger",
                        confirm=ConfirmObject(
                            title="Unpair Zoom?",
                            text="The bot's access to your Zoom account will be revoked.",
                            confirm="Unpair",
                            deny="Cancel",
                        ),
                    ),
                ]
            ),
        ]
    if pending:
        blocks.append(
            ContextBlock(
                elements=[
                    MarkdownTextObject(
                        text="A pairing is waiting for your approval: check your DMs for the code."
                    )
                ]
            )
        )
    blocks += [
        DividerBlock(),
        ContextBlock(
            elements=[
                MarkdownTextObject(
                    text="In any channel: `/zoom meet [topic]` starts a meeting, `/zoom status` "
                    "shows your link, `/zoom help` lists every command."
                )
            ]
        ),
    ]
    return View(type="home", blocks=blocks)
