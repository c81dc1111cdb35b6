"""Multi-workspace install: bolt's OAuth flow, installations in the bot's own database."""

from __future__ import annotations

import re

import pytest
import sqlite_utils

from bot.emulator.slack import SlackEmulator
from tests.conftest import pair_user
from tests.harness import BotProcess, wait_for


@pytest.fixture
def bot(start_bot, slack: SlackEmulator) -> BotProcess:
    return start_bot(
        team_id="T0OTHER",
        SLACK_BOT_TOKEN="",
        SLACK_CLIENT_ID=slack.client_id,
        SLACK_CLIENT_SECRET=slack.client_secret,
    )


def install(bot: BotProcess, slack: SlackEmulator, team_id: str, bot_token: str) -> None:
    page = bot.http.get(f"{bot.url}/slack/install")
    assert page.status_code == 200
    authorize = re.search(r'href="([^"]+oauth/v2/authorize[^"]+)"', page.text)
    assert authorize, page.text
    url = authorize.group(1).replace("&amp;", "&")
    assert f"client_id={slack.client_id}" in url and "commands,chat:write,im:write,files:write" in (
        url.replace("%2C", ",").replace("%3A", ":")
    )
    state = re.search(r"state=([^&]+)", url).group(1)
    # bolt's state cookie is Secure: a browser on https sends it back; here we do it by hand.
    cookie = page.headers["set-cookie"].split(";")[0]
    code = slack.issue_oauth_code(team_id, bot_token=bot_token)
    done = bot.http.get(
        f"{bot.url}/slack/oauth_redirect",
        params={"code": code, "state": state},
        headers={"cookie": cookie},
    )
    assert done.status_code == 200, done.text


def installed_teams(bot: BotProcess) -> list[str]:
    db = sqlite_utils.Database(bot.db_path)
    try:
        return sorted(r["team_id"] for r in db.table("slack_bots").rows)
    finally:
        db.close()


def test_install_then_pair_uses_that_workspace_token(bot, zoom, slack):
    install(bot, slack, "T0OTHER", "xoxb-other-workspace")
    assert installed_teams(bot) == ["T0OTHER"]
    pair_user(bot, zoom, slack, "U0OTHER")
    dm_calls = slack.calls_to("chat.postMessage") + slack.calls_to("chat.update")
    assert dm_calls and all(c.token == "xoxb-other-workspace" for c in dm_calls)
    assert bot.rows("pairings")[0]["team_id"] == "T0OTHER"
    # The workspace's bot token is encrypted at rest, like the Zoom tokens.
    raw = b"".join(
        path.read_bytes()
        for path in bot.db_path.parent.iterdir()
        if path.name.startswith(bot.db_path.name) and not path.name.endswith(".key")
    )
    assert b"xoxb-other-workspace" not in raw


def test_a_bad_state_is_refused(bot, slack):
    code = slack.issue_oauth_code("T0OTHER", bot_token="xoxb-x")
    response = bot.http.get(
        f"{bot.url}/slack/oauth_redirect", params={"code": code, "state": "forged"}
    )
    assert response.status_code in (400, 401, 403)
    assert installed_teams(bot) == []


def test_uninstall_deletes_installation_and_pairings(bot, zoom, slack):
    install(bot, slack, "T0OTHER", "xoxb-other-workspace")
    pair_user(bot, zoom, slack, "U0OTHER")
    assert bot.event({"type": "app_uninstalled"}).status_code == 200
    wait_for(lambda: installed_teams(bot) == [], what="installation deleted")
    wait_for(lambda: bot.rows("pairings") == [], what="pairings deleted")
    assert len(zoom.requests_to("/oauth/revoke")) == 1


def test_command_from_a_workspace_that_never_installed(bot):
    response = bot.signed_post(bot.command_body("pair"))
    assert response.status_code in (200, 401)
    assert "Traceback" not in bot.logs
