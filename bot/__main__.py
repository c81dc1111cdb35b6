"""`python -m bot [run|doctor]` (also the `zoombot` console script): run or check the bot.

HTTP mode serves Slack's requests on PORT; with SLACK_APP_TOKEN set, Socket Mode connects out
to Slack instead and PORT serves only /healthz.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import sys

import uvicorn

from bot.config import ConfigError, Settings
from bot.logs import configure_logging
from bot.poller_lock import PollerAlreadyRunning, PollerLock
from bot.server import create_app

log = logging.getLogger("bot")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="zoombot", description=__doc__)
    parser.add_argument("--host", default="0.0.0.0", help="address to listen on")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")
    commands.add_parser("run", help="run the bot (the default)")
    commands.add_parser("doctor", help="check the configuration, Slack, Zoom and the database")
    args = parser.parse_args(argv)
    if args.command == "doctor":
        from bot import doctor

        return doctor.main()
    configure_logging()
    try:
        settings = Settings.from_env()
        lock = PollerLock(settings.db_path)
        lock.acquire()
    except (ConfigError, PollerAlreadyRunning) as exc:
        print(f"zoombot: {exc}", file=sys.stderr)
        return 2
    if settings.socket_mode:
        asyncio.run(run_socket_mode(settings, args.host, lock))
    else:
        uvicorn.run(
            create_app(settings, poller_lock=lock),
            host=args.host,
            port=settings.port,
            log_config=None,
            access_log=False,
        )
    return 0


async def run_socket_mode(settings: Settings, host: str, lock: PollerLock) -> None:
    """Connect to Slack over Socket Mode and serve /healthz beside it."""
    from slack_bolt.adapter.socket_mode.async_handler import AsyncSocketModeHandler

    app = create_app(settings, serve_slack=False, poller_lock=lock)
    server = uvicorn.Server(
        uvicorn.Config(app, host=host, port=settings.port, log_config=None, access_log=False)
    )
    serving = asyncio.create_task(server.serve())
    while not server.started:
        if serving.done():
            await serving
            return
        await asyncio.sleep(0.05)
    runtime = app.state.runtime
    handler = AsyncSocketModeHandler(runtime.app, settings.slack_app_token)
    await handler.connect_async()
    log.info("event=socket_mode_connected")
    try:
        await serving
    finally:
        await handler.close_async()


if __name__ == "__main__":
    sys.exit(main())
