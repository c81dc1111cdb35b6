"""The Slack emulator, driven by the real slack_sdk AsyncWebClient over real HTTP.

Other tests trust the emulator to behave like Slack where the bot has been bitten before
(uploads into a user id, response_url reuse, auth errors with HTTP 200), so pin that here.
"""

from __future__ import annotations

import struct
import threading
import zlib
from collections.abc import Iterator

import httpx
import pytest
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from bot.emulator.background import BackgroundServer
from bot.emulator.slack import SlackEmulator

TOKEN = "xoxb-test-token"


def tiny_png() -> bytes:
    """A valid 1x1 PNG, with bytes that are not UTF-8 so corruption would show."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))

    header = struct.pack(">IIBBBBB", 1, 1, 8, 6, 0, 0, 0)
    pixels = zlib.compress(b"\x00\xff\x00\x00\xff")
    return (
        b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", pixels) + chunk(b"IEND", b"")
    )


@pytest.fixture
def emu() -> Iterator[SlackEmulator]:
    emulator = SlackEmulator(TOKEN)
    with BackgroundServer(emulator.app) as server:
        emulator.base_url = server.url
        yield emulator


@pytest.fixture
def client(emu: SlackEmulator) -> AsyncWebClient:
    return AsyncWebClient(token=TOKEN, base_url=emu.api_url)


async def test_auth_test(emu: SlackEmulator, client: AsyncWebClient) -> None:
    answer = await client.auth_test()
    assert answer["ok"] is True
    assert answer["team_id"] == "T0TEAM"
    assert answer["user_id"] == "UBOT"
    assert answer["bot_id"] == "BBOT"
    [call] = emu.calls_to("auth.test")
    assert call.token == TOKEN
    assert call.response["ok"] is True


async def test_invalid_and_missing_token(emu: SlackEmulator) -> None:
    with pytest.raises(SlackApiError) as raised:
        await AsyncWebClient(token="xoxb-wrong", base_url=emu.api_url).auth_test()
    assert raised.value.response.status_code == 200
    assert raised.value.response["error"] == "invalid_auth"

    async with httpx.AsyncClient() as http:
        answer = (await http.post(f"{emu.api_url}auth.test")).json()
    assert answer == {"ok": False, "error": "not_authed"}
    assert [c.token for c in emu.calls_to("auth.test")] == ["xoxb-wrong", None]


async def test_unknown_method(client: AsyncWebClient) -> None:
    with pytest.raises(SlackApiError) as raised:
        await client.api_call("reactions.add", params={"name": "tada"})
    assert raised.value.response["error"] == "unknown_method"


async def test_dm_post_update_delete(emu: SlackEmulator, client: AsyncWebClient) -> None:
    opened = await client.conversations_open(users="U0ALICE")
    channel = opened["channel"]["id"]
    assert channel == emu.dm_channel("U0ALICE")
    assert channel.startswith("D")
    assert emu.dm_channel("U0ALICE") == channel != emu.dm_channel("U0BOB")

    blocks = [{"type": "section", "text": {"type": "mrkdwn", "text": "*Linking…*"}}]
    first = await client.chat_postMessage(channel=channel, text="Linking", blocks=blocks)
    second = await client.chat_postMessage(channel=channel, text="second")
    assert first["channel"] == channel
    assert float(second["ts"]) > float(first["ts"])
    assert first["message"]["bot_id"] == "BBOT"

    await client.chat_update(channel=channel, ts=first["ts"], text="Linked")
    updated = emu.message(channel, first["ts"])
    assert updated is not None
    assert updated["text"] == "Linked"
    assert updated["blocks"] == blocks  # Slack keeps blocks that are not resent
    assert updated["user"] == "UBOT"

    await client.chat_delete(channel=channel, ts=second["ts"])
    assert [m["ts"] for m in emu.messages(channel)] == [first["ts"]]
    assert emu.message(channel, second["ts"]) is None

    with pytest.raises(SlackApiError) as raised:
        await client.chat_update(channel=channel, ts="1.000000", text="x")
    assert raised.value.response["error"] == "message_not_found"
    with pytest.raises(SlackApiError) as raised:
        await client.chat_update(channel="U0ALICE", ts=first["ts"], text="x")
    assert raised.value.response["error"] == "channel_not_found"


@pytest.mark.filterwarnings("ignore:The top-level `text` argument is missing")
async def test_post_message_errors_and_user_id_channel(
    emu: SlackEmulator, client: AsyncWebClient
) -> None:
    with pytest.raises(SlackApiError) as raised:
        await client.chat_postMessage(channel="D1")
    assert raised.value.response["error"] == "no_text"

    answer = await client.chat_postMessage(channel="U0BOB", text="hi")
    assert answer["channel"] == emu.dm_channel("U0BOB")
    assert [m["text"] for m in emu.messages(emu.dm_channel("U0BOB"))] == ["hi"]

    ephemeral = await client.chat_postEphemeral(channel="C1", user="U0BOB", text="psst")
    assert ephemeral["message_ts"]
    assert emu.messages("C1") == []


async def test_form_encoded_blocks_are_decoded(emu: SlackEmulator) -> None:
    async with httpx.AsyncClient() as http:
        answer = await http.post(
            f"{emu.api_url}chat.postMessage",
            data={"token": TOKEN, "channel": "C1", "blocks": '[{"type": "divider"}]'},
        )
    assert answer.json()["ok"] is True
    [call] = emu.calls_to("chat.postMessage")
    assert call.params["blocks"] == [{"type": "divider"}]
    assert call.token == TOKEN
    assert "token" not in call.params


async def test_files_upload_v2_to_dm(emu: SlackEmulator, client: AsyncWebClient) -> None:
    png = tiny_png()
    channel = (await client.conversations_open(users="U0ALICE"))["channel"]["id"]
    answer = await client.files_upload_v2(
        channel=channel, content=png, filename="qr.png", title="Scan me"
    )
    file_id = answer["file"]["id"]
    assert answer["file"]["title"] == "Scan me"
    stored = emu.files[file_id]
    assert stored.content == png
    assert stored.length == len(png)
    assert stored.channel == channel
    assert stored.filename == "qr.png"
    assert emu.calls_to("files.completeUploadExternal")[0].params["files"] == [
        {"id": file_id, "title": "Scan me"}
    ]

    info = await client.files_info(file=file_id)
    assert info["file"]["size"] == len(png)
    async with httpx.AsyncClient() as http:
        download = await http.get(
            info["file"]["url_private"], headers={"Authorization": f"Bearer {TOKEN}"}
        )
    assert download.content == png


async def test_files_upload_v2_to_user_id_fails(emu: SlackEmulator, client: AsyncWebClient) -> None:
    with pytest.raises(SlackApiError) as raised:
        await client.files_upload_v2(channel="U0ALICE", content=tiny_png(), filename="qr.png")
    assert raised.value.response["error"] == "invalid_channel"
    [uploaded] = emu.files.values()
    assert uploaded.channel is None
    assert not uploaded.completed


async def test_upload_url_edge_cases(emu: SlackEmulator, client: AsyncWebClient) -> None:
    with pytest.raises(SlackApiError) as raised:
        await client.api_call("files.getUploadURLExternal", params={"filename": "a.png"})
    assert raised.value.response["error"] == "invalid_arguments"

    async with httpx.AsyncClient() as http:
        assert (await http.post(f"{emu.base_url}/upload/FNOPE", content=b"x")).status_code == 404
        started = await client.files_getUploadURLExternal(filename="a.txt", length=3)
        multipart = await http.post(started["upload_url"], files={"file": ("a.txt", b"abc")})
    assert multipart.text == "OK - 3"
    assert emu.files[started["file_id"]].content == b"abc"

    with pytest.raises(SlackApiError) as raised:
        await client.files_completeUploadExternal(files=[{"id": "FNOPE"}], channel_id="D1")
    assert raised.value.response["error"] == "file_not_found"


async def test_files_delete(emu: SlackEmulator, client: AsyncWebClient) -> None:
    answer = await client.files_upload_v2(channel="D1", content=b"data", filename="a.bin")
    file_id = answer["file"]["id"]
    await client.files_delete(file=file_id)
    assert emu.files[file_id].deleted
    with pytest.raises(SlackApiError) as raised:
        await client.files_delete(file=file_id)
    assert raised.value.response["error"] == "file_deleted"
    with pytest.raises(SlackApiError) as raised:
        await client.files_delete(file="FNOPE")
    assert raised.value.response["error"] == "file_not_found"


async def test_fail_injection(emu: SlackEmulator, client: AsyncWebClient) -> None:
    emu.fail("chat.postMessage", "ratelimited", times=2)
    for _ in range(2):
        with pytest.raises(SlackApiError) as raised:
            await client.chat_postMessage(channel="D1", text="hi")
        assert raised.value.response["error"] == "ratelimited"
    await client.chat_postMessage(channel="D1", text="hi")
    assert [c.response["ok"] for c in emu.calls_to("chat.postMessage")] == [False, False, True]
    assert len(emu.messages("D1")) == 1


async def test_views_publish(emu: SlackEmulator, client: AsyncWebClient) -> None:
    view = {"type": "home", "blocks": [{"type": "divider"}]}
    answer = await client.views_publish(user_id="U0ALICE", view=view)
    assert answer["view"]["id"]
    assert emu.published_views["U0ALICE"] == view


async def test_response_url_five_uses(emu: SlackEmulator) -> None:
    url = emu.new_response_url()
    async with httpx.AsyncClient() as http:
        for n in range(5):
            ok = await http.post(url, json={"text": f"use {n}", "response_type": "ephemeral"})
            assert (ok.status_code, ok.text) == (200, "ok")
        sixth = await http.post(url, json={"text": "too many"})
        unknown = await http.post(f"{emu.base_url}/response/nope", json={"text": "?"})
    assert sixth.status_code == 404
    assert sixth.json() == {"ok": False, "error": "used_url"}
    assert unknown.status_code == 404
    assert [b["text"] for b in emu.responses_to(url)] == [f"use {n}" for n in range(5)]


async def test_all_text_finds_leaked_secret(emu: SlackEmulator, client: AsyncWebClient) -> None:
    secret = "zoom-refresh-token-s3cr3t"
    assert secret not in emu.all_text()
    await client.chat_postMessage(channel="D1", text=f"oops {secret}")
    assert secret in emu.all_text()

    other = "another-secret"
    async with httpx.AsyncClient() as http:
        await http.post(emu.new_response_url(), json={"text": other})
    assert other in emu.all_text()
    assert TOKEN not in emu.all_text()


def test_state_is_safe_across_threads() -> None:
    """Many concurrent callers: every call recorded, every ts unique."""
    emulator = SlackEmulator(TOKEN)
    with BackgroundServer(emulator.app) as server:
        emulator.base_url = server.url

        def post(n: int) -> None:
            with httpx.Client() as http:
                for i in range(10):
                    http.post(
                        f"{emulator.api_url}chat.postMessage",
                        json={"channel": "C1", "text": f"{n}-{i}"},
                        headers={"Authorization": f"Bearer {TOKEN}"},
                    )

        threads = [threading.Thread(target=post, args=(n,)) for n in range(5)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    messages = emulator.messages("C1")
    assert len(emulator.calls_to("chat.postMessage")) == 50
    assert len({m["ts"] for m in messages}) == 50
