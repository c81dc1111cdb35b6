"""What the bot tells a person when something did not go as asked: one plain sentence each.

Every sentence says what happened and what to do next; none carries a token or a code.
"""

from __future__ import annotations

import math

from bot.zoom.errors import (
    MissingScope,
    OAuthError,
    ZoomError,
    ZoomProtocolError,
    ZoomRateLimited,
    ZoomUnavailable,
)

HELP = """*Zoom for Slack*: link your Zoom account once, then start meetings from any channel.
• `/zoom pair` — link your Zoom account (I DM you a code to approve in Zoom)
• `/zoom help` — show this list"""

BUG = "Something went wrong on my side and nothing was changed. Please try again in a minute."


def _wait(seconds: float | None) -> str:
    if seconds is None or seconds <= 60:
        return "in a minute"
    minutes = math.ceil(seconds / 60)
    if minutes < 90:
        return f"in {minutes} minutes"
    return f"in about {math.ceil(minutes / 60)} hours"


def zoom_problem(exc: ZoomError, doing: str, retry: str) -> str:
    """Explain a failed Zoom call; `doing` completes "I couldn't ...", `retry` is the command."""
    if isinstance(exc, ZoomRateLimited):
        return (
            f"Zoom is limiting how often it can be asked, so I couldn't {doing}. "
            f"Try `{retry}` again {_wait(exc.retry_after)}."
        )
    if isinstance(exc, ZoomUnavailable):
        return f"Zoom isn't answering right now, so I couldn't {doing}. Try `{retry}` again soon."
    if isinstance(exc, ZoomProtocolError):
        return (
            f"Zoom sent an answer I couldn't read, so I couldn't {doing}. Try `{retry}` again soon."
        )
    if isinstance(exc, MissingScope):
        scopes = ", ".join(f"`{scope}`" for scope in exc.scopes) or "a scope it needs"
        return (
            f"The Zoom app is missing the scope {scopes}, so I couldn't {doing}. "
            "Ask your Zoom admin to add it to the app, then run `/zoom pair` again."
        )
    if isinstance(exc, OAuthError) and exc.error == "invalid_client":
        return (
            f"Zoom refused this bot's app credentials, so I couldn't {doing}. "
            "Ask your Slack admin to check ZOOM_CLIENT_ID and ZOOM_CLIENT_SECRET."
        )
    if isinstance(exc, OAuthError):
        return (
            f"Zoom refused the request ({exc.error}), so I couldn't {doing}. "
            "Ask your Slack admin to check that the Zoom app has the device grant enabled."
        )
    return f"Zoom refused the request, so I couldn't {doing}. Try `{retry}` again soon."


def dm_failed(error: str) -> str:
    return (
        f"I couldn't send you a direct message (Slack said `{error}`), so pairing did not start. "
        "Ask your Slack admin to let the Zoom app message you, then run `/zoom pair` again."
    )


def pairing_started(already_paired_as: str | None) -> str:
    if already_paired_as is None:
        return "I've sent you a Zoom code in a direct message: check your DMs."
    return (
        f"You're already paired with Zoom as {already_paired_as or 'a Zoom account'}. "
        "I've sent you a new code in a direct message: your current link keeps working "
        "until you approve it."
    )
