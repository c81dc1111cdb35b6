"""The Slack emulator, driven by the real slack_sdk AsyncWebClient over real HTTP.

Other tests trust the emulator to behave like Slack where the bot has been bitten before
(uploads into a user id, response_url reuse, auth errors with HTTP 200), so pin that here.
"""

from __future__ import annotations

import asyncio
import struct
import threading
import time
import zlib
from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path

import aiohttp
import httpx
import pytest
from slack_bolt.oauth.async_oauth_flow import AsyncOAuthFlow
from slack_sdk.errors import SlackApiError
from slack_sdk.socket_mode.aiohttp import SocketModeClient
from slack_sdk.socket_mode.async_client import AsyncBaseSocketModeClient
from slack_sdk.socket_mode.request import SocketModeRequest
from slack_sdk.socket_mode.response import SocketModeResponse
from slack_sdk.web.async_client import AsyncWebClient

from bot.emulator.background import BackgroundServer
from bot.emulator.slack import SlackEmulator

TOKEN = "xoxb-test-token"
APP_TOKEN = "xapp-test-token"
CLIENT_ID = "slack-client-id"
CLIENT_SECRET = "slack-client-secret"


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


# ---------------------------------------------------------------------- Socket Mode


async def eventually(condition: Callable[[], bool], timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "condition not met in time"
        await asyncio.sleep(0.02)


@pytest.fixture
async def socket_client(emu: SlackEmulator) -> AsyncIterator[SocketModeClient]:
    """slack_sdk's aiohttp Socket Mode client (what AsyncSocketModeHandler uses), acking each
    envelope with a payload that names it."""
    client = SocketModeClient(app_token=APP_TOKEN, web_client=AsyncWebClient(base_url=emu.api_url))
    client.received = []  # type: ignore[attr-defined]

    async def ack(client: AsyncBaseSocketModeClient, request: SocketModeRequest) -> None:
        client.received.append(request)  # type: ignore[attr-defined]
        payload = {"text": f"got {request.payload.get('text', '')}"}
        await client.send_socket_mode_response(SocketModeResponse(request.envelope_id, payload))

    client.socket_mode_request_listeners.append(ack)
    await client.connect()
    try:
        yield client
    finally:
        await client.close()


async def test_socket_mode_envelope_round_trip(
    emu: SlackEmulator, socket_client: SocketModeClient
) -> None:
    await eventually(emu.socket_connected)
    [opened] = emu.calls_to("apps.connections.open")
    assert opened.token == APP_TOKEN
    assert opened.response["url"].startswith(f"ws://127.0.0.1:{emu.base_url.rsplit(':', 1)[1]}/")

    payload = {"command": "/zoom", "text": "help", "user_id": "U0ALICE", "team_id": "T0TEAM"}
    ack = await emu.send_socket_envelope_async("slash_commands", payload)
    assert ack == {"text": "got help"}

    [request] = socket_client.received  # type: ignore[attr-defined]
    assert request.type == "slash_commands"
    assert request.payload == payload
    assert request.accepts_response_payload is True
    assert emu.socket_acks == [{"envelope_id": request.envelope_id, "payload": ack}]

    event = {"type": "event_callback", "event": {"type": "app_home_opened", "user": "U0ALICE"}}
    assert await emu.send_socket_envelope_async("events_api", event) == {"text": "got "}
    events_request = socket_client.received[1]  # type: ignore[attr-defined]
    assert events_request.accepts_response_payload is False
    assert events_request.retry_attempt == 0


def test_send_socket_envelope_blocks_from_another_thread() -> None:
    """The plain blocking helper, driven from a test thread while the client has its own loop."""
    emulator = SlackEmulator(TOKEN)
    with BackgroundServer(emulator.app) as server:
        emulator.base_url = server.url
        ready, stop = threading.Event(), threading.Event()

        async def run_client() -> None:
            web = AsyncWebClient(base_url=emulator.api_url)
            client = SocketModeClient(app_token=APP_TOKEN, web_client=web)

            async def ack(client: AsyncBaseSocketModeClient, request: SocketModeRequest) -> None:
                await client.send_socket_mode_response({"envelope_id": request.envelope_id})

            client.socket_mode_request_listeners.append(ack)
            await client.connect()
            ready.set()
            while not stop.is_set():
                await asyncio.sleep(0.02)
            await client.close()

        thread = threading.Thread(target=asyncio.run, args=(run_client(),))
        thread.start()
        try:
            assert ready.wait(10)
            assert emulator.wait_for_socket(10)
            assert emulator.send_socket_envelope("interactive", {"type": "block_actions"}) is None
        finally:
            stop.set()
            thread.join(10)
        assert [set(a) for a in emulator.socket_acks] == [{"envelope_id"}]


async def test_socket_mode_reconnects_after_disconnect(
    emu: SlackEmulator, socket_client: SocketModeClient
) -> None:
    await eventually(emu.socket_connected)
    assert emu.disconnect_sockets() == 1
    assert not emu.socket_connected()
    await eventually(emu.socket_connected)
    first, second = emu.calls_to("apps.connections.open")
    assert first.response["url"] != second.response["url"]
    assert await emu.send_socket_envelope_async("slash_commands", {"text": "again"}) == {
        "text": "got again"
    }

    # Slack's own refresh: a disconnect notice, after which the client moves to a new URL itself.
    assert emu.disconnect_sockets(reason="refresh_requested") == 1
    await eventually(emu.socket_connected)
    assert len(emu.calls_to("apps.connections.open")) == 3
    assert await emu.send_socket_envelope_async("slash_commands", {"text": "third"}) == {
        "text": "got third"
    }


async def test_socket_mode_ping_pong_keeps_the_session(emu: SlackEmulator) -> None:
    """The SDK pings with ``sdk-ping-pong:<time>`` and reconnects if no pong echoes it back."""
    web = AsyncWebClient(base_url=emu.api_url)
    client = SocketModeClient(app_token=APP_TOKEN, web_client=web, ping_interval=1)
    await client.connect()
    try:
        connected_at = time.time()
        await asyncio.sleep(2.5)
        assert await client.is_connected()
        assert client.last_ping_pong_time is not None
        assert client.last_ping_pong_time >= connected_at
    finally:
        await client.close()
    assert len(emu.calls_to("apps.connections.open")) == 1


async def test_socket_envelope_times_out_without_connection(emu: SlackEmulator) -> None:
    assert not emu.socket_connected()
    with pytest.raises(TimeoutError):
        await emu.send_socket_envelope_async("events_api", {}, timeout=0.2)


async def test_socket_mode_tokens(emu: SlackEmulator, client: AsyncWebClient) -> None:
    web = AsyncWebClient(base_url=emu.api_url)
    for token, error in [(TOKEN, "not_allowed_token_type"), ("xapp-wrong", "invalid_auth")]:
        with pytest.raises(SlackApiError) as raised:
            await web.apps_connections_open(app_token=token)
        assert raised.value.response["error"] == error
    with pytest.raises(SlackApiError) as raised:
        await AsyncWebClient(token=APP_TOKEN, base_url=emu.api_url).auth_test()
    assert raised.value.response["error"] == "not_allowed_token_type"

    async with aiohttp.ClientSession() as session:  # a URL the emulator never handed out
        with pytest.raises(aiohttp.WSServerHandshakeError) as refused:
            await session.ws_connect(f"ws{emu.base_url[4:]}/socket/unknown")
    assert refused.value.status == 403


# ---------------------------------------------------------------------- OAuth v2


async def test_oauth_v2_access_installs_another_workspace(emu: SlackEmulator) -> None:
    web = AsyncWebClient(base_url=emu.api_url)
    code = emu.issue_oauth_code("T0OTHER", team_name="Other Team", user_id="U0CAROL")
    answer = await web.oauth_v2_access(client_id=CLIENT_ID, client_secret=CLIENT_SECRET, code=code)
    bot_token = answer["access_token"]
    assert bot_token.startswith("xoxb-") and bot_token != TOKEN
    assert answer.data == {
        "ok": True,
        "access_token": bot_token,
        "token_type": "bot",
        "scope": "commands,chat:write,im:write,files:write",
        "bot_user_id": answer["bot_user_id"],
        "app_id": "A0APP",
        "team": {"id": "T0OTHER", "name": "Other Team"},
        "enterprise": None,
        "is_enterprise_install": False,
        "authed_user": {"id": "U0CAROL"},
    }

    other = await AsyncWebClient(token=bot_token, base_url=emu.api_url).auth_test()
    assert (other["team_id"], other["team"]) == ("T0OTHER", "Other Team")
    assert other["user_id"] == answer["bot_user_id"] != "UBOT"
    assert other["bot_id"]
    home = await AsyncWebClient(token=TOKEN, base_url=emu.api_url).auth_test()
    assert home["team_id"] == "T0TEAM"
    posted = await AsyncWebClient(token=bot_token, base_url=emu.api_url).chat_postMessage(
        channel="C1", text="hello from the other workspace"
    )
    assert posted["ok"] is True

    with pytest.raises(SlackApiError) as raised:  # a code works once
        await web.oauth_v2_access(client_id=CLIENT_ID, client_secret=CLIENT_SECRET, code=code)
    assert raised.value.response["error"] == "invalid_code"
    assert CLIENT_SECRET not in emu.all_text()


@pytest.mark.parametrize(
    ("client_id", "client_secret", "code", "error"),
    [
        (CLIENT_ID, CLIENT_SECRET, "nope", "invalid_code"),
        ("other-client", CLIENT_SECRET, None, "invalid_client_id"),
        (CLIENT_ID, "wrong-secret", None, "bad_client_secret"),
    ],
)
async def test_oauth_v2_access_errors(
    emu: SlackEmulator, client_id: str, client_secret: str, code: str | None, error: str
) -> None:
    issued = emu.issue_oauth_code("T0OTHER")
    web = AsyncWebClient(base_url=emu.api_url)
    with pytest.raises(SlackApiError) as raised:
        await web.oauth_v2_access(
            client_id=client_id, client_secret=client_secret, code=code or issued
        )
    assert raised.value.response["error"] == error
    # the failed attempt did not use the code up
    ok = await web.oauth_v2_access(client_id=CLIENT_ID, client_secret=CLIENT_SECRET, code=issued)
    assert ok["team"]["id"] == "T0OTHER"


async def test_oauth_form_credentials_redirect_uri_and_user_token(emu: SlackEmulator) -> None:
    redirect = "https://bot.example.com/slack/oauth_redirect"
    code = emu.issue_oauth_code(
        "T0GRID", enterprise_id="E0GRID", user_scopes="users:read", redirect_uri=redirect
    )
    form = {"client_id": CLIENT_ID, "client_secret": CLIENT_SECRET, "code": code}
    async with httpx.AsyncClient() as http:
        wrong = (await http.post(f"{emu.api_url}oauth.v2.access", data=form)).json()
        answer = (
            await http.post(
                f"{emu.api_url}oauth.v2.access", data={**form, "redirect_uri": redirect}
            )
        ).json()
    assert wrong == {"ok": False, "error": "bad_redirect_uri"}
    assert answer["enterprise"] == {"id": "E0GRID", "name": "Test Enterprise"}
    user = answer["authed_user"]
    assert user["token_type"] == "user" and user["scope"] == "users:read"
    me = await AsyncWebClient(token=user["access_token"], base_url=emu.api_url).auth_test()
    assert (me["user_id"], me["team_id"], me["enterprise_id"]) == ("UINSTALLER", "T0GRID", "E0GRID")
    assert "bot_id" not in me
    assert CLIENT_SECRET not in emu.all_text()


async def test_reinstall_keeps_the_bot_token(emu: SlackEmulator) -> None:
    web = AsyncWebClient(base_url=emu.api_url)
    tokens = [
        (await web.oauth_v2_access(client_id=CLIENT_ID, client_secret=CLIENT_SECRET, code=code))[
            "access_token"
        ]
        for code in (emu.issue_oauth_code("T0OTHER"), emu.issue_oauth_code("T0OTHER"))
    ]
    assert tokens[0] == tokens[1]
    chosen = emu.issue_oauth_code("T0THIRD", bot_token="xoxb-chosen")
    answer = await web.oauth_v2_access(
        client_id=CLIENT_ID, client_secret=CLIENT_SECRET, code=chosen
    )
    assert answer["access_token"] == "xoxb-chosen"
    owner = emu.token_owner("xoxb-chosen")
    assert owner is not None and owner.team_id == "T0THIRD"


async def test_bolt_oauth_flow_accepts_the_answer(emu: SlackEmulator, tmp_path: Path) -> None:
    flow = AsyncOAuthFlow.sqlite3(
        database=str(tmp_path / "installs.db"),
        client_id=CLIENT_ID,
        client_secret=CLIENT_SECRET,
        scopes=["commands", "chat:write"],
        client=AsyncWebClient(base_url=emu.api_url),
    )
    code = emu.issue_oauth_code("T0OTHER", team_name="Other Team", enterprise_id="E0GRID")
    installation = await flow.run_installation(code)
    assert installation is not None
    assert (installation.team_id, installation.team_name) == ("T0OTHER", "Other Team")
    assert installation.enterprise_id == "E0GRID"
    assert installation.bot_user_id and installation.bot_id and installation.bot_token
    assert installation.user_id == "UINSTALLER"
    assert installation.bot_scopes == ["commands", "chat:write", "im:write", "files:write"]
    store = flow.settings.installation_store
    await store.async_save(installation)
    bot = await store.async_find_bot(enterprise_id="E0GRID", team_id="T0OTHER")
    assert bot is not None and bot.bot_token == installation.bot_token

    assert await flow.run_installation("bad-code") is None


async def test_auth_revoke(emu: SlackEmulator) -> None:
    code = emu.issue_oauth_code("T0OTHER")
    web = AsyncWebClient(base_url=emu.api_url)
    answer = await web.oauth_v2_access(client_id=CLIENT_ID, client_secret=CLIENT_SECRET, code=code)
    other = AsyncWebClient(token=answer["access_token"], base_url=emu.api_url)

    assert (await other.auth_revoke(test=True))["revoked"] is False
    assert (await other.auth_test())["team_id"] == "T0OTHER"
    assert (await other.auth_revoke())["revoked"] is True
    with pytest.raises(SlackApiError) as raised:
        await other.auth_test()
    assert raised.value.response["error"] == "token_revoked"
    assert emu.token_owner(answer["access_token"]) is None
    assert (await AsyncWebClient(token=TOKEN, base_url=emu.api_url).auth_test())["ok"] is True
