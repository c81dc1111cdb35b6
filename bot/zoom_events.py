"""Zoom's webhooks at POST /zoom/events: verified, answered at once, acted on afterwards.

Zoom wants an answer within 3 seconds, so the work an event causes (deleting pairings, telling
people in Slack) runs as a background task after the 200.
"""

from __future__ import annotations

import logging

from starlette.background import BackgroundTask
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from bot.pairing import PairingService
from bot.zoom.webhooks import (
    APP_DEAUTHORIZED,
    URL_VALIDATION,
    WebhookRejected,
    WebhookVerifier,
    parse_deauthorization,
    parse_url_validation,
)

log = logging.getLogger(__name__)

#: Zoom sends small JSON events; anything bigger is not one of them.
MAX_BODY = 64 * 1024


class ZoomEventsEndpoint:
    def __init__(self, verifier: WebhookVerifier, pairing: PairingService) -> None:
        self.verifier = verifier
        self.pairing = pairing

    async def _deauthorize(self, zoom_user_id: str) -> None:
        """After the 200 has gone: log failures here, there is no request left to fail."""
        try:
            await self.pairing.forget_zoom_user(zoom_user_id)
        except Exception:
            log.exception("event=deauthorization_failed")

    async def __call__(self, request: Request) -> Response:
        body = await request.body()
        if len(body) > MAX_BODY:
            return JSONResponse({"error": "body too large"}, status_code=413)
        try:
            event = self.verifier.verify(request.headers, body)
            name = event["event"]
            if name == URL_VALIDATION:
                return JSONResponse(
                    self.verifier.url_validation_answer(parse_url_validation(event))
                )
            if name == APP_DEAUTHORIZED:
                deauthorization = parse_deauthorization(event)
                return JSONResponse(
                    {"status": "accepted"},
                    background=BackgroundTask(self._deauthorize, deauthorization.user_id),
                )
        except WebhookRejected as exc:
            log.warning("event=zoom_webhook_rejected reason=%s", exc.reason.replace(" ", "_"))
            return JSONResponse({"error": exc.reason}, status_code=exc.status)
        log.info("event=zoom_webhook_ignored name=%s", name)
        return JSONResponse({"status": "ignored"})
