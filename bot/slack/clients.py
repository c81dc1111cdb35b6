"""Web API clients for work that happens outside a Slack request (polling, webhooks).

Inside a listener bolt hands us a client; a scheduler job has none, so it asks here.
"""

from __future__ import annotations

from typing import Protocol

from slack_sdk.web.async_client import AsyncWebClient


class SlackClients(Protocol):
    async def for_team(self, team_id: str, enterprise_id: str = "") -> AsyncWebClient: ...


class SingleWorkspaceClients:
    """A single-workspace install: one bot token serves every team id."""

    def __init__(self, token: str, base_url: str) -> None:
        self._client = AsyncWebClient(token=token, base_url=base_url)

    async def for_team(self, team_id: str, enterprise_id: str = "") -> AsyncWebClient:
        return self._client
