"""The bot's SQLite database: Zoom pairings and pending device flows, one row per Slack user.

Pending flows live here rather than only in the scheduler, so a restarted process can pick up
every flow a killed one left behind. Writes that must not half-happen use one transaction.
"""

from __future__ import annotations

import secrets
import sqlite3
import time
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any, NamedTuple

import sqlite_utils
from sqlite_utils.db import Table

from bot.encryption import SecretBox
from bot.zoom.api import ZoomUser

SCHEMA_VERSION = 2
KEY_COLUMNS = ("enterprise_id", "team_id", "user_id")
#: Columns holding secrets: encrypted with the SecretBox on the way in, opened on the way out.
SEALED = {
    "pending_flows": ("device_code", "response_url"),
    "pairings": ("access_token", "refresh_token"),
}


class UserKey(NamedTuple):
    """A Slack user as the bot keys its data: workspace (and enterprise when present) and user."""

    team_id: str
    user_id: str
    enterprise_id: str = ""

    @property
    def known(self) -> bool:
        """Both a workspace and a user: what every request from Slack carries."""
        return bool(self.team_id and self.user_id)

    def pk(self) -> tuple[str, str, str]:
        return (self.enterprise_id, self.team_id, self.user_id)

    def where(self) -> tuple[str, list[str]]:
        return (
            "enterprise_id = ? and team_id = ? and user_id = ?",
            [self.enterprise_id, self.team_id, self.user_id],
        )


@dataclass
class PendingFlow:
    """A device flow waiting for the user; `flow_id` tells a replaced flow from the live one."""

    key: UserKey
    flow_id: str
    device_code: str = field(repr=False)
    user_code: str = field(repr=False)
    verification_uri: str
    verification_uri_complete: str = field(repr=False)
    interval: int
    expires_at: float
    created_at: float
    dm_channel: str = ""
    dm_ts: str = ""
    qr_file_id: str = ""
    #: The slash command's response_url: where the user hears from us if the DM fails.
    response_url: str = field(default="", repr=False)


@dataclass
class Pairing:
    """A Slack user's linked Zoom account; tokens are kept out of repr."""

    key: UserKey
    zoom_user_id: str
    zoom_account_id: str
    zoom_email: str
    zoom_name: str
    access_token: str = field(repr=False)
    refresh_token: str = field(repr=False)
    expires_at: float
    scopes: str
    api_url: str
    paired_at: float
    updated_at: float
    #: A new random value with every token change (never reused, even across re-pairing), so
    #: a compare-and-swap on it can only match the tokens the writer actually read.
    generation: int = 0


def _new_generation() -> int:
    return secrets.randbits(62)


def _key_of(row: dict[str, Any]) -> UserKey:
    return UserKey(row.pop("team_id"), row.pop("user_id"), row.pop("enterprise_id"))


class Store:
    """One SQLite file, opened in WAL mode; used from the event loop's thread only."""

    def __init__(self, path: str | Path, box: SecretBox) -> None:
        self.path = Path(path)
        self.box = box
        self.db = sqlite_utils.Database(self.path)
        self.db.execute("PRAGMA busy_timeout = 5000")
        self.db.enable_wal()
        self.db.execute("PRAGMA synchronous = NORMAL")
        # Overwrite deleted rows' bytes instead of leaving them in free pages.
        self.db.execute("PRAGMA secure_delete = ON")
        self._migrate()
        self._check_key()

    # Rows <-> objects, sealing secrets on the way in and opening them on the way out.

    def _row(self, obj: PendingFlow | Pairing, table: str) -> dict[str, Any]:
        data = {f.name: getattr(obj, f.name) for f in fields(obj) if f.name != "key"}
        data.update(obj.key._asdict())
        for column in SEALED[table]:
            data[column] = self.box.seal(data[column])
        return data

    def _opened(self, row: dict[str, Any], table: str) -> dict[str, Any]:
        for column in SEALED[table]:
            row[column] = self.box.open(row[column])
        return row

    def _flow(self, row: dict[str, Any]) -> PendingFlow:
        return PendingFlow(key=_key_of(row), **self._opened(row, "pending_flows"))

    def _pairing(self, row: dict[str, Any]) -> Pairing:
        return Pairing(key=_key_of(row), **self._opened(row, "pairings"))

    def close(self) -> None:
        self.db.close()

    @property
    def flows(self) -> Table:
        return self.db.table("pending_flows")

    @property
    def pairings(self) -> Table:
        return self.db.table("pairings")

    def _migrate(self) -> None:
        version = self.db.execute("PRAGMA user_version").fetchone()[0]
        if version > SCHEMA_VERSION:
            raise RuntimeError(
                f"{self.path} was written by a newer zoombot (schema {version}); upgrade the bot"
            )
        with self.db.atomic():
            if version < 1:
                self.flows.create(
                    {
                        "enterprise_id": str,
                        "team_id": str,
                        "user_id": str,
                        "flow_id": str,
                        "device_code": str,
                        "user_code": str,
                        "verification_uri": str,
                        "verification_uri_complete": str,
                        "interval": int,
                        "expires_at": float,
                        "created_at": float,
                        "dm_channel": str,
                        "dm_ts": str,
                        "qr_file_id": str,
                        "response_url": str,
                    },
                    pk=KEY_COLUMNS,
                    not_null=KEY_COLUMNS,
                    if_not_exists=True,
                )
                self.pairings.create(
                    {
                        "enterprise_id": str,
                        "team_id": str,
                        "user_id": str,
                        "zoom_user_id": str,
                        "zoom_account_id": str,
                        "zoom_email": str,
                        "zoom_name": str,
                        "access_token": str,
                        "refresh_token": str,
                        "expires_at": float,
                        "scopes": str,
                        "api_url": str,
                        "paired_at": float,
                        "updated_at": float,
                    },
                    pk=KEY_COLUMNS,
                    not_null=KEY_COLUMNS,
                    if_not_exists=True,
                )
                self.pairings.create_index(["zoom_user_id"], if_not_exists=True)
            if version < 2:
                # v2: secrets encrypted at rest, and a generation counter for token swaps.
                self.pairings.add_column("generation", int, not_null_default=0)
                self._seal_plaintext()
            self.db.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")

    def _check_key(self) -> None:
        """Fail at start-up, not at the first poll, when the keys cannot open stored secrets."""
        for table, columns in SEALED.items():
            row = self.db.execute(
                f"select {columns[0]} from {table} where {columns[0]} != '' limit 1"
            ).fetchone()
            if row is not None:
                self.box.open(row[0])

    def _seal_plaintext(self) -> None:
        for table, columns in SEALED.items():
            for row in list(self.db.table(table).rows):
                changes = {
                    column: self.box.seal(row[column])
                    for column in columns
                    if row[column] and not self.box.is_sealed(row[column])
                }
                if changes:
                    self.db.table(table).update(tuple(row[c] for c in KEY_COLUMNS), changes)

    def rotate_keys(self) -> int:
        """Re-encrypt every secret with the first key; returns the number of rows rewritten."""
        count = 0
        with self.db.atomic():
            for table, columns in SEALED.items():
                for row in list(self.db.table(table).rows):
                    changes = {column: self.box.reseal(row[column]) for column in columns}
                    self.db.table(table).update(tuple(row[c] for c in KEY_COLUMNS), changes)
                    count += 1
        return count

    # Pending flows

    def save_flow(self, flow: PendingFlow) -> None:
        """Insert or replace the user's flow: one live flow per user."""
        self.flows.upsert(self._row(flow, "pending_flows"), pk=KEY_COLUMNS)

    def get_flow(self, key: UserKey) -> PendingFlow | None:
        row = self._get("pending_flows", key)
        return self._flow(row) if row is not None else None

    def update_flow(self, flow: PendingFlow, **changes: Any) -> bool:
        """Change fields of the flow if it is still the live one; False when it was replaced."""
        where, args = flow.key.where()
        assignments = ", ".join(f"[{name}] = ?" for name in changes)
        with self.db.atomic():
            cursor = self.db.execute(
                f"update pending_flows set {assignments} where {where} and flow_id = ?",
                [*changes.values(), *args, flow.flow_id],
            )
        if cursor.rowcount:
            for name, value in changes.items():
                setattr(flow, name, value)
        return cursor.rowcount > 0

    def delete_flow(self, flow: PendingFlow) -> bool:
        """Remove the flow if it is still the live one."""
        where, args = flow.key.where()
        with self.db.atomic():
            cursor = self.db.execute(
                f"delete from pending_flows where {where} and flow_id = ?",
                [*args, flow.flow_id],
            )
        return cursor.rowcount > 0

    def pending_flow_schedule(self) -> list[tuple[UserKey, str, int, float]]:
        """(key, flow_id, interval, expires_at) of every flow, without decrypting anything."""
        rows = self.db.execute(
            "select enterprise_id, team_id, user_id, flow_id, interval, expires_at"
            " from pending_flows"
        ).fetchall()
        return [(UserKey(team, user, enterprise), *rest) for enterprise, team, user, *rest in rows]

    def count_flows_of_workspace(self, team_id: str, enterprise_id: str = "") -> int:
        return self.flows.count_where("team_id = ? and enterprise_id = ?", [team_id, enterprise_id])

    def count_flows(self) -> int:
        return self.flows.count

    # Pairings

    def complete_pairing(self, flow: PendingFlow, pairing: Pairing) -> bool:
        """Store the tokens and retire the flow in one transaction.

        Returns False, storing nothing, when the flow was replaced meanwhile.
        """
        where, args = flow.key.where()
        with self.db.atomic():
            cursor = self.db.execute(
                f"delete from pending_flows where {where} and flow_id = ?",
                [*args, flow.flow_id],
            )
            if cursor.rowcount == 0:
                return False
            pairing.generation = _new_generation()
            self.pairings.upsert(self._row(pairing, "pairings"), pk=KEY_COLUMNS)
        return True

    def get_pairing(self, key: UserKey) -> Pairing | None:
        row = self._get("pairings", key)
        return self._pairing(row) if row is not None else None

    def _get(self, table: str, key: UserKey) -> dict[str, Any] | None:
        """One row by key, in one query: every poll reads its flow, so this stays lean
        (sqlite-utils' Table.get first asks SQLite for the table's columns)."""
        where, args = key.where()
        cursor = self.db.execute(f"select * from {table} where {where}", args)
        row = cursor.fetchone()
        if row is None:
            return None
        return dict(zip([column[0] for column in cursor.description], row, strict=True))

    def replace_tokens(
        self,
        old: Pairing,
        *,
        access_token: str,
        refresh_token: str,
        expires_at: float,
        scopes: str,
        api_url: str,
    ) -> Pairing | None:
        """Swap in a refreshed token pair only if the old one is still the stored one.

        One transaction retires the old pair and saves the new, so a crash never leaves the
        user with a refresh token Zoom has already killed. None when someone else swapped first.
        """
        where, args = old.key.where()
        with self.db.atomic():
            cursor = self.db.execute(
                "update pairings set access_token = ?, refresh_token = ?, expires_at = ?,"
                " scopes = ?, api_url = ?, updated_at = ?, generation = ?"
                f" where {where} and generation = ?",
                [
                    self.box.seal(access_token),
                    self.box.seal(refresh_token),
                    expires_at,
                    scopes,
                    api_url,
                    time.time(),
                    _new_generation(),
                    *args,
                    old.generation,
                ],
            )
        return self.get_pairing(old.key) if cursor.rowcount else None

    def update_profile(self, key: UserKey, profile: ZoomUser) -> None:
        """Record which Zoom account the tokens belong to (read after they were stored)."""
        where, args = key.where()
        with self.db.atomic():
            self.db.execute(
                "update pairings set zoom_user_id = ?, zoom_account_id = ?, zoom_email = ?,"
                f" zoom_name = ? where {where}",
                [profile.id, profile.account_id, profile.email, profile.display_name, *args],
            )

    def delete_pairing(self, key: UserKey, generation: int | None = None) -> bool:
        """Delete the user's pairing; with `generation`, only if its tokens are still those."""
        where, args = key.where()
        params: list[str | int] = list(args)
        if generation is not None:
            where = f"{where} and generation = ?"
            params.append(generation)
        with self.db.atomic():
            cursor = self.db.execute(f"delete from pairings where {where}", params)
        return cursor.rowcount > 0

    def pairings_of_workspace(self, team_id: str, enterprise_id: str = "") -> list[Pairing]:
        rows = self.pairings.rows_where(
            "team_id = ? and enterprise_id = ?", [team_id, enterprise_id]
        )
        return [self._pairing(row) for row in rows]

    def flows_of_workspace(self, team_id: str, enterprise_id: str = "") -> list[PendingFlow]:
        rows = self.flows.rows_where("team_id = ? and enterprise_id = ?", [team_id, enterprise_id])
        return [self._flow(row) for row in rows]

    def pairings_of_zoom_user(self, zoom_user_id: str) -> list[Pairing]:
        rows = self.pairings.rows_where("zoom_user_id = ?", [zoom_user_id])
        return [self._pairing(row) for row in rows]

    def check(self) -> None:
        """Raise sqlite3.Error when the database file cannot be read (for health checks).

        A fresh connection sees the file as it is now, not pages cached by the long-lived one.
        """
        uri = f"{self.path.resolve().as_uri()}?mode=rw"
        conn = sqlite3.connect(uri, uri=True, timeout=1)
        try:
            conn.execute("select count(*) from pairings").fetchone()
        finally:
            conn.close()


def new_pairing(key: UserKey, **values: Any) -> Pairing:
    now = time.time()
    values.setdefault("paired_at", now)
    values.setdefault("updated_at", now)
    return Pairing(key=key, **values)
