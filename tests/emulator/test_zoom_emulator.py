"""The Zoom emulator must behave like Zoom where the bot depends on it, over real HTTP."""

from __future__ import annotations

import contextlib
import re
import threading
import time
from collections.abc import Callable, Generator, Iterator
from typing import Any

import httpx
import pytest

from bot.emulator.background import BackgroundServer
from bot.emulator.zoom import DEVICE_GRANT_TYPE, USER_CODE_ALPHABET, ZoomEmulator

AUTH = ("zoom-client-id", "zoom-client-secret")
Serve = Callable[..., tuple[ZoomEmulator, httpx.Client]]


class Switch:
    """An ASGI app that forwards to the current test's emulator: one server per module is faster."""

    app: Any = None

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        await self.app(scope, receive, send)


@pytest.fixture(scope="module")
def server() -> Iterator[tuple[Switch, str]]:
    switch = Switch()
    with BackgroundServer(switch) as background:
        yield switch, background.url


@pytest.fixture
def serve(server: tuple[Switch, str]) -> Iterator[Serve]:
    """Serve a fresh emulator built with the given options (interval 1 unless told)."""
    switch, url = server
    clients: list[httpx.Client] = []

    def _serve(**options: Any) -> tuple[ZoomEmulator, httpx.Client]:
        emu = ZoomEmulator(**{"interval": 1, **options})
        emu.base_url = url
        switch.app = emu.app
        client = httpx.Client(base_url=url, auth=AUTH, timeout=10)
        clients.append(client)
        return emu, client

    yield _serve
    for client in clients:
        client.close()


@pytest.fixture
def zoom(serve: Serve) -> tuple[ZoomEmulator, httpx.Client]:
    return serve()


def start_flow(client: httpx.Client) -> dict[str, Any]:
    r = client.post("/oauth/devicecode", params={"client_id": AUTH[0]})
    assert r.status_code == 200, r.text
    return r.json()


def poll(client: httpx.Client, device_code: str) -> httpx.Response:
    return client.post(
        "/oauth/token", data={"grant_type": DEVICE_GRANT_TYPE, "device_code": device_code}
    )


def paired(emu: ZoomEmulator, client: httpx.Client) -> tuple[str, dict[str, Any]]:
    flow = start_flow(client)
    emu.approve(flow["user_code"])
    r = poll(client, flow["device_code"])
    assert r.status_code == 200, r.text
    return flow["user_code"], r.json()


class Bearer(httpx.Auth):
    """Replaces the client's default Basic auth for REST calls."""

    def __init__(self, token: str) -> None:
        self.token = token

    def auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response, None]:
        request.headers["Authorization"] = f"Bearer {self.token}"
        yield request


def bearer(token: str) -> Bearer:
    return Bearer(token)


def test_device_code_shape(zoom: tuple[ZoomEmulator, httpx.Client]) -> None:
    emu, client = zoom
    flow = start_flow(client)
    code = flow["user_code"]
    assert len(code) == 8 and set(code) <= set(USER_CODE_ALPHABET)
    assert not set(code) & set("0O1I")
    assert flow["verification_uri"] == f"{emu.base_url}/oauth_device"
    assert flow["verification_uri_complete"] == f"{emu.base_url}/oauth/device/complete/{code}"
    assert flow["expires_in"] == 900 and flow["interval"] == 1
    assert len(flow["device_code"]) >= 32
    assert emu.latest_user_code == code
    assert emu.grant(code).state == "pending"
    assert emu.requests_to("/oauth/devicecode")[0].user_code == code


@pytest.mark.parametrize(
    ("auth", "client_id"),
    [(None, "zoom-client-id"), (("zoom-client-id", "wrong"), "zoom-client-id"), (AUTH, "other")],
)
def test_device_code_refuses_bad_client(
    zoom: tuple[ZoomEmulator, httpx.Client], auth: Any, client_id: str
) -> None:
    emu, _ = zoom
    r = httpx.post(f"{emu.base_url}/oauth/devicecode", params={"client_id": client_id}, auth=auth)
    assert r.status_code == 401
    assert r.json() == {"reason": "Invalid client_id or client_secret", "error": "invalid_client"}
    assert emu.latest_user_code is None


def test_token_endpoint_refuses_bad_client(zoom: tuple[ZoomEmulator, httpx.Client]) -> None:
    emu, client = zoom
    flow = start_flow(client)
    data = {"grant_type": DEVICE_GRANT_TYPE, "device_code": flow["device_code"]}
    r = httpx.post(f"{emu.base_url}/oauth/token", data=data, auth=("zoom-client-id", "nope"))
    assert r.status_code == 401 and r.json()["error"] == "invalid_client"


def test_pending_approve_redeem_then_repoll_revokes(
    zoom: tuple[ZoomEmulator, httpx.Client],
) -> None:
    emu, client = zoom
    flow = start_flow(client)
    code, device_code = flow["user_code"], flow["device_code"]

    r = poll(client, device_code)
    assert r.status_code == 400 and r.json()["error"] == "authorization_pending"

    emu.approve(code)
    time.sleep(1.0)
    r = poll(client, device_code)
    assert r.status_code == 200, r.text
    tokens = r.json()
    assert tokens["token_type"] == "bearer"
    assert tokens["expires_in"] == 3599
    assert tokens["scope"] == "user:read user_zak:read meeting:write"
    assert tokens["api_url"] == emu.base_url
    assert emu.grant(code).state == "redeemed"
    assert emu.grant(code).user == emu.default_user
    assert emu.access_token_valid(tokens["access_token"])

    me = client.get("/v2/users/me", auth=bearer(tokens["access_token"]))
    assert me.status_code == 200
    assert me.json()["email"] == "alice@example.com"
    assert me.json()["display_name"] == "Alice Example"
    assert me.json()["type"] == 1 and me.json()["status"] == "active"

    time.sleep(1.0)
    r = poll(client, device_code)
    assert r.status_code == 400 and r.json()["error"] == "invalid_grant"
    assert not emu.access_token_valid(tokens["access_token"])
    assert not emu.refresh_token_valid(tokens["refresh_token"])
    r = client.get("/v2/users/me", auth=bearer(tokens["access_token"]))
    assert r.status_code == 401

    # polls are grouped by flow without knowing the device code
    polls = emu.polls(code)
    assert [p.status for p in polls] == [400, 200, 400]
    assert all(p.grant_type == DEVICE_GRANT_TYPE for p in polls)


def test_deny(zoom: tuple[ZoomEmulator, httpx.Client]) -> None:
    emu, client = zoom
    flow = start_flow(client)
    emu.deny(flow["user_code"])
    r = poll(client, flow["device_code"])
    assert r.status_code == 400 and r.json()["error"] == "access_denied"
    assert "reason" in r.json()
    with pytest.raises(ValueError):
        emu.approve(flow["user_code"])


def test_expire(zoom: tuple[ZoomEmulator, httpx.Client]) -> None:
    emu, client = zoom
    flow = start_flow(client)
    emu.expire(flow["user_code"])
    r = poll(client, flow["device_code"])
    assert r.status_code == 400 and r.json()["error"] == "expired_token"
    assert emu.grant(flow["user_code"]).state == "expired"


def test_code_lapses_after_expires_in(serve: Serve) -> None:
    emu, client = serve(expires_in=1)
    flow = start_flow(client)
    time.sleep(1.05)
    r = poll(client, flow["device_code"])
    assert r.json()["error"] == "expired_token"
    with pytest.raises(ValueError):
        emu.approve(flow["user_code"])


def test_unknown_device_code_and_grant_type(zoom: tuple[ZoomEmulator, httpx.Client]) -> None:
    _, client = zoom
    r = poll(client, "not-a-device-code")
    assert r.status_code == 400 and r.json()["error"] == "invalid_grant"
    r = client.post("/oauth/token", data={"grant_type": "password"})
    assert r.status_code == 400 and r.json()["error"] == "unsupported_grant_type"


def test_parameters_in_query_are_ignored(zoom: tuple[ZoomEmulator, httpx.Client]) -> None:
    emu, client = zoom
    flow = start_flow(client)
    params = {"grant_type": DEVICE_GRANT_TYPE, "device_code": flow["device_code"]}
    r = client.post("/oauth/token", params=params)
    assert r.status_code == 400 and r.json()["error"] == "invalid_request"
    assert emu.requests_to("/oauth/token")[0].query == params


def test_slow_down_raises_interval(zoom: tuple[ZoomEmulator, httpx.Client]) -> None:
    emu, client = zoom
    flow = start_flow(client)
    assert poll(client, flow["device_code"]).json()["error"] == "authorization_pending"
    r = poll(client, flow["device_code"])
    assert r.status_code == 400 and r.json()["error"] == "slow_down"
    assert emu.grant(flow["user_code"]).interval == 6
    time.sleep(1.0)  # the old interval is no longer enough
    assert poll(client, flow["device_code"]).json()["error"] == "slow_down"
    assert emu.grant(flow["user_code"]).interval == 11


def test_interval_omitted_when_none(serve: Serve) -> None:
    emu, client = serve(interval=None)
    flow = start_flow(client)
    assert "interval" not in flow
    assert emu.grant(flow["user_code"]).interval == 5  # RFC 8628 default is enforced


def test_api_url_options(serve: Serve) -> None:
    emu, client = serve(api_url=None)
    assert "api_url" not in paired(emu, client)[1]
    emu, client = serve(api_url="https://api.zoom.example")
    assert paired(emu, client)[1]["api_url"] == "https://api.zoom.example"


def test_refresh_rotation(zoom: tuple[ZoomEmulator, httpx.Client]) -> None:
    emu, client = zoom
    _, tokens = paired(emu, client)
    r = client.post(
        "/oauth/token",
        data={"grant_type": "refresh_token", "refresh_token": tokens["refresh_token"]},
    )
    assert r.status_code == 200, r.text
    fresh = r.json()
    assert set(fresh) == {
        "access_token",
        "token_type",
        "refresh_token",
        "expires_in",
        "scope",
        "api_url",
    }
    assert fresh["refresh_token"] != tokens["refresh_token"]
    assert emu.refresh_token_valid(fresh["refresh_token"])
    assert not emu.refresh_token_valid(tokens["refresh_token"])

    r = client.post(
        "/oauth/token",
        data={"grant_type": "refresh_token", "refresh_token": tokens["refresh_token"]},
    )
    assert r.status_code == 400
    assert r.json() == {"reason": "Invalid Token!", "error": "invalid_grant"}
    assert client.get("/v2/users/me", auth=bearer(fresh["access_token"])).status_code == 200


def test_revoke(zoom: tuple[ZoomEmulator, httpx.Client]) -> None:
    emu, client = zoom
    _, tokens = paired(emu, client)
    r = client.post("/oauth/revoke", data={"token": tokens["refresh_token"]})
    assert r.status_code == 200 and r.json() == {"status": "success"}
    assert not emu.refresh_token_valid(tokens["refresh_token"])
    assert not emu.access_token_valid(tokens["access_token"])  # the partner dies too

    r = client.post("/oauth/revoke", data={"token": tokens["access_token"]})
    assert r.status_code == 400
    assert r.json() == {"error": "invalid_request", "reason": "Invalid Token!"}
    r = httpx.post(f"{emu.base_url}/oauth/revoke", data={"token": "x"}, auth=("a", "b"))
    assert r.status_code == 401


def test_expired_access_token_gives_124(zoom: tuple[ZoomEmulator, httpx.Client]) -> None:
    emu, client = zoom
    _, tokens = paired(emu, client)
    emu.expire_access_tokens()
    for path in ("/v2/users/me", "/v2/users/me/zak"):
        r = client.get(path, auth=bearer(tokens["access_token"]))
        assert r.status_code == 401
        assert r.json() == {"code": 124, "message": "Invalid access token."}
    assert httpx.get(f"{emu.base_url}/v2/users/me").json()["code"] == 124  # no token at all
    assert emu.refresh_token_valid(tokens["refresh_token"])  # refreshing still works


def test_expire_access_tokens_of_one_user(zoom: tuple[ZoomEmulator, httpx.Client]) -> None:
    emu, client = zoom
    bob = emu.add_user("bob@example.com", "Bob", "Builder")
    _, alice_tokens = paired(emu, client)
    flow = start_flow(client)
    emu.approve(flow["user_code"], bob)
    bob_tokens = poll(client, flow["device_code"]).json()
    emu.expire_access_tokens(bob)
    assert emu.access_token_valid(alice_tokens["access_token"])
    assert not emu.access_token_valid(bob_tokens["access_token"])


def test_access_token_ttl(serve: Serve) -> None:
    emu, client = serve(access_token_ttl=1)
    _, tokens = paired(emu, client)
    assert tokens["expires_in"] == 1
    time.sleep(1.05)
    assert client.get("/v2/users/me", auth=bearer(tokens["access_token"])).status_code == 401


def test_missing_scope_gives_4700(zoom: tuple[ZoomEmulator, httpx.Client]) -> None:
    emu, client = zoom
    carol = emu.add_user("carol@example.com", "Carol", scopes="user:read")
    flow = start_flow(client)
    emu.approve(flow["user_code"], carol)
    tokens = poll(client, flow["device_code"]).json()
    assert tokens["scope"] == "user:read"

    r = client.get("/v2/users/me/zak", auth=bearer(tokens["access_token"]))
    assert r.status_code == 400
    assert r.json() == {
        "code": 4700,
        "message": "Invalid access token, does not contain scopes: [user_zak:read].",
    }
    r = client.post("/v2/users/me/meetings", json={"type": 1}, auth=bearer(tokens["access_token"]))
    assert r.status_code == 400 and r.json()["code"] == 4700
    assert "[meeting:write]" in r.json()["message"]
    assert emu.issued_zaks == [] and emu.meetings == []


def test_zak(zoom: tuple[ZoomEmulator, httpx.Client]) -> None:
    emu, client = zoom
    _, tokens = paired(emu, client)
    first = client.get("/v2/users/me/zak", auth=bearer(tokens["access_token"])).json()
    second = client.get("/v2/users/me/zak", auth=bearer(tokens["access_token"])).json()
    assert first["token"] != second["token"]
    assert emu.issued_zaks == [first["token"], second["token"]]


def test_meeting_create(zoom: tuple[ZoomEmulator, httpx.Client]) -> None:
    emu, client = zoom
    _, tokens = paired(emu, client)
    auth = bearer(tokens["access_token"])
    r = client.post("/v2/users/me/meetings", json={"type": 1, "topic": "Standup"}, auth=auth)
    assert r.status_code == 201, r.text
    m = r.json()
    assert isinstance(m["id"], int) and len(str(m["id"])) == 11
    assert m["topic"] == "Standup" and m["type"] == 1 and m["status"] == "waiting"
    assert m["host_id"] == emu.default_user.id
    assert m["host_email"] == "alice@example.com"
    assert m["uuid"] and m["password"]
    assert m["join_url"].startswith(f"{emu.base_url}/j/{m['id']}?pwd=")
    assert m["start_url"] == f"{emu.base_url}/s/{m['id']}?zak={emu.issued_zaks[-1]}"
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", m["created_at"])
    assert emu.meetings == [m]
    assert emu.requests_to("/v2/users/me/meetings")[0].json == {"type": 1, "topic": "Standup"}

    r = client.post("/v2/users/me/meetings", json={"type": 1}, auth=auth)
    assert r.status_code == 201 and r.json()["topic"] == "Zoom Meeting"
    r = client.post("/v2/users/me/meetings", json={"type": 1, "topic": "x" * 201}, auth=auth)
    assert r.status_code == 400 and r.json()["code"] == 300
    r = client.post(
        "/v2/users/me/meetings",
        content=b"{not json",
        auth=auth,
        headers={"content-type": "application/json"},
    )
    assert r.status_code == 400 and r.json()["code"] == 300
    assert len(emu.meetings) == 2


def test_inject_status_body_headers_times(zoom: tuple[ZoomEmulator, httpx.Client]) -> None:
    emu, client = zoom
    _, tokens = paired(emu, client)
    auth = bearer(tokens["access_token"])
    emu.inject(
        "/v2/users/me/zak",
        status=429,
        body={"code": 429, "message": "Too many requests"},
        headers={"Retry-After": "1"},
        times=2,
    )
    emu.inject("/v2/users/me/zak", status=502, body="{not json")
    for _ in range(2):
        r = client.get("/v2/users/me/zak", auth=auth)
        assert r.status_code == 429 and r.headers["retry-after"] == "1"
        assert r.json() == {"code": 429, "message": "Too many requests"}
    r = client.get("/v2/users/me/zak", auth=auth)
    assert r.status_code == 502 and r.content == b"{not json"
    assert r.headers["content-type"].startswith("application/json")
    r = client.get("/v2/users/me/zak", auth=auth)
    assert r.status_code == 200
    assert [q.status for q in emu.requests_to("/v2/users/me/zak")] == [429, 429, 502, 200]
    assert emu.issued_zaks == [r.json()["token"]]

    # the default body, and faults win over the auth check
    emu.inject("/oauth/devicecode", status=503)
    r = httpx.post(f"{emu.base_url}/oauth/devicecode")
    assert r.status_code == 503 and r.json() == {"code": 503, "message": "injected"}

    emu.inject("/oauth/token", times=3)
    emu.reset_faults()
    assert client.post("/oauth/token", data={"grant_type": "x"}).status_code == 400


def test_inject_delay_and_latency_are_recorded(zoom: tuple[ZoomEmulator, httpx.Client]) -> None:
    emu, client = zoom
    emu.inject("/oauth/devicecode", status=500, delay=0.3)
    r = client.post("/oauth/devicecode", params={"client_id": AUTH[0]})
    assert r.status_code == 500
    rec = emu.requests_to("/oauth/devicecode")[-1]
    assert rec.end_time - rec.time >= 0.29

    emu.set_latency("/oauth/devicecode", 0.2)
    flow = start_flow(client)
    rec = emu.requests_to("/oauth/devicecode")[-1]
    assert rec.status == 200 and rec.user_code == flow["user_code"]
    assert rec.end_time - rec.time >= 0.19

    # a faulted poll is still recorded and attributed to its flow
    emu.set_latency("/oauth/devicecode", 0)
    emu.inject("/oauth/token", status=500)
    assert poll(client, flow["device_code"]).status_code == 500
    [faulted] = emu.polls(flow["user_code"])
    assert faulted.status == 500 and faulted.form["device_code"] == flow["device_code"]


def test_polls_are_in_arrival_order(zoom: tuple[ZoomEmulator, httpx.Client]) -> None:
    emu, client = zoom
    flow = start_flow(client)
    emu.inject("/oauth/token", status=504, delay=0.4)
    slow = threading.Thread(target=poll, args=(client, flow["device_code"]))
    slow.start()
    time.sleep(0.1)
    poll(client, flow["device_code"])  # answered (pending) before the delayed one
    slow.join()
    assert [p.status for p in emu.polls(flow["user_code"])] == [504, 400]
    assert [r.status for r in emu.requests if r.path == "/oauth/token"] == [400, 504]


def test_approval_pages(zoom: tuple[ZoomEmulator, httpx.Client]) -> None:
    emu, client = zoom
    r = client.get("/oauth_device")
    assert r.status_code == 200 and 'name="code"' in r.text

    flow = start_flow(client)
    code = flow["user_code"]
    r = client.get("/oauth_device", params={"code": code.lower()})
    assert r.status_code == 303
    assert r.headers["location"] == f"/oauth/device/complete/{code}"

    page = client.get(flow["verification_uri_complete"])
    assert page.status_code == 200
    assert code in page.text and "Approve" in page.text and "Deny" in page.text
    assert 'value="approve"' in page.text and 'value="deny"' in page.text

    r = client.post(f"/oauth/device/complete/{code}", data={"action": "approve"})
    assert r.status_code == 200 and "return to Slack" in r.text
    assert emu.grant(code).state == "approved"
    assert emu.grant(code).user == emu.default_user
    assert client.get(f"/oauth/device/complete/{code}").status_code == 410
    assert client.post(f"/oauth/device/complete/{code}", data={"action": "deny"}).status_code == 410

    other = start_flow(client)["user_code"]
    r = client.post(f"/oauth/device/complete/{other}", data={"action": "deny"})
    assert r.status_code == 200 and "return to Slack" in r.text
    assert emu.grant(other).state == "denied"
    assert client.get("/oauth/device/complete/ZZZZZZZZ").status_code == 404


def test_control_endpoints(zoom: tuple[ZoomEmulator, httpx.Client]) -> None:
    emu, client = zoom
    first = start_flow(client)["user_code"]
    second = start_flow(client)["user_code"]
    assert client.post(f"/_emulator/devices/{first}/approve").json() == {"ok": True}
    assert client.post(f"/_emulator/devices/{second}/deny").json() == {"ok": True}
    assert emu.grant(first).state == "approved" and emu.grant(second).state == "denied"
    assert client.post(f"/_emulator/devices/{second}/approve").status_code == 409
    assert client.post("/_emulator/devices/ZZZZZZZZ/expire").status_code == 404
    third = start_flow(client)["user_code"]
    assert client.post(f"/_emulator/devices/{third}/expire").status_code == 200
    assert emu.grant(third).state == "expired"

    _, tokens = paired(emu, client)
    assert client.post("/_emulator/tokens/expire").json() == {"ok": True}
    assert not emu.access_token_valid(tokens["access_token"])

    listed = client.get("/_emulator/requests").json()
    assert [r["path"] for r in listed] == ["/oauth/devicecode"] * 4 + ["/oauth/token"]
    assert set(listed[0]) == {"method", "path", "time", "status", "user_code", "grant_type"}


def test_reauthorization_revokes_option(serve: Serve) -> None:
    emu, client = serve(reauthorization_revokes=True)
    _, first = paired(emu, client)
    _, second = paired(emu, client)
    assert not emu.refresh_token_valid(first["refresh_token"])
    assert emu.refresh_token_valid(second["refresh_token"])


# ---------------------------------------------------------------------- random faults


def test_inject_drop_closes_the_connection_and_changes_nothing(
    zoom: tuple[ZoomEmulator, httpx.Client],
) -> None:
    emu, client = zoom
    emu.inject("/oauth/devicecode", drop=True)
    with pytest.raises(httpx.RemoteProtocolError):
        client.post("/oauth/devicecode", params={"client_id": AUTH[0]})
    assert emu.latest_user_code is None
    [dropped] = emu.requests_to("/oauth/devicecode")
    assert (dropped.status, dropped.fault, dropped.response) == (0, "drop", None)
    # The next request, on a new connection, is served normally.
    start_flow(client)
    assert [r.fault for r in emu.requests_to("/oauth/devicecode")] == ["drop", None]


def test_fault_rate_kinds_bodies_and_record(zoom: tuple[ZoomEmulator, httpx.Client]) -> None:
    emu, client = zoom
    emu.set_fault_rate("/oauth/devicecode", 1.0, faults=("500", "503"), seed=3)
    bodies = set()
    for _ in range(12):
        r = client.post("/oauth/devicecode", params={"client_id": AUTH[0]})
        assert r.status_code in (500, 503)
        json_body = r.headers["content-type"].startswith("application/json")
        bodies.add("json" if json_body else "html")
        if json_body:
            assert r.json() == {"code": r.status_code, "message": "injected fault"}
        else:
            assert r.headers["content-type"].startswith("text/html") and "<html>" in r.text
    assert bodies == {"json", "html"}
    recorded = emu.requests_to("/oauth/devicecode")
    assert {r.fault for r in recorded} == {"500", "503"}
    assert all(r.status == int(r.fault or 0) for r in recorded)
    assert emu.latest_user_code is None, "a faulted request must not be processed"

    emu.set_fault_rate("/oauth/devicecode", 0)
    start_flow(client)
    assert emu.requests_to("/oauth/devicecode")[-1].fault is None


def test_fault_rate_429_alternates_retry_after_and_ratelimit_reset(
    zoom: tuple[ZoomEmulator, httpx.Client],
) -> None:
    emu, client = zoom
    emu.set_fault_rate("/v2/users/me/zak", 1.0, faults=("429",), retry_after=3)
    answers = [client.get("/v2/users/me/zak") for _ in range(4)]
    assert [r.status_code for r in answers] == [429] * 4
    assert all(r.json()["code"] == 429 for r in answers)
    assert [r.headers.get("retry-after") for r in answers] == ["3", None, "3", None]
    for r in answers[1::2]:
        assert "retry-after" not in r.headers
        assert 2 <= int(r.headers["x-ratelimit-reset"]) - time.time() <= 4
    assert [r.fault for r in emu.requests_to("/v2/users/me/zak")] == ["429"] * 4


def test_fault_rate_timeout_outlasts_the_client_then_answers_503(
    zoom: tuple[ZoomEmulator, httpx.Client],
) -> None:
    emu, client = zoom
    emu.set_fault_rate("/oauth/token", 1.0, faults=("timeout",), timeout_delay=0.6)
    started = time.monotonic()
    with pytest.raises(httpx.ReadTimeout):
        client.post("/oauth/token", data={"grant_type": "x"}, timeout=0.2)
    assert time.monotonic() - started < 0.5
    r = client.post("/oauth/token", data={"grant_type": "x"}, timeout=5)
    assert r.status_code == 503 and time.monotonic() - started >= 0.6
    recorded = wait_until(lambda: len(emu.requests_to("/oauth/token")) == 2, 2)
    assert recorded
    for rec in emu.requests_to("/oauth/token"):
        assert (rec.status, rec.fault) == (503, "timeout")
        assert rec.end_time - rec.time >= 0.59


def test_fault_rate_drop_raises_a_transport_error(
    zoom: tuple[ZoomEmulator, httpx.Client],
) -> None:
    emu, client = zoom
    emu.set_fault_rate("/v2/users/me/meetings", 1.0, faults=("drop",))
    for _ in range(3):
        with pytest.raises(httpx.TransportError):
            client.post("/v2/users/me/meetings", json={"topic": "x"})
    assert [(r.status, r.fault) for r in emu.requests_to("/v2/users/me/meetings")] == [
        (0, "drop")
    ] * 3
    assert emu.meetings == []


def test_fault_rate_is_a_rate_and_a_seed_replays_it(serve: Serve) -> None:
    def faults_seen(seed: int) -> list[str | None]:
        emu, client = serve()
        emu.set_fault_rate("/v2/users/me", 0.3, faults=("500", "503", "429"), seed=seed)
        for _ in range(200):
            client.get("/v2/users/me")
        return [r.fault for r in emu.requests_to("/v2/users/me")]

    first = faults_seen(11)
    share = sum(f is not None for f in first) / len(first)
    assert 0.2 <= share <= 0.4, share
    assert {f for f in first if f} == {"500", "503", "429"}
    assert faults_seen(11) == first
    assert faults_seen(12) != first


def test_seeded_faults_follow_each_grant_whatever_the_interleaving(serve: Serve) -> None:
    """Grant n meets the same faults whether its polls come first, last or interleaved."""

    def faults_by_grant(order: list[int]) -> list[list[str | None]]:
        emu, client = serve(interval=None)
        flows = [start_flow(client) for _ in range(2)]
        emu.set_fault_rate("/oauth/token", 0.5, faults=("500", "503", "429"), seed=5)
        for n in order:
            poll(client, flows[n]["device_code"])
        return [[p.fault for p in emu.polls(f["user_code"])] for f in flows]

    one_after_the_other = faults_by_grant([0] * 12 + [1] * 12)
    interleaved = faults_by_grant([0, 1] * 12)
    assert one_after_the_other == interleaved
    assert one_after_the_other[0] != one_after_the_other[1]
    assert all(None in faults and set(faults) - {None} for faults in interleaved)


def test_faulted_poll_neither_redeems_nor_counts_for_slow_down(
    zoom: tuple[ZoomEmulator, httpx.Client],
) -> None:
    emu, client = zoom  # interval 1
    flow = start_flow(client)
    code, device_code = flow["user_code"], flow["device_code"]
    assert poll(client, device_code).json()["error"] == "authorization_pending"
    emu.approve(code)
    time.sleep(0.6)
    emu.set_fault_rate("/oauth/token", 1.0, faults=("500", "503", "429", "drop"), seed=1)
    for _ in range(4):  # each would be "too fast" if it counted
        with contextlib.suppress(httpx.RemoteProtocolError):  # a "drop"
            assert poll(client, device_code).status_code in (429, 500, 503)
    assert emu.grant(code).state == "approved" and emu.grant(code).interval == 1
    # An interval after the last poll that was processed, but not after the faulted ones.
    time.sleep(max(0.0, emu.polls(code)[0].time + 1.05 - time.monotonic()))
    emu.set_fault_rate("/oauth/token", 0)
    r = poll(client, device_code)
    assert r.status_code == 200, r.text
    assert emu.grant(code).state == "redeemed"
    polls = emu.polls(code)
    assert [p.fault is not None for p in polls] == [False, True, True, True, True, False]


def test_queued_faults_go_before_the_rate_and_reset_clears_both(
    zoom: tuple[ZoomEmulator, httpx.Client],
) -> None:
    emu, client = zoom
    emu.set_fault_rate("/oauth/devicecode", 1.0, faults=("503",))
    emu.inject("/oauth/devicecode", status=502, body="bad gateway")
    assert client.post("/oauth/devicecode").status_code == 502
    assert client.post("/oauth/devicecode").status_code == 503
    assert [r.fault for r in emu.requests_to("/oauth/devicecode")] == ["injected", "503"]
    emu.reset_faults()
    start_flow(client)


@pytest.mark.parametrize(
    "arguments",
    [
        {"rate": 1.5},
        {"rate": -0.1},
        {"rate": 0.5, "faults": ()},
        {"rate": 0.5, "faults": ("418",)},
        {"rate": 0.5, "retry_after": -1},
        {"rate": 0.5, "timeout_delay": -1},
    ],
)
def test_fault_rate_refuses_nonsense(
    zoom: tuple[ZoomEmulator, httpx.Client], arguments: dict[str, Any]
) -> None:
    emu, _ = zoom
    with pytest.raises(ValueError):
        emu.set_fault_rate("/oauth/token", **arguments)


def wait_until(predicate: Callable[[], bool], timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.02)
    return True
