"""Socket Mode: the same listeners over a real WebSocket from the Slack stand-in."""

from __future__ import annotations

import pytest

from bot.emulator.slack import SlackEmulator
from tests.harness import BotProcess, wait_for


@pytest.fixture
def socket_bot(start_bot, slack: SlackEmulator) -> BotProcess:
    return start_bot(SLACK_APP_TOKEN=slack.app_token, SLACK_SIGNING_SECRET="")


def slash_command(text: str, response_url: str) -> dict:
    return {
        "team_id": "T0TEAM",
        "user_id": "U0ALICE",
        "channel_id": "C0GENERAL",
        "command": "/zoom",
        "text": text,
        "api_app_id": "A0APP",
        "response_url": response_url,
        "trigger_id": "1.2.3",
    }


def test_pair_and_meet_over_socket_mode(socket_bot, zoom, slack):
    assert slack.wait_for_socket(15)
    ack = slack.send_socket_envelope(
        "slash_commands", slash_command("pair", slack.new_response_url())
    )
    assert ack is not None and "check your DMs" in ack["text"]
    wait_for(lambda: slack.calls_to("chat.postMessage"), what="the code DM")
    zoom.approve(zoom.latest_user_code)
    wait_for(lambda: socket_bot.rows("pairings"), what="the pairing")

    response_url = slack.new_response_url()
    slack.send_socket_envelope("slash_commands", slash_command("meet standup", response_url))
    wait_for(lambda: len(slack.responses_to(response_url)) == 2, what="meeting posts")
    assert slack.responses_to(response_url)[0]["response_type"] == "in_channel"

    health = socket_bot.http.get(f"{socket_bot.url}/healthz")
    assert health.status_code == 200 and health.json()["slack"] == "ok"
    # HTTP mode's request URL is not served: Slack's events come over the socket only.
    assert socket_bot.http.post(f"{socket_bot.url}/slack/events").status_code == 404


def test_reconnects_after_the_socket_drops(socket_bot, slack):
    assert slack.wait_for_socket(15)
    slack.disconnect_sockets()
    assert slack.wait_for_socket(30)
    ack = slack.send_socket_envelope(
        "slash_commands", slash_command("help", slack.new_response_url())
    )
    assert ack is not None and "/zoom pair" in ack["text"]


def test_app_home_event_over_socket_mode(socket_bot, slack):
    assert slack.wait_for_socket(15)
    slack.send_socket_envelope(
        "events_api",
        {
            "team_id": "T0TEAM",
            "api_app_id": "A0APP",
            "type": "event_callback",
            "event_id": "Ev1",
            "event_time": 1,
            "event": {"type": "app_home_opened", "user": "U0ALICE", "tab": "home"},
        },
    )
    wait_for(lambda: "U0ALICE" in slack.published_views, what="the home view")


def test_healthz_reports_a_lost_socket(socket_bot, slack):
    """Socket Mode can stop quietly: /healthz must say so, so the platform restarts the bot."""
    assert slack.wait_for_socket(15)
    slack.fail("apps.connections.open", "internal_error", times=1000)
    slack.disconnect_sockets()

    def unhealthy() -> bool:
        response = socket_bot.http.get(f"{socket_bot.url}/healthz")
        return response.status_code == 503 and response.json()["slack"] == "error: disconnected"

    wait_for(unhealthy, timeout=15, what="/healthz to report the lost socket")
