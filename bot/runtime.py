"""Builds and tears down everything one bot process runs, on the serving event loop.

HTTP mode and Socket Mode share it, so both get the same store, scheduler and listeners.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from datetime import UTC

import httpx
from apscheduler.schedulers.asyncio import AsyncIOScheduler
from slack_bolt.async_app import AsyncApp

from bot.config import Settings
from bot.keyed_lock import KeyedLock
from bot.meetings import MeetingService
from bot.pairing import PairingService
from bot.pairing_limits import PairingLimits
from bot.poller_lock import PollerLock
from bot.services import Services
from bot.slack.app import build_app
from bot.slack.clients import InstalledWorkspaceClients, SingleWorkspaceClients, SlackClients
from bot.slack.installations import installation_store
from bot.store import Store
from bot.tokens import TokenKeeper
from bot.zoom.api import ZoomAPI
from bot.zoom.oauth import OAuthClient
from bot.zoom.webhooks import WebhookVerifier
from bot.zoom_events import ZoomEventsEndpoint

log = logging.getLogger(__name__)

#: Zoom calls other than polls (meetings, refreshes, profiles).
ZOOM_LIMITS = httpx.Limits(max_connections=50, max_keepalive_connections=50)
#: Polls go through POLL_SHARDS clients of POLL_CONNECTIONS each: MAX_CONCURRENT_POLLS in
#: flight, while each pool stays small (httpcore scans every connection on every request).
POLL_SHARDS = 4
POLL_CONNECTIONS = 16


class Runtime:
    def __init__(self, settings: Settings, poller_lock: PollerLock | None = None) -> None:
        self.settings = settings
        self.poller_lock = poller_lock
        self.http: httpx.AsyncClient | None = None
        self.poll_http: list[httpx.AsyncClient] = []
        self.store: Store | None = None
        self.scheduler: AsyncIOScheduler | None = None
        self.app: AsyncApp | None = None
        self.services: Services | None = None
        self.zoom_events: ZoomEventsEndpoint | None = None
        #: Socket Mode sets this to its client's connection check.
        self.slack_connected: Callable[[], Awaitable[bool]] | None = None

    async def start(self) -> None:
        """Open the store, start the scheduler and resume the flows a previous run left."""
        settings = self.settings
        if self.poller_lock is None:
            self.poller_lock = PollerLock(settings.db_path)
            self.poller_lock.acquire()
        self.http = httpx.AsyncClient(timeout=settings.zoom_timeout, limits=ZOOM_LIMITS)
        self.store = Store(settings.db_path, settings.secret_box())
        self.scheduler = AsyncIOScheduler(timezone=UTC)
        http = self.http

        def api_for(api_url: str | None) -> ZoomAPI:
            return ZoomAPI(http, f"{api_url}/v2" if api_url else settings.zoom_api_url)

        def oauth_client(client: httpx.AsyncClient) -> OAuthClient:
            return OAuthClient(
                client,
                oauth_url=settings.zoom_oauth_url,
                client_id=settings.zoom_client_id,
                client_secret=settings.zoom_client_secret,
            )

        oauth = oauth_client(http)
        poll_limits = httpx.Limits(
            max_connections=POLL_CONNECTIONS, max_keepalive_connections=POLL_CONNECTIONS
        )
        self.poll_http = [
            httpx.AsyncClient(timeout=settings.zoom_timeout, limits=poll_limits)
            for _ in range(POLL_SHARDS)
        ]
        installations = installation_store(settings) if settings.oauth_install else None
        slack: SlackClients = (
            InstalledWorkspaceClients(installations, settings.slack_api_url)
            if installations is not None
            else SingleWorkspaceClients(settings.slack_bot_token or "", settings.slack_api_url)
        )
        locks = KeyedLock()
        pairing = PairingService(
            store=self.store,
            oauth=oauth,
            api_for=api_for,
            slack=slack,
            scheduler=self.scheduler,
            limits=PairingLimits(
                settings.pair_limit_per_user,
                settings.pair_limit_per_workspace,
                settings.max_pending_per_workspace,
            ),
            locks=locks,
            poll_oauth=[oauth_client(client) for client in self.poll_http],
        )
        meetings = MeetingService(
            TokenKeeper(self.store, oauth, api_for, locks), settings.zoom_oauth_url
        )
        self.services = Services(
            store=self.store, pairing=pairing, meetings=meetings, installations=installations
        )
        self.app = build_app(settings, self.services, installations)
        if settings.zoom_webhook_secret_token:
            self.zoom_events = ZoomEventsEndpoint(
                WebhookVerifier(settings.zoom_webhook_secret_token), pairing
            )
        self.scheduler.start()
        pairing.resume_all()
        log.info("event=started db=%s", settings.db_path)

    async def stop(self) -> None:
        if self.scheduler is not None and self.scheduler.running:
            self.scheduler.shutdown(wait=False)
        if self.services is not None:
            await self.services.pairing.close()
        if self.http is not None:
            await self.http.aclose()
        for client in self.poll_http:
            await client.aclose()
        if self.store is not None:
            self.store.close()
        if self.poller_lock is not None:
            self.poller_lock.release()

    async def health(self) -> dict[str, str]:
        """Database, scheduler and (in Socket Mode) Slack connection state, for /healthz.

        Socket Mode connections are known to stop quietly after reconnects, so a dead one
        must show here, where a platform's health check can restart the process.
        """
        checks = {"database": "ok", "scheduler": "ok"}
        try:
            if self.store is None:
                raise RuntimeError("not open")
            self.store.check()
        except Exception as exc:
            checks["database"] = f"error: {type(exc).__name__}"
        if self.scheduler is None or not self.scheduler.running:
            checks["scheduler"] = "error: not running"
        if self.slack_connected is not None:
            checks["slack"] = "ok" if await self.slack_connected() else "error: disconnected"
        return checks
