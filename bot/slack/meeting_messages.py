"""Block Kit for meetings: the public card for the channel and the host's private start link."""

from __future__ import annotations

from slack_sdk.models.blocks import (
    ActionsBlock,
    Block,
    ButtonElement,
    ContextBlock,
    MarkdownTextObject,
    SectionBlock,
)

from bot.meetings import StartedMeeting
from bot.zoom.api import Meeting

JOIN_ACTION = "meeting_join"
START_AS_HOST_ACTION = "meeting_start_host"
PAIR_ACTION = "pair_zoom"


def escape(text: str) -> str:
    """Slack's mrkdwn escaping, so a topic cannot mention @channel or fake a link."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def meeting_number(meeting_id: int) -> str:
    """Group the digits as Zoom shows them (123 4567 8901)."""
    digits = str(meeting_id)
    if len(digits) < 9:
        return digits
    head, rest = digits[:3], digits[3:]
    middle = len(rest) // 2
    return f"{head} {rest[:middle]} {rest[middle:]}"


def channel_card(user_id: str, meeting: Meeting) -> tuple[str, list[Block]]:
    """What everyone in the channel sees: only the join link, never the start link."""
    topic = escape(meeting.topic)
    fields = [MarkdownTextObject(text=f"*Meeting ID*\n{meeting_number(meeting.id)}")]
    if meeting.password:
        fields.append(MarkdownTextObject(text=f"*Passcode*\n{escape(meeting.password)}"))
    blocks: list[Block] = [
        SectionBlock(
            text=MarkdownTextObject(
                text=f":video_camera: <@{user_id}> started a Zoom meeting: *{topic}*"
            ),
            fields=fields,
        ),
        ActionsBlock(
            elements=[
                ButtonElement(
                    text="Join", url=meeting.join_url, action_id=JOIN_ACTION, style="primary"
                )
            ]
        ),
    ]
    return f"<@{user_id}> started a Zoom meeting: {topic}. Join: {meeting.join_url}", blocks


def host_card(started: StartedMeeting) -> tuple[str, list[Block]]:
    """Only the host sees this: the start link signs them in to Zoom as the host."""
    account = f" as {escape(started.host_email)}" if started.host_email else ""
    blocks: list[Block] = [
        SectionBlock(
            text=MarkdownTextObject(
                text=f"Your meeting *{escape(started.meeting.topic)}* is ready. "
                f"Start it as the host{account}:"
            ),
            accessory=ButtonElement(
                text="Start as host",
                url=started.start_link,
                action_id=START_AS_HOST_ACTION,
                style="primary",
            ),
        ),
        ContextBlock(
            elements=[
                MarkdownTextObject(
                    text="Only you can see this. The button signs you in as the host for about "
                    "two hours: don't share it."
                )
            ]
        ),
    ]
    return "Your Zoom meeting is ready: start it as the host with the button.", blocks


def not_paired() -> tuple[str, list[Block]]:
    text = "You haven't linked a Zoom account yet. Pair it once, then `/zoom meet` starts meetings."
    blocks: list[Block] = [
        SectionBlock(
            text=MarkdownTextObject(text=text),
            accessory=ButtonElement(text="Pair Zoom", action_id=PAIR_ACTION, style="primary"),
        )
    ]
    return text, blocks
