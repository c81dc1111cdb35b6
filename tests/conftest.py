"""Fixtures that stand up the real parts: the Zoom and Slack stand-ins and the bot process.

The bot runs as `python -m bot` in a subprocess, exactly as deployed, with a real SQLite file;
the stand-ins are real HTTP servers on loopback threads of the test process, so tests can read
their records and drive them (approve a code, inject a fault) directly.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from bot.emulator.background import BackgroundServer
from bot.emulator.slack import SlackEmulator
from bot.emulator.zoom import ZoomEmulator
from tests.harness import BotProcess

SIGNING_SECRET = "test-signing-secret"


@pytest.fixture
def zoom_options() -> dict[str, object]:
    """Override in a test module (or parametrize) to change the Zoom stand-in's behaviour."""
    return {"interval": 1}


@pytest.fixture
def zoom(zoom_options: dict[str, object]) -> Iterator[ZoomEmulator]:
    emulator = ZoomEmulator(**zoom_options)  # type: ignore[arg-type]
    with BackgroundServer(emulator.app) as server:
        emulator.base_url = server.url
        yield emulator


@pytest.fixture
def slack() -> Iterator[SlackEmulator]:
    emulator = SlackEmulator()
    with BackgroundServer(emulator.app) as server:
        emulator.base_url = server.url
        yield emulator


@pytest.fixture
def start_bot(
    tmp_path: Path, zoom: ZoomEmulator, slack: SlackEmulator
) -> Iterator[Callable[..., BotProcess]]:
    """Start a bot with extra environment (`start_bot(ZOOM_TIMEOUT="1")`); stopped at the end."""
    started: list[BotProcess] = []

    def start(*, team_id: str = "T0TEAM", **env: str) -> BotProcess:
        process = BotProcess(
            tmp_path,
            zoom=zoom,
            slack=slack,
            signing_secret=SIGNING_SECRET,
            team_id=team_id,
            extra_env=env,
        )
        started.append(process)
        process.start()
        return process

    yield start
    for process in started:
        process.stop()


@pytest.fixture
def bot(start_bot: Callable[..., BotProcess]) -> BotProcess:
    return start_bot()


@pytest.fixture
def paired(bot: BotProcess, zoom: ZoomEmulator, slack: SlackEmulator) -> BotProcess:
    """The bot with U0ALICE already paired to the stand-in's default Zoom user."""
    pair_user(bot, zoom, slack, "U0ALICE")
    return bot


def pair_user(
    bot: BotProcess, zoom: ZoomEmulator, slack: SlackEmulator, user_id: str, user=None
) -> None:
    from tests.harness import wait_for

    before = len(zoom.requests_to("/oauth/devicecode"))
    bot.command("pair", user_id=user_id)
    wait_for(lambda: len(zoom.requests_to("/oauth/devicecode")) > before, what="a device code")
    code = zoom.requests_to("/oauth/devicecode")[-1].user_code
    zoom.approve(code, user)
    wait_for(
        lambda: any(
            "Paired with Zoom" in str(m.get("text"))
            for m in slack.messages(slack.dm_channel(user_id))
        ),
        what="the paired DM",
    )
