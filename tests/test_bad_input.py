"""Bad input through the real bot over HTTP: whatever Slack or Zoom send, the bot answers.

Property-based (hypothesis) tests. Each test runs one bot process and its examples share it.
Every example checks the HTTP answer, then that the bot logged no traceback while handling it
(after its background work settled) and that /healthz still says 200; the `fuzzed` and
`webhook_bot` fixtures check the whole log once more after the last example.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import re
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any
from urllib.parse import urlencode

import httpx
import pytest
from hypothesis import HealthCheck, Phase, example, given, settings
from hypothesis import strategies as st

from bot.emulator.slack import SlackEmulator
from bot.emulator.zoom import ZoomEmulator, sign_webhook
from tests import strategies as bad
from tests.harness import BotProcess, wait_for

WEBHOOK_SECRET = "zoom-webhook-secret-token"
FORM = "application/x-www-form-urlencoded"
JSON = "application/json"
FRESH_URL = "<a fresh response_url>"  # replaced in each example by one the Slack stand-in knows


#: One client for every request; without keep-alive, so a connection the bot dropped after a
#: 5xx cannot fail the next example (and a client per request costs ~80 ms of TLS set-up).
HTTP = httpx.Client(timeout=10.0, limits=httpx.Limits(max_keepalive_connections=0))


def fuzz_settings(max_examples: int) -> settings:
    return settings(
        max_examples=max_examples,
        deadline=None,
        suppress_health_check=[HealthCheck.function_scoped_fixture],
        database=None,  # nothing written into the working tree
        # No "explain" phase: it reruns a failure many times, each run a real HTTP round trip.
        phases=[Phase.explicit, Phase.reuse, Phase.generate, Phase.target, Phase.shrink],
    )


# ---------------------------------------------------------------- the bot and its log


class LogWatch:
    """The part of the bot's log written since the watch began."""

    def __init__(self, bot: BotProcess) -> None:
        self.path = bot.log_path
        self.offset = self.size()

    def size(self) -> int:
        return self.path.stat().st_size if self.path.exists() else 0

    def settle(self, quiet: float = 0.08, limit: float = 2.0) -> None:
        """Wait until the log has been still for `quiet` seconds (background work done)."""
        deadline = time.monotonic() + limit
        size, still_since = self.size(), time.monotonic()
        while time.monotonic() < deadline:
            time.sleep(0.01)
            now_size = self.size()
            if now_size != size:
                size, still_since = now_size, time.monotonic()
            elif time.monotonic() - still_since >= quiet:
                return

    def text(self) -> str:
        with self.path.open("rb") as log:
            log.seek(self.offset)
            return log.read().decode(errors="replace")


def assert_healthy(bot: BotProcess, log: str) -> None:
    assert "Traceback" not in log, f"the bot logged a traceback:\n{log[-4000:]}"
    assert bot.process is not None and bot.process.poll() is None, "the bot died"
    assert HTTP.get(f"{bot.url}/healthz").status_code == 200


@contextmanager
def no_traceback(bot: BotProcess) -> Iterator[None]:
    """Around one example: afterwards, its share of the log has no traceback, /healthz is 200."""
    watch = LogWatch(bot)
    try:
        yield
    finally:
        # Also after a failure: its late lines (uvicorn logs a 500's traceback after sending
        # it) must land before the next example starts watching, or they would be blamed on it.
        watch.settle()
    assert_healthy(bot, watch.text())


def check_afterwards(request: pytest.FixtureRequest, bot: BotProcess) -> Iterator[BotProcess]:
    """Yield `bot`; then, unless the test already failed (its log is in that report), settle
    and check the whole log and /healthz once more."""
    failed_before = request.session.testsfailed
    yield bot
    if request.session.testsfailed == failed_before:
        LogWatch(bot).settle()
        assert_healthy(bot, bot.logs)


@pytest.fixture
def fuzzed(request: pytest.FixtureRequest, bot: BotProcess) -> Iterator[BotProcess]:
    """The conftest bot, checked once more after the test's last example."""
    yield from check_afterwards(request, bot)


@pytest.fixture
def webhook_bot(
    request: pytest.FixtureRequest, start_bot: Callable[..., BotProcess]
) -> Iterator[BotProcess]:
    """A bot serving POST /zoom/events, as tests/test_zoom_events.py starts it."""
    yield from check_afterwards(request, start_bot(ZOOM_WEBHOOK_SECRET_TOKEN=WEBHOOK_SECRET))


# ---------------------------------------------------------------- sending requests


def post(bot: BotProcess, path: str, body: bytes, headers: dict[str, Any]) -> tuple[Any, float]:
    """POST on a fresh connection; the answer and how long it took."""
    started = time.monotonic()
    response = HTTP.post(f"{bot.url}{path}", content=body, headers=headers)
    return response, time.monotonic() - started


def slack_post(bot: BotProcess, body: bytes | str, content_type: str = FORM) -> tuple[Any, float]:
    """`body` signed with the bot's signing secret, as Slack sends it."""
    raw = body.encode() if isinstance(body, str) else body
    timestamp = str(int(time.time()))
    digest = hmac.new(
        bot.signing_secret.encode(), b"v0:%s:%s" % (timestamp.encode(), raw), hashlib.sha256
    ).hexdigest()
    headers = {
        "Content-Type": content_type,
        "X-Slack-Request-Timestamp": timestamp,
        "X-Slack-Signature": f"v0={digest}",
    }
    return post(bot, "/slack/events", raw, headers)


def with_fresh_urls(value: Any, slack: SlackEmulator) -> Any:
    """`value` with every FRESH_URL placeholder replaced by a new response_url."""
    if value == FRESH_URL:
        return slack.new_response_url()
    if isinstance(value, dict):
        return {key: with_fresh_urls(item, slack) for key, item in value.items()}
    if isinstance(value, list):
        return [with_fresh_urls(item, slack) for item in value]
    return value


def never_5xx(response: Any, elapsed: float, sent: Any) -> None:
    assert response.status_code < 500, f"{response.status_code} for {sent!r}: {response.text}"
    assert elapsed < 3, f"answered after {elapsed:.1f}s (Slack gives up at 3 s): {sent!r}"


# ---------------------------------------------------------------- a paired user on demand


class PairedUsers:
    """Hands out a Slack user paired with Zoom, pairing a new one when an example unpaired it."""

    def __init__(self, bot: BotProcess, zoom: ZoomEmulator, slack: SlackEmulator) -> None:
        self.bot, self.zoom, self.slack = bot, zoom, slack
        self.count = 0
        self.user_id = ""

    def is_paired(self, user_id: str) -> bool:
        return any(row["user_id"] == user_id for row in self.bot.rows("pairings"))

    def get(self) -> str:
        if not self.user_id or not self.is_paired(self.user_id):
            self.count += 1
            self.user_id = f"U0PAIRED{self.count}"
            self.pair(self.user_id)
        return self.user_id

    def pair(self, user_id: str) -> None:
        """`/zoom pair`, then approve the code the DM names (not just the latest code)."""
        result = self.bot.command("pair", user_id=user_id)
        assert result.response.status_code == 200

        def code_in_dm() -> str:
            for message in self.slack.messages(self.slack.dm_channel(user_id)):
                found = re.search(r"Your Zoom code is (\S+):", str(message.get("text")))
                if found:
                    return found.group(1)
            return ""

        self.zoom.approve(wait_for(code_in_dm, what=f"the code DM'd to {user_id}"))
        wait_for(lambda: self.is_paired(user_id), what=f"{user_id}'s pairing")


@pytest.fixture
def paired_users(fuzzed: BotProcess, zoom: ZoomEmulator, slack: SlackEmulator) -> PairedUsers:
    return PairedUsers(fuzzed, zoom, slack)


# ---------------------------------------------------------------- 1. slash commands


def answer_of(response: Any) -> dict[str, Any]:
    if not response.content:
        return {}
    answer = response.json()
    assert isinstance(answer, dict), answer
    return answer


@fuzz_settings(max_examples=50)
@given(text=bad.command_texts(), as_paired=st.booleans(), stranger=bad.user_ids)
# slack_bolt takes any form body containing "payload" for an interaction without a payload.
@example(text="meet payload review", as_paired=False, stranger="U0BOB")
def test_any_command_text_gets_an_answer(
    fuzzed: BotProcess,
    slack: SlackEmulator,
    paired_users: PairedUsers,
    text: str,
    as_paired: bool,
    stranger: str,
) -> None:
    """200 within 3 s with something to show: the ack's text or blocks, or posts that follow."""
    user_id = paired_users.get() if as_paired else stranger
    with no_traceback(fuzzed):
        response_url = slack.new_response_url()
        body = fuzzed.command_body(text, user_id=user_id, response_url=response_url)
        response, elapsed = slack_post(fuzzed, body)
        assert response.status_code == 200, f"{response.status_code} for {text!r}: {response.text}"
        assert elapsed < 3, f"answered after {elapsed:.1f}s: {text!r}"
        answer = answer_of(response)
        if not (answer.get("text") or answer.get("blocks")):
            # `meet` when paired and `unpair` ack empty, then answer through the response_url.
            posts = wait_for(
                lambda: slack.responses_to(response_url),
                timeout=10,
                what=f"an answer at the response_url to {text!r} (the ack was {answer})",
            )
            assert all(post.get("text") or post.get("blocks") for post in posts), posts


COMMAND_FIELDS = (
    "token",
    "team_id",
    "team_domain",
    "channel_id",
    "channel_name",
    "user_id",
    "user_name",
    "command",
    "text",
    "api_app_id",
    "is_enterprise_install",
    "response_url",
    "trigger_id",
)
EXTRA_FIELDS = ("enterprise_id", "enterprise_name", "ssl_check", "payload", "type", "challenge")


@fuzz_settings(max_examples=30)
@given(
    text=bad.command_texts(),
    missing=st.sets(st.sampled_from(COMMAND_FIELDS)),
    odd=st.dictionaries(st.sampled_from(COMMAND_FIELDS + EXTRA_FIELDS), bad.short_text(40)),
    extra=st.dictionaries(bad.short_text(10), bad.short_text(20), max_size=3),
)
@example(text="unpair", missing={"response_url"}, odd={}, extra={})
def test_odd_command_forms_never_break_the_bot(
    fuzzed: BotProcess,
    slack: SlackEmulator,
    text: str,
    missing: set[str],
    odd: dict[str, str],
    extra: dict[str, str],
) -> None:
    """Missing, odd or extra form fields: an answer below 500 within 3 s, and no traceback."""
    fields = {
        "token": "deprecated-verification-token",
        "team_id": bad.TEAM_ID,
        "team_domain": "test",
        "channel_id": "C0GENERAL",
        "channel_name": "general",
        "user_id": "U0FORMS",
        "user_name": "forms",
        "command": "/zoom",
        "text": text,
        "api_app_id": "A0APP",
        "is_enterprise_install": "false",
        "response_url": slack.new_response_url(),
        "trigger_id": "1.2.3",
    }
    fields = {**extra, **fields, **odd}
    for name in missing:
        fields.pop(name, None)
    with no_traceback(fuzzed):
        response, elapsed = slack_post(fuzzed, urlencode(fields))
        never_5xx(response, elapsed, fields)


# ---------------------------------------------------------------- 2. interactions


@fuzz_settings(max_examples=40)
@given(
    payload=st.one_of(
        bad.block_actions("U0ALICE", st.just(FRESH_URL)),
        bad.view_submissions(),
        bad.json_values.filter(lambda value: isinstance(value, dict)),
    )
)
def test_interaction_payloads_never_5xx(
    paired: BotProcess, fuzzed: BotProcess, slack: SlackEmulator, payload: Any
) -> None:
    """Button presses and view submissions, well-formed or mangled: below 500 within 3 s."""
    payload = with_fresh_urls(payload, slack)
    with no_traceback(fuzzed):
        response, elapsed = slack_post(fuzzed, urlencode({"payload": json.dumps(payload)}))
        never_5xx(response, elapsed, payload)


@fuzz_settings(max_examples=25)
@given(body_and_type=bad.unparseable_slack_bodies())
def test_unparseable_slack_bodies_never_5xx(
    fuzzed: BotProcess, body_and_type: tuple[bytes, str]
) -> None:
    """Signed, but not one JSON object: bad `payload=` JSON, JSON lists, plain text."""
    body, content_type = body_and_type
    with no_traceback(fuzzed):
        response, elapsed = slack_post(fuzzed, body, content_type)
        never_5xx(response, elapsed, body)


# ---------------------------------------------------------------- 3. Events API


@fuzz_settings(max_examples=40)
@given(envelope=st.one_of(bad.slack_events("U0ALICE"), bad.url_verifications()))
def test_events_never_5xx(fuzzed: BotProcess, envelope: dict[str, Any]) -> None:
    """Any event (known types, unknown types, mangled) gets below 500 within 3 s."""
    with no_traceback(fuzzed):
        response, elapsed = slack_post(fuzzed, json.dumps(envelope), JSON)
        never_5xx(response, elapsed, envelope)
        challenge = envelope.get("challenge")
        if envelope.get("type") == "url_verification" and isinstance(challenge, str) and challenge:
            assert response.status_code == 200, response.text
            assert response.json() == {"challenge": challenge}


# ---------------------------------------------------------------- 4. Zoom webhooks


def zoom_post(bot: BotProcess, body: bytes, headers: dict[str, Any]) -> Any:
    response, _ = post(bot, "/zoom/events", body, headers)
    return response


def signed(body: bytes, *, secret: str = WEBHOOK_SECRET, timestamp: int | None = None) -> dict:
    ts = int(time.time()) if timestamp is None else timestamp
    return {
        "content-type": "application/json; charset=utf-8",
        "x-zm-request-timestamp": str(ts),
        "x-zm-signature": sign_webhook(secret, ts, body),
    }


@fuzz_settings(max_examples=50)
@given(
    event=bad.zoom_events(),
    compact=st.booleans(),
    raw=st.one_of(st.none(), st.binary(max_size=200)),
)
def test_signed_zoom_webhooks_get_200_or_400(
    webhook_bot: BotProcess, event: Any, compact: bool, raw: bytes | None
) -> None:
    """Correctly signed, any JSON value or bytes: 200 (read or ignored) or 400 (unreadable)."""
    if raw is not None:
        body = raw
    elif compact:
        body = json.dumps(event, ensure_ascii=False, separators=(",", ":")).encode()
    else:
        body = json.dumps(event, indent=1).encode()
    with no_traceback(webhook_bot):
        response = zoom_post(webhook_bot, body, signed(body))
        assert response.status_code in (200, 400), f"{response.status_code} for {body!r}"
        answer = response.json()
        if response.status_code == 200 and "encryptedToken" in answer:
            token = json.loads(body)["payload"]["plainToken"]
            expected = hmac.new(WEBHOOK_SECRET.encode(), token.encode(), hashlib.sha256)
            assert answer == {"plainToken": token, "encryptedToken": expected.hexdigest()}


@fuzz_settings(max_examples=15)
@given(token=bad.short_text(60).filter(bool))
def test_any_url_validation_token_is_answered(webhook_bot: BotProcess, token: str) -> None:
    """Zoom's endpoint check with any plainToken: 200 and the token's HMAC."""
    body = json.dumps({"event": "endpoint.url_validation", "payload": {"plainToken": token}})
    with no_traceback(webhook_bot):
        response = zoom_post(webhook_bot, body.encode(), signed(body.encode()))
        assert response.status_code == 200, response.text
        expected = hmac.new(WEBHOOK_SECRET.encode(), token.encode(), hashlib.sha256)
        assert response.json() == {"plainToken": token, "encryptedToken": expected.hexdigest()}


TAMPERINGS = (
    "no-signature",
    "no-timestamp",
    "no-headers",
    "odd-headers",
    "wrong-secret",
    "stale",
    "future",
    "body-changed",
    "other-timestamp",
)


@fuzz_settings(max_examples=40)
@given(
    event=bad.zoom_events(),
    tamper=st.sampled_from(TAMPERINGS),
    signature=bad.header_values,
    timestamp=bad.header_values,
)
def test_unverifiable_zoom_webhooks_get_401(
    webhook_bot: BotProcess, event: Any, tamper: str, signature: bytes, timestamp: bytes
) -> None:
    """Not signed with the secret for this body and a fresh timestamp: always 401."""
    body = json.dumps(event).encode()
    headers: dict[str, Any] = signed(body)
    if tamper == "no-signature":
        del headers["x-zm-signature"]
    elif tamper == "no-timestamp":
        del headers["x-zm-request-timestamp"]
    elif tamper == "no-headers":
        headers = {"content-type": "application/json"}
    elif tamper == "odd-headers":
        headers["x-zm-signature"], headers["x-zm-request-timestamp"] = signature, timestamp
    elif tamper == "wrong-secret":
        headers = signed(body, secret="not-the-secret")
    elif tamper in ("stale", "future"):
        headers = signed(body, timestamp=int(time.time()) + (-301 if tamper == "stale" else 301))
    elif tamper == "body-changed":
        body += b" "
    elif tamper == "other-timestamp":
        headers["x-zm-request-timestamp"] = str(int(headers["x-zm-request-timestamp"]) - 1)
    with no_traceback(webhook_bot):
        response = zoom_post(webhook_bot, body, headers)
        assert response.status_code == 401, f"{response.status_code} for {tamper}: {headers}"
