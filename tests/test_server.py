"""The HTTP surface: Slack's request check and the health endpoint."""

from __future__ import annotations

import time

import pytest

from tests.harness import BotProcess


@pytest.mark.parametrize(
    "tamper",
    [
        {"secret": "not-the-signing-secret"},
        {"skew": -310},
        {"skew": 310},
    ],
    ids=["bad-signature", "stale-timestamp", "future-timestamp"],
)
def test_forged_or_stale_requests_get_401_and_do_nothing(bot: BotProcess, zoom, slack, tamper):
    skew = tamper.pop("skew", 0)
    response = bot.signed_post(
        bot.command_body("pair"), timestamp=int(time.time()) + skew, **tamper
    )
    assert response.status_code == 401
    time.sleep(0.5)
    assert zoom.requests == []
    assert slack.calls_to("chat.postMessage") == []


def test_unsigned_request_gets_401(bot: BotProcess, zoom):
    response = bot.http.post(
        f"{bot.url}/slack/events",
        content=bot.command_body("pair").encode(),
        headers={"Content-Type": "application/x-www-form-urlencoded"},
    )
    assert response.status_code == 401
    assert zoom.requests == []


def test_healthz_reports_database_and_scheduler(bot: BotProcess):
    response = bot.http.get(f"{bot.url}/healthz")
    assert response.status_code == 200
    assert response.json() == {"status": "ok", "database": "ok", "scheduler": "ok"}


def test_help_lists_subcommands(bot: BotProcess):
    result = bot.command("help")
    assert result.response.status_code == 200
    for subcommand in ("meet", "pair", "status", "unpair", "logout", "help"):
        assert f"/zoom {subcommand}" in result.ack_text
    unknown = bot.command("frobnicate").ack_text
    assert "I don't know `/zoom frobnicate`" in unknown
    assert result.ack_text in unknown


def test_healthz_is_503_when_the_database_is_broken(bot: BotProcess):
    bot.db_path.write_bytes(b"this is not a database" * 1000)
    for suffix in ("-wal", "-shm"):
        bot.db_path.with_name(bot.db_path.name + suffix).unlink(missing_ok=True)
    response = bot.http.get(f"{bot.url}/healthz")
    assert response.status_code == 503
    assert response.json()["database"].startswith("error")
    assert response.json()["scheduler"] == "ok"
