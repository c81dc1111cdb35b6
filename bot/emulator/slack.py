"""A stand-in for the Slack Web API: a real HTTP server (Starlette) that records every call.

Integration tests and the offline demo point ``AsyncWebClient(base_url=emu.api_url)`` at it, so
the bot's real HTTP code runs, including the three steps of ``files_upload_v2`` and posts to
``response_url``. It keeps enough state (messages, files, App Home views) to assert on, and it
copies the Slack behaviours that cause real bugs: auth errors answered with HTTP 200, uploads
shared to a user id rejected with ``invalid_channel``, ``response_url`` limited to five uses.

It also plays Slack's side of Socket Mode (``apps.connections.open`` with the app-level token,
then a WebSocket that says ``hello``, carries envelopes and collects acks) and of the OAuth v2
install (``oauth.v2.access`` trading codes the test issued for bot tokens of other workspaces),
so a bot can be tested in Socket Mode and with more than one workspace.

The server thread and the test thread both touch the state, so every mutation and every read of
it happens under one ``threading.Lock``, never held across an ``await``. WebSockets live on the
server thread's event loop; test-thread helpers reach them with ``run_coroutine_threadsafe``.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import concurrent.futures
import contextlib
import copy
import itertools
import json
import mimetypes
import re
import threading
import time
import uuid
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from starlette.applications import Starlette
from starlette.datastructures import UploadFile
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response
from starlette.routing import Route, WebSocketRoute
from starlette.websockets import WebSocket

# Parameters Slack takes as JSON-encoded strings in form bodies; decoded so tests see structures.
JSON_FIELDS = frozenset({"blocks", "attachments", "files", "view", "metadata"})
RESPONSE_URL_MAX_USES = 5
MAX_TEXT_LENGTH = 40_000
MAX_MESSAGE_BLOCKS = 50
MAX_VIEW_BLOCKS = 100
_TS_BASE_SECONDS = 1_700_000_000
# Envelope types whose ack may carry a response (Slack sets accepts_response_payload for them).
RESPONSE_PAYLOAD_TYPES = frozenset({"slash_commands", "interactive"})

Params = dict[str, Any]
Answer = dict[str, Any]


@dataclass
class RecordedCall:
    """One Web API call as the emulator saw it, with the answer it gave."""

    method: str
    params: dict[str, Any]
    token: str | None
    time: float
    response: dict[str, Any]


@dataclass
class RecordedResponse:
    """One accepted POST to a ``response_url``."""

    url: str
    body: dict[str, Any]
    time: float


@dataclass
class UploadedFile:
    """A file going through getUploadURLExternal -> upload -> completeUploadExternal."""

    id: str
    filename: str
    title: str
    length: int  # as declared to files.getUploadURLExternal
    content: bytes = b""
    channel: str | None = None  # set by files.completeUploadExternal
    deleted: bool = False
    uploaded: bool = False  # bytes were POSTed to the upload URL
    completed: bool = False  # files.completeUploadExternal accepted it


@dataclass
class TokenOwner:
    """Who a valid token speaks for: a workspace, and its bot (or the user of a user token)."""

    team_id: str
    team: str
    user_id: str
    bot_id: str | None  # None for a user token
    enterprise_id: str | None = None
    enterprise_name: str | None = None


@dataclass
class _OAuthGrant:
    """An authorization code the test issued, waiting to be traded at oauth.v2.access."""

    team_id: str
    team_name: str
    enterprise_id: str | None
    enterprise_name: str
    bot_token: str | None
    user_id: str
    scopes: str
    user_scopes: str | None
    redirect_uri: str | None
    used: bool = False


@dataclass
class _SocketConnection:
    """A live Socket Mode WebSocket and the loop it runs on (the server thread's)."""

    id: str
    websocket: WebSocket
    loop: asyncio.AbstractEventLoop
    gone: asyncio.Event = field(default_factory=asyncio.Event)  # set when the socket closed


def _error(error: str) -> Answer:
    return {"ok": False, "error": error}


def _is_user_id(value: str) -> bool:
    """Slack user ids start with U (or W in Enterprise Grid); conversations with C, G or D."""
    return value[:1] in ("U", "W")


def _on_loop(loop: asyncio.AbstractEventLoop) -> bool:
    """True when called from ``loop`` itself, where blocking on it would deadlock."""
    try:
        return asyncio.get_running_loop() is loop
    except RuntimeError:
        return False


def _basic_auth(request: Request) -> tuple[str, str] | None:
    """Client credentials from an ``Authorization: Basic`` header, as slack_sdk sends them."""
    auth = request.headers.get("authorization", "")
    if not auth.lower().startswith("basic "):
        return None
    try:
        decoded = base64.b64decode(auth[6:].strip(), validate=True).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError):
        return None
    client_id, sep, client_secret = decoded.partition(":")
    return (client_id, client_secret) if sep else None


def _blocks_error(blocks: Any, limit: int) -> str | None:
    """Answer Slack's ``invalid_blocks`` for structures Slack itself would refuse."""
    if blocks is None:
        return None
    if not isinstance(blocks, list) or len(blocks) > limit:
        return "invalid_blocks"
    if not all(isinstance(b, dict) and isinstance(b.get("type"), str) for b in blocks):
        return "invalid_blocks"
    return None


class SlackEmulator:
    """The Slack Web API, in memory, behind a Starlette app (serve ``app``, then set base_url)."""

    def __init__(
        self,
        bot_token: str = "xoxb-test-token",  # noqa: S107 - a fake token for a fake Slack
        *,
        team_id: str = "T0TEAM",
        team: str = "Test Team",
        bot_user_id: str = "UBOT",
        bot_id: str = "BBOT",
        app_token: str = "xapp-test-token",  # noqa: S107
        app_id: str = "A0APP",
        client_id: str = "slack-client-id",
        client_secret: str = "slack-client-secret",  # noqa: S107
    ) -> None:
        self.bot_token = bot_token
        self.team_id = team_id
        self.team = team
        self.bot_user_id = bot_user_id
        self.bot_id = bot_id
        self.app_token = app_token
        self.app_id = app_id
        self.client_id = client_id
        self.client_secret = client_secret
        self._base_url: str | None = None
        self._lock = threading.Lock()
        # Socket Mode: URLs handed out, live sockets (notified on change), acks awaited and seen.
        self._socket_changed = threading.Condition(self._lock)
        self._socket_tickets: set[str] = set()
        self._sockets: dict[str, _SocketConnection] = {}
        self._pending_acks: dict[str, concurrent.futures.Future[dict[str, Any] | None]] = {}
        self.socket_acks: list[dict[str, Any]] = []
        # OAuth: every token that works (the constructor's bot token included), codes, revocations.
        self._tokens: dict[str, TokenOwner] = {
            bot_token: TokenOwner(team_id, team, bot_user_id, bot_id),
        }
        self._revoked_tokens: set[str] = set()
        self._oauth_grants: dict[str, _OAuthGrant] = {}
        self.calls: list[RecordedCall] = []
        self.responses: list[RecordedResponse] = []
        self.files: dict[str, UploadedFile] = {}
        self.published_views: dict[str, dict[str, Any]] = {}
        self._messages: dict[str, list[dict[str, Any]]] = {}
        self._failures: dict[str, deque[str]] = {}
        self._response_urls: dict[str, str] = {}  # response id -> the URL handed out
        self._response_uses: dict[str, int] = {}
        self._rejected_response_bodies: list[Any] = []
        self._ts_counter = itertools.count(1)
        self._id_counter = itertools.count(1)
        self._methods: dict[str, Callable[[Params, str, str], Answer]] = {
            "apps.connections.open": self._apps_connections_open,
            "auth.test": self._auth_test,
            "auth.revoke": self._auth_revoke,
            "conversations.open": self._conversations_open,
            "chat.postMessage": self._chat_post_message,
            "chat.update": self._chat_update,
            "chat.delete": self._chat_delete,
            "chat.postEphemeral": self._chat_post_ephemeral,
            "files.getUploadURLExternal": self._files_get_upload_url_external,
            "files.completeUploadExternal": self._files_complete_upload_external,
            "files.info": self._files_info,
            "files.delete": self._files_delete,
            "views.publish": self._views_publish,
        }
        self.app = Starlette(
            routes=[
                Route("/api/{method}", self._handle_api, methods=["GET", "POST"]),
                Route("/upload/{file_id}", self._handle_upload, methods=["POST"]),
                Route("/response/{response_id}", self._handle_response_url, methods=["POST"]),
                Route("/files/{file_id}/{name}", self._handle_file_download, methods=["GET"]),
                WebSocketRoute("/socket/{connection_id}", self._handle_socket),
            ]
        )

    # ------------------------------------------------------------------ public API

    @property
    def base_url(self) -> str:
        """Where the app is served; set it after starting the server (default http://127.0.0.1)."""
        return self._base_url or "http://127.0.0.1"

    @base_url.setter
    def base_url(self, value: str) -> None:
        self._base_url = value.rstrip("/")

    @property
    def api_url(self) -> str:
        """What ``AsyncWebClient(base_url=...)`` takes: the SDK appends the method name."""
        return f"{self.base_url}/api/"

    def calls_to(self, method: str) -> list[RecordedCall]:
        """The recorded calls of one method, oldest first."""
        with self._lock:
            return [c for c in self.calls if c.method == method]

    def new_response_url(self) -> str:
        """A fresh response_url on this server, as Slack puts into a slash-command payload."""
        response_id = uuid.uuid4().hex
        url = f"{self.base_url}/response/{response_id}"
        with self._lock:
            self._response_urls[response_id] = url
            self._response_uses[response_id] = 0
        return url

    def responses_to(self, url: str) -> list[dict[str, Any]]:
        """Bodies accepted at one response_url, oldest first."""
        with self._lock:
            return [copy.deepcopy(r.body) for r in self.responses if r.url == url]

    def dm_channel(self, user_id: str) -> str:
        """The DM conversation id for a user: derived from the id, so stable and collision-free."""
        return f"D{user_id}"

    def messages(self, channel: str) -> list[dict[str, Any]]:
        """Current messages in a channel (updates applied, deletions removed), oldest first."""
        with self._lock:
            return copy.deepcopy(self._messages.get(channel, []))

    def message(self, channel: str, ts: str) -> dict[str, Any] | None:
        """One current message, or None if it never existed or was deleted."""
        with self._lock:
            found = self._find_message(channel, ts)
            return copy.deepcopy(found) if found is not None else None

    def fail(self, method: str, error: str, *, times: int = 1) -> None:
        """Make the next ``times`` calls of ``method`` answer ``{"ok": false, "error": error}``."""
        if times < 1:
            raise ValueError("times must be at least 1")
        with self._lock:
            self._failures.setdefault(method, deque()).extend([error] * times)

    def all_text(self) -> str:
        """Everything the bot sent as text, so tests can assert that no secret leaked."""
        with self._lock:
            parts = [json.dumps(c.params, default=str) for c in self.calls]
            parts += [json.dumps(r.body, default=str) for r in self.responses]
            parts += [json.dumps(b, default=str) for b in self._rejected_response_bodies]
        return "\n".join(parts)

    def token_owner(self, token: str) -> TokenOwner | None:
        """Whom a token speaks for, or None if it never worked or was revoked."""
        with self._lock:
            owner = self._tokens.get(token)
            return copy.copy(owner) if owner is not None else None

    # ------------------------------------------------------------------ Socket Mode (test side)

    def socket_connected(self) -> bool:
        """True while at least one Socket Mode WebSocket is open and has been greeted."""
        with self._lock:
            return bool(self._sockets)

    def wait_for_socket(self, timeout: float = 10.0) -> bool:
        """Block until a Socket Mode WebSocket is live (e.g. after a reconnect); False on timeout.

        Blocking: from an async test whose loop runs the client, use ``asyncio.to_thread``.
        """
        with self._socket_changed:
            return self._socket_changed.wait_for(lambda: bool(self._sockets), timeout)

    def send_socket_envelope(
        self,
        type: str,
        payload: dict[str, Any],
        timeout: float = 10.0,
        *,
        accepts_response_payload: bool | None = None,
    ) -> dict[str, Any] | None:
        """Deliver an envelope as Slack would and return the ``payload`` of the app's ack.

        Waits up to ``timeout`` for a live socket, then for the ack (``TimeoutError`` if either
        never comes). It blocks the calling thread, so an async test whose own loop runs the
        Socket Mode client must use ``send_socket_envelope_async`` instead.
        """
        deadline = time.monotonic() + timeout
        envelope_id = str(uuid.uuid4())
        envelope: dict[str, Any] = {
            "envelope_id": envelope_id,
            "type": type,
            "payload": copy.deepcopy(payload),
            "accepts_response_payload": (
                type in RESPONSE_PAYLOAD_TYPES
                if accepts_response_payload is None
                else accepts_response_payload
            ),
        }
        if type == "events_api":  # Slack adds retry fields to Events API envelopes only
            envelope |= {"retry_attempt": 0, "retry_reason": ""}
        acked: concurrent.futures.Future[dict[str, Any] | None] = concurrent.futures.Future()
        with self._socket_changed:
            if not self._socket_changed.wait_for(lambda: bool(self._sockets), timeout):
                raise TimeoutError(f"no Socket Mode connection within {timeout} s")
            connection = list(self._sockets.values())[-1]  # the newest: older ones may be leaving
            self._pending_acks[envelope_id] = acked
        if _on_loop(connection.loop):
            raise RuntimeError("send_socket_envelope would block the emulator's own event loop")
        try:
            sent = asyncio.run_coroutine_threadsafe(
                connection.websocket.send_text(json.dumps(envelope)), connection.loop
            )
            try:
                sent.result(max(deadline - time.monotonic(), 0.0))
            except TimeoutError:
                sent.cancel()
                raise TimeoutError(f"could not send {type} envelope within {timeout} s") from None
            except Exception as exc:  # the socket closed under us
                raise ConnectionError(f"could not send envelope {envelope_id}: {exc}") from exc
            try:
                return acked.result(max(deadline - time.monotonic(), 0.0))
            except TimeoutError:
                raise TimeoutError(f"no ack for {type} envelope within {timeout} s") from None
        finally:
            with self._lock:
                self._pending_acks.pop(envelope_id, None)

    async def send_socket_envelope_async(
        self,
        type: str,
        payload: dict[str, Any],
        timeout: float = 10.0,  # noqa: ASYNC109 - spent on a worker thread, not on this loop
        *,
        accepts_response_payload: bool | None = None,
    ) -> dict[str, Any] | None:
        """``send_socket_envelope`` for async tests: waits on a worker thread, not on the loop."""
        return await asyncio.to_thread(
            self.send_socket_envelope,
            type,
            payload,
            timeout,
            accepts_response_payload=accepts_response_payload,
        )

    def disconnect_sockets(self, *, reason: str | None = None, grace: float = 10.0) -> int:
        """Drop every live Socket Mode connection, as Slack does; return how many there were.

        Without ``reason`` the server just closes the sockets (the client sees a CLOSE frame).
        With one (``"refresh_requested"``, ``"warning"``, ...) it first sends Slack's
        ``{"type": "disconnect"}`` message and closes only after ``grace`` seconds if the client
        has not hung up itself by then. Either way the sockets stop counting as live at once.
        """
        with self._socket_changed:
            live = list(self._sockets.values())
            self._sockets.clear()
            self._socket_changed.notify_all()
        for connection in live:
            closing = asyncio.run_coroutine_threadsafe(
                self._close_socket(connection, reason, grace), connection.loop
            )
            if reason is None and not _on_loop(connection.loop):
                # A socket that is already gone is what we wanted anyway.
                with contextlib.suppress(Exception):
                    closing.result(5.0)
        return len(live)

    # ------------------------------------------------------------------ OAuth (test side)

    def issue_oauth_code(
        self,
        team_id: str,
        *,
        team_name: str = "Other Team",
        enterprise_id: str | None = None,
        enterprise_name: str = "Test Enterprise",
        bot_token: str | None = None,
        user_id: str = "UINSTALLER",
        scopes: str = "commands,chat:write,im:write,files:write",
        user_scopes: str | None = None,
        redirect_uri: str | None = None,
    ) -> str:
        """A one-time code, as Slack appends to the redirect URL after a user approves the app.

        Trading it at oauth.v2.access installs the bot into ``team_id``: ``bot_token`` if given,
        else the team's current bot token if it has one (a reinstall keeps it), else a new one.
        ``user_scopes`` also grants the installer a user token; ``redirect_uri`` must then be
        sent again with the code, as Slack requires when the authorize URL named one.
        """
        code = f"{team_id}.{uuid.uuid4().hex}"
        grant = _OAuthGrant(
            team_id,
            team_name,
            enterprise_id,
            enterprise_name,
            bot_token,
            user_id,
            scopes,
            user_scopes,
            redirect_uri,
        )
        with self._lock:
            self._oauth_grants[code] = grant
        return code

    # ------------------------------------------------------------------ HTTP handlers

    async def _handle_api(self, request: Request) -> Response:
        """Parse whatever encoding the caller used, then answer under the lock."""
        method = request.path_params["method"]
        params, parse_error = await self._read_params(request)
        token = self._token_of(request, params)
        client = _basic_auth(request)
        if "client_secret" in params:  # never recorded, like tokens
            secret = str(params.pop("client_secret"))
            client = client or (str(params.get("client_id") or ""), secret)
        origin = str(request.base_url).rstrip("/")
        now = time.monotonic()
        with self._lock:
            if method == "oauth.v2.access":  # authenticated by client credentials, not a token
                answer = self._oauth_v2_access(params, client, parse_error)
            else:
                answer = self._answer(method, params, token, parse_error, origin)
            self.calls.append(RecordedCall(method, params, token, now, copy.deepcopy(answer)))
        return JSONResponse(answer)

    async def _handle_upload(self, request: Request) -> Response:
        """Step two of files_upload_v2: the raw bytes (or the first multipart file part)."""
        file_id = request.path_params["file_id"]
        content_type = request.headers.get("content-type", "")
        if content_type.startswith("multipart/form-data"):
            form = await request.form()
            parts = [v for v in form.values() if isinstance(v, UploadFile)]
            content = await parts[0].read() if parts else b""
            await form.close()
        else:
            content = await request.body()
        with self._lock:
            uploaded = self.files.get(file_id)
            if uploaded is None or uploaded.deleted or uploaded.completed:
                return PlainTextResponse("Not Found", status_code=404)
            uploaded.content = content
            uploaded.uploaded = True
        return PlainTextResponse(f"OK - {len(content)}")

    async def _handle_response_url(self, request: Request) -> Response:
        """A response_url: JSON only, at most five uses, unknown ids refused like used ones."""
        response_id = request.path_params["response_id"]
        raw = await request.body()
        try:
            body: Any = json.loads(raw)
        except ValueError:
            body = raw.decode("utf-8", errors="replace")
        with self._lock:
            url = self._response_urls.get(response_id, "")
            uses = self._response_uses.get(response_id)
            if uses is None or uses >= RESPONSE_URL_MAX_USES:
                self._rejected_response_bodies.append(body)
                return JSONResponse(_error("used_url"), status_code=404)
            if not isinstance(body, dict):
                self._rejected_response_bodies.append(body)
                return JSONResponse(_error("invalid_payload"), status_code=400)
            self._response_uses[response_id] = uses + 1
            self.responses.append(RecordedResponse(url, body, time.monotonic()))
        return PlainTextResponse("ok")

    async def _handle_file_download(self, request: Request) -> Response:
        """``url_private`` of an uploaded file, which like Slack's needs a valid token."""
        token = self._token_of(request, {})
        with self._lock:
            if token is None or token not in self._tokens:
                return PlainTextResponse("Forbidden", status_code=403)
            uploaded = self.files.get(request.path_params["file_id"])
            if uploaded is None or uploaded.deleted or not uploaded.uploaded:
                return PlainTextResponse("Not Found", status_code=404)
            content, filename = uploaded.content, uploaded.filename
        media_type = mimetypes.guess_type(filename)[0] or "application/octet-stream"
        return Response(content, media_type=media_type)

    async def _handle_socket(self, websocket: WebSocket) -> None:
        """A Socket Mode connection: greet with ``hello``, then collect acks until it closes."""
        connection_id = websocket.path_params["connection_id"]
        with self._lock:
            known = connection_id in self._socket_tickets
        if not known:  # closing before accept refuses the handshake with HTTP 403
            await websocket.close(code=1008)
            return
        await websocket.accept()
        connection = _SocketConnection(connection_id, websocket, asyncio.get_running_loop())
        hello = {
            "type": "hello",
            "num_connections": 1,
            "debug_info": {
                "host": "emulator",
                "build_number": 1,
                "approximate_connection_time": 18060,
            },
            "connection_info": {"app_id": self.app_id},
        }
        await websocket.send_text(json.dumps(hello))
        with self._socket_changed:  # live only once greeted, so no envelope overtakes hello
            self._sockets[connection_id] = connection
            self._socket_changed.notify_all()
        try:
            while True:
                message = await websocket.receive()
                if message["type"] == "websocket.disconnect":
                    break
                raw = message.get("text") or (message.get("bytes") or b"").decode(
                    "utf-8", "replace"
                )
                self._record_ack(raw)
        finally:
            connection.gone.set()
            with self._socket_changed:
                if self._sockets.get(connection_id) is connection:
                    del self._sockets[connection_id]
                self._socket_changed.notify_all()

    def _record_ack(self, raw: str) -> None:
        """Keep what the app sent back and wake whoever waits for that envelope's ack."""
        try:
            ack = json.loads(raw)
        except ValueError:
            return
        if not isinstance(ack, dict) or "envelope_id" not in ack:
            return
        with self._lock:
            self.socket_acks.append(ack)
            waiter = self._pending_acks.pop(str(ack["envelope_id"]), None)
        if waiter is not None and not waiter.done():
            payload = ack.get("payload")
            waiter.set_result(copy.deepcopy(payload) if isinstance(payload, dict) else None)

    @staticmethod
    async def _close_socket(
        connection: _SocketConnection, reason: str | None, grace: float
    ) -> None:
        """Close one socket on its own loop, after Slack's disconnect notice when there is one."""
        if connection.gone.is_set():
            return
        if reason is not None:
            notice = {"type": "disconnect", "reason": reason, "debug_info": {"host": "emulator"}}
            with contextlib.suppress(Exception):
                await connection.websocket.send_text(json.dumps(notice))
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(connection.gone.wait(), grace)
            if connection.gone.is_set():
                return
        with contextlib.suppress(Exception):
            await connection.websocket.close(code=1001)

    # ------------------------------------------------------------------ request parsing

    async def _read_params(self, request: Request) -> tuple[Params, str | None]:
        """Merge query, form and JSON parameters; decode JSON-string fields such as blocks."""
        params: Params = dict(request.query_params)
        content_type = request.headers.get("content-type", "")
        error: str | None = None
        if content_type.startswith("application/json"):
            raw = await request.body()
            try:
                body = json.loads(raw) if raw else {}
            except ValueError:
                body, error = {}, "invalid_json"
            if isinstance(body, dict):
                params.update(body)
            else:
                error = "invalid_json"
        elif content_type.startswith(("application/x-www-form-urlencoded", "multipart/form-data")):
            form = await request.form()
            for key, value in form.multi_items():
                if isinstance(value, UploadFile):
                    size = len(await value.read())
                    params[key] = {
                        "filename": value.filename,
                        "content_type": value.content_type,
                        "size": size,
                    }
                else:
                    params[key] = value
            await form.close()
        for key in JSON_FIELDS & params.keys():
            value = params[key]
            if isinstance(value, str):
                try:
                    decoded = json.loads(value)
                except ValueError:
                    continue
                if isinstance(decoded, list | dict):
                    params[key] = decoded
        return params, error

    @staticmethod
    def _token_of(request: Request, params: Params) -> str | None:
        """Bearer header first, then a ``token`` parameter (removed so it is not recorded twice)."""
        param_token = params.pop("token", None)
        auth = request.headers.get("authorization", "")
        if auth.lower().startswith("bearer "):
            return auth[7:].strip() or None
        return str(param_token) if param_token else None

    # ------------------------------------------------------------------ dispatch (under lock)

    def _answer(
        self, method: str, params: Params, token: str | None, parse_error: str | None, origin: str
    ) -> Answer:
        if token is None:
            return _error("not_authed")
        if problem := self._token_error(method, token):
            return _error(problem)
        queued = self._failures.get(method)
        if queued:
            return _error(queued.popleft())
        if parse_error is not None:
            return _error(parse_error)
        handler = self._methods.get(method)
        if handler is None:
            return _error("unknown_method")
        return handler(params, origin, token)

    def _token_error(self, method: str, token: str) -> str | None:
        """Slack's answer to a token that cannot call ``method``, or None if it can."""
        if token in self._revoked_tokens:
            return "token_revoked"
        if method == "apps.connections.open":  # the one method for the app-level token
            if token == self.app_token:
                return None
            return "not_allowed_token_type" if token in self._tokens else "invalid_auth"
        if token == self.app_token:
            return "not_allowed_token_type"
        if token not in self._tokens:
            return "invalid_auth"
        return None

    def _next_ts(self) -> str:
        micros = next(self._ts_counter) * 100
        return f"{_TS_BASE_SECONDS + micros // 1_000_000}.{micros % 1_000_000:06d}"

    def _new_id(self, prefix: str) -> str:
        return f"{prefix}{next(self._id_counter):010d}"

    def _find_message(self, channel: str, ts: str) -> dict[str, Any] | None:
        return next((m for m in self._messages.get(channel, []) if m["ts"] == ts), None)

    @staticmethod
    def _content_error(params: Params, *, required: bool = True) -> str | None:
        text, blocks = params.get("text"), params.get("blocks")
        if required and not text and not blocks:
            return "no_text"
        if isinstance(text, str) and len(text) > MAX_TEXT_LENGTH:
            return "msg_too_long"
        return _blocks_error(blocks, MAX_MESSAGE_BLOCKS)

    def _auth_test(self, params: Params, origin: str, token: str) -> Answer:
        """Answers for the workspace of the token used, so a multi-workspace bot can tell."""
        owner = self._tokens[token]
        subdomain = re.sub(r"[^a-z0-9]+", "-", owner.team.lower()).strip("-") or "team"
        answer: Answer = {
            "ok": True,
            "url": f"https://{subdomain}.slack.com/",
            "team": owner.team,
            "team_id": owner.team_id,
            "user": "bot" if owner.bot_id else "installer",
            "user_id": owner.user_id,
        }
        if owner.bot_id is not None:
            answer["bot_id"] = owner.bot_id
        if owner.enterprise_id is not None:
            answer["enterprise_id"] = owner.enterprise_id
        answer["is_enterprise_install"] = False
        return answer

    def _auth_revoke(self, params: Params, origin: str, token: str) -> Answer:
        """Revokes the calling token for good; ``test=true`` only checks that it could."""
        if str(params.get("test", "")).lower() in ("1", "true"):
            return {"ok": True, "revoked": False}
        del self._tokens[token]
        self._revoked_tokens.add(token)
        return {"ok": True, "revoked": True}

    def _apps_connections_open(self, params: Params, origin: str, token: str) -> Answer:
        """A WebSocket URL on this server; the client connects to it right away."""
        connection_id = uuid.uuid4().hex
        self._socket_tickets.add(connection_id)
        base = self._base_url or origin
        ws_base = "ws" + base[4:] if base.startswith("http") else base  # http->ws, https->wss
        return {"ok": True, "url": f"{ws_base}/socket/{connection_id}"}

    def _oauth_v2_access(
        self, params: Params, client: tuple[str, str] | None, parse_error: str | None
    ) -> Answer:
        """Trades an issued code for a bot token, in the shape slack_bolt's OAuth flow reads."""
        client_id, client_secret = client or ("", "")
        if client_id != self.client_id:
            return _error("invalid_client_id")
        if client_secret != self.client_secret:
            return _error("bad_client_secret")
        queued = self._failures.get("oauth.v2.access")
        if queued:
            return _error(queued.popleft())
        if parse_error is not None:
            return _error(parse_error)
        if params.get("grant_type", "authorization_code") != "authorization_code":
            return _error("invalid_grant_type")  # token rotation is not emulated
        grant = self._oauth_grants.get(str(params.get("code") or ""))
        if grant is None or grant.used:
            return _error("invalid_code")
        if grant.redirect_uri is not None and params.get("redirect_uri") != grant.redirect_uri:
            return _error("bad_redirect_uri")
        grant.used = True
        enterprise = (
            {"id": grant.enterprise_id, "name": grant.enterprise_name}
            if grant.enterprise_id is not None
            else None
        )
        bot_token = grant.bot_token or self._installed_bot_token(grant)
        owner = TokenOwner(
            grant.team_id,
            grant.team_name,
            f"UB{grant.team_id}",
            f"BB{grant.team_id}",
            grant.enterprise_id,
            grant.enterprise_name if grant.enterprise_id is not None else None,
        )
        existing = self._tokens.get(bot_token)
        if existing is not None and existing.team_id == grant.team_id:
            owner = existing  # a reinstall keeps the bot user
        self._tokens[bot_token] = owner
        self._revoked_tokens.discard(bot_token)
        authed_user: Answer = {"id": grant.user_id}
        if grant.user_scopes is not None:
            user_token = f"xoxp-{grant.team_id}-{uuid.uuid4().hex[:16]}"
            self._tokens[user_token] = TokenOwner(
                grant.team_id,
                grant.team_name,
                grant.user_id,
                None,
                owner.enterprise_id,
                owner.enterprise_name,
            )
            authed_user |= {
                "scope": grant.user_scopes,
                "access_token": user_token,
                "token_type": "user",
            }
        return {
            "ok": True,
            "access_token": bot_token,
            "token_type": "bot",
            "scope": grant.scopes,
            "bot_user_id": owner.user_id,
            "app_id": self.app_id,
            "team": {"id": grant.team_id, "name": grant.team_name},
            "enterprise": enterprise,
            "is_enterprise_install": False,
            "authed_user": authed_user,
        }

    def _installed_bot_token(self, grant: _OAuthGrant) -> str:
        """The team's live bot token if the app is already installed there, else a new one."""
        for token, owner in self._tokens.items():
            if owner.team_id == grant.team_id and owner.bot_id is not None:
                return token
        return f"xoxb-{grant.team_id}-{uuid.uuid4().hex[:16]}"

    def _conversations_open(self, params: Params, origin: str, token: str) -> Answer:
        users = str(params.get("users") or "").strip()
        if not users:
            return _error("users_list_not_supplied")
        user_ids = [u.strip() for u in users.split(",") if u.strip()]
        if len(user_ids) != 1:
            return _error("not_implemented")  # multi-person DMs are not emulated
        return {"ok": True, "channel": {"id": self.dm_channel(user_ids[0])}}

    def _chat_post_message(self, params: Params, origin: str, token: str) -> Answer:
        channel = str(params.get("channel") or "")
        if not channel:
            return _error("channel_not_found")
        if problem := self._content_error(params):
            return _error(problem)
        if _is_user_id(channel):  # Slack delivers a post to a user id into the bot's DM
            channel = self.dm_channel(channel)
        ts = self._next_ts()
        message: dict[str, Any] = {
            "type": "message",
            "channel": channel,
            "ts": ts,
            "text": params.get("text") or "",
            "blocks": params.get("blocks") or [],
            "user": self.bot_user_id,
            "bot_id": self.bot_id,
        }
        if params.get("thread_ts"):
            message["thread_ts"] = str(params["thread_ts"])
        self._messages.setdefault(channel, []).append(message)
        reply = {k: v for k, v in message.items() if k != "channel"}
        return {"ok": True, "channel": channel, "ts": ts, "message": copy.deepcopy(reply)}

    def _chat_update(self, params: Params, origin: str, token: str) -> Answer:
        channel, ts = str(params.get("channel") or ""), str(params.get("ts") or "")
        if not channel or channel not in self._messages:
            return _error("channel_not_found")  # including user ids: update needs the D... id
        message = self._find_message(channel, ts)
        if message is None:
            return _error("message_not_found")
        if problem := self._content_error(params):
            return _error(problem)
        if "text" in params:
            message["text"] = params.get("text") or ""
        if "blocks" in params:  # Slack keeps the old blocks when none are sent
            message["blocks"] = params.get("blocks") or []
        message["edited"] = {"user": self.bot_user_id, "ts": self._next_ts()}
        reply = {k: v for k, v in message.items() if k != "channel"}
        return {
            "ok": True,
            "channel": channel,
            "ts": ts,
            "text": message["text"],
            "message": copy.deepcopy(reply),
        }

    def _chat_delete(self, params: Params, origin: str, token: str) -> Answer:
        channel, ts = str(params.get("channel") or ""), str(params.get("ts") or "")
        if not channel or channel not in self._messages:
            return _error("channel_not_found")
        message = self._find_message(channel, ts)
        if message is None:
            return _error("message_not_found")
        self._messages[channel].remove(message)
        return {"ok": True, "channel": channel, "ts": ts}

    def _chat_post_ephemeral(self, params: Params, origin: str, token: str) -> Answer:
        if not params.get("channel"):
            return _error("channel_not_found")
        if not params.get("user"):
            return _error("user_not_in_channel")
        if problem := self._content_error(params):
            return _error(problem)
        return {"ok": True, "message_ts": self._next_ts()}

    def _files_get_upload_url_external(self, params: Params, origin: str, token: str) -> Answer:
        filename = str(params.get("filename") or "")
        try:
            length = int(params.get("length", ""))
        except (TypeError, ValueError):
            return _error("invalid_arguments")
        if not filename or length < 0:
            return _error("invalid_arguments")
        file_id = self._new_id("F")
        self.files[file_id] = UploadedFile(file_id, filename, filename, length)
        base = self._base_url or origin
        return {"ok": True, "upload_url": f"{base}/upload/{file_id}", "file_id": file_id}

    def _files_complete_upload_external(self, params: Params, origin: str, token: str) -> Answer:
        entries = params.get("files")
        if not isinstance(entries, list) or not entries:
            return _error("invalid_arguments")
        targets = [str(params["channel_id"])] if params.get("channel_id") else []
        if params.get("channels"):
            targets += [c.strip() for c in str(params["channels"]).split(",") if c.strip()]
        if any(_is_user_id(c) for c in targets):
            return _error("invalid_channel")  # a user id is not a conversation id
        pending: list[tuple[UploadedFile, str]] = []
        for entry in entries:
            file_id = entry.get("id") if isinstance(entry, dict) else None
            uploaded = self.files.get(str(file_id))
            if uploaded is None or not uploaded.uploaded or uploaded.completed:
                return _error("file_not_found")
            if uploaded.deleted:
                return _error("file_deleted")
            pending.append((uploaded, str(entry.get("title") or uploaded.filename)))
        base = self._base_url or origin
        for uploaded, title in pending:
            uploaded.title = title
            uploaded.channel = targets[0] if targets else None
            uploaded.completed = True
        return {"ok": True, "files": [self._file_object(f, base) for f, _ in pending]}

    def _file_object(self, uploaded: UploadedFile, base: str) -> dict[str, Any]:
        """The parts of Slack's file object a bot might read."""
        name = uploaded.filename
        return {
            "id": uploaded.id,
            "name": name,
            "title": uploaded.title,
            "mimetype": mimetypes.guess_type(name)[0] or "application/octet-stream",
            "filetype": name.rsplit(".", 1)[-1].lower() if "." in name else "binary",
            "size": len(uploaded.content),
            "user": self.bot_user_id,
            "channels": [uploaded.channel] if uploaded.channel else [],
            "url_private": f"{base}/files/{uploaded.id}/{name}",
        }

    def _files_info(self, params: Params, origin: str, token: str) -> Answer:
        uploaded = self.files.get(str(params.get("file") or ""))
        if uploaded is None:
            return _error("file_not_found")
        if uploaded.deleted:
            return _error("file_deleted")
        return {"ok": True, "file": self._file_object(uploaded, self._base_url or origin)}

    def _files_delete(self, params: Params, origin: str, token: str) -> Answer:
        uploaded = self.files.get(str(params.get("file") or ""))
        if uploaded is None:
            return _error("file_not_found")
        if uploaded.deleted:
            return _error("file_deleted")
        uploaded.deleted = True
        return {"ok": True}

    def _views_publish(self, params: Params, origin: str, token: str) -> Answer:
        user_id, view = str(params.get("user_id") or ""), params.get("view")
        if not user_id or not isinstance(view, dict) or view.get("type") != "home":
            return _error("invalid_arguments")
        if problem := _blocks_error(view.get("blocks", []), MAX_VIEW_BLOCKS):
            return _error(problem)
        self.published_views[user_id] = copy.deepcopy(view)
        published = {
            **copy.deepcopy(view),
            "id": self._new_id("V"),
            "team_id": self.team_id,
            "bot_id": self.bot_id,
            "hash": uuid.uuid4().hex,
        }
        return {"ok": True, "view": published}
