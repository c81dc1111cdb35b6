"""Limits on starting pairings: per person, per workspace, and pending codes per workspace.

Each `/zoom pair` costs a Zoom device code and a polling job; these limits keep one person (or
one script) from flooding Zoom or the poller. Sliding windows in memory: a restart forgets
them, which only ever errs on the side of letting people pair.
"""

from __future__ import annotations

import time
from collections import deque
from dataclasses import dataclass
from typing import Literal

from bot.store import UserKey


@dataclass(frozen=True)
class Limit:
    count: int
    seconds: float

    @classmethod
    def parse(cls, text: str | None, name: str, default: Limit) -> Limit:
        """`5/600`: at most 5 in any 600 seconds; `default` when unset."""
        if not text:
            return default
        count, _, seconds = text.partition("/")
        try:
            limit = cls(int(count), float(seconds))
        except ValueError:
            limit = cls(0, 0)
        if limit.count < 1 or limit.seconds <= 0:
            raise ValueError(f"{name} must look like COUNT/SECONDS, e.g. 5/600, not {text!r}")
        return limit


@dataclass(frozen=True)
class LimitExceeded:
    kind: Literal["user", "workspace", "pending"]
    #: Seconds until a new attempt can pass; None for the pending cap (it frees as codes end).
    retry_after: float | None
    limit: int


class SlidingWindow:
    def __init__(self, limit: Limit) -> None:
        self.limit = limit
        self._hits: dict[tuple[str, ...], deque[float]] = {}

    def retry_after(self, key: tuple[str, ...], now: float) -> float | None:
        hits = self._prune(key, now)
        if len(hits) < self.limit.count:
            return None
        return hits[0] + self.limit.seconds - now

    def record(self, key: tuple[str, ...], now: float) -> None:
        hits = self._prune(key, now)
        hits.append(now)
        self._hits[key] = hits

    def __len__(self) -> int:
        return len(self._hits)

    def _prune(self, key: tuple[str, ...], now: float) -> deque[float]:
        hits = self._hits.get(key, deque())
        while hits and hits[0] <= now - self.limit.seconds:
            hits.popleft()
        if not hits:
            # Forget idle keys, so the table holds only people active in the window.
            self._hits.pop(key, None)
        return hits


class PairingLimits:
    def __init__(self, per_user: Limit, per_workspace: Limit, max_pending_per_workspace: int):
        self.per_user = SlidingWindow(per_user)
        self.per_workspace = SlidingWindow(per_workspace)
        self.max_pending = max_pending_per_workspace

    def check(self, key: UserKey, pending_in_workspace: int) -> LimitExceeded | None:
        now = time.monotonic()
        wait = self.per_user.retry_after(key.pk(), now)
        if wait is not None:
            return LimitExceeded("user", wait, self.per_user.limit.count)
        workspace = (key.enterprise_id, key.team_id)
        wait = self.per_workspace.retry_after(workspace, now)
        if wait is not None:
            return LimitExceeded("workspace", wait, self.per_workspace.limit.count)
        if pending_in_workspace >= self.max_pending:
            return LimitExceeded("pending", None, self.max_pending)
        return None

    def record(self, key: UserKey) -> None:
        now = time.monotonic()
        self.per_user.record(key.pk(), now)
        self.per_workspace.record((key.enterprise_id, key.team_id), now)
