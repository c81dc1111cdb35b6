"""`python -m bot [run|doctor|rotate-keys|demo|emulator]` (also the `zoombot` console script).

HTTP mode serves Slack's requests on PORT; Socket Mode (the default when SLACK_APP_TOKEN is
set) connects out to Slack instead, and PORT serves /healthz and the install pages.
"""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import logging
import sqlite3
import sys
from collections.abc import Callable

import uvicorn

from bot.config import ConfigError, Settings
from bot.encryption import EncryptionKeyError
from bot.logs import configure_logging
from bot.poller_lock import PollerAlreadyRunning, PollerLock
from bot.server import create_app
from bot.store import Store

log = logging.getLogger("bot")


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if argv and argv[0] in OWN_PARSERS:
        # The offline demo and the stand-in parse their own options and need no settings.
        return OWN_PARSERS[argv[0]](argv[1:])
    parser = argparse.ArgumentParser(prog="zoombot", description=__doc__)
    add_run_options(parser, argparse.SUPPRESS)
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")
    add_run_options(commands.add_parser("run", help="run the bot (the default)"), None)
    commands.add_parser("doctor", help="check the configuration, Slack, Zoom and the database")
    commands.add_parser(
        "rotate-keys", help="re-encrypt stored secrets with the first ZOOMBOT_ENCRYPTION_KEY"
    )
    commands.add_parser("demo", help="try the bot offline: local Slack and Zoom stand-ins")
    commands.add_parser("emulator", help="run the Zoom stand-in alone, for a real Slack app")
    args = parser.parse_args(argv)
    host, mode = getattr(args, "host", None) or "0.0.0.0", getattr(args, "mode", None) or "auto"
    if args.command == "doctor":
        from bot import doctor

        return doctor.main()
    configure_logging()
    if args.command == "rotate-keys":
        return rotate_keys()
    try:
        settings = settings_for_mode(Settings.from_env(), mode)
        lock = PollerLock(settings.db_path)
        lock.acquire()
        # A bad key or database stops here, with one line, not inside the server.
        Store(settings.db_path, settings.secret_box()).close()
    except (ConfigError, PollerAlreadyRunning, EncryptionKeyError, sqlite3.Error) as exc:
        print(f"zoombot: {exc}", file=sys.stderr)
        return 2
    if settings.socket_mode:
        asyncio.run(run_socket_mode(settings, host, lock))
    else:
        uvicorn.run(
            create_app(settings, poller_lock=lock),
            host=host,
            port=settings.port,
            log_config=None,
            access_log=False,
        )
    return 0


def run_demo(argv: list[str]) -> int:
    from bot import demo

    return demo.main(argv)


def run_emulator(argv: list[str]) -> int:
    from bot.emulator import serve

    return serve.main(argv)


OWN_PARSERS: dict[str, Callable[[list[str]], int]] = {"demo": run_demo, "emulator": run_emulator}


def rotate_keys() -> int:
    """Rewrite every stored secret with the first key, so older keys can be dropped."""
    try:
        settings = Settings.from_env()
        lock = PollerLock(settings.db_path)
        lock.acquire()  # the bot must not write while rows are rewritten
    except (ConfigError, PollerAlreadyRunning) as exc:
        print(f"zoombot: {exc}", file=sys.stderr)
        return 2
    try:
        store = Store(settings.db_path, settings.secret_box())
        count = store.rotate_keys()
        store.close()
    except EncryptionKeyError as exc:
        print(f"zoombot: {exc}", file=sys.stderr)
        return 2
    finally:
        lock.release()
    print(f"re-encrypted {count} rows with the first key of ZOOMBOT_ENCRYPTION_KEY")
    return 0


def add_run_options(parser: argparse.ArgumentParser, default: object) -> None:
    """`--host` and `--mode`, accepted before or after `run`."""
    parser.add_argument("--host", default=default, help="address to listen on (0.0.0.0)")
    parser.add_argument(
        "--mode",
        choices=("auto", "http", "socket"),
        default=default,
        help="how Slack reaches the bot; auto (default): Socket Mode when SLACK_APP_TOKEN is set",
    )


def settings_for_mode(settings: Settings, mode: str) -> Settings:
    """Pin the mode the process type asks for (Procfile's web: HTTP, worker: Socket Mode)."""
    if mode == "socket" and not settings.socket_mode:
        raise ConfigError("missing required environment variable SLACK_APP_TOKEN (Socket Mode)")
    if mode == "http" and settings.socket_mode:
        if not settings.slack_signing_secret:
            raise ConfigError(
                "missing required environment variable SLACK_SIGNING_SECRET "
                "(it verifies Slack's requests in HTTP mode)"
            )
        return dataclasses.replace(settings, slack_app_token=None)
    return settings


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
    runtime.slack_connected = handler.client.is_connected
    log.info("event=socket_mode_connected")
    try:
        await serving
    finally:
        await handler.close_async()


if __name__ == "__main__":
    sys.exit(main())
