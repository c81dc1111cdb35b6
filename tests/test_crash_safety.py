"""SIGKILL at the worst moments: nothing lost that can be kept, no flow stuck.

The Zoom stand-in holds requests (latency) to open the window; the bot is killed while Zoom
has the request, then started again on the same database.
"""

from __future__ import annotations

import time

from tests.conftest import pair_user
from tests.harness import wait_for
from tests.test_pairing import dm_text, start_pairing


def test_killed_while_the_approving_poll_is_in_flight(bot, zoom, slack):
    code = start_pairing(bot, zoom, slack)
    wait_for(lambda: zoom.polls(code), what="a first poll")
    zoom.set_latency("/oauth/token", 2.0)
    zoom.approve(code)
    count = len(zoom.polls(code))
    wait_for(lambda: len(zoom.polls(code)) > count, timeout=10, what="the poll Zoom holds")
    bot.kill()
    zoom.set_latency("/oauth/token", 0)
    time.sleep(2.5)  # Zoom finishes the held request: the code is redeemed, the answer lost
    bot.start()
    # Either the pairing completes, or the person is told the code is dead and to pair again.
    wait_for(
        lambda: bot.rows("pairings") or "Run `/zoom pair`" in dm_text(slack),
        timeout=20,
        what="an outcome the person can see",
    )
    wait_for(lambda: bot.rows("pending_flows") == [], what="no flow left behind")
    count = len(zoom.polls(code))
    time.sleep(2.5)
    assert len(zoom.polls(code)) == count, "a finished flow kept polling"


def test_killed_while_a_pending_poll_is_in_flight_resumes(bot, zoom, slack):
    code = start_pairing(bot, zoom, slack)
    zoom.set_latency("/oauth/token", 2.0)
    wait_for(lambda: zoom.polls(code), what="a held poll")
    bot.kill()
    zoom.set_latency("/oauth/token", 0)
    bot.start()
    zoom.approve(code)
    wait_for(lambda: bot.rows("pairings"), timeout=20, what="the pairing")
    # The tokens are stored first; the DM names the account once Zoom has said whose they are.
    wait_for(
        lambda: "Paired with Zoom as alice@example.com" in dm_text(slack), what="the paired DM"
    )


def test_killed_while_a_refresh_is_in_flight(bot, zoom, slack):
    pair_user(bot, zoom, slack, "U0ALICE")
    before = bot.rows("pairings")[0]
    zoom.expire_access_tokens()
    zoom.set_latency("/oauth/token", 2.0)
    result = bot.command("meet")
    wait_for(
        lambda: (
            any(
                r.form.get("grant_type") == "refresh_token"
                for r in zoom.requests_to("/oauth/token")
            )
            or len(zoom.requests_to("/v2/users/me/zak")) > 0
        ),
        timeout=10,
        what="the refresh Zoom holds",
    )
    time.sleep(0.3)
    bot.kill()
    zoom.set_latency("/oauth/token", 0)
    time.sleep(2.5)
    bot.start()
    [after] = bot.rows("pairings")
    assert after["refresh_token"] == before["refresh_token"], "only a saved pair is ever stored"
    retry = bot.command("meet")
    answer = retry.wait_response()[0]
    if zoom.refresh_token_valid(before["refresh_token"]):
        assert answer["response_type"] == "in_channel", answer
    else:
        # Zoom rotated the token and its answer died with the process: nothing can recover
        # it, so the person is told to pair again instead of failing forever.
        assert "Run `/zoom pair`" in answer["text"]
        assert bot.rows("pairings") == []
    assert "Traceback" not in bot.logs
    assert result.response.status_code == 200
