"""The bolt app: Slack's signature check, authorization, OAuth install and our listeners."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from pathlib import Path

from slack_bolt.async_app import AsyncApp, AsyncBoltContext
from slack_bolt.oauth.async_oauth_settings import AsyncOAuthSettings
from slack_bolt.response import BoltResponse
from slack_sdk.oauth.state_store.sqlite3 import SQLite3OAuthStateStore
from slack_sdk.web.async_client import AsyncWebClient

from bot.config import Settings
from bot.logs import bind, new_request_id
from bot.services import Services
from bot.slack import listeners
from bot.slack.installations import SealedInstallationStore

#: Every bot scope a Web API call of ours needs; manifest.yml declares exactly these.
BOT_SCOPES = ("commands", "chat:write", "im:write", "files:write")
#: How long an install link stays valid.
OAUTH_STATE_SECONDS = 600


def build_app(
    settings: Settings,
    services: Services,
    installations: SealedInstallationStore | None = None,
) -> AsyncApp:
    oauth_settings = None
    if settings.oauth_install:
        assert installations is not None
        state_store = SQLite3OAuthStateStore(
            database=str(Path(settings.db_path)), expiration_seconds=OAUTH_STATE_SECONDS
        )
        state_store.init()
        oauth_settings = AsyncOAuthSettings(
            client_id=settings.slack_client_id,
            client_secret=settings.slack_client_secret,
            scopes=list(BOT_SCOPES),
            redirect_uri=settings.slack_redirect_uri,
            installation_store=installations,
            state_store=state_store,
            state_expiration_seconds=OAUTH_STATE_SECONDS,
        )
    app = AsyncApp(
        signing_secret=settings.slack_signing_secret or "",
        client=AsyncWebClient(
            token=None if settings.oauth_install else settings.slack_bot_token,
            base_url=settings.slack_api_url,
        ),
        oauth_settings=oauth_settings,
        # Socket Mode requests arrive unsigned over an authenticated socket.
        request_verification_enabled=not settings.socket_mode,
        # A long-running server answers Slack as soon as a listener acks.
        process_before_response=False,
    )

    @app.middleware
    async def log_context(
        context: AsyncBoltContext, next: Callable[[], Awaitable[BoltResponse]]
    ) -> BoltResponse:
        """Every log line of this request names its workspace, user and request id."""
        bind(request_id=new_request_id(), team=context.team_id or "", user=context.user_id or "")
        return await next()

    listeners.register(app, services)
    return app
