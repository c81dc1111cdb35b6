"""Slack's HTTP requests into bolt requests, without bolt's parsing pitfalls.

bolt 1.30 reads any form body that merely *contains* the text "payload" (`/zoom meet payload
review`, a channel named payload-team) as a button press and loses it; and a malformed body
raises before any listener can answer. Here a form body is a button press only when it has a
`payload` field, and nothing malformed raises: a signed request the bot cannot read gets 400,
an unsigned one 401, never a 5xx.
"""

from __future__ import annotations

import json
import logging
from typing import Any
from urllib.parse import parse_qsl

from slack_bolt.adapter.starlette.async_handler import (
    AsyncSlackRequestHandler,
    to_starlette_response,
)
from slack_bolt.context.async_context import AsyncBoltContext
from slack_bolt.request.async_internals import build_async_context
from slack_bolt.request.async_request import AsyncBoltRequest
from slack_sdk.signature import SignatureVerifier
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

log = logging.getLogger(__name__)


def parse_slack_body(raw: str, content_type: str | None) -> dict[str, Any]:
    """A JSON object (events), a form (slash commands) or a form's `payload` (interactions)."""
    if not raw:
        return {}
    if content_type == "application/json" or raw.startswith("{"):
        return _json_object(raw)
    form = dict(parse_qsl(raw, keep_blank_values=True))
    if "payload" in form:
        return _json_object(form["payload"])
    return form


#: Top-level fields whose shape bolt relies on when it routes a request; a wrong shape would
#: crash its routing, so such a field is dropped and the request routes as if it were absent.
SHAPES: dict[str, type] = {
    "view": dict,
    "team": dict,
    "user": dict,
    "enterprise": dict,
    "channel": dict,
    "container": dict,
    "message": dict,
    "event": dict,
    "authorizations": list,
    "actions": list,
}


def _well_shaped(body: dict[str, Any]) -> dict[str, Any]:
    for name, shape in SHAPES.items():
        if name in body and not isinstance(body[name], shape):
            del body[name]
    if "actions" in body:
        body["actions"] = [
            a
            for a in body["actions"]
            if isinstance(a, dict) and isinstance(a.get("action_id"), str)
        ]
    if "authorizations" in body:
        body["authorizations"] = [a for a in body["authorizations"] if isinstance(a, dict)]
    return body


def _json_object(text: str) -> dict[str, Any]:
    try:
        value = json.loads(text)
    except ValueError:
        return {}
    return _well_shaped(value) if isinstance(value, dict) else {}


class SlackRequest(AsyncBoltRequest):
    """An AsyncBoltRequest whose body is parsed by parse_slack_body, copies included."""

    def __init__(
        self,
        *,
        body: str | dict[str, Any],
        query: Any = None,
        headers: Any = None,
        context: dict[str, Any] | None = None,
        mode: str = "http",
    ) -> None:
        if mode != "http" or not isinstance(body, str):
            super().__init__(body=body, query=query, headers=headers, context=context, mode=mode)
            return
        # An empty body keeps bolt's own parser out of it; the real one is parsed here.
        super().__init__(body="", query=query, headers=headers, context=context, mode=mode)
        self.raw_body = body
        self.body = parse_slack_body(body, self.content_type)
        self.context = build_async_context(AsyncBoltContext(context or {}), self.body)

    def to_copyable(self) -> SlackRequest:
        return SlackRequest(
            body=self.raw_body if self.mode == "http" else self.body,
            query=self.query,
            headers=self.headers,
            context=self.context.to_copyable(),
            mode=self.mode,
        )


class SlackRequestHandler(AsyncSlackRequestHandler):
    def __init__(self, app: Any, signing_secret: str) -> None:
        super().__init__(app)
        # Socket Mode has no signing secret: its requests arrive over the socket, not here.
        self.verifier = SignatureVerifier(signing_secret) if signing_secret else None

    async def handle(  # type: ignore[override]
        self, req: Request, addition_context_properties: dict[str, Any] | None = None
    ) -> Response:
        if req.method != "POST":
            return await super().handle(req, addition_context_properties)
        body = await req.body()
        try:
            text = body.decode("utf-8")
            bolt_request = SlackRequest(body=text, query=req.query_params, headers=req.headers)  # type: ignore[arg-type]
            bolt_response = await self.app.async_dispatch(bolt_request)
        except Exception as exc:
            signed = self.verifier is not None and self.verifier.is_valid_request(
                body, dict(req.headers)
            )
            if not signed:
                return JSONResponse({"error": "invalid request"}, status_code=401)
            log.warning("event=slack_request_unreadable error=%s", type(exc).__name__)
            return JSONResponse({"error": "malformed request"}, status_code=400)
        if bolt_response.status >= 500:
            # bolt answers 500 when its own matching trips over a payload it cannot read
            # (our listeners answer their own failures): for Slack that is a bad request.
            log.warning("event=slack_request_unreadable status=%s", bolt_response.status)
            return JSONResponse({"error": "malformed request"}, status_code=400)
        return to_starlette_response(bolt_response)
