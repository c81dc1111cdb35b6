"""Keeps each user's Zoom access token alive, with one refresh at a time per user.

Zoom rotates refresh tokens: every refresh kills the old one. Two refreshes racing for one user
would leave one of them holding a dead token, so refreshes for a user are serialised, the new
pair replaces the old in one transaction before anyone uses it, and a refused refresh re-reads
the store before it declares the pairing dead.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Awaitable, Callable
from typing import TypeVar

from bot.keyed_lock import KeyedLock
from bot.store import Pairing, Store, UserKey
from bot.zoom.api import ZoomAPI, read_profile
from bot.zoom.errors import InvalidAccessToken, OAuthError, ZoomError
from bot.zoom.oauth import OAuthClient

log = logging.getLogger(__name__)

T = TypeVar("T")

#: Refresh this long before Zoom's expiry, so a token never dies mid-request.
REFRESH_MARGIN = 300.0
#: OAuth errors on refresh that mean the grant is gone and only a new pairing helps.
GRANT_GONE = frozenset({"invalid_grant", "invalid_token", "access_denied"})


class NotPaired(Exception):
    """The user has no Zoom account linked."""


class PairingExpired(Exception):
    """Zoom refused the user's refresh token: the pairing was deleted; they must pair again."""


class TokenKeeper:
    def __init__(
        self,
        store: Store,
        oauth: OAuthClient,
        api_for: Callable[[str | None], ZoomAPI],
        locks: KeyedLock | None = None,
    ) -> None:
        self.store = store
        self.oauth = oauth
        self.api_for = api_for
        #: Shared with PairingService, so a refresh never interleaves with an unpair.
        self._locks = locks or KeyedLock()

    async def call(self, key: UserKey, operation: Callable[[ZoomAPI, str], Awaitable[T]]) -> T:
        """Run `operation(api, access_token)` with a live token for the user.

        A token Zoom calls invalid although it should still be valid (code 124) is refreshed
        once and the operation retried once.
        """
        pairing = await self.fresh(key)
        if not pairing.zoom_user_id:
            await self._fill_profile(pairing)
        try:
            return await operation(self.api_for(pairing.api_url or None), pairing.access_token)
        except InvalidAccessToken:
            log.info("event=access_token_refused user=%s code=124", key.user_id)
            pairing = await self.refresh(key, pairing.access_token)
            return await operation(self.api_for(pairing.api_url or None), pairing.access_token)

    async def fresh(self, key: UserKey) -> Pairing:
        """The user's pairing with an access token good for at least REFRESH_MARGIN."""
        pairing = self.store.get_pairing(key)
        if pairing is None:
            raise NotPaired
        if pairing.expires_at - REFRESH_MARGIN > time.time():
            return pairing
        return await self.refresh(key, pairing.access_token)

    async def refresh(self, key: UserKey, stale_access_token: str) -> Pairing:
        """Replace `stale_access_token`, unless a concurrent caller already did."""
        async with self._locks.hold(key):
            pairing = self.store.get_pairing(key)
            if pairing is None:
                raise NotPaired
            if pairing.access_token != stale_access_token:
                return pairing  # refreshed by whoever held the lock before us
            try:
                tokens = await self.oauth.refresh(pairing.refresh_token)
            except OAuthError as exc:
                if exc.error not in GRANT_GONE:
                    raise
                return self._refused(key, pairing, exc)
            updated = self.store.replace_tokens(
                pairing,
                access_token=tokens.access_token,
                refresh_token=tokens.refresh_token,
                expires_at=tokens.expires_at,
                scopes=" ".join(tokens.scopes),
                api_url=tokens.api_url or pairing.api_url,
            )
            if updated is None:
                # The pairing was replaced while Zoom answered (a new /zoom pair completed):
                # the stored state wins, and these tokens go unused, so revoke them.
                await self._revoke_quietly(tokens.refresh_token)
                current = self.store.get_pairing(key)
                if current is None:
                    raise NotPaired
                return current
            log.info("event=tokens_refreshed team=%s user=%s", key.team_id, key.user_id)
            return updated

    async def _fill_profile(self, pairing: Pairing) -> None:
        """The pairing was stored before Zoom said whose it is (Zoom was failing): ask now."""
        profile = await read_profile(
            self.api_for(pairing.api_url or None), pairing.access_token, attempts=1
        )
        if profile is not None:
            self.store.update_profile(pairing.key, profile)

    async def _revoke_quietly(self, token: str) -> None:
        try:
            await self.oauth.revoke(token)
        except ZoomError as exc:
            log.warning("event=revoke_failed code=%s", exc.code)

    def _refused(self, key: UserKey, pairing: Pairing, exc: OAuthError) -> Pairing:
        current = self.store.get_pairing(key)
        if current is not None and current.generation != pairing.generation:
            return current  # rotated by someone else meanwhile: theirs is the live pair
        self.store.delete_pairing(key, generation=pairing.generation)
        log.warning(
            "event=pairing_expired team=%s user=%s code=%s", key.team_id, key.user_id, exc.error
        )
        raise PairingExpired from exc
