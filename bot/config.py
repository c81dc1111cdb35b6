"""Settings from the environment (and a `.env` file), checked once at start-up.

Every name here is part of the documented configuration contract; a missing required value is a
`ConfigError` whose message names it, so the program can end with one clear line.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from bot.encryption import SecretBox, load_keys
from bot.pairing_limits import Limit


class ConfigError(Exception):
    """The configuration is incomplete or invalid; the message says how to fix it."""


DEFAULT_SLACK_API_URL = "https://slack.com/api/"
DEFAULT_ZOOM_OAUTH_URL = "https://zoom.us"
DEFAULT_ZOOM_API_URL = "https://api.zoom.us/v2"
DEFAULT_PAIR_LIMIT_PER_USER = Limit(5, 600)
DEFAULT_PAIR_LIMIT_PER_WORKSPACE = Limit(200, 600)
DEFAULT_MAX_PENDING_PER_WORKSPACE = 1000


@dataclass(frozen=True)
class Settings:
    zoom_client_id: str
    zoom_client_secret: str = field(repr=False)
    slack_bot_token: str | None = field(default=None, repr=False)
    slack_signing_secret: str | None = field(default=None, repr=False)
    slack_app_token: str | None = field(default=None, repr=False)
    slack_api_url: str = DEFAULT_SLACK_API_URL
    zoom_oauth_url: str = DEFAULT_ZOOM_OAUTH_URL
    zoom_api_url: str = DEFAULT_ZOOM_API_URL
    db_path: Path = Path("zoombot.db")
    port: int = 3000
    zoom_timeout: float = 10.0
    slack_client_id: str | None = None
    slack_client_secret: str | None = field(default=None, repr=False)
    slack_redirect_uri: str | None = None
    zoom_webhook_secret_token: str | None = field(default=None, repr=False)
    encryption_keys: str | None = field(default=None, repr=False)
    pair_limit_per_user: Limit = DEFAULT_PAIR_LIMIT_PER_USER
    pair_limit_per_workspace: Limit = DEFAULT_PAIR_LIMIT_PER_WORKSPACE
    max_pending_per_workspace: int = DEFAULT_MAX_PENDING_PER_WORKSPACE

    @property
    def socket_mode(self) -> bool:
        return bool(self.slack_app_token)

    @property
    def oauth_install(self) -> bool:
        """Multi-workspace: installs go through Slack OAuth and tokens live in the database."""
        return bool(self.slack_client_id and self.slack_client_secret)

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> Settings:
        """Read the settings, raising ConfigError for the first missing or bad value."""
        if env is None:
            load_dotenv_file()
            env = os.environ

        def get(name: str) -> str | None:
            value = env.get(name, "").strip()
            return value or None

        def require(name: str, why: str = "") -> str:
            value = get(name)
            if value is None:
                raise ConfigError(f"missing required environment variable {name}{why}")
            return value

        app_token = get("SLACK_APP_TOKEN")
        if app_token is not None and not app_token.startswith("xapp-"):
            raise ConfigError("SLACK_APP_TOKEN must be an app-level token starting with xapp-")
        port_text = get("PORT") or "3000"
        if not port_text.isdigit() or not 0 < int(port_text) < 65536:
            raise ConfigError(f"PORT must be a TCP port number, not {port_text!r}")
        timeout_text = get("ZOOM_TIMEOUT") or "10"
        try:
            zoom_timeout = float(timeout_text)
        except ValueError:
            zoom_timeout = 0.0
        if not 0 < zoom_timeout <= 300:
            raise ConfigError(f"ZOOM_TIMEOUT must be 0 to 300 seconds, not {timeout_text!r}")
        try:
            per_user = Limit.parse(
                get("ZOOMBOT_PAIR_LIMIT_PER_USER"),
                "ZOOMBOT_PAIR_LIMIT_PER_USER",
                DEFAULT_PAIR_LIMIT_PER_USER,
            )
            per_workspace = Limit.parse(
                get("ZOOMBOT_PAIR_LIMIT_PER_WORKSPACE"),
                "ZOOMBOT_PAIR_LIMIT_PER_WORKSPACE",
                DEFAULT_PAIR_LIMIT_PER_WORKSPACE,
            )
        except ValueError as exc:
            raise ConfigError(str(exc)) from exc
        pending_text = get("ZOOMBOT_MAX_PENDING_PER_WORKSPACE") or str(
            DEFAULT_MAX_PENDING_PER_WORKSPACE
        )
        if not pending_text.isdigit() or int(pending_text) < 1:
            raise ConfigError(
                f"ZOOMBOT_MAX_PENDING_PER_WORKSPACE must be a positive number, not {pending_text!r}"
            )
        client_id, client_secret = get("SLACK_CLIENT_ID"), get("SLACK_CLIENT_SECRET")
        if bool(client_id) != bool(client_secret):
            missing = "SLACK_CLIENT_SECRET" if client_id else "SLACK_CLIENT_ID"
            raise ConfigError(
                f"missing required environment variable {missing} (multi-workspace install "
                "needs both SLACK_CLIENT_ID and SLACK_CLIENT_SECRET)"
            )
        slack_api_url = get("SLACK_API_URL") or DEFAULT_SLACK_API_URL
        if not slack_api_url.endswith("/"):
            slack_api_url += "/"
        return cls(
            zoom_client_id=require("ZOOM_CLIENT_ID"),
            zoom_client_secret=require("ZOOM_CLIENT_SECRET"),
            slack_bot_token=(
                get("SLACK_BOT_TOKEN")
                if client_id
                else require(
                    "SLACK_BOT_TOKEN",
                    " (or SLACK_CLIENT_ID and SLACK_CLIENT_SECRET for multi-workspace installs)",
                )
            ),
            slack_signing_secret=(
                get("SLACK_SIGNING_SECRET")
                if app_token
                else require("SLACK_SIGNING_SECRET", " (it verifies Slack's requests in HTTP mode)")
            ),
            slack_app_token=app_token,
            slack_api_url=slack_api_url,
            zoom_oauth_url=(get("ZOOM_OAUTH_URL") or DEFAULT_ZOOM_OAUTH_URL).rstrip("/"),
            zoom_api_url=(get("ZOOM_API_URL") or DEFAULT_ZOOM_API_URL).rstrip("/"),
            db_path=Path(get("ZOOMBOT_DB") or "zoombot.db"),
            port=int(port_text),
            zoom_timeout=zoom_timeout,
            slack_client_id=client_id,
            slack_client_secret=client_secret,
            slack_redirect_uri=get("SLACK_REDIRECT_URI"),
            zoom_webhook_secret_token=get("ZOOM_WEBHOOK_SECRET_TOKEN"),
            encryption_keys=get("ZOOMBOT_ENCRYPTION_KEY"),
            pair_limit_per_user=per_user,
            pair_limit_per_workspace=per_workspace,
            max_pending_per_workspace=int(pending_text),
        )

    def secret_box(self) -> SecretBox:
        """The box sealing secrets in the database (raises EncryptionKeyError on a bad key)."""
        return SecretBox(load_keys(self.encryption_keys, self.db_path))


def load_dotenv_file(path: str = ".env") -> None:
    """Load `.env` from the working directory without overriding the real environment."""
    from dotenv import load_dotenv

    if Path(path).is_file():
        load_dotenv(path, override=False)
