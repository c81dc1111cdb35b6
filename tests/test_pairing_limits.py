"""Abuse limits on `/zoom pair`: per person, per workspace, pending codes per workspace."""

from __future__ import annotations

import pytest

from tests.harness import bare_env, run_bot, wait_for


def codes(zoom) -> int:
    return len(zoom.requests_to("/oauth/devicecode"))


def test_per_user_limit(start_bot, zoom, slack):
    bot = start_bot(ZOOMBOT_PAIR_LIMIT_PER_USER="2/600")
    for expected in (1, 2):
        assert "check your DMs" in bot.command("pair").ack_text
        wait_for(lambda n=expected: codes(zoom) == n, what=f"code {expected}")
    refused = bot.command("pair")
    assert refused.response.status_code == 200
    assert "You've asked for 2 pairing codes" in refused.ack_text
    assert "Try `/zoom pair` again in 10 minutes" in refused.ack_text
    assert codes(zoom) == 2
    # Someone else is not affected.
    assert "check your DMs" in bot.command("pair", user_id="U0BOB").ack_text


def test_per_workspace_limit(start_bot, zoom, slack):
    bot = start_bot(ZOOMBOT_PAIR_LIMIT_PER_WORKSPACE="3/600")
    for n, user in enumerate(("U1", "U2", "U3"), start=1):
        bot.command("pair", user_id=user)
        wait_for(lambda n=n: codes(zoom) == n, what=f"code {n}")
    refused = bot.command("pair", user_id="U4")
    assert "This workspace has started a lot of Zoom pairings" in refused.ack_text
    assert codes(zoom) == 3


def test_pending_cap_per_workspace(start_bot, zoom, slack):
    bot = start_bot(ZOOMBOT_MAX_PENDING_PER_WORKSPACE="2")
    for n, user in enumerate(("U1", "U2"), start=1):
        bot.command("pair", user_id=user)
        wait_for(lambda n=n: codes(zoom) == n, what=f"code {n}")
    refused = bot.command("pair", user_id="U3")
    assert "2 Zoom pairings are already waiting for approval" in refused.ack_text
    # Replacing one's own pending code is not a new pending pairing.
    assert "check your DMs" in bot.command("pair", user_id="U1").ack_text
    wait_for(lambda: codes(zoom) == 3, what="U1's new code")
    zoom.approve(zoom.latest_user_code)
    wait_for(lambda: bot.rows("pairings"), what="U1 paired")
    assert "check your DMs" in bot.command("pair", user_id="U3").ack_text


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("ZOOMBOT_PAIR_LIMIT_PER_USER", "five"),
        ("ZOOMBOT_PAIR_LIMIT_PER_WORKSPACE", "0/600"),
        ("ZOOMBOT_MAX_PENDING_PER_WORKSPACE", "-1"),
    ],
)
def test_bad_limit_settings_are_named(tmp_path, name, value):
    from tests.test_main import FULL

    result = run_bot([], bare_env(**FULL, **{name: value}), tmp_path)
    assert result.returncode == 2 and name in result.stderr
