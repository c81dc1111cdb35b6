"""Abuse limits on `/zoom pair`: per person, per workspace, pending codes per workspace."""

from __future__ import annotations

import pytest

from tests.harness import BotProcess, wait_for


def limited_bot(tmp_path, zoom, slack, **env: str) -> BotProcess:
    bot = BotProcess(tmp_path, zoom=zoom, slack=slack, signing_secret="s", extra_env=env)
    bot.start()
    return bot


def codes(zoom) -> int:
    return len(zoom.requests_to("/oauth/devicecode"))


def test_per_user_limit(tmp_path, zoom, slack):
    bot = limited_bot(tmp_path, zoom, slack, ZOOMBOT_PAIR_LIMIT_PER_USER="2/600")
    try:
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
    finally:
        bot.stop()


def test_per_workspace_limit(tmp_path, zoom, slack):
    bot = limited_bot(tmp_path, zoom, slack, ZOOMBOT_PAIR_LIMIT_PER_WORKSPACE="3/600")
    try:
        for n, user in enumerate(("U1", "U2", "U3"), start=1):
            bot.command("pair", user_id=user)
            wait_for(lambda n=n: codes(zoom) == n, what=f"code {n}")
        refused = bot.command("pair", user_id="U4")
        assert "This workspace has started a lot of Zoom pairings" in refused.ack_text
        assert codes(zoom) == 3
    finally:
        bot.stop()


def test_pending_cap_per_workspace(tmp_path, zoom, slack):
    bot = limited_bot(tmp_path, zoom, slack, ZOOMBOT_MAX_PENDING_PER_WORKSPACE="2")
    try:
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
    finally:
        bot.stop()


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("ZOOMBOT_PAIR_LIMIT_PER_USER", "five"),
        ("ZOOMBOT_PAIR_LIMIT_PER_WORKSPACE", "0/600"),
        ("ZOOMBOT_MAX_PENDING_PER_WORKSPACE", "-1"),
    ],
)
def test_bad_limit_settings_are_named(tmp_path, name, value):
    import os
    import subprocess
    import sys

    from tests.harness import ROOT
    from tests.test_main import FULL

    result = subprocess.run(
        [sys.executable, "-m", "bot"],
        cwd=tmp_path,
        env={"PATH": os.environ["PATH"], "PYTHONPATH": str(ROOT), **FULL, name: value},
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )
    assert result.returncode == 2 and name in result.stderr
