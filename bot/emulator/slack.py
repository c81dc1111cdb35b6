"""A stand-in for the Slack Web API: a real HTTP server (Starlette) that records every call.

Integration tests and the offline demo point ``AsyncWebClient(base_url=emu.api_url)`` at it, so
the bot's real HTTP code runs, including the three steps of ``files_upload_v2`` and posts to
``response_url``. It keeps enough state (messages, files, App Home views) to assert on, and it
copies the Slack behaviours that cause real bugs: auth errors answered with HTTP 200, uploads
shared to a user id rejected with ``invalid_channel``, ``response_url`` limited to five uses.

The server thread and the test thread both touch the state, so every mutation and every read of
it happens under one ``threading.Lock``, never held across an ``await``.
"""

from __future__ import annotations

import copy
import itertools
import json
import mimetypes
import threading
import time
import uuid
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from starlette.applications import Starlette
from starlette.datastructures import UploadFile
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response
from starlette.routing import Route

# Parameters Slack takes as JSON-encoded strings in form bodies; decoded so tests see structures.
JSON_FIELDS = frozenset({"blocks", "attachments", "files", "view", "metadata"})
RESPONSE_URL_MAX_USES = 5
MAX_TEXT_LENGTH = 40_000
MAX_MESSAGE_BLOCKS = 50
MAX_VIEW_BLOCKS = 100
_TS_BASE_SECONDS = 1_700_000_000

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


def _error(error: str) -> Answer:
    return {"ok": False, "error": error}


def _is_user_id(value: str) -> bool:
    """Slack user ids start with U (or W in Enterprise Grid); conversations with C, G or D."""
    return value[:1] in ("U", "W")


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
    ) -> None:
        self.bot_token = bot_token
        self.team_id = team_id
        self.team = team
        self.bot_user_id = bot_user_id
        self.bot_id = bot_id
        self._base_url: str | None = None
        self._lock = threading.Lock()
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
        self._methods: dict[str, Callable[[Params, str], Answer]] = {
            "auth.test": self._auth_test,
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

    # ------------------------------------------------------------------ HTTP handlers

    async def _handle_api(self, request: Request) -> Response:
        """Parse whatever encoding the caller used, then answer under the lock."""
        method = request.path_params["method"]
        params, parse_error = await self._read_params(request)
        token = self._token_of(request, params)
        origin = str(request.base_url).rstrip("/")
        now = time.monotonic()
        with self._lock:
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
        """``url_private`` of an uploaded file, which like Slack's needs the bot token."""
        if self._token_of(request, {}) != self.bot_token:
            return PlainTextResponse("Forbidden", status_code=403)
        with self._lock:
            uploaded = self.files.get(request.path_params["file_id"])
            if uploaded is None or uploaded.deleted or not uploaded.uploaded:
                return PlainTextResponse("Not Found", status_code=404)
            content, filename = uploaded.content, uploaded.filename
        media_type = mimetypes.guess_type(filename)[0] or "application/octet-stream"
        return Response(content, media_type=media_type)

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
        if token != self.bot_token:
            return _error("invalid_auth")
        queued = self._failures.get(method)
        if queued:
            return _error(queued.popleft())
        if parse_error is not None:
            return _error(parse_error)
        handler = self._methods.get(method)
        if handler is None:
            return _error("unknown_method")
        return handler(params, origin)

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

    def _auth_test(self, params: Params, origin: str) -> Answer:
        return {
            "ok": True,
            "url": "https://test-team.slack.com/",
            "team": self.team,
            "team_id": self.team_id,
            "user": "bot",
            "user_id": self.bot_user_id,
            "bot_id": self.bot_id,
            "is_enterprise_install": False,
        }

    def _conversations_open(self, params: Params, origin: str) -> Answer:
        users = str(params.get("users") or "").strip()
        if not users:
            return _error("users_list_not_supplied")
        user_ids = [u.strip() for u in users.split(",") if u.strip()]
        if len(user_ids) != 1:
            return _error("not_implemented")  # multi-person DMs are not emulated
        return {"ok": True, "channel": {"id": self.dm_channel(user_ids[0])}}

    def _chat_post_message(self, params: Params, origin: str) -> Answer:
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

    def _chat_update(self, params: Params, origin: str) -> Answer:
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

    def _chat_delete(self, params: Params, origin: str) -> Answer:
        channel, ts = str(params.get("channel") or ""), str(params.get("ts") or "")
        if not channel or channel not in self._messages:
            return _error("channel_not_found")
        message = self._find_message(channel, ts)
        if message is None:
            return _error("message_not_found")
        self._messages[channel].remove(message)
        return {"ok": True, "channel": channel, "ts": ts}

    def _chat_post_ephemeral(self, params: Params, origin: str) -> Answer:
        if not params.get("channel"):
            return _error("channel_not_found")
        if not params.get("user"):
            return _error("user_not_in_channel")
        if problem := self._content_error(params):
            return _error(problem)
        return {"ok": True, "message_ts": self._next_ts()}

    def _files_get_upload_url_external(self, params: Params, origin: str) -> Answer:
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

    def _files_complete_upload_external(self, params: Params, origin: str) -> Answer:
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

    def _files_info(self, params: Params, origin: str) -> Answer:
        uploaded = self.files.get(str(params.get("file") or ""))
        if uploaded is None:
            return _error("file_not_found")
        if uploaded.deleted:
            return _error("file_deleted")
        return {"ok": True, "file": self._file_object(uploaded, self._base_url or origin)}

    def _files_delete(self, params: Params, origin: str) -> Answer:
        uploaded = self.files.get(str(params.get("file") or ""))
        if uploaded is None:
            return _error("file_not_found")
        if uploaded.deleted:
            return _error("file_deleted")
        uploaded.deleted = True
        return {"ok": True}

    def _views_publish(self, params: Params, origin: str) -> Answer:
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
