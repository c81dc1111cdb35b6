"""`/zoom pair` as a person meets it: the ack, the DM, the QR code, the stored pairing."""

from __future__ import annotations

import io
import json
import time

import pytest
import zxingcpp
from PIL import Image

from bot.emulator.slack import SlackEmulator
from bot.emulator.zoom import ZoomEmulator
from tests.harness import BotProcess, wait_for
from tests.test_pairing import dm_text, start_pairing, wait_dm_says


def decode_qr(png: bytes) -> str:
    results = zxingcpp.read_barcodes(Image.open(io.BytesIO(png)))
    assert len(results) == 1, "expected exactly one QR code"
    return results[0].text


def stored(bot: BotProcess, table: str) -> list[dict]:
    return bot.rows(table)


def test_pair_end_to_end(bot: BotProcess, zoom: ZoomEmulator, slack: SlackEmulator):
    result = bot.command("pair")
    assert result.response.status_code == 200
    assert result.elapsed < 3
    assert "check your DMs" in result.ack_text
    assert result.response.json()["response_type"] == "ephemeral"

    wait_for(lambda: slack.calls_to("chat.postMessage"), what="the code DM")
    devicecode = zoom.requests_to("/oauth/devicecode")
    assert len(devicecode) == 1
    assert devicecode[0].time >= result.response.elapsed.total_seconds() * 0  # after the ack
    assert devicecode[0].headers["authorization"].startswith("Basic ")
    answer = devicecode[0].response
    code = answer["user_code"]

    # One Block Kit DM, to the D... channel conversations.open gave.
    opened = slack.calls_to("conversations.open")
    assert [c.params["users"] for c in opened] == ["U0ALICE"]
    dm = slack.dm_channel("U0ALICE")
    [post] = slack.calls_to("chat.postMessage")
    assert post.params["channel"] == dm
    blocks = post.params["blocks"]
    assert blocks[0]["type"] == "header" and code in blocks[0]["text"]["text"]
    buttons = [e for b in blocks if b["type"] == "actions" for e in b["elements"]]
    assert [b["url"] for b in buttons] == [answer["verification_uri_complete"]]
    text = json.dumps(blocks)
    assert answer["verification_uri"] in text
    assert "<!date^" in text and "expires" in text
    expires = int(text.split("<!date^")[1].split("^")[0])
    assert abs(expires - (time.time() + answer["expires_in"])) < 10

    # The QR code is a real, decodable QR of the complete verification link, in the same DM.
    wait_for(lambda: slack.calls_to("files.completeUploadExternal"), what="QR upload")
    [qr] = [f for f in slack.files.values() if f.channel == dm]
    assert decode_qr(qr.content) == answer["verification_uri_complete"]

    # Nothing went anywhere but the DM; the device code went nowhere at all.
    assert slack.responses_to(result.response_url) == []
    for call in slack.calls:
        channel = call.params.get("channel") or call.params.get("channel_id")
        assert channel in (None, dm), call
    assert answer["device_code"] not in slack.all_text()
    assert answer["device_code"] not in bot.logs
    assert code not in bot.logs

    zoom.approve(code)
    wait_dm_says(slack, "Paired with Zoom as")
    assert "alice@example.com" in dm_text(slack)
    wait_for(lambda: slack.files[qr.id].deleted, what="the QR code deleted")
    update = slack.calls_to("chat.update")[-1]
    assert update.params["ts"] == post.response["ts"]

    [pairing] = stored(bot, "pairings")
    token_answer = zoom.polls(code)[-1].response
    assert pairing["team_id"] == "T0TEAM" and pairing["user_id"] == "U0ALICE"
    assert pairing["zoom_email"] == "alice@example.com"
    assert pairing["zoom_user_id"] == zoom.default_user.id
    assert pairing["zoom_account_id"] == zoom.default_user.account_id
    assert pairing["access_token"] == token_answer["access_token"]
    assert pairing["refresh_token"] == token_answer["refresh_token"]
    assert pairing["scopes"] == token_answer["scope"]
    assert pairing["api_url"] == token_answer["api_url"]
    assert abs(pairing["expires_at"] - (time.time() + token_answer["expires_in"])) < 10
    assert stored(bot, "pending_flows") == []
    assert token_answer["access_token"] not in bot.logs
    # The profile was read from the api_url the token answer named.
    assert zoom.requests_to("/v2/users/me")[-1].headers["authorization"].startswith("Bearer ")


def test_a_second_pair_replaces_the_pending_flow(bot, zoom, slack):
    first = start_pairing(bot, zoom, slack)
    wait_for(lambda: zoom.polls(first), what="a poll of the first flow")
    bot.command("pair")
    wait_for(lambda: zoom.latest_user_code != first, what="a second code")
    second = zoom.latest_user_code
    wait_for(lambda: len(slack.calls_to("chat.postMessage")) == 2, what="the second DM")
    first_ts = slack.calls_to("chat.postMessage")[0].response["ts"]
    wait_for(
        lambda: (
            "replaced by a newer one" in str(slack.message(slack.dm_channel("U0ALICE"), first_ts))
        ),
        what="the first DM marked dead",
    )
    count = len(zoom.polls(first))
    time.sleep(2.5)
    assert len(zoom.polls(first)) == count, "the replaced flow kept polling"
    assert len(stored(bot, "pending_flows")) == 1
    zoom.approve(second)
    wait_for(
        lambda: slack.calls_to("chat.update") and "Paired with Zoom" in dm_text(slack),
        what="paired",
    )
    assert stored(bot, "pending_flows") == []


def test_already_paired_keeps_old_tokens_until_the_new_pairing(bot, zoom, slack):
    first = start_pairing(bot, zoom, slack)
    zoom.approve(first)
    wait_dm_says(slack, "Paired with Zoom as")
    [old] = stored(bot, "pairings")

    result = bot.command("pair")
    assert "already paired with Zoom as alice@example.com" in result.ack_text
    wait_for(lambda: len(slack.calls_to("chat.postMessage")) == 2, what="the new DM")
    second = zoom.latest_user_code
    assert second != first
    assert stored(bot, "pairings") == [old]  # untouched while the new code waits

    bob = zoom.add_user("bob@example.com", "Bob", "Example")
    zoom.approve(second, bob)
    wait_for(lambda: stored(bot, "pairings")[0]["zoom_email"] == "bob@example.com", what="new")
    [new] = stored(bot, "pairings")
    assert new["access_token"] != old["access_token"]
    wait_for(lambda: "bob@example.com" in dm_text(slack), what="the DM naming bob")


def test_a_killed_process_resumes_pending_flows(bot, zoom, slack):
    code = start_pairing(bot, zoom, slack)
    wait_for(lambda: zoom.polls(code), what="a poll")
    bot.kill()
    polls_before = len(zoom.polls(code))
    bot.start()
    assert "pairings_resumed count=1" in bot.logs
    zoom.approve(code)
    wait_dm_says(slack, "Paired with Zoom as")
    assert len(zoom.polls(code)) > polls_before
    assert stored(bot, "pairings")[0]["zoom_email"] == "alice@example.com"
    from tests.polls import assert_never_too_fast

    assert_never_too_fast(zoom, code)


def test_dm_refused_falls_back_to_an_ephemeral_answer(bot, zoom, slack):
    slack.fail("conversations.open", "cannot_dm_bot")
    result = bot.command("pair")
    [answer] = result.wait_response()
    code = zoom.latest_user_code
    assert answer["response_type"] == "ephemeral"
    assert code in json.dumps(answer)
    assert zoom.requests_to("/oauth/devicecode")[0].response["verification_uri_complete"] in (
        json.dumps(answer)
    )
    assert not slack.files, "no QR code without a DM"
    zoom.approve(code)
    [_, done] = result.wait_response(2)
    assert "Paired with Zoom as alice@example.com" in json.dumps(done)


def test_zoom_down_when_asking_for_a_code(bot, zoom, slack):
    zoom.inject("/oauth/devicecode", status=503, body="down")
    result = bot.command("pair")
    assert "check your DMs" in result.ack_text
    [answer] = result.wait_response()
    assert answer["response_type"] == "ephemeral"
    assert "Zoom isn't answering right now" in answer["text"]
    assert not slack.calls_to("chat.postMessage")
    assert stored(bot, "pending_flows") == []


def test_wrong_zoom_credentials_are_named(start_bot, zoom, slack):
    bot = start_bot(ZOOM_CLIENT_SECRET="not-the-secret-9f3k")
    [answer] = bot.command("pair").wait_response()
    assert "ZOOM_CLIENT_ID and ZOOM_CLIENT_SECRET" in answer["text"]
    assert "not-the-secret-9f3k" not in bot.logs


@pytest.mark.parametrize(
    ("method", "error"),
    [
        ("conversations.open", "user_not_found"),
        ("chat.postMessage", "channel_not_found"),
    ],
)
def test_slack_refusing_the_dm_falls_back_to_ephemeral(bot, zoom, slack, method, error):
    slack.fail(method, error)
    result = bot.command("pair")
    [answer] = result.wait_response()
    assert answer["response_type"] == "ephemeral" and zoom.latest_user_code in json.dumps(answer)
    assert not slack.files


def test_a_failed_qr_upload_still_pairs(bot, zoom, slack):
    slack.fail("files.getUploadURLExternal", "not_allowed_token_type")
    code = start_pairing(bot, zoom, slack)
    wait_for(
        lambda: "event=qr_upload_failed error=not_allowed_token_type" in bot.logs,
        what="the failed upload logged",
    )
    assert not slack.files
    zoom.approve(code)
    wait_dm_says(slack, "Paired with Zoom as")


@pytest.mark.parametrize(
    "body",
    ["{not json", {"device_code": 7, "user_code": None}, "x" * (2 * 1024 * 1024), ["a", "list"]],
    ids=["not-json", "wrong-types", "huge", "not-an-object"],
)
def test_malformed_device_code_answers_end_in_one_sentence(bot, zoom, slack, body):
    zoom.inject("/oauth/devicecode", status=200, body=body)
    [answer] = bot.command("pair").wait_response()
    assert "Zoom sent an answer I couldn't read" in answer["text"]
    assert not slack.calls_to("chat.postMessage")
    assert "Traceback" not in bot.logs
