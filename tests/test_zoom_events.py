"""Zoom's webhooks at /zoom/events: URL validation, signatures, app_deauthorized."""

from __future__ import annotations

import hashlib
import hmac
import json
import time

import pytest

from tests.conftest import pair_user
from tests.harness import BotProcess, wait_for
from tests.slack.listeners.test_meet_command import pairing_row

WEBHOOK_SECRET = "zoom-webhook-secret-token"


@pytest.fixture
def bot(start_bot) -> BotProcess:
    return start_bot(ZOOM_WEBHOOK_SECRET_TOKEN=WEBHOOK_SECRET)


def post(bot: BotProcess, body: bytes, headers: dict[str, str]):
    return bot.http.post(f"{bot.url}/zoom/events", content=body, headers=headers)


def test_url_validation(bot, zoom):
    event = {
        "event": "endpoint.url_validation",
        "payload": {"plainToken": "qgg8vlvZRS6UYooatFL8Aw"},
    }
    response = post(bot, *zoom.signed_webhook(WEBHOOK_SECRET, event))
    assert response.status_code == 200
    expected = hmac.new(WEBHOOK_SECRET.encode(), b"qgg8vlvZRS6UYooatFL8Aw", hashlib.sha256)
    assert response.json() == {
        "plainToken": "qgg8vlvZRS6UYooatFL8Aw",
        "encryptedToken": expected.hexdigest(),
    }


@pytest.mark.parametrize(
    "tamper", ["wrong-secret", "stale", "future", "no-signature", "body-changed"]
)
def test_unverifiable_webhooks_get_401_and_change_nothing(paired, zoom, tamper):
    event = zoom.deauthorization_event(zoom.default_user)
    secret = "not-the-secret" if tamper == "wrong-secret" else WEBHOOK_SECRET
    skew = {"stale": -301, "future": 301}.get(tamper, 0)
    body, headers = zoom.signed_webhook(secret, event, timestamp=int(time.time()) + skew)
    if tamper == "no-signature":
        headers.pop("x-zm-signature")
    if tamper == "body-changed":
        body = body.replace(b"app_deauthorized", b"app_deauthorizeD")
    assert post(paired, body, headers).status_code == 401
    time.sleep(0.3)
    assert pairing_row(paired) is not None


def test_malformed_but_signed_body_gets_400(bot, zoom):
    body, headers = zoom.signed_webhook(WEBHOOK_SECRET, {"event": "app_deauthorized"})
    assert post(bot, body, headers).status_code == 400


def test_app_deauthorized_deletes_pairings_and_tells_each_slack_user(bot, zoom, slack):
    pair_user(bot, zoom, slack, "U0ALICE")
    pair_user(bot, zoom, slack, "U0ALICE2")  # the same Zoom user linked from a second Slack user
    bob = zoom.add_user("bob@example.com", "Bob")
    pair_user(bot, zoom, slack, "U0BOB", bob)

    response = post(
        bot, *zoom.signed_webhook(WEBHOOK_SECRET, zoom.deauthorization_event(zoom.default_user))
    )
    assert response.status_code == 200
    wait_for(
        lambda: (
            len(
                [
                    c
                    for c in slack.calls_to("chat.postMessage")
                    if "removed" in str(c.params.get("text"))
                ]
            )
            == 2
        ),
        what="two notices",
    )
    notices = [
        c for c in slack.calls_to("chat.postMessage") if "removed" in str(c.params.get("text"))
    ]
    assert sorted(c.params["channel"] for c in notices) == ["U0ALICE", "U0ALICE2"]
    assert "/zoom pair" in notices[0].params["text"]
    assert [r["user_id"] for r in bot.rows("pairings")] == ["U0BOB"]


def test_other_events_are_acknowledged(bot, zoom):
    event = {"event": "meeting.started", "payload": {"account_id": "a", "object": {"id": 1}}}
    response = post(bot, *zoom.signed_webhook(WEBHOOK_SECRET, event))
    assert response.status_code == 200 and json.loads(response.content)["status"] == "ignored"
