"""Zoom webhook verification: only fresh requests signed with the secret token get through."""

from __future__ import annotations

import hashlib
import hmac
import json
from datetime import datetime
from typing import Any

import pytest

from bot.emulator.zoom import ZoomEmulator
from bot.zoom.webhooks import (
    APP_DEAUTHORIZED,
    URL_VALIDATION,
    Deauthorization,
    WebhookMalformed,
    WebhookRejected,
    WebhookUnauthorized,
    WebhookVerifier,
    parse_deauthorization,
    parse_url_validation,
)

SECRET = "webhook-secret"
NOW = 1_700_000_000
EVENT = {"event": "meeting.started", "payload": {"object": {"id": 123, "topic": "Café ☕"}}}


def verifier(secret: str = SECRET, **options: Any) -> WebhookVerifier:
    return WebhookVerifier(secret, clock=lambda: float(NOW), **options)


def signed(
    body: bytes, *, timestamp: int | str = NOW, secret: str = SECRET
) -> tuple[bytes, dict[str, str]]:
    """Sign like Zoom, computed here rather than with the code under test."""
    message = f"v0:{timestamp}:".encode() + body
    digest = hmac.new(secret.encode(), message, hashlib.sha256).hexdigest()
    return body, {"x-zm-request-timestamp": str(timestamp), "x-zm-signature": f"v0={digest}"}


def encode(event: Any) -> bytes:
    return json.dumps(event, ensure_ascii=False).encode()


def rejected(headers: dict[str, str], body: bytes, **options: Any) -> WebhookRejected:
    with pytest.raises(WebhookRejected) as caught:
        verifier(**options).verify(headers, body)
    return caught.value


# ------------------------------------------------------------------ signature and timestamp


def test_valid_signature_returns_the_event() -> None:
    body, headers = signed(encode(EVENT))
    assert verifier().verify(headers, body) == EVENT


def test_known_signature_vector() -> None:
    # printf 'v0:1700000000:{"event":"x"}' | openssl dgst -sha256 -hmac webhook-secret
    headers = {
        "x-zm-request-timestamp": "1700000000",
        "x-zm-signature": "v0=e206be0730941dc79e4e5b9628dbd19eb437763a668060178f7b1911c50858d7",
    }
    assert verifier().verify(headers, b'{"event":"x"}') == {"event": "x"}


@pytest.mark.parametrize(
    "rename",
    [str.upper, str.title, lambda name: name],
    ids=["upper", "title", "lower"],
)
def test_header_names_are_case_insensitive(rename: Any) -> None:
    body, headers = signed(encode(EVENT))
    assert verifier().verify({rename(k): v for k, v in headers.items()}, body) == EVENT


def test_tampered_body_is_rejected() -> None:
    body, headers = signed(encode(EVENT))
    error = rejected(headers, body.replace(b"123", b"124"))
    assert isinstance(error, WebhookUnauthorized)
    assert (error.status, error.reason) == (401, "bad signature")


def test_wrong_secret_is_rejected() -> None:
    body, headers = signed(encode(EVENT), secret="another-secret")
    assert rejected(headers, body).reason == "bad signature"


def test_signature_of_another_timestamp_is_rejected() -> None:
    body, headers = signed(encode(EVENT), timestamp=NOW - 1)
    headers["x-zm-request-timestamp"] = str(NOW)
    assert rejected(headers, body).reason == "bad signature"


@pytest.mark.parametrize("value", ["", "e206be07", "v0=", "v1=abc", "v0=é"])
def test_garbled_signature_is_rejected(value: str) -> None:
    body, headers = signed(encode(EVENT))
    headers["x-zm-signature"] = value
    error = rejected(headers, body)
    assert error.status == 401
    assert error.reason in ("bad signature", "missing signature")


@pytest.mark.parametrize(
    ("missing", "reason"),
    [("x-zm-signature", "missing signature"), ("x-zm-request-timestamp", "missing timestamp")],
)
def test_missing_header_is_rejected(missing: str, reason: str) -> None:
    body, headers = signed(encode(EVENT))
    del headers[missing]
    error = rejected(headers, body)
    assert (error.status, error.reason) == (401, reason)


def test_no_headers_at_all_is_rejected() -> None:
    assert rejected({}, encode(EVENT)).status == 401


@pytest.mark.parametrize("offset", [-300, 0, 300])
def test_timestamp_within_five_minutes_is_accepted(offset: int) -> None:
    body, headers = signed(encode(EVENT), timestamp=NOW + offset)
    assert verifier().verify(headers, body) == EVENT


@pytest.mark.parametrize("offset", [-301, 301, -86_400])
def test_stale_or_future_timestamp_is_rejected(offset: int) -> None:
    body, headers = signed(encode(EVENT), timestamp=NOW + offset)
    error = rejected(headers, body)
    assert isinstance(error, WebhookUnauthorized)
    assert error.reason == "stale timestamp"


def test_tolerance_is_configurable() -> None:
    body, headers = signed(encode(EVENT), timestamp=NOW - 30)
    assert rejected(headers, body, tolerance=10).reason == "stale timestamp"


@pytest.mark.parametrize("value", ["1700000000.5", "abc", " 1700000000", "+1700000000", "9" * 5000])
def test_non_integer_timestamp_is_rejected(value: str) -> None:
    body, headers = signed(encode(EVENT), timestamp=value)
    error = rejected(headers, body)
    assert (error.status, error.reason) == (401, "bad timestamp")


def test_clock_is_read_on_every_call() -> None:
    now = [float(NOW)]
    check = WebhookVerifier(SECRET, clock=lambda: now[0])
    body, headers = signed(encode(EVENT))
    assert check.verify(headers, body) == EVENT
    now[0] += 301
    with pytest.raises(WebhookUnauthorized, match="stale timestamp"):
        check.verify(headers, body)


def test_empty_secret_is_refused() -> None:
    with pytest.raises(ValueError, match="secret_token"):
        WebhookVerifier("")


def test_repr_hides_the_secret() -> None:
    assert SECRET not in repr(verifier())


# ------------------------------------------------------------------ body


@pytest.mark.parametrize(
    "body",
    [b"", b"not json", b"\xff\xfe", b"[1, 2]", b'"event"', b"null", b"[" * 100_000],
    ids=["empty", "text", "not-utf8", "array", "string", "null", "deep"],
)
def test_signed_but_unreadable_body_is_malformed(body: bytes) -> None:
    body, headers = signed(body)
    error = rejected(headers, body)
    assert isinstance(error, WebhookMalformed)
    assert (error.status, error.reason) == (400, "malformed body")


@pytest.mark.parametrize("event", [{}, {"event": 1}, {"payload": {}}, {"event": None}])
def test_object_without_string_event_is_malformed(event: dict[str, Any]) -> None:
    body, headers = signed(encode(event))
    error = rejected(headers, body)
    assert isinstance(error, WebhookMalformed)
    assert error.status == 400


def test_unsigned_garbage_is_unauthorized_not_malformed() -> None:
    _, headers = signed(b"{}")
    assert rejected(headers, b"not json").status == 401


# ------------------------------------------------------------------ URL validation


def test_url_validation_answer_matches_known_hmac() -> None:
    # printf 'plain-token-123' | openssl dgst -sha256 -hmac webhook-secret
    known = "cb093191197bc4e20ebe79407fad21fd80cc93c49a14d44b73da911df39762d9"
    independent = hmac.new(SECRET.encode(), b"plain-token-123", hashlib.sha256).hexdigest()
    assert known == independent
    assert verifier().url_validation_answer("plain-token-123") == {
        "plainToken": "plain-token-123",
        "encryptedToken": known,
    }


def test_url_validation_round_trip() -> None:
    event = {"event": URL_VALIDATION, "payload": {"plainToken": "qgg8vlvZRS6UYooatFL8Aw"}}
    body, headers = signed(encode(event))
    check = verifier()
    token = parse_url_validation(check.verify(headers, body))
    assert token == "qgg8vlvZRS6UYooatFL8Aw"
    assert check.url_validation_answer(token)["plainToken"] == token


@pytest.mark.parametrize(
    "event",
    [
        {"event": URL_VALIDATION},
        {"event": URL_VALIDATION, "payload": {}},
        {"event": URL_VALIDATION, "payload": {"plainToken": 5}},
        {"event": APP_DEAUTHORIZED, "payload": {"plainToken": "x"}},
    ],
)
def test_bad_url_validation_is_malformed(event: dict[str, Any]) -> None:
    with pytest.raises(WebhookMalformed):
        parse_url_validation(event)


# ------------------------------------------------------------------ app_deauthorized

DEAUTHORIZATION: dict[str, Any] = {
    "event": APP_DEAUTHORIZED,
    "event_ts": 1560779548632,
    "payload": {
        "user_data_retention": "false",
        "account_id": "EFgHiJABC000DEfGHI",
        "user_id": "z9jkdsfsdfjhdkfjQ",
        "signature": "827edc3452044f0bc86bdd5684afb7d1e6becfa1a767f24df1b287853cf73000",
        "deauthorization_time": "2019-06-17T13:52:28.632Z",
        "client_id": "ADZ9k9bTWmGUoUbECUKU_a",
    },
}


def test_parse_deauthorization() -> None:
    assert parse_deauthorization(DEAUTHORIZATION) == Deauthorization(
        account_id="EFgHiJABC000DEfGHI",
        user_id="z9jkdsfsdfjhdkfjQ",
        client_id="ADZ9k9bTWmGUoUbECUKU_a",
        deauthorization_time="2019-06-17T13:52:28.632Z",
    )


@pytest.mark.parametrize("field", ["account_id", "user_id", "client_id", "deauthorization_time"])
@pytest.mark.parametrize("value", [None, 42, "", ["x"]])
def test_deauthorization_with_bad_field_is_malformed(field: str, value: Any) -> None:
    payload = {**DEAUTHORIZATION["payload"], field: value}
    with pytest.raises(WebhookMalformed) as caught:
        parse_deauthorization({**DEAUTHORIZATION, "payload": payload})
    assert field in caught.value.reason
    assert caught.value.status == 400


@pytest.mark.parametrize(
    "event",
    [
        {"event": APP_DEAUTHORIZED},
        {"event": APP_DEAUTHORIZED, "payload": "x"},
        {"event": APP_DEAUTHORIZED, "payload": {}},
        {**DEAUTHORIZATION, "event": "meeting.ended"},
    ],
)
def test_not_a_deauthorization_is_malformed(event: dict[str, Any]) -> None:
    with pytest.raises(WebhookMalformed):
        parse_deauthorization(event)


# ------------------------------------------------------------------ the emulator's webhooks


def test_emulator_webhook_passes_the_verifier() -> None:
    zoom = ZoomEmulator()
    event = zoom.deauthorization_event(zoom.default_user)
    body, headers = zoom.signed_webhook(SECRET, event, timestamp=NOW)
    assert headers["content-type"].startswith("application/json")
    assert headers["x-zm-request-timestamp"] == str(NOW)
    received = verifier().verify(headers, body)
    assert received == event
    assert parse_deauthorization(received) == Deauthorization(
        account_id=zoom.default_user.account_id,
        user_id=zoom.default_user.id,
        client_id=zoom.client_id,
        deauthorization_time=event["payload"]["deauthorization_time"],
    )


def test_emulator_deauthorization_event_shape() -> None:
    zoom = ZoomEmulator()
    user = zoom.add_user("bob@example.com", "Bob")
    event = zoom.deauthorization_event(user)
    assert event["event"] == APP_DEAUTHORIZED
    assert isinstance(event["event_ts"], int)
    moment = datetime.fromisoformat(event["payload"]["deauthorization_time"])
    assert moment.utcoffset() is not None
    assert abs(moment.timestamp() * 1000 - event["event_ts"]) < 1
    assert event["payload"]["user_id"] == user.id
    assert set(event["payload"]) >= {"account_id", "client_id", "signature"}


def test_emulator_webhook_defaults_to_now_and_is_rejected_when_tampered_or_stale() -> None:
    zoom = ZoomEmulator()
    event = zoom.deauthorization_event(zoom.default_user)
    body, headers = zoom.signed_webhook(SECRET, event)
    assert WebhookVerifier(SECRET).verify(headers, body) == event
    with pytest.raises(WebhookUnauthorized, match="bad signature"):
        WebhookVerifier("other-secret").verify(headers, body)
    body, headers = zoom.signed_webhook(SECRET, event, timestamp=NOW - 301)
    with pytest.raises(WebhookUnauthorized, match="stale timestamp"):
        verifier().verify(headers, body)
