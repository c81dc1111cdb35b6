"""Encryption at rest for the secrets in the database: Zoom tokens and device codes.

Fernet (AES-128-CBC with HMAC-SHA256) from `cryptography`. Several keys allow rotation: new
writes use the first, reads try each; `rotate-keys` rewrites every row with the first.
"""

from __future__ import annotations

import logging
import os
from pathlib import Path

from cryptography.fernet import Fernet, InvalidToken, MultiFernet

log = logging.getLogger(__name__)


class EncryptionKeyError(Exception):
    """A configured key is not a Fernet key, or a stored value opens with none of the keys."""


class SecretBox:
    def __init__(self, keys: list[bytes]) -> None:
        if not keys:
            raise EncryptionKeyError("no encryption key")
        try:
            self._fernet = MultiFernet([Fernet(key) for key in keys])
        except (ValueError, TypeError) as exc:
            raise EncryptionKeyError(
                "ZOOMBOT_ENCRYPTION_KEY must be comma-separated Fernet keys (32 url-safe "
                "base64-encoded bytes each)"
            ) from exc

    def seal(self, value: str) -> str:
        return self._fernet.encrypt(value.encode()).decode() if value else ""

    def open(self, sealed: str) -> str:
        if not sealed:
            return ""
        try:
            return self._fernet.decrypt(sealed.encode()).decode()
        except InvalidToken as exc:
            raise EncryptionKeyError(
                "a stored secret opens with none of the keys in ZOOMBOT_ENCRYPTION_KEY: "
                "keep the old key in the list until `rotate-keys` has run"
            ) from exc

    def reseal(self, sealed: str) -> str:
        """Re-encrypt with the first key (after a key was added in front)."""
        return self._fernet.rotate(sealed.encode()).decode() if sealed else ""

    def is_sealed(self, value: str) -> bool:
        try:
            self.open(value)
        except EncryptionKeyError:
            return False
        return True


def load_keys(configured: str | None, db_path: Path) -> list[bytes]:
    """The configured keys, or a key file beside the database, created (mode 0600) if missing."""
    if configured:
        return [key.strip().encode() for key in configured.split(",") if key.strip()]
    path = Path(f"{db_path}.key")
    if not path.exists():
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "wb") as file:
            file.write(Fernet.generate_key())
        log.warning(
            'event=encryption_key_created path=%s note="ZOOMBOT_ENCRYPTION_KEY is unset: back up '
            'this key file, stored Zoom tokens cannot be read without it"',
            path,
        )
    return [path.read_bytes().strip()]
