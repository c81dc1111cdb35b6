"""Pairing a Slack user with their Zoom account: the device flow from `/zoom pair` to tokens.

Joins the Zoom device-flow client, the store, the scheduler and the Slack DM. Each pending flow
is one row in the store and one one-shot scheduler job that polls once and schedules the next
poll, so thousands of flows cost one timer each and survive a restart through the store.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
import secrets
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

from apscheduler.jobstores.base import JobLookupError
from apscheduler.schedulers.asyncio import AsyncIOScheduler
from apscheduler.triggers.date import DateTrigger

from bot.keyed_lock import KeyedLock
from bot.logs import bind
from bot.pairing_limits import LimitExceeded, PairingLimits
from bot.slack import pairing_dm, replies
from bot.slack.clients import SlackClients
from bot.slack.pairing_dm import CodeMessage, DeadReason, PairingCode
from bot.store import PendingFlow, Store, UserKey, new_pairing
from bot.zoom.api import ZoomAPI, read_profile
from bot.zoom.device_flow import (
    SLOW_DOWN_STEP,
    DeviceAuthorization,
    PollStatus,
    poll_token,
    request_device_code,
)
from bot.zoom.errors import ZoomError, ZoomProtocolError, ZoomRateLimited, ZoomUnavailable
from bot.zoom.oauth import OAuthClient, TokenSet

log = logging.getLogger(__name__)

#: Polls are spread by up to this fraction of the interval, never earlier than the interval.
POLL_JITTER = 0.05
#: Longest back-off between polls while Zoom is failing, unless Zoom asks for longer.
MAX_BACKOFF = 120.0
#: Revocations in flight at once when a whole workspace is forgotten.
REVOKE_CONCURRENCY = 8
#: Token polls in flight at once. Past this they wait their turn here, cheaply, instead of in
#: httpx's connection pool, whose bookkeeping grows with the queue and starves the event loop.
MAX_CONCURRENT_POLLS = 64
#: How often every stored flow is checked for a scheduled poll (a safety net, see _sweep).
SWEEP_SECONDS = 30

OUTCOME_REASONS = {
    PollStatus.DENIED: DeadReason.DENIED,
    PollStatus.EXPIRED: DeadReason.EXPIRED,
    PollStatus.FAILED: DeadReason.FAILED,
}


class DirectMessageFailed(Exception):
    """Slack would not let the bot DM the user; `error` is Slack's error code."""

    def __init__(self, error: str) -> None:
        super().__init__(error)
        self.error = error


@dataclass(frozen=True)
class Unpaired:
    """What `unpair` removed: `email` of the unlinked account, whether Zoom confirmed revoking."""

    had_pairing: bool
    email: str = ""
    revoked: bool = False
    cancelled_flow: bool = False


class PairingLimited(Exception):
    """A pairing limit refused `/zoom pair`; `exceeded` says which and for how long."""

    def __init__(self, exceeded: LimitExceeded) -> None:
        super().__init__(exceeded.kind)
        self.exceeded = exceeded


class PairingService:
    def __init__(
        self,
        *,
        store: Store,
        oauth: OAuthClient,
        api_for: Callable[[str | None], ZoomAPI],
        slack: SlackClients,
        scheduler: AsyncIOScheduler,
        limits: PairingLimits | None = None,
        locks: KeyedLock | None = None,
        poll_oauth: Sequence[OAuthClient] = (),
        sweep_seconds: float = SWEEP_SECONDS,
    ) -> None:
        self.store = store
        self.limits = limits
        self.sweep_seconds = sweep_seconds
        self.oauth = oauth
        #: Clients that polls are spread over (by flow): httpx's pool does work per request
        #: that grows with its number of connections, so several small pools beat one big one.
        self.poll_oauth = list(poll_oauth) or [oauth]
        self.api_for = api_for
        self.slack = slack
        self.scheduler = scheduler
        #: One lock per user for every change to their tokens, shared with TokenKeeper.
        self._locks = locks or KeyedLock()
        #: Current back-off delay per flow while Zoom is failing; reset by any real answer.
        self._backoff: dict[str, float] = {}
        self._poll_slots = asyncio.Semaphore(MAX_CONCURRENT_POLLS)
        #: Poll jobs running now, by flow id, so shutdown can cancel them cleanly.
        self._running: dict[str, asyncio.Task[None]] = {}
        #: Flows the last sweep found without a job (see _sweep).
        self._suspects: set[str] = set()

    async def start(self, key: UserKey, response_url: str = "") -> CodeMessage:
        """Start a new flow for the user, replacing any pending one, and DM them the code.

        When Slack refuses the DM, the code goes out as an ephemeral answer on `response_url`
        instead. Raises ZoomError when Zoom will not hand out a code, DirectMessageFailed when
        the code reached the user by neither way (the flow is then abandoned).
        """
        previous: PendingFlow | None = None
        try:
            async with self._locks.hold(key):
                exceeded = self.check_limits(key)
                if exceeded is not None:
                    raise PairingLimited(exceeded)
                authorization = await request_device_code(self.oauth)
                if self.limits is not None:
                    self.limits.record(key)  # only codes Zoom handed out count against the limits
                flow = new_flow(key, authorization, response_url)
                previous = self.store.get_flow(key)
                self.store.save_flow(flow)  # replaces the previous flow's row: one live flow
                if previous is not None:
                    self._unschedule(previous)
                    log.info("event=pairing_replaced team=%s user=%s", key.team_id, key.user_id)
                message = await self._deliver_code(flow)
                self.store.update_flow(
                    flow, dm_channel=message.channel, dm_ts=message.ts, qr_file_id=message.file_id
                )
                self._schedule(flow, flow.interval)
                log.info(
                    "event=pairing_started team=%s user=%s interval=%s expires_in=%d",
                    key.team_id,
                    key.user_id,
                    flow.interval,
                    flow.expires_at - flow.created_at,
                )
        finally:
            # Even when the new code could not be delivered, the old one is dead now.
            if previous is not None:
                await self._tell_dead(previous, DeadReason.REPLACED)
        return message

    async def _deliver_code(self, flow: PendingFlow) -> CodeMessage:
        code = PairingCode(
            user_code=flow.user_code,
            verification_uri=flow.verification_uri,
            verification_uri_complete=flow.verification_uri_complete,
            expires_at=flow.expires_at,
        )
        try:
            client = await self.slack.for_team(flow.key.team_id, flow.key.enterprise_id)
            return await pairing_dm.send_code(client, flow.key.user_id, code)
        except Exception as exc:  # Slack errors, network errors, an uninstalled workspace
            error = pairing_dm.slack_error(exc)
            log.warning("event=dm_failed user=%s error=%s", flow.key.user_id, error)
        if flow.response_url:
            try:
                return await pairing_dm.send_code_ephemeral(flow.response_url, code)
            except Exception as exc:
                log.warning("event=ephemeral_failed error=%s", pairing_dm.slack_error(exc))
        self.store.delete_flow(flow)
        raise DirectMessageFailed(error)

    def resume_all(self) -> int:
        """Reschedule every flow in the store, as after a restart, and start the sweeper."""
        flows = self.store.pending_flow_schedule()
        for key, flow_id, interval, expires_at in flows:
            # The last poll happened before this process started, so a full interval from
            # now keeps the spacing; spreading first polls over a second interval keeps
            # thousands of resumed flows from all polling in the same instant.
            delay = interval * (1 + random.random())  # noqa: S311
            self._schedule_poll(key, flow_id, expires_at, delay)
        if flows:
            log.info("event=pairings_resumed count=%d", len(flows))
        self.scheduler.add_job(
            self._sweep,
            trigger="interval",
            seconds=self.sweep_seconds,
            id="pairing-sweep",
            replace_existing=True,
            coalesce=True,
            max_instances=1,
        )
        return len(flows)

    async def close(self, grace: float = 5.0) -> None:
        """At shutdown, let polls in flight finish (a granted code must reach the store), then
        cancel what is left: those flows resume from the store after the restart."""
        tasks = list(self._running.values())
        if tasks:
            await asyncio.wait(tasks, timeout=grace)
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)

    async def _sweep(self) -> None:
        """Reschedule any stored flow that has had no poll job for two sweeps in a row.

        Nothing should ever lose its job, but a flow without one would wait silently until its
        code expired unseen. Two sweeps, because a poll that is about to start has no job for
        a moment. Cheap: nothing is decrypted.
        """
        suspects = set()
        for key, flow_id, interval, expires_at in self.store.pending_flow_schedule():
            if flow_id in self._running or self.scheduler.get_job(_job_id_of(flow_id)):
                continue
            if flow_id not in self._suspects:
                suspects.add(flow_id)
                continue
            log.warning("event=poll_rescheduled user=%s", key.user_id)
            self._schedule_poll(key, flow_id, expires_at, interval)
        self._suspects = suspects

    def check_limits(self, key: UserKey) -> LimitExceeded | None:
        """Whether a new pairing for the user would exceed a limit (nothing is recorded)."""
        if self.limits is None:
            return None
        pending = self.store.count_flows_of_workspace(key.team_id, key.enterprise_id)
        if self.store.get_flow(key) is not None:
            pending -= 1  # a new code replaces the user's own pending one
        return self.limits.check(key, pending)

    def pending(self, key: UserKey) -> PendingFlow | None:
        return self.store.get_flow(key)

    async def unpair(self, key: UserKey) -> Unpaired:
        """Revoke at Zoom, delete the tokens and cancel a pending flow.

        The local data goes even when Zoom cannot be reached: the person asked for it to go.
        """
        async with self._locks.hold(key):
            flow = self.store.get_flow(key)
            cancelled = flow is not None and self.store.delete_flow(flow)
            if flow is not None and cancelled:
                self._unschedule(flow)
            pairing = self.store.get_pairing(key)
            if pairing is not None:
                revoked = await self._revoke_quietly(pairing.refresh_token)
                self.store.delete_pairing(key)
                log.info(
                    "event=unpaired team=%s user=%s revoked=%s", key.team_id, key.user_id, revoked
                )
        if flow is not None and cancelled:
            await self._tell_dead(flow, DeadReason.CANCELLED)
        if pairing is None:
            return Unpaired(had_pairing=False, cancelled_flow=cancelled)
        return Unpaired(
            had_pairing=True, email=pairing.zoom_email, revoked=revoked, cancelled_flow=cancelled
        )

    async def forget_workspace(self, team_id: str, enterprise_id: str = "") -> int:
        """The Slack app left a workspace: end its flows, revoke and delete its pairings."""
        for flow in self.store.flows_of_workspace(team_id, enterprise_id):
            self._unschedule(flow)
            self.store.delete_flow(flow)
        pairings = self.store.pairings_of_workspace(team_id, enterprise_id)
        limit = asyncio.Semaphore(REVOKE_CONCURRENCY)

        async def forget(key: UserKey) -> None:
            async with limit, self._locks.hold(key):
                pairing = self.store.get_pairing(key)  # as it is now, after any refresh
                if pairing is not None:
                    await self._revoke_quietly(pairing.refresh_token)
                    self.store.delete_pairing(key)

        await asyncio.gather(*(forget(p.key) for p in pairings))
        log.info("event=workspace_forgotten team=%s pairings=%d", team_id, len(pairings))
        return len(pairings)

    async def forget_zoom_user(self, zoom_user_id: str) -> list[UserKey]:
        """Zoom says the user removed the app: delete their pairings and tell each Slack user."""
        forgotten = [
            pairing
            for pairing in self.store.pairings_of_zoom_user(zoom_user_id)
            if self.store.delete_pairing(pairing.key, generation=pairing.generation)
        ]
        log.info("event=zoom_user_deauthorized pairings=%d", len(forgotten))
        for pairing in forgotten:
            key = pairing.key
            try:
                client = await self.slack.for_team(key.team_id, key.enterprise_id)
                await client.chat_postMessage(
                    channel=key.user_id, text=replies.zoom_app_removed(pairing.zoom_email)
                )
            except Exception as exc:  # one person we cannot reach must not stop the others
                log.warning("event=notify_failed user=%s error=%s", key.user_id, type(exc).__name__)
        return [pairing.key for pairing in forgotten]

    # Polling

    def _schedule(self, flow: PendingFlow, delay: float) -> None:
        self._schedule_poll(flow.key, flow.flow_id, flow.expires_at, delay)

    def _schedule_poll(self, key: UserKey, flow_id: str, expires_at: float, delay: float) -> None:
        delay = delay * (1 + random.uniform(0, POLL_JITTER))  # noqa: S311 - spreading load
        run_at = min(time.time() + delay, expires_at)
        self.scheduler.add_job(
            self._poll,
            trigger=DateTrigger(run_date=datetime.fromtimestamp(run_at, UTC)),
            args=[key.pk(), flow_id],
            id=_job_id_of(flow_id),
            name="pairing-poll",
            replace_existing=True,
            misfire_grace_time=None,
            coalesce=True,
            # A poll schedules its successor just before it returns. If the event loop is
            # busy, the successor can fall due before APScheduler has seen the first one
            # finish; with the default of one instance it would then drop the successor
            # for good, and the flow would stop polling.
            max_instances=3,
        )

    def _unschedule(self, flow: PendingFlow) -> None:
        self._backoff.pop(flow.flow_id, None)
        with contextlib.suppress(JobLookupError):
            self.scheduler.remove_job(_job_id_of(flow.flow_id))

    async def _poll(self, pk: tuple[str, str, str], flow_id: str) -> None:
        key = UserKey(team_id=pk[1], user_id=pk[2], enterprise_id=pk[0])
        bind(request_id=f"poll-{flow_id}", team=key.team_id, user=key.user_id)
        flow = self.store.get_flow(key)
        if flow is None or flow.flow_id != flow_id:
            return  # replaced or finished while this job waited
        task = asyncio.current_task()
        if task is not None:
            self._running[flow_id] = task
        try:
            await self._poll_once(flow)
        except asyncio.CancelledError:
            # Only close() cancels a poll, at shutdown: the flow resumes from the store.
            return
        except Exception:
            # Never let a bug end a flow silently: log without secrets and keep polling.
            log.exception("event=poll_crashed team=%s user=%s", key.team_id, key.user_id)
            if self.store.get_flow(key) is not None:
                self._back_off(flow, None)
        finally:
            self._running.pop(flow_id, None)

    async def _poll_once(self, flow: PendingFlow) -> None:
        if time.time() >= flow.expires_at:
            await self._finish_dead(flow, DeadReason.EXPIRED)
            return
        try:
            oauth = self.poll_oauth[hash(flow.flow_id) % len(self.poll_oauth)]
            async with self._poll_slots:
                outcome = await poll_token(oauth, flow.device_code)
        except ZoomRateLimited as exc:
            self._back_off(flow, exc.retry_after)
            return
        except ZoomUnavailable as exc:
            log.info("event=poll_transient_error code=%s user=%s", exc.code, flow.key.user_id)
            self._back_off(flow, None)
            return
        except ZoomProtocolError:
            # Possibly a mangled success: polling again could revoke the grant, so stop.
            await self._finish_dead(flow, DeadReason.UNREADABLE)
            return
        self._backoff.pop(flow.flow_id, None)
        if outcome.status is PollStatus.PENDING:
            self._schedule(flow, flow.interval)
        elif outcome.status is PollStatus.SLOW_DOWN:
            self.store.update_flow(flow, interval=flow.interval + SLOW_DOWN_STEP)
            log.info("event=poll_slow_down user=%s interval=%d", flow.key.user_id, flow.interval)
            self._schedule(flow, flow.interval)
        elif outcome.tokens is not None:
            await self._finish_paired(flow, outcome.tokens)
        else:
            log.info("event=pairing_ended user=%s outcome=%s", flow.key.user_id, outcome.error)
            await self._finish_dead(flow, OUTCOME_REASONS.get(outcome.status, DeadReason.FAILED))

    def _back_off(self, flow: PendingFlow, retry_after: float | None) -> None:
        """Double the wait on each consecutive failure, honour Zoom's wish, keep the floor."""
        previous = self._backoff.get(flow.flow_id, float(flow.interval))
        delay = max(float(flow.interval), min(previous * 2, MAX_BACKOFF), retry_after or 0.0)
        self._backoff[flow.flow_id] = delay
        self._schedule(flow, delay)

    # Endings

    async def _finish_paired(self, flow: PendingFlow, tokens: TokenSet) -> None:
        """Commit the tokens first, before anything that can wait or fail: Zoom grants them
        once, and the device code must never be polled again."""
        previous = self.store.get_pairing(flow.key)
        pairing = new_pairing(
            flow.key,
            zoom_user_id="",
            zoom_account_id="",
            zoom_email="",
            zoom_name="",
            access_token=tokens.access_token,
            refresh_token=tokens.refresh_token,
            expires_at=tokens.expires_at,
            scopes=" ".join(tokens.scopes),
            api_url=tokens.api_url or "",
        )
        if not self.store.complete_pairing(flow, pairing):
            # A newer /zoom pair replaced this flow while Zoom answered: these tokens are
            # unwanted, and leaving them live would only confuse the user's Zoom account.
            await self._revoke_quietly(tokens.refresh_token)
            return
        self._backoff.pop(flow.flow_id, None)
        profile = await read_profile(self.api_for(tokens.api_url), tokens.access_token)
        if profile is not None:
            self.store.update_profile(flow.key, profile)
            if previous is not None and previous.zoom_user_id not in ("", profile.id):
                # Re-paired with another Zoom account: the old one's grant is now unused.
                await self._revoke_quietly(previous.refresh_token)
        log.info(
            "event=pairing_completed team=%s user=%s zoom_user=%s",
            flow.key.team_id,
            flow.key.user_id,
            profile.id if profile else "unknown",
        )
        await self._notify(
            flow, pairing_dm.show_paired, _message_of(flow), profile.email if profile else ""
        )

    async def _finish_dead(self, flow: PendingFlow, reason: DeadReason) -> None:
        if not self.store.delete_flow(flow):
            return
        self._unschedule(flow)
        log.info(
            "event=pairing_failed team=%s user=%s reason=%s",
            flow.key.team_id,
            flow.key.user_id,
            reason.name.lower(),
        )
        await self._tell_dead(flow, reason)

    async def _tell_dead(self, flow: PendingFlow, reason: DeadReason) -> None:
        await self._notify(flow, pairing_dm.show_dead, _message_of(flow), flow.user_code, reason)

    async def _notify(
        self, flow: PendingFlow, show: Callable[..., Awaitable[None]], *args: object
    ) -> None:
        """Update the person's code message; best effort, after the state change it reports."""
        try:
            client = await self.slack.for_team(flow.key.team_id, flow.key.enterprise_id)
            await show(client, *args)
        except Exception as exc:
            log.warning("event=notify_failed error=%s", pairing_dm.slack_error(exc))

    async def _revoke_quietly(self, token: str) -> bool:
        try:
            await self.oauth.revoke(token)
        except ZoomError as exc:
            log.warning("event=revoke_failed code=%s", exc.code)
            return False
        return True


def new_flow(
    key: UserKey, authorization: DeviceAuthorization, response_url: str = ""
) -> PendingFlow:
    """A pending flow for a device code Zoom just handed out."""
    return PendingFlow(
        key=key,
        flow_id=secrets.token_hex(8),
        device_code=authorization.device_code,
        user_code=authorization.user_code,
        verification_uri=authorization.verification_uri,
        verification_uri_complete=authorization.verification_uri_complete,
        interval=authorization.interval,
        expires_at=authorization.expires_at,
        created_at=time.time(),
        response_url=response_url,
    )


def _job_id_of(flow_id: str) -> str:
    return f"pairing-poll:{flow_id}"


def _message_of(flow: PendingFlow) -> CodeMessage:
    return CodeMessage(
        channel=flow.dm_channel,
        ts=flow.dm_ts,
        file_id=flow.qr_file_id,
        response_url=flow.response_url,
    )
