"""Events API: the App Home tab and its buttons, and the app leaving a workspace."""

from __future__ import annotations

import json

from bot.emulator.slack import SlackEmulator
from tests.conftest import pair_user
from tests.harness import BotProcess, wait_for
from tests.slack.listeners.test_meet_command import pairing_row


def home_opened(bot: BotProcess, user_id: str = "U0ALICE"):
    return bot.event({"type": "app_home_opened", "user": user_id, "channel": "D1", "tab": "home"})


def published(slack: SlackEmulator, user_id: str = "U0ALICE", count: int = 1) -> dict:
    wait_for(
        lambda: (
            len([c for c in slack.calls_to("views.publish") if c.params["user_id"] == user_id])
            >= count
        ),
        what=f"{count} views.publish",
    )
    return slack.published_views[user_id]


def action_ids(view: dict) -> list[str]:
    return [e["action_id"] for b in view["blocks"] if b["type"] == "actions" for e in b["elements"]]


def test_home_shows_pair_button_when_not_paired(bot, slack):
    assert home_opened(bot).status_code == 200
    view = published(slack)
    assert view["type"] == "home"
    assert action_ids(view) == ["home_pair"]


def test_home_pair_button_starts_pairing_and_shows_it_pending(bot, zoom, slack):
    assert bot.block_action("home_pair", view={"id": "V1", "type": "home"}).status_code == 200
    wait_for(lambda: slack.calls_to("chat.postMessage"), what="the code DM")
    view = published(slack)
    assert "waiting for your approval" in json.dumps(view)
    zoom.approve(zoom.latest_user_code)
    wait_for(lambda: (pairing_row(bot) or {}).get("zoom_email"), what="the pairing and its email")
    home_opened(bot)
    view = published(slack, count=2)
    assert "alice@example.com" in json.dumps(view)
    assert action_ids(view) == ["home_meet", "home_unpair"]


def test_home_start_meeting_dms_both_links(paired, zoom, slack):
    paired.block_action("home_meet")
    view = published(slack)
    assert "sent you its links in a direct message" in json.dumps(view)
    [meeting] = zoom.meetings
    dm = slack.dm_channel("U0ALICE")
    texts = json.dumps(slack.messages(dm))
    assert meeting["join_url"] in texts
    assert f"/s/{meeting['id']}?zak=" in texts
    # Nothing outside the host's DM.
    for call in slack.calls_to("chat.postMessage"):
        assert call.params["channel"] in ("U0ALICE", dm)


def test_home_unpair_revokes_and_updates_the_tab(paired, zoom, slack):
    row = pairing_row(paired)
    paired.block_action("home_unpair")
    view = published(slack)
    assert "Unpaired" in json.dumps(view)
    assert action_ids(view) == ["home_pair"]
    assert pairing_row(paired) is None
    assert not zoom.refresh_token_valid(row["refresh_token"])


def test_app_uninstalled_forgets_the_workspace(bot, zoom, slack):
    pair_user(bot, zoom, slack, "U0ALICE")
    bob = zoom.add_user("bob@example.com", "Bob")
    pair_user(bot, zoom, slack, "U0BOB", bob)
    rows = [pairing_row(bot)]
    bot.command("pair", user_id="U0CAROL")
    wait_for(lambda: len(zoom.requests_to("/oauth/devicecode")) == 3, what="carol's code")
    carol_code = zoom.latest_user_code

    assert bot.event({"type": "app_uninstalled"}).status_code == 200
    wait_for(lambda: pairing_row(bot) is None, what="pairings deleted")
    wait_for(lambda: len(zoom.requests_to("/oauth/revoke")) == 2, what="both revoked")
    assert not zoom.refresh_token_valid(rows[0]["refresh_token"])
    polls = len(zoom.polls(carol_code))
    import time

    time.sleep(2.5)
    assert len(zoom.polls(carol_code)) == polls, "a flow of the uninstalled workspace kept polling"


def test_tokens_revoked_is_acknowledged(bot):
    response = bot.event(
        {"type": "tokens_revoked", "tokens": {"oauth": ["U0ALICE"], "bot": ["UBOT"]}}
    )
    assert response.status_code == 200
