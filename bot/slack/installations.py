"""Slack installations (multi-workspace bot tokens) in the bot's database, encrypted at rest.

slack_sdk's SQLite store does the storing; this subclass seals the tokens on the way in and
opens them on the way out, with the same keys as the Zoom tokens. Its async methods call the
sync ones, so sealing there covers both.
"""

from __future__ import annotations

import copy
from typing import Any, TypeVar

from slack_sdk.oauth.installation_store import Bot, Installation
from slack_sdk.oauth.installation_store.sqlite3 import SQLite3InstallationStore

from bot.config import Settings
from bot.encryption import SecretBox

SECRET_ATTRIBUTES = ("bot_token", "bot_refresh_token", "user_token", "user_refresh_token")
T = TypeVar("T", Bot, Installation)


class SealedInstallationStore(SQLite3InstallationStore):
    def __init__(self, database: str, client_id: str, box: SecretBox) -> None:
        super().__init__(database=database, client_id=client_id)
        self.box = box

    def _sealed(self, item: T) -> T:
        sealed = copy.copy(item)
        for name in SECRET_ATTRIBUTES:
            value = getattr(sealed, name, None)
            if value and not self.box.is_sealed(value):  # save() hands save_bot() sealed ones
                setattr(sealed, name, self.box.seal(value))
        return sealed

    def _opened(self, item: T | None) -> T | None:
        if item is None:
            return None
        for name in SECRET_ATTRIBUTES:
            value = getattr(item, name, None)
            if value:
                setattr(item, name, self.box.open(value))
        return item

    def save(self, installation: Installation) -> None:
        super().save(self._sealed(installation))

    def save_bot(self, bot: Bot) -> None:
        super().save_bot(self._sealed(bot))

    def find_bot(self, **kwargs: Any) -> Bot | None:
        return self._opened(super().find_bot(**kwargs))

    def find_installation(self, **kwargs: Any) -> Installation | None:
        return self._opened(super().find_installation(**kwargs))


def installation_store(settings: Settings) -> SealedInstallationStore:
    store = SealedInstallationStore(
        str(settings.db_path), settings.slack_client_id or "", settings.secret_box()
    )
    store.init()
    return store
