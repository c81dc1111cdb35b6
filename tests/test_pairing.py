"""The device flow behind `/zoom pair`: one test per polling rule of RFC 8628 and issue #2.

Each test drives the real bot process through signed Slack requests and reads the Zoom
stand-in's record of every poll, with its arrival time.
"""

from __future__ import annotations

import itertools
import time

import pytest

from bot.emulator.slack import SlackEmulator
from bot.emulator.zoom import ZoomEmulator
from tests.harness import BotProcess, wait_for
from tests.polls import assert_never_too_fast, gaps

DEVICE_GRANT = "urn:ietf:params:oauth:grant-type:device_code"


def start_pairing(bot: BotProcess, zoom: ZoomEmulator, slack: SlackEmulator) -> str:
    """Run `/zoom pair`, wait for the DM, return the user code."""
    result = bot.command("pair")
    assert result.response.status_code == 200
    wait_for(lambda: slack.calls_to("chat.postMessage"), what="the code DM")
    code = zoom.latest_user_code
    assert code
    return code


def dm_text(slack: SlackEmulator, user_id: str = "U0ALICE") -> str:
    messages = slack.messages(slack.dm_channel(user_id))
    return " ".join(str(m.get("text", "")) + str(m.get("blocks", "")) for m in messages)


def wait_dm_says(slack: SlackEmulator, words: str, timeout: float = 15) -> str:
    return wait_for(
        lambda: words in dm_text(slack) and dm_text(slack), timeout, what=f"DM saying {words!r}"
    )


def poll_count_settles(zoom: ZoomEmulator, code: str, quiet: float) -> int:
    """The number of polls after `quiet` seconds without a new one."""
    count = len(zoom.polls(code))
    while True:
        time.sleep(quiet)
        now = len(zoom.polls(code))
        if now == count:
            return count
        count = now


def test_pending_polls_again_at_the_interval_until_approved(bot, zoom, slack):
    code = start_pairing(bot, zoom, slack)
    wait_for(lambda: len(zoom.polls(code)) >= 3, what="three pending polls")
    zoom.approve(code)
    wait_dm_says(slack, "Paired with Zoom as")
    polls = zoom.polls(code)
    assert [p.response.get("error") for p in polls[:-1]] == ["authorization_pending"] * (
        len(polls) - 1
    )
    assert polls[-1].status == 200
    assert all(p.form.get("grant_type") == DEVICE_GRANT for p in polls)
    assert all("device_code" not in p.query for p in polls), "device code must not be in URLs"
    assert all(p.headers.get("authorization", "").startswith("Basic ") for p in polls)
    assert_never_too_fast(zoom, code)


def test_never_polls_again_after_success(bot, zoom, slack):
    code = start_pairing(bot, zoom, slack)
    zoom.approve(code)
    wait_dm_says(slack, "Paired with Zoom as")
    count = len(zoom.polls(code))
    time.sleep(3.5)  # more than three intervals
    assert len(zoom.polls(code)) == count
    assert zoom.grant(code).state == "redeemed"


@pytest.mark.parametrize("zoom_options", [{"interval": None}])
def test_missing_interval_means_five_seconds(bot, zoom, slack):
    code = start_pairing(bot, zoom, slack)
    wait_for(lambda: len(zoom.polls(code)) >= 2, timeout=20, what="two polls")
    assert all(gap >= 5 - 0.01 for gap, _ in gaps(zoom, code))
    assert not any(p.response.get("error") == "slow_down" for p in zoom.polls(code))


def test_slow_down_adds_five_seconds_to_every_later_poll(bot, zoom, slack):
    code = start_pairing(bot, zoom, slack)
    wait_for(lambda: zoom.polls(code), what="first poll")
    zoom.inject("/oauth/token", status=400, body={"error": "slow_down", "reason": "too fast"})
    wait_for(lambda: len(zoom.polls(code)) >= 4, timeout=25, what="two polls after slow_down")
    observed = gaps(zoom, code)
    slowed = [gap for gap, interval in observed if interval == 6]
    assert len(slowed) >= 2, observed
    assert all(gap >= 6 - 0.01 for gap in slowed)
    assert_never_too_fast(zoom, code)
    zoom.approve(code)
    wait_dm_says(slack, "Paired with Zoom as", timeout=20)


@pytest.mark.parametrize(
    ("end", "words"),
    [
        ("deny", "You declined this request in Zoom"),
        ("expire", "This code expired before it was approved"),
    ],
)
def test_denied_or_expired_stops_and_marks_the_code_dead(bot, zoom, slack, end, words):
    code = start_pairing(bot, zoom, slack)
    wait_for(lambda: zoom.polls(code), what="first poll")
    getattr(zoom, end)(code)
    text = wait_dm_says(slack, words)
    assert f"~{code}~" in text and "/zoom pair" in text
    count = poll_count_settles(zoom, code, quiet=2.5)
    assert zoom.polls(code)[-1].response["error"] in ("access_denied", "expired_token")
    assert len(zoom.polls(code)) == count
    qr_files = [f for f in slack.files.values() if f.filename.endswith(".png")]
    assert qr_files
    # The message is updated first, then its QR code deleted.
    wait_for(lambda: all(slack.files[f.id].deleted for f in qr_files), what="the QR deleted")
    assert not bot_db_rows(bot, "pairings")


@pytest.mark.parametrize("error", ["invalid_grant", "unsupported_grant_type", "server_error"])
def test_any_other_error_stops_polling(bot, zoom, slack, error):
    code = start_pairing(bot, zoom, slack)
    wait_for(lambda: zoom.polls(code), what="first poll")
    zoom.inject("/oauth/token", status=400, body={"error": error, "reason": "no"})
    wait_dm_says(slack, "Zoom refused this code")
    count = poll_count_settles(zoom, code, quiet=2.5)
    assert zoom.polls(code)[-1].response["error"] == error
    assert len(zoom.polls(code)) == count
    assert not bot_db_rows(bot, "pending_flows")


def test_stops_at_expires_in_even_if_zoom_keeps_saying_pending(start_bot, zoom, slack):
    """The bot keeps its own deadline: Zoom here never says expired_token."""
    zoom.expires_in = 4
    zoom.inject("/oauth/token", status=400, body={"error": "authorization_pending"}, times=1000)
    bot = start_bot()
    started = time.monotonic()
    code = start_pairing(bot, zoom, slack)
    wait_dm_says(slack, "This code expired")
    assert time.monotonic() - started < 8
    deadline = zoom.requests_to("/oauth/devicecode")[-1].time + 4
    poll_count_settles(zoom, code, quiet=2)
    assert all(p.time <= deadline + 0.05 for p in zoom.polls(code))


@pytest.mark.parametrize("status", [500, 503])
def test_server_errors_back_off_doubling_and_keep_going(bot, zoom, slack, status):
    code = start_pairing(bot, zoom, slack)
    wait_for(lambda: zoom.polls(code), what="first poll")
    zoom.inject("/oauth/token", status=status, body="<html>oops</html>", times=2)
    wait_for(lambda: len(zoom.polls(code)) >= 4, timeout=20, what="polls after the faults")
    polls = zoom.polls(code)
    after = [b.time - a.time for a, b in itertools.pairwise(polls[1:])]
    assert after[0] >= 2 - 0.01, after  # first failure: twice the interval
    assert after[1] >= 4 - 0.01, after  # second in a row: twice again
    zoom.approve(code)
    wait_dm_says(slack, "Paired with Zoom as", timeout=20)
    assert_never_too_fast(zoom, code)


@pytest.mark.parametrize(
    "headers",
    [
        {"Retry-After": "3"},
        {"X-RateLimit-Reset": "{reset}"},
        {"Retry-After": "{iso}"},
    ],
)
def test_rate_limit_honours_retry_after(bot, zoom, slack, headers):
    code = start_pairing(bot, zoom, slack)
    wait_for(lambda: zoom.polls(code), what="first poll")
    reset = time.time() + 5
    iso = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(reset + 1))
    filled = {k: v.format(reset=int(reset) + 1, iso=iso) for k, v in headers.items()}
    zoom.inject("/oauth/token", status=429, body={"code": 429, "message": "slow"}, headers=filled)
    wait_for(lambda: len(zoom.polls(code)) >= 3, timeout=20, what="the poll after the 429")
    polls = zoom.polls(code)
    assert polls[1].status == 429
    assert polls[2].time - polls[1].time >= 2.9, "Retry-After was not honoured"
    zoom.approve(code)
    wait_dm_says(slack, "Paired with Zoom as", timeout=20)


def test_timeouts_back_off_and_keep_going(start_bot, zoom, slack):
    bot = start_bot(ZOOM_TIMEOUT="0.5")
    code = start_pairing(bot, zoom, slack)
    wait_for(lambda: zoom.polls(code), what="first poll")
    zoom.inject("/oauth/token", status=400, body={"error": "authorization_pending"}, delay=1.5)
    wait_for(lambda: len(zoom.polls(code)) >= 3, timeout=20, what="polls after a timeout")
    polls = zoom.polls(code)
    assert polls[2].time - polls[1].time >= 2 - 0.01
    zoom.approve(code)
    wait_dm_says(slack, "Paired with Zoom as", timeout=20)
    assert "poll_transient_error" in bot.logs


def bot_db_rows(bot: BotProcess, table: str) -> list[dict]:
    return bot.rows(table)
