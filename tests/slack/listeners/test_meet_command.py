"""`/zoom meet`: an instant meeting with the host's ZAK; tokens kept alive behind it."""

from __future__ import annotations

import concurrent.futures
import json
import time

import pytest

from bot.emulator.slack import SlackEmulator
from bot.emulator.zoom import ZoomEmulator
from tests.harness import BotProcess, wait_for


def pairing_row(bot: BotProcess) -> dict | None:
    rows = bot.rows("pairings")
    return rows[0] if rows else None


def meet(bot: BotProcess, text: str = "meet standup", user_id: str = "U0ALICE"):
    result = bot.command(text, user_id=user_id)
    assert result.response.status_code == 200
    assert result.elapsed < 3
    return result


def test_meeting_end_to_end(paired: BotProcess, zoom: ZoomEmulator, slack: SlackEmulator):
    result = meet(paired, "meet Daily standup")
    channel_post, host_post = result.wait_response(2)

    [meeting] = zoom.meetings
    [zak] = [z for z in zoom.issued_zaks if z not in meeting["start_url"]]
    assert meeting["topic"] == "Daily standup" and meeting["type"] == 1

    assert channel_post["response_type"] == "in_channel"
    public = json.dumps(channel_post)
    assert meeting["join_url"] in public
    assert "<@U0ALICE>" in public and "Daily standup" in public
    digits = str(meeting["id"])
    assert f"{digits[:3]} {digits[3:7]} {digits[7:]}" in public
    assert meeting["password"] in public
    buttons = [e for b in channel_post["blocks"] if b["type"] == "actions" for e in b["elements"]]
    assert [b["url"] for b in buttons] == [meeting["join_url"]]

    assert host_post["response_type"] == "ephemeral"
    start_link = f"{zoom.base_url}/s/{meeting['id']}?zak={zak}"
    assert host_post["blocks"][0]["accessory"]["url"] == start_link

    # The ZAK and start links appear only in the host's ephemeral answer.
    everything_else = slack.all_text().replace(json.dumps(host_post), "")
    for secret in (zak, meeting["start_url"], start_link):
        assert secret not in public
        assert secret not in paired.logs
    assert zak not in everything_else
    assert zak.encode() not in paired.db_path.read_bytes()
    # Zoom received the access token only in the Authorization header.
    for request in zoom.requests_to("/v2/users/me/zak") + zoom.requests_to("/v2/users/me/meetings"):
        assert request.headers["authorization"].startswith("Bearer ")
        assert not request.query


def test_bare_zoom_starts_a_meeting_with_a_default_topic(paired, zoom):
    result = meet(paired, "")
    result.wait_response(2)
    assert zoom.meetings[0]["topic"] == "Alice Example's Zoom meeting"


def test_topic_is_trimmed_and_cannot_mention_the_channel(paired, zoom):
    result = meet(paired, "meet <!channel> " + "x" * 300)
    channel_post, _ = result.wait_response(2)
    assert len(zoom.meetings[0]["topic"]) == 200
    assert "<!channel>" not in json.dumps(channel_post)
    assert "&lt;!channel&gt;" in json.dumps(channel_post)


def test_zak_and_meeting_calls_overlap(paired, zoom):
    zoom.set_latency("/v2/users/me/zak", 0.5)
    zoom.set_latency("/v2/users/me/meetings", 0.5)
    started = time.monotonic()
    meet(paired).wait_response(2)
    [zak] = zoom.requests_to("/v2/users/me/zak")
    [create] = zoom.requests_to("/v2/users/me/meetings")
    assert zak.time < create.end_time and create.time < zak.end_time, "calls ran one after another"
    assert time.monotonic() - started < 1.0 + 0.9


def test_not_paired_offers_a_pair_button_that_starts_pairing(bot, zoom, slack):
    result = meet(bot)
    assert result.response.json()["response_type"] == "ephemeral"
    [section] = result.response.json()["blocks"]
    assert section["accessory"]["action_id"] == "pair_zoom"
    assert zoom.requests == []

    response_url = slack.new_response_url()
    pressed = bot.action(
        {
            "type": "block_actions",
            "team": {"id": "T0TEAM", "domain": "test"},
            "user": {"id": "U0ALICE", "team_id": "T0TEAM"},
            "api_app_id": "A0APP",
            "container": {"type": "message", "is_ephemeral": True},
            "trigger_id": "1.2.3",
            "response_url": response_url,
            "actions": [
                {"action_id": "pair_zoom", "block_id": "b", "type": "button", "action_ts": "1"}
            ],
        }
    )
    assert pressed.status_code == 200
    wait_for(lambda: slack.calls_to("chat.postMessage"), what="the code DM")
    assert slack.calls_to("chat.postMessage")[0].params["channel"] == slack.dm_channel("U0ALICE")
    [replaced] = slack.responses_to(response_url)
    assert replaced["replace_original"] is True and "check your DMs" in replaced["text"]


def test_url_buttons_are_acked(bot):
    for action_id in ("pairing_open_link", "meeting_join", "meeting_start_host"):
        response = bot.action(
            {
                "type": "block_actions",
                "team": {"id": "T0TEAM"},
                "user": {"id": "U0ALICE", "team_id": "T0TEAM"},
                "actions": [{"action_id": action_id, "type": "button", "action_ts": "1"}],
            }
        )
        assert response.status_code == 200


def test_fifty_concurrent_meetings_share_one_refresh(paired, zoom, slack):
    before = pairing_row(paired)
    zoom.expire_access_tokens()
    with concurrent.futures.ThreadPoolExecutor(50) as pool:
        results = list(pool.map(lambda _: paired.command("meet"), range(50)))
    assert all(r.response.status_code == 200 for r in results)
    for result in results:
        result.wait_response(2, timeout=30)
    refreshes = [
        r for r in zoom.requests_to("/oauth/token") if r.form.get("grant_type") == "refresh_token"
    ]
    assert len(refreshes) == 1
    assert len(zoom.meetings) == 50
    assert all(r.responses()[0]["response_type"] == "in_channel" for r in results)
    after = pairing_row(paired)
    assert after["refresh_token"] != before["refresh_token"]
    # Rotation: Zoom refuses the old refresh token now; the stored one is live.
    assert not zoom.refresh_token_valid(before["refresh_token"])
    assert zoom.refresh_token_valid(after["refresh_token"])
    assert after["access_token"] not in paired.logs


@pytest.mark.parametrize("zoom_options", [{"interval": 1, "access_token_ttl": 120}])
def test_refreshes_before_expiry(paired, zoom):
    """A token with less than five minutes left is refreshed before it is used."""
    meet(paired).wait_response(2)
    token_requests = [r for r in zoom.requests if r.path in ("/oauth/token", "/v2/users/me/zak")]
    kinds = [r.form.get("grant_type") or r.path for r in token_requests][-2:]
    assert kinds == ["refresh_token", "/v2/users/me/zak"]
    assert not any(r.status == 401 for r in zoom.requests)


def test_refused_refresh_removes_the_pairing_and_says_pair_again(paired, zoom, slack):
    zoom.expire_access_tokens()
    zoom.inject(
        "/oauth/token", status=400, body={"reason": "Invalid Token!", "error": "invalid_grant"}
    )
    result = meet(paired)
    [answer] = result.wait_response()
    assert answer["response_type"] == "ephemeral"
    assert "Run `/zoom pair`" in answer["text"]
    assert pairing_row(paired) is None
    assert zoom.meetings == []


def test_unpair_revokes_and_deletes(paired, zoom, slack):
    row = pairing_row(paired)
    result = paired.command("unpair")
    [answer] = result.wait_response()
    assert "Unpaired" in answer["text"] and "revoked" in answer["text"]
    assert pairing_row(paired) is None
    assert not zoom.refresh_token_valid(row["refresh_token"])
    assert not zoom.access_token_valid(row["access_token"])
    [revoke] = zoom.requests_to("/oauth/revoke")
    assert revoke.form["token"] == row["refresh_token"] and not revoke.query
    again = paired.command("logout")
    assert "nothing to unpair" in again.wait_response()[0]["text"]


def test_unpair_deletes_even_when_zoom_is_down(paired, zoom):
    zoom.inject("/oauth/revoke", status=503, body="down")
    [answer] = paired.command("unpair").wait_response()
    assert "could not confirm the revocation" in answer["text"]
    assert pairing_row(paired) is None


def test_status_paired_and_not(bot, zoom, slack):
    assert "Run `/zoom pair`" in bot.command("status").ack_text
    from tests.conftest import pair_user

    pair_user(bot, zoom, slack, "U0ALICE")
    text = bot.command("status").ack_text
    assert "alice@example.com" in text and "<!date^" in text
    assert "`user_zak:read`" in text and "`meeting:write`" in text
    bot.command("pair")
    wait_for(lambda: "waiting for your approval" in bot.command("status").ack_text, what="pending")


@pytest.mark.parametrize(
    ("path", "status", "body", "headers", "expected"),
    [
        (
            "/v2/users/me/meetings",
            429,
            {"code": 429, "message": "daily limit"},
            {"Retry-After": "{iso}"},
            "Try `/zoom meet` again in about 3 hours",
        ),
        (
            "/v2/users/me/meetings",
            429,
            {"code": 429, "message": "too fast"},
            {"X-RateLimit-Reset": "{reset}"},
            "Try `/zoom meet` again in a minute",
        ),
        (
            "/v2/users/me/meetings",
            400,
            {
                "code": 4700,
                "message": "Invalid access token, does not contain scopes: [meeting:write].",
            },
            {},
            "missing the scope `meeting:write`",
        ),
        ("/v2/users/me/meetings", 503, "<html>down</html>", {}, "Zoom isn't answering"),
        ("/v2/users/me/meetings", 201, "{not json", {}, "answer I couldn't read"),
    ],
    ids=["429-daily", "429-per-second", "4700", "5xx", "malformed"],
)
def test_zoom_errors_become_one_sentence(paired, zoom, path, status, body, headers, expected):
    now = time.time()
    iso = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(now + 3 * 3600 - 120))
    filled = {k: v.format(iso=iso, reset=int(now) + 2) for k, v in headers.items()}
    zoom.inject(path, status=status, body=body, headers=filled)
    [answer] = meet(paired).wait_response()
    assert answer["response_type"] == "ephemeral"
    assert expected in answer["text"], answer["text"]
    assert "Traceback" not in paired.logs
    assert "event=meeting_not_started" in paired.logs
    # The process keeps serving.
    assert paired.command("help").response.status_code == 200


def test_timeout_becomes_one_sentence(start_bot, zoom, slack):
    from tests.conftest import pair_user

    bot = start_bot(ZOOM_TIMEOUT="0.5")
    pair_user(bot, zoom, slack, "U0ALICE")
    zoom.set_latency("/v2/users/me/meetings", 1.5)
    [answer] = meet(bot).wait_response()
    assert "Zoom isn't answering" in answer["text"]


@pytest.mark.parametrize("status", [429, 503])
def test_a_failed_zak_call_still_hands_the_host_the_meeting(paired, zoom, status):
    """The meeting exists by then: its own start_url stands in for the ZAK link."""
    zoom.inject("/v2/users/me/zak", status=status, body={"code": status, "message": "no"})
    channel_post, host_post = meet(paired).wait_response(2)
    [meeting] = zoom.meetings
    assert channel_post["response_type"] == "in_channel"
    assert host_post["blocks"][0]["accessory"]["url"] == meeting["start_url"]
    assert meeting["start_url"] not in json.dumps(channel_post)
