"""Slack listeners grouped by kind; each module registers its own handlers on the app."""

from __future__ import annotations

from slack_bolt.async_app import AsyncApp

from bot.services import Services
from bot.slack.listeners import actions, commands, errors, events


def register(app: AsyncApp, services: Services) -> None:
    commands.register(app, services)
    actions.register(app, services)
    events.register(app, services)
    errors.register(app, services)
