"""Logs: one structured line per event, tied to a request, and never a secret."""

from __future__ import annotations

import re

from tests.conftest import SIGNING_SECRET, pair_user
from tests.slack.listeners.test_meet_command import pairing_row


def test_a_full_pair_and_meet_run_logs_no_secret(bot, zoom, slack):
    pair_user(bot, zoom, slack, "U0ALICE")
    bot.command("meet standup").wait_response(2)
    zoom.expire_access_tokens()
    bot.command("meet again").wait_response(2)  # through a refresh
    bot.command("unpair").wait_response()

    token_answers = [r.response for r in zoom.requests_to("/oauth/token") if r.status == 200]
    devicecodes = [r.response for r in zoom.requests_to("/oauth/devicecode")]
    secrets = {
        "slack bot token": slack.bot_token,
        "signing secret": SIGNING_SECRET,
        "zoom client secret": zoom.client_secret,
        **{f"device code {i}": d["device_code"] for i, d in enumerate(devicecodes)},
        **{f"user code {i}": d["user_code"] for i, d in enumerate(devicecodes)},
        **{f"access token {i}": t["access_token"] for i, t in enumerate(token_answers)},
        **{f"refresh token {i}": t["refresh_token"] for i, t in enumerate(token_answers)},
        **{f"zak {i}": z for i, z in enumerate(zoom.issued_zaks)},
        **{f"start url {i}": m["start_url"] for i, m in enumerate(zoom.meetings)},
    }
    assert len(token_answers) >= 2 and len(zoom.issued_zaks) >= 2
    logs = bot.logs
    leaked = [name for name, value in secrets.items() if value in logs]
    assert leaked == []
    assert pairing_row(bot) is None


def test_lines_are_key_value_with_team_user_and_request_id(paired, zoom, slack):
    paired.command("meet").wait_response(2)
    lines = [line for line in paired.logs.splitlines() if "event=" in line]
    assert lines
    for line in lines:
        assert re.match(r"time=\S+ level=[A-Z]+ logger=\S+ event=\w+", line), line
    for event in ("pairing_started", "pairing_completed", "meeting_started"):
        [line] = [line for line in lines if f"event={event}" in line]
        assert "team=T0TEAM" in line and "user=U0ALICE" in line and "request_id=" in line
