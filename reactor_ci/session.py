"""Hand out registry credentials that are fresh enough for the work about to start.

The rule (after the ECR credential helper): a registry token is refreshed when
less than half its lifetime, or less than a configurable minimum
(``REACTOR_CI_MIN_TOKEN_LIFETIME``, default 1 h), remains. A push must START
with ample life left: the Docker engine does not retry a 401 mid-push.

The cached path reads the file and returns: no lock, no httpx import. A
refresh is single-flight: under an inter-process file lock, re-read the file;
if another process refreshed while we waited, use its token instead of asking
again. When the API cannot give a new token (key revoked, API down) but the
current one still lives, keep using it with a warning: revocation stops new
tokens, not issued ones (reactor-api.md).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TYPE_CHECKING

from reactor_ci import fastread, settings
from reactor_ci.credentials import Credentials, CredentialsStore, LockTimeout
from reactor_ci.errors import AuthError, NetworkError
from reactor_ci.timeutil import from_epoch, human_duration

if TYPE_CHECKING:
    from reactor_ci.api import ReactorAPI
    from reactor_ci.keys import ApiKey

ENV_MIN_LIFETIME = settings.MIN_TOKEN_LIFETIME
DEFAULT_MIN_LIFETIME = settings.SPECS[ENV_MIN_LIFETIME][0]


def min_lifetime_from_env() -> float:
    """``REACTOR_CI_MIN_TOKEN_LIFETIME`` in seconds; exit 2 naming it when bad (see :mod:`settings`)."""
    return settings.get(ENV_MIN_LIFETIME)


class Session:
    def __init__(
        self,
        store: CredentialsStore | None = None,
        api: ReactorAPI | None = None,
        *,
        api_factory: Callable[[], ReactorAPI] | None = None,
        min_remaining: float | None = None,
        warn: Callable[[str], None] | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.store = store or CredentialsStore()
        self._api = api
        # Built on first use: the cached path must not pay for (or fail on) the API client.
        self._api_factory = api_factory
        self.min_remaining = min_lifetime_from_env() if min_remaining is None else min_remaining
        self._warn = warn or (lambda message: None)
        self.clock = clock

    @property
    def api(self) -> ReactorAPI:
        if self._api is None:
            if self._api_factory is not None:
                self._api = self._api_factory()
            else:
                from reactor_ci.api import ReactorAPI

                self._api = ReactorAPI()
        return self._api

    # -- the rule ------------------------------------------------------------------
    # The rule itself lives in reactor_ci.fastread (refresh_due), shared with both fast paths.
    def threshold(self, creds: Credentials, min_remaining: float | None = None) -> float:
        """Seconds left below which a refresh is due (for messages; the decision is refresh_due)."""
        minimum = self.min_remaining if min_remaining is None else min_remaining
        return max(creds.lifetime / 2, minimum)

    def needs_refresh(self, creds: Credentials, now: float | None = None, min_remaining: float | None = None) -> bool:
        now = self.clock() if now is None else now
        return creds.refresh_due(now, self.min_remaining if min_remaining is None else min_remaining)

    def state(self, creds: Credentials, now: float | None = None) -> str:
        now = self.clock() if now is None else now
        left = creds.seconds_left(now)
        return fastread.token_state(left, left > 0 and self.needs_refresh(creds, now))

    # -- login ---------------------------------------------------------------------
    def login(self, key: ApiKey) -> Credentials:
        """Validate the key, fetch registry credentials, store them (keeping unknown fields)."""
        from reactor_ci.api import registry_agreement

        existing = self.store.load_raw()  # refuses to go on over a damaged file
        partner = self.api.get_partner(key)
        token = self.api.create_registry_token(key)
        registry_agreement(partner, token)
        creds = Credentials(
            api_key=key.secret,
            partner_id=partner.partner_id,
            registry=partner.registry,
            registry_token=token.token,
            registry_token_expiry=token.expiry,
            username=token.username,
            issued_at=from_epoch(self.clock()),
        )
        creds.register_secrets()
        with self.store.lock():
            self.store.save(creds, keep=existing)
        return creds

    # -- fresh credentials ---------------------------------------------------------
    def current(self) -> Credentials:
        creds = self.store.load()
        if creds is None:
            raise AuthError(
                f"no Reactor credentials at {self.store.path}",
                "run `reactor-ci login` with REACTOR_API_KEY set to a partner key (rp_…) first.",
                code="no_credentials",
            )
        return creds

    def fresh(
        self,
        current: Credentials | None = None,
        *,
        min_remaining: float | None = None,
        force: bool = False,
        lock_timeout: float | None = None,
    ) -> Credentials:
        """Credentials fresh enough by the rule, refreshed (single-flight) if not.

        ``current``: the credentials the caller already loaded (not read again); by
        default the store's. ``lock_timeout``: how long to wait for another process's
        refresh. Past it (the holder may be stalled on a dead network), fall back to the
        current token while it lives, else fail with the lock named.
        """
        creds = self.current() if current is None else current
        if not force and not self.needs_refresh(creds, min_remaining=min_remaining):
            return creds
        try:
            return self._refresh(creds, min_remaining=min_remaining, lock_timeout=lock_timeout)
        except LockTimeout as exc:
            left = creds.seconds_left(self.clock())
            if left > 0:
                self._warn(
                    f"another process holds the refresh lock ({exc.message}); using the current token, "
                    f"valid for {human_duration(left)} more"
                )
                return creds
            raise

    def _refresh(self, stale: Credentials, *, min_remaining: float | None, lock_timeout: float | None) -> Credentials:
        waited_since = self.clock()
        with self.store.lock(lock_timeout):
            raw = self.store.load_raw()
            creds = Credentials.from_json(raw, source=str(self.store.path)) if raw is not None else None
            if creds is None:
                raise AuthError(
                    f"the credentials at {self.store.path} were removed during the refresh",
                    "run `reactor-ci login` again.",
                    code="no_credentials",
                )
            if creds.registry_token != stale.registry_token and creds.seconds_left(self.clock()) > 0:
                # Someone refreshed while we waited: single flight. Accept theirs
                # if it meets the rule, or if it was issued after we started
                # waiting (the server may issue tokens shorter than our minimum).
                fresh_enough = not self.needs_refresh(creds, min_remaining=min_remaining)
                issued_after = creds.issued_at is not None and creds.issued_at.timestamp() >= waited_since - 1
                if fresh_enough or issued_after:
                    return creds
            from reactor_ci.keys import parse_key

            key = parse_key(creds.api_key, source=str(self.store.path))
            try:
                token = self.api.create_registry_token(key)
            except (AuthError, NetworkError) as exc:
                left = creds.seconds_left(self.clock())
                if left > 0:
                    self._warn(
                        f"could not refresh the registry token ({exc.message}); "
                        f"using the current one, valid for {human_duration(left)} more. Fix: {exc.fix}"
                    )
                    return creds
                if isinstance(exc, AuthError):
                    raise AuthError(
                        f"the registry token expired and cannot be renewed: {exc.message}",
                        exc.fix,
                        code=exc.code,
                    ) from None
                raise
            if not settings.same_registry_host(creds.registry, token.registry):
                raise NetworkError(
                    f"the Reactor API issued a token for {token.registry!r}, but the stored credentials are for "
                    f"{creds.registry!r}; refusing to switch registries on a refresh",
                    "run `reactor-ci login` again to confirm the registry; report it to Reactor support if it "
                    "persists.",
                    code="registry_mismatch",
                )
            new = Credentials(
                api_key=creds.api_key,
                partner_id=creds.partner_id,
                registry=creds.registry,
                registry_token=token.token,
                registry_token_expiry=token.expiry,
                username=token.username or creds.username,
                issued_at=from_epoch(self.clock()),
                extra=creds.extra,
            )
            new.register_secrets()
            self.store.save(new, keep=raw)
            if self.needs_refresh(new, min_remaining=min_remaining):
                self._warn(
                    f"the new registry token lives {human_duration(new.seconds_left(self.clock()))}, less than the "
                    f"minimum asked for ({human_duration(self.threshold(new, min_remaining))})"
                )
            return new
