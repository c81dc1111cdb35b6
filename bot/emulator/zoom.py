"""A Zoom stand-in: OAuth device flow (RFC 8628), token refresh and revocation, and the REST calls
the bot makes, served as a real Starlette app.

Real Zoom only grants the device flow to apps that Zoom Support has enabled, so tests, the
offline demo and developers need something that behaves like it: strict client authentication,
polling-rate enforcement, refresh-token rotation, revocation of a grant whose code is polled
again, scope errors, and faults or latency injected on demand. Everything the app receives is
recorded so tests can check how the bot behaved (for instance how fast it polled).

The state is shared by the server thread and the test thread, so every read-modify-write happens
under one ``threading.Lock``; the lock is never held across an ``await``.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import hashlib
import hmac
import html
import json
import math
import random
import re
import secrets
import threading
import time
from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Literal
from urllib.parse import parse_qsl, quote

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, Response
from starlette.routing import Route
from starlette.types import Receive, Scope, Send

DEVICE_GRANT_TYPE = "urn:ietf:params:oauth:grant-type:device_code"
DEFAULT_SCOPES = "user:read user_zak:read meeting:write"
# No 0/O, 1/I: people copy the code by hand from Slack.
USER_CODE_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"
USER_CODE_LENGTH = 8
# RFC 8628 3.2: a client that gets no interval polls every 5 s, so that is what we enforce then.
RFC_DEFAULT_INTERVAL = 5
SLOW_DOWN_STEP = 5
# Tolerance for clocks and scheduling when checking the polling rate.
POLL_TOLERANCE = 0.01
#: What `set_fault_rate` can make a request suffer.
FAULT_KINDS = ("500", "503", "429", "timeout", "drop")

INVALID_CLIENT = {"reason": "Invalid client_id or client_secret", "error": "invalid_client"}
INVALID_TOKEN_GRANT = {"reason": "Invalid Token!", "error": "invalid_grant"}
INVALID_ACCESS_TOKEN = {"code": 124, "message": "Invalid access token."}

# Classic scope -> granular equivalents that Zoom also accepts.
_SCOPE_ALIASES: dict[str, tuple[str, ...]] = {
    "user:read": ("user:read", "user:read:user", "user:read:admin"),
    "user_zak:read": ("user_zak:read", "user:read:zak"),
    "meeting:write": ("meeting:write", "meeting:write:meeting", "meeting:write:admin"),
}

GrantState = Literal["pending", "approved", "denied", "expired", "redeemed"]
_ALL_METHODS = ["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"]


@dataclass
class RecordedRequest:
    """One request the emulator answered, so tests can assert on what the bot sent and when."""

    method: str
    path: str
    time: float  # time.monotonic() at arrival, before any injected delay
    end_time: float  # time.monotonic() when the response was produced
    query: dict[str, str]
    form: dict[str, str]
    json: Any
    headers: dict[str, str]  # lower-cased names
    status: int
    response: Any  # the JSON sent back, or None (HTML, raw injected bodies)
    # For device-code polls (and /oauth/devicecode answers): the grant's user_code, so tests can
    # group polls by flow without knowing the secret device code.
    user_code: str | None
    grant_type: str | None
    # Why the request was not processed: "injected" (`inject`), "drop" (connection closed, status
    # 0), or the kind `set_fault_rate` drew ("500", "503", "429", "timeout"); None when it was.
    fault: str | None = None


@dataclass
class ZoomUser:
    """A Zoom account holder who can approve device grants."""

    id: str
    account_id: str
    email: str
    first_name: str
    last_name: str
    display_name: str
    scopes: str | None = None  # None: the emulator's default scopes


@dataclass
class DeviceGrant:
    """One device authorization, controlled by tests through its user_code."""

    user_code: str
    device_code: str = field(repr=False)
    state: GrantState
    interval: int  # current interval, raised by every slow_down
    created: float  # time.monotonic()
    expires_in: int
    user: ZoomUser | None = None
    last_poll: float | None = None


@dataclass
class _Issuance:
    """An access/refresh token pair handed out together (they are revoked together)."""

    access_token: str
    refresh_token: str
    user: ZoomUser
    scopes: str
    user_code: str | None  # the device grant this lineage descends from
    access_expires_at: float
    access_alive: bool = True
    access_expired: bool = False
    refresh_alive: bool = True

    def kill(self) -> None:
        self.access_alive = False
        self.refresh_alive = False


@dataclass
class _Fault:
    status: int
    body: Any
    headers: dict[str, str]
    delay: float
    kind: str = "injected"
    drop: bool = False


@dataclass
class _FaultRate:
    """A path's random faults (`set_fault_rate`) and the random streams they are drawn from."""

    rate: float
    faults: tuple[str, ...]
    retry_after: float
    timeout_delay: float
    seed: int | None
    rng: random.Random
    #: With a seed: one stream per device grant (by creation order), see `stream`.
    streams: dict[int, random.Random] = field(default_factory=dict)
    rate_limited: int = 0  # 429s sent so far, to alternate how the wait is given

    def stream(self, grant_serial: int | None) -> random.Random:
        """The stream for one request: the grant's own when seeded, so replays match."""
        if self.seed is None or grant_serial is None:
            return self.rng
        if grant_serial not in self.streams:
            seed = f"{self.seed}:grant:{grant_serial}"
            self.streams[grant_serial] = random.Random(seed)  # noqa: S311 - test faults
        return self.streams[grant_serial]

    def draw(self, rng: random.Random) -> _Fault | None:
        """Maybe a fault for one request; always takes as many draws, so streams stay aligned."""
        hit = rng.random() < self.rate
        kind = rng.choice(self.faults)
        as_json = rng.random() < 0.5
        if not hit:
            return None
        if kind in ("500", "503"):
            status = int(kind)
            if as_json:
                return _Fault(status, {"code": status, "message": "injected fault"}, {}, 0.0, kind)
            page = f"<html><body><h1>{status}</h1>injected fault</body></html>"
            return _Fault(status, page, {"content-type": "text/html"}, 0.0, kind)
        if kind == "429":
            # X-RateLimit-Reset (Unix time) is how Zoom says it; Retry-After (seconds) is HTTP's.
            self.rate_limited += 1
            if self.rate_limited % 2:
                headers = {"Retry-After": f"{self.retry_after:g}"}
            else:
                headers = {"X-RateLimit-Reset": str(math.ceil(time.time() + self.retry_after))}
            body = {"code": 429, "message": "You have reached the maximum per-second rate limit."}
            return _Fault(429, body, headers, 0.0, kind)
        if kind == "timeout":
            body = {"code": 503, "message": "injected timeout"}
            return _Fault(503, body, {}, self.timeout_delay, kind)
        return _Fault(0, None, {}, 0.0, kind, drop=True)


class _DroppedResponse(Response):
    """Headers promising a body that never comes, then the end of the app.

    uvicorn then closes the connection (logging "ASGI callable returned without completing
    response"), so the client sees the peer hang up mid-response, as when a proxy dies.
    """

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        await send(
            {
                "type": "http.response.start",
                "status": 200,
                "headers": [(b"content-type", b"application/json"), (b"content-length", b"1024")],
            }
        )
        await send({"type": "http.response.body", "body": b'{"acc', "more_body": True})


@dataclass
class _Call:
    """A parsed request, handed to the synchronous handlers (which run under the lock)."""

    method: str
    path: str
    origin: str
    query: dict[str, str]
    form: dict[str, str]
    json: Any
    json_error: bool
    body: bytes
    headers: dict[str, str]
    arrived: float  # time.monotonic() at arrival: the polling rate is judged on this
    params: dict[str, str] = field(default_factory=dict)


@dataclass
class _Reply:
    status: int
    body: Any = None  # JSON-serialisable
    html: str | None = None
    headers: dict[str, str] = field(default_factory=dict)
    user_code: str | None = None

    def to_response(self) -> Response:
        if self.html is not None:
            return HTMLResponse(self.html, self.status, self.headers)
        if self.body is not None:
            return JSONResponse(self.body, self.status, self.headers)
        return Response(None, self.status, self.headers)


Handler = Callable[[_Call], _Reply]


def normalize_user_code(code: str) -> str:
    """Accept codes the way people type them: any case, with spaces or a dash."""
    return re.sub(r"[\s-]", "", code).upper()


def _arrival(r: RecordedRequest) -> float:
    return r.time


def _random_id() -> str:
    return secrets.token_urlsafe(16)[:22]


def _oauth_error(error: str, reason: str) -> _Reply:
    return _Reply(400, {"error": error, "reason": reason})


def _page(title: str, body: str, status: int = 200) -> _Reply:
    """A self-contained HTML page (no external assets: the demo runs offline)."""
    doc = (
        '<!doctype html><html lang="en"><head><meta charset="utf-8">'
        f"<title>{html.escape(title)}</title>"
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        "<style>body{font-family:system-ui,sans-serif;max-width:34rem;margin:3rem auto;"
        "padding:0 1rem}.code{font-family:monospace;font-size:2rem;letter-spacing:.3rem}"
        "form{display:inline-block;margin-right:1rem}button{font-size:1.1rem;padding:.4rem 1.2rem}"
        "</style></head><body>"
        f"<p><small>Zoom emulator</small></p><h1>{html.escape(title)}</h1>{body}</body></html>"
    )
    return _Reply(status, html=doc)


class ZoomEmulator:
    """Zoom's OAuth and REST endpoints as the bot uses them, with hooks for tests."""

    def __init__(
        self,
        client_id: str = "zoom-client-id",
        client_secret: str = "zoom-client-secret",  # noqa: S107 - a fake app's fake secret
        *,
        interval: int | None = 5,
        expires_in: int = 900,
        access_token_ttl: int = 3599,
        scopes: str = DEFAULT_SCOPES,
        api_url: str | None = "",
        reauthorization_revokes: bool = False,
    ) -> None:
        """Configure the emulated app.

        ``interval=None`` omits ``interval`` from the device-code answer (the RFC default of
        5 s is then enforced). ``api_url=""`` puts ``base_url`` in token answers, ``None`` omits
        ``api_url``. ``reauthorization_revokes`` mimics Zoom's "last issued token wins": a new
        device authorization of a user revokes that user's earlier tokens.
        """
        self.client_id = client_id
        self.client_secret = client_secret
        self.interval = interval
        self.expires_in = expires_in
        self.access_token_ttl = access_token_ttl
        self.scopes = scopes
        self.api_url = api_url
        self.reauthorization_revokes = reauthorization_revokes
        self._base_url: str | None = None

        self._lock = threading.Lock()
        self.requests: list[RecordedRequest] = []
        self.issued_zaks: list[str] = []
        self.meetings: list[dict[str, Any]] = []
        self._users: list[ZoomUser] = []
        self._account_id = _random_id()
        self._grants: dict[str, DeviceGrant] = {}  # by user_code, in creation order
        self._grants_by_device: dict[str, DeviceGrant] = {}
        self._issuances: list[_Issuance] = []
        self._by_access: dict[str, _Issuance] = {}
        self._by_refresh: dict[str, _Issuance] = {}
        self._faults: dict[str, deque[_Fault]] = {}
        self._fault_rates: dict[str, _FaultRate] = {}
        self._grant_serials: dict[str, int] = {}  # device_code -> creation order
        self._latency: dict[str, float] = {}

        self.default_user = self.add_user("alice@example.com", "Alice", "Example")
        self._routes: list[tuple[str, re.Pattern[str], Handler]] = [
            ("POST", re.compile(r"/oauth/devicecode"), self._h_devicecode),
            ("POST", re.compile(r"/oauth/token"), self._h_token),
            ("POST", re.compile(r"/oauth/revoke"), self._h_revoke),
            ("GET", re.compile(r"/v2/users/me"), self._h_me),
            ("GET", re.compile(r"/v2/users/me/zak"), self._h_zak),
            ("POST", re.compile(r"/v2/users/me/meetings"), self._h_create_meeting),
            ("GET", re.compile(r"/oauth_device"), self._h_device_page),
            ("GET", re.compile(r"/oauth/device/complete/(?P<code>[^/]+)"), self._h_complete_page),
            ("POST", re.compile(r"/oauth/device/complete/(?P<code>[^/]+)"), self._h_complete_post),
            ("GET", re.compile(r"/_emulator/devices"), self._h_ctl_devices),
            (
                "POST",
                re.compile(r"/_emulator/devices/(?P<code>[^/]+)/(?P<action>approve|deny|expire)"),
                self._h_ctl_device_action,
            ),
            ("POST", re.compile(r"/_emulator/tokens/expire"), self._h_ctl_expire_tokens),
            ("GET", re.compile(r"/_emulator/requests"), self._h_ctl_requests),
        ]
        self.app = Starlette(routes=[Route("/{path:path}", self._endpoint, methods=_ALL_METHODS)])

    # ------------------------------------------------------------------ configuration

    @property
    def base_url(self) -> str:
        """Where the emulator is served; used in verification URIs, api_url and meeting links.

        Until set, answers use the origin each request arrived on, so a forgotten assignment
        still yields working links.
        """
        return self._base_url or "http://127.0.0.1"

    @base_url.setter
    def base_url(self, value: str) -> None:
        self._base_url = value.rstrip("/")

    def _origin(self, call: _Call) -> str:
        return self._base_url or call.origin

    # ------------------------------------------------------------------ recorded requests

    def requests_to(self, path: str) -> list[RecordedRequest]:
        """Requests recorded for that exact path, in arrival order.

        ``requests`` itself is in completion order: a delayed answer is recorded when sent.
        """
        with self._lock:
            return sorted((r for r in self.requests if r.path == path), key=_arrival)

    def polls(self, user_code: str) -> list[RecordedRequest]:
        """Device-code token requests of that grant in arrival order, faulted ones included."""
        code = normalize_user_code(user_code)
        with self._lock:
            found = [
                r
                for r in self.requests
                if r.path == "/oauth/token"
                and r.grant_type == DEVICE_GRANT_TYPE
                and r.user_code == code
            ]
        return sorted(found, key=_arrival)

    # ------------------------------------------------------------------ users

    def add_user(
        self, email: str, first_name: str = "", last_name: str = "", *, scopes: str | None = None
    ) -> ZoomUser:
        """Create an account holder in the emulated Zoom account (emails are unique)."""
        display = f"{first_name} {last_name}".strip() or email
        user = ZoomUser(
            _random_id(), self._account_id, email, first_name, last_name, display, scopes
        )
        with self._lock:
            if any(u.email.lower() == email.lower() for u in self._users):
                raise ValueError(f"user {email!r} already exists")
            self._users.append(user)
        return user

    def _user_by_email(self, email: str) -> ZoomUser | None:
        return next((u for u in self._users if u.email.lower() == email.lower()), None)

    def _scopes_of(self, user: ZoomUser) -> str:
        return self.scopes if user.scopes is None else user.scopes

    # ------------------------------------------------------------------ device grants

    @property
    def latest_user_code(self) -> str | None:
        """The user_code of the most recent device authorization, if any."""
        with self._lock:
            return next(reversed(self._grants), None)

    def grant(self, user_code: str) -> DeviceGrant:
        """The live grant object (KeyError if unknown); its state reflects lapsed lifetimes."""
        with self._lock:
            g = self._grant(user_code)
            self._lapse(g, time.monotonic())
            return g

    def approve(self, user_code: str, user: ZoomUser | None = None) -> None:
        """Act as the user clicking Approve; ValueError unless the grant is pending."""
        with self._lock:
            self._approve(user_code, user or self.default_user)

    def deny(self, user_code: str) -> None:
        """Act as the user clicking Deny; ValueError unless the grant is pending."""
        with self._lock:
            self._pending(user_code).state = "denied"

    def expire(self, user_code: str) -> None:
        """Make the code lapse now (ValueError if it was already redeemed)."""
        with self._lock:
            self._expire(user_code)

    def _grant(self, user_code: str) -> DeviceGrant:
        code = normalize_user_code(user_code)
        if code not in self._grants:
            raise KeyError(f"unknown user_code {user_code!r}")
        return self._grants[code]

    def _pending(self, user_code: str) -> DeviceGrant:
        g = self._grant(user_code)
        self._lapse(g, time.monotonic())
        if g.state != "pending":
            raise ValueError(f"grant {g.user_code} is {g.state}, not pending")
        return g

    def _expire(self, user_code: str) -> None:
        g = self._grant(user_code)
        if g.state == "redeemed":
            raise ValueError(f"grant {g.user_code} was already redeemed")
        g.state = "expired"

    def _approve(self, user_code: str, user: ZoomUser) -> None:
        g = self._pending(user_code)
        g.state = "approved"
        g.user = user

    @staticmethod
    def _lapse(g: DeviceGrant, now: float) -> None:
        """A code not redeemed within its lifetime expires (denied/redeemed stay final)."""
        if g.state in ("pending", "approved") and now - g.created >= g.expires_in:
            g.state = "expired"

    def _new_user_code(self) -> str:
        while True:
            code = "".join(secrets.choice(USER_CODE_ALPHABET) for _ in range(USER_CODE_LENGTH))
            if code not in self._grants:
                return code

    # ------------------------------------------------------------------ tokens

    def expire_access_tokens(self, user: ZoomUser | None = None) -> None:
        """Make every access token issued so far (or only that user's) count as expired."""
        with self._lock:
            for iss in self._issuances:
                if user is None or iss.user.id == user.id:
                    iss.access_expired = True

    def access_token_valid(self, token: str) -> bool:
        """Whether REST calls with this bearer token would be accepted."""
        with self._lock:
            return self._live_access(token) is not None

    def refresh_token_valid(self, token: str) -> bool:
        """Whether this refresh token may still be exchanged (not rotated or revoked)."""
        with self._lock:
            iss = self._by_refresh.get(token)
            return iss is not None and iss.refresh_alive

    def _live_access(self, token: str) -> _Issuance | None:
        iss = self._by_access.get(token)
        if iss is None or not iss.access_alive or iss.access_expired:
            return None
        if time.monotonic() >= iss.access_expires_at:
            return None
        return iss

    def _issue(self, user: ZoomUser, user_code: str | None, origin: str) -> dict[str, Any]:
        iss = _Issuance(
            access_token=secrets.token_urlsafe(48),
            refresh_token=secrets.token_urlsafe(48),
            user=user,
            scopes=self._scopes_of(user),
            user_code=user_code,
            access_expires_at=time.monotonic() + self.access_token_ttl,
        )
        self._issuances.append(iss)
        self._by_access[iss.access_token] = iss
        self._by_refresh[iss.refresh_token] = iss
        answer: dict[str, Any] = {
            "access_token": iss.access_token,
            "token_type": "bearer",
            "refresh_token": iss.refresh_token,
            "expires_in": self.access_token_ttl,
            "scope": iss.scopes,
        }
        if self.api_url is not None:
            answer["api_url"] = self.api_url or origin
        return answer

    def _new_zak(self) -> str:
        zak = secrets.token_urlsafe(64)
        self.issued_zaks.append(zak)
        return zak

    # ------------------------------------------------------------------ faults and latency

    def inject(
        self,
        path: str,
        *,
        status: int = 500,
        body: Any = None,
        headers: dict[str, str] | None = None,
        times: int = 1,
        delay: float = 0.0,
        drop: bool = False,
    ) -> None:
        """Queue ``times`` faults for requests to that exact path (FIFO, one per request).

        ``body``: dict/list -> JSON; str/bytes -> sent raw (malformed JSON, HTML error pages;
        content type application/json unless ``headers`` says otherwise); None -> a Zoom-style
        ``{"code": status, "message": "injected"}``. ``drop`` closes the connection mid-response
        instead (recorded with status 0). Faults win over any auth check, and a faulted request
        changes no state.
        """
        if times < 1 or delay < 0:
            raise ValueError("times must be >= 1 and delay >= 0")
        if drop:
            fault = _Fault(0, None, {}, delay, "drop", drop=True)
        else:
            fault = _Fault(status, body, dict(headers or {}), delay)
        with self._lock:
            self._faults.setdefault(path, deque()).extend([fault] * times)

    def set_fault_rate(
        self,
        path: str,
        rate: float,
        *,
        faults: Sequence[str] = FAULT_KINDS,
        retry_after: float = 1.0,
        timeout_delay: float = 2.0,
        seed: int | None = None,
    ) -> None:
        """Make each request to that exact path fail with probability ``rate`` (0 turns it off).

        A failing request gets one of ``faults``, chosen uniformly: "500"/"503" answer that
        status with a small JSON or HTML body; "429" answers with ``Retry-After: retry_after``
        and ``X-RateLimit-Reset`` (Unix time) in turn; "timeout" answers 503 only after
        ``timeout_delay`` seconds, past the client's patience; "drop" closes the connection
        mid-response. Faulted requests are recorded with their ``fault`` and change no state: a
        faulted poll neither redeems a code nor counts for slow_down. Queued `inject` faults go
        first.

        With a ``seed``, each device grant's polls draw from a stream of their own, so a flow
        meets the same faults however concurrent flows interleave and a failing run replays.
        """
        kinds = tuple(faults)
        if not 0 <= rate <= 1:
            raise ValueError("rate must be between 0 and 1")
        if not kinds or not set(kinds) <= set(FAULT_KINDS):
            raise ValueError(f"faults must be some of {FAULT_KINDS}, not {kinds}")
        if retry_after < 0 or timeout_delay < 0:
            raise ValueError("retry_after and timeout_delay must be >= 0")
        policy = _FaultRate(
            rate=rate,
            faults=kinds,
            retry_after=retry_after,
            timeout_delay=timeout_delay,
            seed=seed,
            rng=random.Random(f"{seed}:{path}") if seed is not None else random.Random(),  # noqa: S311
        )
        with self._lock:
            if rate > 0:
                self._fault_rates[path] = policy
            else:
                self._fault_rates.pop(path, None)

    def set_latency(self, path: str, seconds: float) -> None:
        """Delay every request to that exact path by ``seconds`` (0 removes the delay)."""
        with self._lock:
            if seconds > 0:
                self._latency[path] = seconds
            else:
                self._latency.pop(path, None)

    def reset_faults(self) -> None:
        """Drop queued faults, fault rates and latencies."""
        with self._lock:
            self._faults.clear()
            self._fault_rates.clear()
            self._latency.clear()

    def _next_fault(self, call: _Call) -> _Fault | None:
        """The queued fault for this request, else maybe a random one; call under the lock."""
        queue = self._faults.get(call.path)
        if queue:
            return queue.popleft()
        policy = self._fault_rates.get(call.path)
        if policy is None:
            return None
        serial = None
        if call.path == "/oauth/token" and call.form.get("grant_type") == DEVICE_GRANT_TYPE:
            serial = self._grant_serials.get(call.form.get("device_code", ""))
        return policy.draw(policy.stream(serial))

    @staticmethod
    def _fault_reply(fault: _Fault) -> tuple[Response, Any]:
        body = fault.body
        if isinstance(body, str | bytes):
            has_type = any(k.lower() == "content-type" for k in fault.headers)
            media = None if has_type else "application/json"
            return Response(body, fault.status, fault.headers, media_type=media), None
        if body is None:
            body = {"code": fault.status, "message": "injected"}
        return JSONResponse(body, fault.status, fault.headers), body

    # ------------------------------------------------------------------ ASGI plumbing

    async def _endpoint(self, request: Request) -> Response:
        """Parse, apply latency and faults, dispatch, record: one path for every request."""
        arrived = time.monotonic()
        call = await self._parse(request, arrived)
        with self._lock:
            latency = self._latency.get(call.path, 0.0)
        if latency:
            await asyncio.sleep(latency)
        with self._lock:
            fault = self._next_fault(call)
        if fault is not None:
            if fault.delay:
                await asyncio.sleep(fault.delay)
            if fault.drop:
                response: Response = _DroppedResponse()
                sent = None
            else:
                response, sent = self._fault_reply(fault)
            status, reply_code, kind = fault.status, None, fault.kind
        else:
            with self._lock:
                reply = self._dispatch(call)
            response, sent = reply.to_response(), reply.body
            status, reply_code, kind = reply.status, reply.user_code, None
        if not call.path.startswith("/_emulator/"):
            self._record(call, arrived, status, sent, reply_code, kind)
        return response

    async def _parse(self, request: Request, arrived: float) -> _Call:
        body = await request.body()
        ctype = request.headers.get("content-type", "").lower()
        form: dict[str, str] = {}
        data: Any = None
        json_error = False
        if ctype.startswith("application/x-www-form-urlencoded"):
            form = dict(parse_qsl(body.decode("utf-8", "replace"), keep_blank_values=True))
        elif ctype.startswith("multipart/form-data"):
            parsed = await request.form()
            form = {k: v for k, v in parsed.items() if isinstance(v, str)}
        elif body and ("json" in ctype or not ctype):
            try:
                data = json.loads(body)
            except ValueError:
                json_error = True
        headers: dict[str, str] = {}
        for name, value in request.headers.items():
            headers[name] = f"{headers[name]}, {value}" if name in headers else value
        return _Call(
            method=request.method,
            path=request.url.path,
            origin=f"{request.url.scheme}://{request.url.netloc}",
            query=dict(request.query_params),
            form=form,
            json=data,
            json_error=json_error,
            body=body,
            headers=headers,
            arrived=arrived,
        )

    def _dispatch(self, call: _Call) -> _Reply:
        path_known = False
        for method, pattern, handler in self._routes:
            match = pattern.fullmatch(call.path)
            if match is None:
                continue
            path_known = True
            if method == call.method:
                call.params = match.groupdict()
                return handler(call)
        if path_known:
            return _Reply(405, {"code": 405, "message": "Method Not Allowed"})
        return _Reply(404, {"code": 404, "message": "Not Found"})

    def _record(
        self,
        call: _Call,
        arrived: float,
        status: int,
        sent: Any,
        reply_code: str | None,
        fault: str | None = None,
    ) -> None:
        grant_type = call.form.get("grant_type") if call.path == "/oauth/token" else None
        with self._lock:
            user_code = reply_code
            if grant_type == DEVICE_GRANT_TYPE:
                g = self._grants_by_device.get(call.form.get("device_code", ""))
                user_code = g.user_code if g else None
            self.requests.append(
                RecordedRequest(
                    method=call.method,
                    path=call.path,
                    time=arrived,
                    end_time=time.monotonic(),
                    query=call.query,
                    form=call.form,
                    json=call.json,
                    headers=call.headers,
                    status=status,
                    response=sent,
                    user_code=user_code,
                    grant_type=grant_type,
                    fault=fault,
                )
            )

    # ------------------------------------------------------------------ OAuth endpoints

    def _client_ok(self, call: _Call) -> bool:
        """HTTP Basic client authentication (RFC 6749 2.3.1), compared in constant time."""
        scheme, _, encoded = call.headers.get("authorization", "").partition(" ")
        if scheme.lower() != "basic":
            return False
        try:
            decoded = base64.b64decode(encoded.strip(), validate=True).decode("utf-8")
        except (binascii.Error, UnicodeDecodeError):
            return False
        cid, sep, secret = decoded.partition(":")
        return bool(sep) and (
            secrets.compare_digest(cid.encode(), self.client_id.encode())
            & secrets.compare_digest(secret.encode(), self.client_secret.encode())
        )

    def _h_devicecode(self, call: _Call) -> _Reply:
        # Zoom documents client_id in the query; servers also take it from a form body.
        cid = call.query.get("client_id", call.form.get("client_id"))
        if not self._client_ok(call) or cid != self.client_id:
            return _Reply(401, INVALID_CLIENT)
        code = self._new_user_code()
        g = DeviceGrant(
            user_code=code,
            device_code=secrets.token_urlsafe(32),
            state="pending",
            interval=RFC_DEFAULT_INTERVAL if self.interval is None else self.interval,
            created=time.monotonic(),
            expires_in=self.expires_in,
        )
        self._grants[code] = g
        self._grants_by_device[g.device_code] = g
        self._grant_serials[g.device_code] = len(self._grant_serials)
        origin = self._origin(call)
        answer: dict[str, Any] = {
            "device_code": g.device_code,
            "user_code": code,
            "verification_uri": f"{origin}/oauth_device",
            "verification_uri_complete": f"{origin}/oauth/device/complete/{code}",
            "expires_in": self.expires_in,
        }
        if self.interval is not None:
            answer["interval"] = self.interval
        return _Reply(200, answer, user_code=code)

    def _h_token(self, call: _Call) -> _Reply:
        if not self._client_ok(call):
            return _Reply(401, INVALID_CLIENT)
        grant_type = call.form.get("grant_type")
        if grant_type == DEVICE_GRANT_TYPE:
            return self._device_token(call)
        if grant_type == "refresh_token":
            return self._refresh_token(call)
        if not grant_type:
            return _oauth_error("invalid_request", "Missing grant_type")
        return _oauth_error("unsupported_grant_type", f"Unsupported grant type: {grant_type}")

    def _device_token(self, call: _Call) -> _Reply:
        device_code = call.form.get("device_code")
        if not device_code:
            return _oauth_error("invalid_request", "Missing device_code")
        g = self._grants_by_device.get(device_code)
        if g is None:
            return _oauth_error("invalid_grant", "Invalid device code")
        now = call.arrived
        previous, g.last_poll = g.last_poll, now
        if previous is not None and now - previous < g.interval - POLL_TOLERANCE:
            g.interval += SLOW_DOWN_STEP  # RFC 8628 3.5: for this and every later poll
            return _oauth_error("slow_down", "Polling too frequently")
        self._lapse(g, time.monotonic())
        if g.state == "pending":
            return _oauth_error("authorization_pending", "User has not yet authorized")
        if g.state == "denied":
            return _oauth_error("access_denied", "User denied the authorization")
        if g.state == "expired":
            return _oauth_error("expired_token", "Device code expired")
        if g.state == "redeemed":
            # Polling a used code again: revoke everything that grant produced.
            for iss in self._issuances:
                if iss.user_code == g.user_code:
                    iss.kill()
            return _oauth_error("invalid_grant", "Device code already used")
        assert g.user is not None
        if self.reauthorization_revokes:
            for iss in self._issuances:
                if iss.user.id == g.user.id:
                    iss.kill()
        g.state = "redeemed"
        return _Reply(200, self._issue(g.user, g.user_code, self._origin(call)))

    def _refresh_token(self, call: _Call) -> _Reply:
        iss = self._by_refresh.get(call.form.get("refresh_token", ""))
        if iss is None or not iss.refresh_alive:
            return _Reply(400, INVALID_TOKEN_GRANT)
        iss.refresh_alive = False  # rotation: the old refresh token dies now
        return _Reply(200, self._issue(iss.user, iss.user_code, self._origin(call)))

    def _h_revoke(self, call: _Call) -> _Reply:
        if not self._client_ok(call):
            return _Reply(401, INVALID_CLIENT)
        token = call.form.get("token", "")
        iss = self._by_access.get(token)
        if iss is None or not iss.access_alive:
            iss = self._by_refresh.get(token)
            if iss is None or not iss.refresh_alive:
                return _Reply(400, {"error": "invalid_request", "reason": "Invalid Token!"})
        iss.kill()
        return _Reply(200, {"status": "success"})

    # ------------------------------------------------------------------ REST endpoints

    def _bearer(self, call: _Call, scope: str) -> _Issuance | _Reply:
        scheme, _, token = call.headers.get("authorization", "").partition(" ")
        iss = self._live_access(token.strip()) if scheme.lower() == "bearer" else None
        if iss is None:
            return _Reply(401, INVALID_ACCESS_TOKEN)
        granted = set(iss.scopes.split())
        if not granted.intersection(_SCOPE_ALIASES.get(scope, (scope,))):
            message = f"Invalid access token, does not contain scopes: [{scope}]."
            return _Reply(400, {"code": 4700, "message": message})
        return iss

    def _h_me(self, call: _Call) -> _Reply:
        iss = self._bearer(call, "user:read")
        if isinstance(iss, _Reply):
            return iss
        u = iss.user
        return _Reply(
            200,
            {
                "id": u.id,
                "account_id": u.account_id,
                "email": u.email,
                "first_name": u.first_name,
                "last_name": u.last_name,
                "display_name": u.display_name,
                "type": 1,
                "status": "active",
            },
        )

    def _h_zak(self, call: _Call) -> _Reply:
        iss = self._bearer(call, "user_zak:read")
        if isinstance(iss, _Reply):
            return iss
        return _Reply(200, {"token": self._new_zak()})

    def _h_create_meeting(self, call: _Call) -> _Reply:
        iss = self._bearer(call, "meeting:write")
        if isinstance(iss, _Reply):
            return iss
        if call.json_error or (call.body.strip() and not isinstance(call.json, dict)):
            return _Reply(
                400, {"code": 300, "message": "Request Body should be a valid JSON object."}
            )
        spec: dict[str, Any] = call.json or {}
        topic = spec.get("topic", "Zoom Meeting")
        if not isinstance(topic, str) or len(topic) > 200:
            return _Reply(
                400, {"code": 300, "message": "Invalid field: topic (max 200 characters)."}
            )
        mtype = spec.get("type", 2)
        if mtype not in (1, 2, 3, 8, 10) or isinstance(mtype, bool):
            return _Reply(400, {"code": 300, "message": "Invalid field: type."})
        origin = self._origin(call)
        meeting_id = 10**10 + secrets.randbelow(9 * 10**10)
        password = "".join(secrets.choice("0123456789") for _ in range(6))
        created = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
        meeting: dict[str, Any] = {
            "id": meeting_id,
            "uuid": base64.b64encode(secrets.token_bytes(16)).decode(),
            "host_id": iss.user.id,
            "host_email": iss.user.email,
            "topic": topic,
            "type": mtype,
            "status": "waiting",
            "start_time": created,
            "timezone": "UTC",
            "created_at": created,
            "start_url": f"{origin}/s/{meeting_id}?zak={self._new_zak()}",
            "join_url": f"{origin}/j/{meeting_id}?pwd={secrets.token_urlsafe(24)}",
            "password": password,
            "pre_schedule": False,
        }
        for key in ("agenda", "settings"):
            if key in spec:
                meeting[key] = spec[key]
        self.meetings.append(meeting)
        return _Reply(201, meeting)

    # ------------------------------------------------------------------ human pages

    def _h_device_page(self, call: _Call) -> _Reply:
        code = normalize_user_code(call.query.get("code", ""))
        if code:
            target = f"/oauth/device/complete/{quote(code, safe='')}"
            return _Reply(303, headers={"location": target})
        return _page(
            "Connect a device",
            '<form method="get" action="/oauth_device"><p><label>Enter the code shown in Slack: '
            '<input name="code" autocomplete="off" autofocus required maxlength="16"></label></p>'
            '<button type="submit">Continue</button></form>',
        )

    def _code_problem(self, raw: str) -> _Reply | DeviceGrant:
        try:
            g = self._grant(raw)
        except KeyError:
            return _page("Unknown code", "<p>No device is waiting for this code.</p>", 404)
        self._lapse(g, time.monotonic())
        if g.state != "pending":
            text = f"This code can no longer be used (it is {html.escape(g.state)})."
            return _page("Code no longer valid", f"<p>{text}</p>", 410)
        return g

    def _h_complete_page(self, call: _Call) -> _Reply:
        g = self._code_problem(call.params["code"])
        if isinstance(g, _Reply):
            return g
        action = html.escape(f"/oauth/device/complete/{quote(g.user_code, safe='')}")
        chooser = ""
        if len(self._users) > 1:
            options = "".join(
                f'<option value="{html.escape(u.email)}">{html.escape(u.display_name)} '
                f"&lt;{html.escape(u.email)}&gt;</option>"
                for u in self._users
            )
            chooser = f'<p><label>Sign in as <select name="email">{options}</select></label></p>'
        return _page(
            "Authorize device",
            "<p>An app asks to connect to your Zoom account. "
            "Check that this code matches the one shown in Slack:</p>"
            f'<p class="code">{html.escape(g.user_code)}</p>'
            f'<form method="post" action="{action}">{chooser}'
            '<input type="hidden" name="action" value="approve">'
            '<button type="submit">Approve</button></form>'
            f'<form method="post" action="{action}">'
            '<input type="hidden" name="action" value="deny">'
            '<button type="submit">Deny</button></form>',
        )

    def _h_complete_post(self, call: _Call) -> _Reply:
        g = self._code_problem(call.params["code"])
        if isinstance(g, _Reply):
            return g
        action = call.form.get("action")
        if action == "approve":
            user = self._user_by_email(call.form.get("email", "")) or self.default_user
            self._approve(g.user_code, user)
            who = html.escape(user.email)
            return _page("Device approved", f"<p>Signed in as {who}. You can return to Slack.</p>")
        if action == "deny":
            g.state = "denied"
            return _page("Device denied", "<p>Access was denied. You can return to Slack.</p>")
        return _page("Bad request", "<p>Choose Approve or Deny.</p>", 400)

    # ------------------------------------------------------------------ control endpoints

    def _h_ctl_devices(self, call: _Call) -> _Reply:
        now = time.monotonic()
        out = []
        for g in self._grants.values():
            self._lapse(g, now)
            out.append({"user_code": g.user_code, "state": g.state, "interval": g.interval})
        return _Reply(200, out)

    def _h_ctl_device_action(self, call: _Call) -> _Reply:
        code, action = call.params["code"], call.params["action"]
        if normalize_user_code(code) not in self._grants:
            return _Reply(404, {"ok": False, "error": "unknown user_code"})
        try:
            if action == "approve":
                email = call.json.get("email") if isinstance(call.json, dict) else None
                user = self._user_by_email(email) if email else self.default_user
                if user is None:
                    return _Reply(404, {"ok": False, "error": "unknown user"})
                self._approve(code, user)
            elif action == "deny":
                self._pending(code).state = "denied"
            else:
                self._expire(code)
        except ValueError as exc:
            return _Reply(409, {"ok": False, "error": str(exc)})
        return _Reply(200, {"ok": True})

    def _h_ctl_expire_tokens(self, call: _Call) -> _Reply:
        for iss in self._issuances:
            iss.access_expired = True
        return _Reply(200, {"ok": True})

    def _h_ctl_requests(self, call: _Call) -> _Reply:
        keys = ("method", "path", "time", "status", "user_code", "grant_type")
        ordered = sorted(self.requests, key=_arrival)
        return _Reply(200, [{k: getattr(r, k) for k in keys} for r in ordered])

    # ------------------------------------------------------------------ webhooks

    def signed_webhook(
        self, secret_token: str, event: dict[str, Any], *, timestamp: int | None = None
    ) -> tuple[bytes, dict[str, str]]:
        """``event`` as Zoom POSTs it to the app's endpoint: the raw body and its headers.

        ``timestamp`` (Unix seconds, default now) lets tests send stale or future requests.
        """
        body = json.dumps(event, ensure_ascii=False, separators=(",", ":")).encode()
        ts = int(time.time()) if timestamp is None else timestamp
        headers = {
            "content-type": "application/json; charset=utf-8",
            "x-zm-request-timestamp": str(ts),
            "x-zm-signature": sign_webhook(secret_token, ts, body),
        }
        return body, headers

    def deauthorization_event(self, user: ZoomUser) -> dict[str, Any]:
        """The ``app_deauthorized`` event Zoom sends when ``user`` removes this app.

        It only builds the body; the user's tokens stay valid unless the test revokes them.
        """
        now = datetime.now(UTC)
        return {
            "event": "app_deauthorized",
            "event_ts": int(now.timestamp() * 1000),
            "payload": {
                "account_id": user.account_id,
                "user_id": user.id,
                "client_id": self.client_id,
                "user_data_retention": "false",
                "deauthorization_time": now.isoformat(timespec="milliseconds").replace(
                    "+00:00", "Z"
                ),
                # Legacy field (the app's verification token); the bot ignores it.
                "signature": secrets.token_hex(32),
            },
        }


def sign_webhook(secret_token: str, timestamp: int | str, body: bytes) -> str:
    """Zoom's ``x-zm-signature``, computed here independently of the bot's verifier."""
    message = f"v0:{timestamp}:".encode() + body
    return "v0=" + hmac.new(secret_token.encode(), message, hashlib.sha256).hexdigest()
