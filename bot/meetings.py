"""Starting an instant Zoom meeting for a paired Slack user.

Fetches the host's ZAK and creates the meeting concurrently, then builds the host's start link.
The ZAK and the start link are returned to the caller for the host alone; they are never logged
or stored.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

from bot.store import UserKey
from bot.tokens import TokenKeeper
from bot.zoom.api import MAX_TOPIC_LENGTH, Meeting, ZoomAPI
from bot.zoom.errors import InvalidAccessToken

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class StartedMeeting:
    meeting: Meeting
    host_email: str
    #: `{oauth host}/s/{id}?zak=...`: signs the host in; for the host's eyes only.
    start_link: str

    def __repr__(self) -> str:
        return f"StartedMeeting(meeting={self.meeting!r})"


class MeetingService:
    def __init__(self, tokens: TokenKeeper, web_url: str) -> None:
        self.tokens = tokens
        self.web_url = web_url.rstrip("/")

    async def start(self, key: UserKey, topic: str) -> StartedMeeting:
        """Create an instant meeting as the user. Raises NotPaired, PairingExpired, ZoomError."""
        topic = " ".join(topic.split())[:MAX_TOPIC_LENGTH] or self._default_topic(key)

        async def zak_and_meeting(api: ZoomAPI, access_token: str) -> tuple[str | None, Meeting]:
            return await _gather(
                api.zak(access_token), api.create_instant_meeting(access_token, topic)
            )

        zak, meeting = await self.tokens.call(key, zak_and_meeting)
        if zak is not None:
            start_link = f"{self.web_url}/s/{meeting.id}?{urlencode({'zak': zak})}"
        else:
            # The ZAK call failed but the meeting exists: its start_url also carries a ZAK.
            start_link = meeting.start_url
        pairing = self.tokens.store.get_pairing(key)
        log.info(
            "event=meeting_started team=%s user=%s meeting=%s",
            key.team_id,
            key.user_id,
            meeting.id,
        )
        return StartedMeeting(
            meeting=meeting,
            host_email=pairing.zoom_email if pairing else "",
            start_link=start_link,
        )

    def _default_topic(self, key: UserKey) -> str:
        pairing = self.tokens.store.get_pairing(key)
        name = pairing.zoom_name if pairing else ""
        return f"{name}'s Zoom meeting" if name else "Zoom meeting"


async def _gather(zak: Awaitable[str], meeting: Awaitable[Meeting]) -> tuple[str | None, Meeting]:
    """Both calls at once. An invalid-token error wins, so TokenKeeper.call refreshes and
    retries the pair; a meeting that exists is kept even if its ZAK call failed (None), since
    its start_url can stand in, rather than leave a meeting nobody was told about."""
    results: tuple[Any, ...] = await asyncio.gather(zak, meeting, return_exceptions=True)
    errors = [r for r in results if isinstance(r, BaseException)]
    invalid = next((e for e in errors if isinstance(e, InvalidAccessToken)), None)
    if invalid is not None:
        raise invalid
    zak_result, meeting_result = results
    if isinstance(meeting_result, BaseException):
        raise meeting_result
    if isinstance(zak_result, BaseException):
        if not meeting_result.start_url:
            raise zak_result
        log.warning("event=zak_unavailable meeting=%s", meeting_result.id)
        return None, meeting_result
    return zak_result, meeting_result
