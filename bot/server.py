"""The ASGI app uvicorn serves: Slack's request URL and a health check."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from bot.config import Settings
from bot.poller_lock import PollerLock
from bot.runtime import Runtime
from bot.slack.requests import SlackRequestHandler


def create_app(
    settings: Settings | None = None,
    *,
    serve_slack: bool = True,
    poller_lock: PollerLock | None = None,
) -> Starlette:
    """Build the app; `serve_slack=False` leaves Slack's events to Socket Mode."""
    runtime = Runtime(settings or Settings.from_env(), poller_lock)
    handler: SlackRequestHandler | None = None

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        nonlocal handler
        await runtime.start()
        assert runtime.app is not None
        handler = SlackRequestHandler(runtime.app, runtime.settings.slack_signing_secret or "")
        try:
            yield
        finally:
            await runtime.stop()

    async def slack_events(request: Request) -> Response:
        if handler is None:
            return JSONResponse({"error": "starting"}, status_code=503)
        return await handler.handle(request)

    async def healthz(request: Request) -> Response:
        checks = await runtime.health()
        healthy = all(value == "ok" for value in checks.values())
        return JSONResponse(
            {"status": "ok" if healthy else "error", **checks},
            status_code=200 if healthy else 503,
        )

    routes = [Route("/healthz", healthz, methods=["GET"])]
    if serve_slack:
        routes.append(Route("/slack/events", slack_events, methods=["POST"]))

    async def zoom_events(request: Request) -> Response:
        if runtime.zoom_events is None:
            return JSONResponse({"error": "starting"}, status_code=503)
        return await runtime.zoom_events(request)

    if runtime.settings.zoom_webhook_secret_token:
        routes.append(Route("/zoom/events", zoom_events, methods=["POST"]))
    if runtime.settings.oauth_install:
        routes += [
            Route("/slack/install", slack_events, methods=["GET"]),
            Route("/slack/oauth_redirect", slack_events, methods=["GET"]),
        ]
    app = Starlette(routes=routes, lifespan=lifespan)
    app.state.runtime = runtime
    return app
