"""One way to send a request to Zoom: network failures become ZoomUnavailable, bodies are capped.

Zoom's answers are small JSON objects; a body past MAX_BODY is not one, and reading it whole
would let a broken proxy fill the bot's memory.
"""

from __future__ import annotations

from typing import Any

import httpx

from bot.zoom.errors import ZoomProtocolError, ZoomUnavailable

MAX_BODY = 1024 * 1024


async def send(http: httpx.AsyncClient, method: str, url: str, **kwargs: Any) -> httpx.Response:
    """Send and read the answer (at most MAX_BODY bytes); never raises an httpx error."""
    try:
        async with http.stream(method, url, **kwargs) as response:
            body = bytearray()
            async for chunk in response.aiter_bytes():
                body += chunk
                if len(body) > MAX_BODY:
                    raise ZoomProtocolError(f"Zoom answered with more than {MAX_BODY} bytes")
    except httpx.TimeoutException as exc:
        raise ZoomUnavailable("Zoom did not answer in time") from exc
    except httpx.HTTPError as exc:
        raise ZoomUnavailable(f"could not reach Zoom ({type(exc).__name__})") from exc
    return httpx.Response(
        response.status_code,
        headers=response.headers,
        content=bytes(body),
        request=response.request,
    )
