"""One poller per database: a second bot process on the same database refuses to start.

Two pollers would each poll every pending flow (halving the interval Zoom sees) and race each
other's token refreshes. The lock is an exclusive SQLite lock on a small file beside the
database, held by an open connection: the operating system drops it when the process dies,
however it dies, so a crashed bot never blocks its successor.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path


class PollerAlreadyRunning(Exception):
    """Another live process holds the poller lock for this database."""


class PollerLock:
    def __init__(self, db_path: str | Path) -> None:
        self.path = Path(f"{db_path}.poller-lock")
        self._conn: sqlite3.Connection | None = None

    def acquire(self) -> None:
        conn = sqlite3.connect(self.path, timeout=0, isolation_level=None)
        try:
            conn.execute("PRAGMA locking_mode = EXCLUSIVE")
            conn.execute("BEGIN EXCLUSIVE")
            conn.execute("CREATE TABLE IF NOT EXISTS poller (held INTEGER)")
        except sqlite3.OperationalError as exc:
            conn.close()
            raise PollerAlreadyRunning(
                f"another zoombot process is already running on {self.path.with_suffix('')}: "
                "run one bot process per database"
            ) from exc
        self._conn = conn

    def release(self) -> None:
        if self._conn is not None:
            self._conn.close()
            self._conn = None
