"""How long Zoom (or a proxy in front of it) asks us to wait after a 429 or 503.

Zoom sends `Retry-After` as an ISO-8601 datetime on daily limits and `X-RateLimit-Reset` as
Unix time on per-second limits; HTTP also allows `Retry-After` in seconds or as an HTTP date.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime


def retry_after_seconds(headers: Mapping[str, str], now: float | None = None) -> float | None:
    """Seconds to wait as the headers say, or None when they say nothing usable."""
    now = time.time() if now is None else now
    value = headers.get("retry-after")
    if value:
        delay = _parse_retry_after(value.strip(), now)
        if delay is not None:
            return delay
    reset = headers.get("x-ratelimit-reset")
    if reset:
        try:
            return max(0.0, float(reset.strip()) - now)
        except ValueError:
            return None
    return None


def _parse_retry_after(value: str, now: float) -> float | None:
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    moment: datetime | None
    try:
        moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        try:
            moment = parsedate_to_datetime(value)
        except (TypeError, ValueError):
            return None
    if moment is None:
        return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return max(0.0, moment.timestamp() - now)
