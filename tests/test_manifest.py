"""manifest.yml against the code: the command, exactly the scopes our calls need, the events.

The scope check is driven by a real run: every Slack Web API method the bot called while
pairing, meeting, using App Home and unpairing must be covered by a declared scope, and every
declared scope must be needed by one of them.
"""

from __future__ import annotations

import json

import jsonschema
import pytest
import yaml

from bot.slack.app import BOT_SCOPES
from bot.slack.listeners.commands import COMMAND, SUBCOMMANDS
from tests.conftest import pair_user
from tests.harness import ROOT, wait_for

MANIFEST = yaml.safe_load((ROOT / "manifest.yml").read_text())
SCHEMA = json.loads((ROOT / "tests/fixtures/slack_app_manifest.schema.json").read_text())

#: The bot scope each Web API method needs (None: no scope), from Slack's method reference.
METHOD_SCOPES: dict[str, str | None] = {
    "auth.test": None,
    "conversations.open": "im:write",
    "chat.postMessage": "chat:write",
    "chat.update": "chat:write",
    "files.getUploadURLExternal": "files:write",
    "files.completeUploadExternal": "files:write",
    "files.delete": "files:write",
    "views.publish": None,
}


def test_manifest_shape():
    jsonschema.validate(MANIFEST, SCHEMA)


def test_command_and_usage_hint():
    [command] = MANIFEST["features"]["slash_commands"]
    assert command["command"] == COMMAND
    for subcommand in ("meet", "pair", "status", "unpair", "help"):
        assert subcommand in SUBCOMMANDS
        assert subcommand in command["usage_hint"]


def test_declared_scopes_are_the_code_scopes():
    assert MANIFEST["oauth_config"]["scopes"]["bot"] == list(BOT_SCOPES)
    assert "user" not in MANIFEST["oauth_config"]["scopes"]


def test_every_called_method_is_covered_and_every_scope_used(bot, zoom, slack):
    pair_user(bot, zoom, slack, "U0ALICE")
    bot.command("meet").wait_response(2)
    bot.event({"type": "app_home_opened", "user": "U0ALICE", "tab": "home"})
    bot.block_action("home_meet")
    wait_for(lambda: len(slack.calls_to("views.publish")) == 2, what="home views")
    bot.command("pair")
    wait_for(lambda: len(slack.calls_to("files.completeUploadExternal")) == 2, what="a new QR")
    bot.command("unpair").wait_response()
    wait_for(lambda: len(slack.calls_to("files.delete")) == 2, what="the QR deleted")

    called = {call.method for call in slack.calls}
    unknown = called - METHOD_SCOPES.keys()
    assert not unknown, f"add the scopes of {unknown} to METHOD_SCOPES and the manifest"
    needed = {METHOD_SCOPES[m] for m in called} - {None} | {"commands"}
    assert needed == set(MANIFEST["oauth_config"]["scopes"]["bot"])


@pytest.mark.parametrize("event", MANIFEST["settings"]["event_subscriptions"]["bot_events"])
def test_every_subscribed_event_has_a_listener(bot, event):
    response = bot.event({"type": event, "user": "U0ALICE", "tab": "home", "tokens": {}})
    assert response.status_code == 200
    assert "Unhandled request" not in bot.logs


def test_request_urls_point_at_the_bot_routes():
    settings = MANIFEST["settings"]
    urls = [
        MANIFEST["features"]["slash_commands"][0]["url"],
        settings["event_subscriptions"]["request_url"],
        settings["interactivity"]["request_url"],
    ]
    assert all(url.endswith("/slack/events") for url in urls)
    assert MANIFEST["oauth_config"]["redirect_urls"][0].endswith("/slack/oauth_redirect")
    assert MANIFEST["features"]["app_home"]["home_tab_enabled"] is True
