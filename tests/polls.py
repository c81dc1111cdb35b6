"""Read a device flow's polls out of the Zoom stand-in's record."""

from __future__ import annotations

from bot.emulator.zoom import RecordedRequest, ZoomEmulator

#: Clock and scheduling slack allowed when comparing arrival times on one machine.
TOLERANCE = 0.01


def interval_of(zoom: ZoomEmulator, user_code: str) -> int:
    """The interval the devicecode answer gave (5 s when it gave none, per RFC 8628)."""
    for request in zoom.requests_to("/oauth/devicecode"):
        if request.user_code == user_code:
            return int((request.response or {}).get("interval", 5))
    raise AssertionError(f"no devicecode answer for {user_code}")


def gaps(zoom: ZoomEmulator, user_code: str) -> list[tuple[float, int]]:
    """(gap to the previous request of the flow, interval then in force) for every poll.

    The first gap is measured from the devicecode request; a slow_down answer raises the
    interval in force by 5 s for every later poll.
    """
    start = next(r for r in zoom.requests_to("/oauth/devicecode") if r.user_code == user_code)
    interval = interval_of(zoom, user_code)
    previous: RecordedRequest = start
    result = []
    for poll in zoom.polls(user_code):
        result.append((poll.time - previous.time, interval))
        if isinstance(poll.response, dict) and poll.response.get("error") == "slow_down":
            interval += 5
        previous = poll
    return result


def assert_never_too_fast(zoom: ZoomEmulator, user_code: str) -> None:
    for index, (gap, interval) in enumerate(gaps(zoom, user_code)):
        assert gap >= interval - TOLERANCE, f"poll {index} came {gap:.3f}s after, < {interval}s"
