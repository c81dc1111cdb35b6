"""What the bot tells a person when something did not go as asked: one plain sentence each.

Every sentence says what happened and what to do next; none carries a token or a code.
"""

from __future__ import annotations

import math

from bot.pairing_limits import LimitExceeded
from bot.zoom.errors import (
    MissingScope,
    OAuthError,
    ZoomError,
    ZoomProtocolError,
    ZoomRateLimited,
    ZoomUnavailable,
)

HELP = """*Zoom for Slack*: link your Zoom account once, then start meetings from any channel.
• `/zoom meet [topic]` — start a meeting here, e.g. `/zoom meet standup` (`/zoom` alone does too)
• `/zoom pair` — link your Zoom account: I DM you a code to approve in Zoom
• `/zoom status` — which Zoom account is linked, e.g. `/zoom status`
• `/zoom unpair` — unlink it and revoke the bot's access, e.g. `/zoom unpair` (or `/zoom logout`)
• `/zoom help` — show this list"""

PAIRING_EXPIRED = (
    "Zoom no longer accepts this bot's access to your account (it was revoked or expired), so "
    "I removed the link. Run `/zoom pair` to link your Zoom account again."
)

UNREADABLE_REQUEST = (
    "I couldn't tell who sent this or where to answer, so I did nothing. Please try again."
)

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


def channel_post_failed(join_url: str) -> str:
    return (
        "Your meeting started, but Slack would not let me post it in this channel. "
        f"Share the join link yourself: {join_url}"
    )


def unknown_subcommand(word: str) -> str:
    return f"I don't know `/zoom {word}`.\n{HELP}"


def unpaired(email: str, revoked: bool) -> str:
    account = f"*{email}*" if email else "your Zoom account"
    if revoked:
        return f"Unpaired: {account} is no longer linked, and the bot's access was revoked at Zoom."
    return (
        f"Unpaired: {account} is no longer linked and its tokens are deleted here, but Zoom "
        "could not confirm the revocation. To be sure, remove the app in Zoom under "
        "App Marketplace > Manage > Added Apps."
    )


def zoom_app_removed(email: str) -> str:
    account = f"*{email}*" if email else "your Zoom account"
    return (
        f"The Zoom app was removed from {account} in Zoom, so I deleted its link here. "
        "Run `/zoom pair` if you want to link it again."
    )


NOTHING_TO_UNPAIR = "You have no Zoom account linked, so there is nothing to unpair."


def pairing_limited(exceeded: LimitExceeded) -> str:
    if exceeded.kind == "user":
        return (
            f"You've asked for {exceeded.limit} pairing codes in a short time, so I won't start "
            f"another yet. Try `/zoom pair` again {_wait(exceeded.retry_after)}."
        )
    if exceeded.kind == "workspace":
        return (
            "This workspace has started a lot of Zoom pairings in a short time, so I won't "
            f"start another yet. Try `/zoom pair` again {_wait(exceeded.retry_after)}."
        )
    return (
        f"{exceeded.limit} Zoom pairings are already waiting for approval in this workspace, "
        "so I can't start another until some finish. Try `/zoom pair` again in a few minutes."
    )


def dm_failed(error: str) -> str:
    return (
        f"I couldn't send you a direct message (Slack said `{error}`), so pairing did not start. "
        "Ask your Slack admin to let the Zoom app message you, then run `/zoom pair` again."
    )


def pairing_started(already_paired_as: str | None) -> str:
    if already_paired_as is None:
        return "I'm sending you a Zoom code in a direct message: check your DMs in a moment."
    return (
        f"You're already paired with Zoom as {already_paired_as or 'a Zoom account'}. "
        "I'm sending you a new code in a direct message (check your DMs): your current link "
        "keeps working until you approve it."
    )
