"""`python -m bot doctor`: check a deployment's configuration before users find the problem.

One line per check, each failure with the fix; exits non-zero when anything failed. Nothing it
does pairs anyone or changes stored data.
"""

from __future__ import annotations

import asyncio
import secrets
import sqlite3
from dataclasses import dataclass

import aiohttp
import httpx
from slack_sdk.errors import SlackApiError, SlackClientError
from slack_sdk.web.async_client import AsyncWebClient

from bot.config import ConfigError, Settings
from bot.encryption import EncryptionKeyError
from bot.store import Store
from bot.zoom.device_flow import request_device_code
from bot.zoom.errors import OAuthError, ZoomError
from bot.zoom.oauth import OAuthClient


@dataclass(frozen=True)
class Check:
    name: str
    ok: bool
    detail: str
    fix: str = ""

    def line(self) -> str:
        if self.ok:
            return f"ok    {self.name}: {self.detail}"
        return f"FAIL  {self.name}: {self.detail}. Fix: {self.fix}"


async def run_checks(env: dict[str, str] | None = None) -> list[Check]:
    try:
        settings = Settings.from_env(env)
    except ConfigError as exc:
        return [Check("configuration", False, str(exc), "set it in the environment or in .env")]
    mode = "Socket Mode" if settings.socket_mode else "HTTP mode"
    install = "multi-workspace (OAuth)" if settings.oauth_install else "single workspace"
    checks = [Check("configuration", True, f"{mode}, {install}")]
    checks.append(check_database(settings))
    async with httpx.AsyncClient(timeout=settings.zoom_timeout) as http:
        oauth = OAuthClient(
            http,
            oauth_url=settings.zoom_oauth_url,
            client_id=settings.zoom_client_id,
            client_secret=settings.zoom_client_secret,
        )
        checks.append(await check_slack(settings))
        checks.append(await check_zoom_credentials(oauth))
        checks.append(await check_device_grant(oauth))
    return checks


def check_database(settings: Settings) -> Check:
    name = f"database {settings.db_path}"
    try:
        store = Store(settings.db_path, settings.secret_box())
        try:
            store.db.execute("BEGIN IMMEDIATE")  # takes the write lock: proves we can write
            store.db.execute("ROLLBACK")
        finally:
            store.close()
    except (sqlite3.Error, OSError, RuntimeError, EncryptionKeyError) as exc:
        return Check(
            name,
            False,
            f"not writable ({exc})",
            "point ZOOMBOT_DB at a writable file on persistent storage",
        )
    return Check(name, True, "writable")


async def check_slack(settings: Settings) -> Check:
    if settings.oauth_install:
        return Check(
            "slack",
            True,
            "OAuth install configured: workspaces install at /slack/install",
        )
    client = AsyncWebClient(token=settings.slack_bot_token, base_url=settings.slack_api_url)
    try:
        answer = await client.auth_test()
    except SlackApiError as exc:
        error = exc.response.get("error", "unknown")
        return Check(
            "slack",
            False,
            f"auth.test refused the bot token ({error})",
            "set SLACK_BOT_TOKEN to the app's Bot User OAuth Token (xoxb-...)",
        )
    except (TimeoutError, SlackClientError, aiohttp.ClientError, OSError) as exc:
        return Check(
            "slack",
            False,
            f"could not reach {settings.slack_api_url} ({type(exc).__name__})",
            "check SLACK_API_URL and the network",
        )
    return Check("slack", True, f"bot token works for {answer.get('team')} as {answer.get('user')}")


async def check_zoom_credentials(oauth: OAuthClient) -> Check:
    """Refresh a made-up token: Zoom checks the client first, so invalid_grant means they pass."""
    try:
        await oauth.refresh(secrets.token_urlsafe(16))
    except OAuthError as exc:
        if exc.error == "invalid_client" or exc.status == 401:
            return Check(
                "zoom credentials",
                False,
                "Zoom refused the app's client id or secret",
                "copy ZOOM_CLIENT_ID and ZOOM_CLIENT_SECRET from the Zoom app's App Credentials",
            )
        return Check("zoom credentials", True, f"accepted by {oauth.oauth_url}")
    except ZoomError as exc:
        return zoom_unreachable("zoom credentials", oauth, exc)
    return Check("zoom credentials", True, f"accepted by {oauth.oauth_url}")


async def check_device_grant(oauth: OAuthClient) -> Check:
    """Ask for a device code nobody will approve: it proves the grant is enabled, then expires."""
    try:
        await request_device_code(oauth)
    except OAuthError as exc:
        return Check(
            "zoom device grant",
            False,
            f"Zoom refused to hand out a device code ({exc.error})",
            "ask Zoom Support to enable the device authorization grant for this private app "
            'and switch on "Use App on Device" in its Features tab',
        )
    except ZoomError as exc:
        return zoom_unreachable("zoom device grant", oauth, exc)
    return Check("zoom device grant", True, "enabled")


def zoom_unreachable(name: str, oauth: OAuthClient, exc: ZoomError) -> Check:
    return Check(
        name,
        False,
        f"could not check it at {oauth.oauth_url} ({type(exc).__name__})",
        "check ZOOM_OAUTH_URL and the network, then run doctor again",
    )


def main() -> int:
    checks = asyncio.run(run_checks())
    for check in checks:
        print(check.line())
    return 0 if all(check.ok for check in checks) else 1
