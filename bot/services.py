"""The long-lived parts a Slack listener may call, bundled so listeners take one argument."""

from __future__ import annotations

from dataclasses import dataclass

from slack_sdk.oauth.installation_store.async_installation_store import AsyncInstallationStore

from bot.meetings import MeetingService
from bot.pairing import PairingService
from bot.store import Store


@dataclass(frozen=True)
class Services:
    store: Store
    pairing: PairingService
    meetings: MeetingService
    #: Slack installations, when the app is installed through OAuth (multi-workspace).
    installations: AsyncInstallationStore | None = None
