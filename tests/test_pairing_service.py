"""PairingService in-process, with the real scheduler, store and stand-ins (no mocks).

For what a subprocess cannot show: the scheduler's own state.
"""

from __future__ import annotations

import asyncio
from datetime import UTC

import httpx
from apscheduler.schedulers.asyncio import AsyncIOScheduler
from cryptography.fernet import Fernet

from bot.encryption import SecretBox
from bot.pairing import PairingService
from bot.slack.clients import SingleWorkspaceClients
from bot.store import Store, UserKey
from bot.zoom.api import ZoomAPI
from bot.zoom.oauth import OAuthClient


async def test_a_flow_that_lost_its_job_is_rescheduled_by_the_sweeper(tmp_path, zoom, slack):
    http = httpx.AsyncClient()
    scheduler = AsyncIOScheduler(timezone=UTC)
    service = PairingService(
        store=Store(tmp_path / "bot.db", SecretBox([Fernet.generate_key()])),
        oauth=OAuthClient(
            http,
            oauth_url=zoom.base_url,
            client_id=zoom.client_id,
            client_secret=zoom.client_secret,
        ),
        api_for=lambda _: ZoomAPI(http, f"{zoom.base_url}/v2"),
        slack=SingleWorkspaceClients(slack.bot_token, slack.api_url),
        scheduler=scheduler,
        sweep_seconds=1,
    )
    scheduler.start()
    try:
        service.resume_all()
        await service.start(UserKey("T0TEAM", "U0ALICE"))
        code = zoom.latest_user_code
        [job] = [j for j in scheduler.get_jobs() if j.name == "pairing-poll"]
        job.remove()  # as APScheduler does when it drops a job it could not run
        await asyncio.sleep(3.5)
        assert len(zoom.polls(code)) >= 1, "the sweeper did not bring the flow back"
        assert [j.name for j in scheduler.get_jobs()].count("pairing-poll") == 1
    finally:
        scheduler.shutdown(wait=False)
        await service.close()
        await http.aclose()
