"""Web API clients for work that happens outside a Slack request (polling, webhooks).

Inside a listener bolt hands us a client; a scheduler job has none, so it asks here.
"""

from __future__ import annotations

from typing import Protocol

from slack_sdk.oauth.installation_store.async_installation_store import AsyncInstallationStore
from slack_sdk.web.async_client import AsyncWebClient


class WorkspaceNotInstalled(Exception):
    """No bot token is stored for that workspace (the app was uninstalled)."""


class SlackClients(Protocol):
    async def for_team(self, team_id: str, enterprise_id: str = "") -> AsyncWebClient: ...


class SingleWorkspaceClients:
    """A single-workspace install: one bot token serves every team id."""

    def __init__(self, token: str, base_url: str) -> None:
        self._client = AsyncWebClient(token=token, base_url=base_url)

    async def for_team(self, team_id: str, enterprise_id: str = "") -> AsyncWebClient:
        return self._client


class InstalledWorkspaceClients:
    """A multi-workspace install: each workspace's bot token comes from the installation store."""

    def __init__(self, store: AsyncInstallationStore, base_url: str) -> None:
        self._store = store
        self._base_url = base_url

    async def for_team(self, team_id: str, enterprise_id: str = "") -> AsyncWebClient:
        bot = await self._store.async_find_bot(
            enterprise_id=enterprise_id or None, team_id=team_id or None
        )
        if bot is None and enterprise_id:
            # An org-wide install is stored under the enterprise alone.
            bot = await self._store.async_find_bot(
                enterprise_id=enterprise_id, team_id=None, is_enterprise_install=True
            )
        if bot is None or not bot.bot_token:
            raise WorkspaceNotInstalled(team_id)
        return AsyncWebClient(token=bot.bot_token, base_url=self._base_url)
