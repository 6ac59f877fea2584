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

import os
import time
from collections.abc import Callable
from typing import TYPE_CHECKING

from reactor_ci.credentials import Credentials, CredentialsStore, from_epoch, human_duration
from reactor_ci.errors import AuthError, NetworkError, UsageError

if TYPE_CHECKING:
    from reactor_ci.api import ReactorAPI
    from reactor_ci.keys import ApiKey

ENV_MIN_LIFETIME = "REACTOR_CI_MIN_TOKEN_LIFETIME"
DEFAULT_MIN_LIFETIME = 3600.0


def min_lifetime_from_env() -> float:
    raw = os.environ.get(ENV_MIN_LIFETIME, "").strip()
    if not raw:
        return DEFAULT_MIN_LIFETIME
    try:
        value = float(raw)
    except ValueError:
        raise UsageError(
            f"{ENV_MIN_LIFETIME}={raw!r} is not a number of seconds",
            f"set {ENV_MIN_LIFETIME} to a number of seconds, e.g. 3600.",
            code="bad_input",
        ) from None
    if value < 0:
        raise UsageError(f"{ENV_MIN_LIFETIME} must not be negative", "use 0 or more seconds.", code="bad_input")
    return value


class Session:
    def __init__(
        self,
        store: CredentialsStore | None = None,
        api: ReactorAPI | None = None,
        *,
        min_remaining: float | None = None,
        warn: Callable[[str], None] | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.store = store or CredentialsStore()
        self._api = api
        self.min_remaining = min_lifetime_from_env() if min_remaining is None else min_remaining
        self._warn = warn or (lambda message: None)
        self.clock = clock
        self.refreshed = False

    @property
    def api(self) -> ReactorAPI:
        if self._api is None:
            from reactor_ci.api import ReactorAPI

            self._api = ReactorAPI()
        return self._api

    # -- the rule ------------------------------------------------------------------
    def threshold(self, creds: Credentials, min_remaining: float | None = None) -> float:
        minimum = self.min_remaining if min_remaining is None else min_remaining
        return max(creds.lifetime / 2, minimum)

    def needs_refresh(self, creds: Credentials, now: float | None = None, min_remaining: float | None = None) -> bool:
        now = self.clock() if now is None else now
        return creds.seconds_left(now) < self.threshold(creds, min_remaining)

    def state(self, creds: Credentials, now: float | None = None) -> str:
        now = self.clock() if now is None else now
        left = creds.seconds_left(now)
        if left <= 0:
            return "expired"
        return "expiring" if left < self.threshold(creds) else "valid"

    # -- login ---------------------------------------------------------------------
    def login(self, key: ApiKey) -> Credentials:
        """Validate the key, fetch registry credentials, store them (keeping unknown fields)."""
        existing = self.store.load_raw()  # refuses to go on over a damaged file
        partner = self.api.get_partner(key)
        token = self.api.create_registry_token(key)
        creds = Credentials(
            api_key=key.secret,
            partner_id=partner.partner_id,
            registry=token.registry or partner.registry,
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

    def fresh(self, *, min_remaining: float | None = None, force: bool = False) -> Credentials:
        creds = self.current()
        if not force and not self.needs_refresh(creds, min_remaining=min_remaining):
            return creds
        return self._refresh(creds, min_remaining=min_remaining, force=force)

    def _refresh(self, stale: Credentials, *, min_remaining: float | None, force: bool) -> Credentials:
        waited_since = self.clock()
        with self.store.lock():
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
            new = Credentials(
                api_key=creds.api_key,
                partner_id=creds.partner_id,
                registry=token.registry or creds.registry,
                registry_token=token.token,
                registry_token_expiry=token.expiry,
                username=token.username or creds.username,
                issued_at=from_epoch(self.clock()),
                extra=creds.extra,
            )
            new.register_secrets()
            self.store.save(new, keep=raw)
            self.refreshed = True
            if self.needs_refresh(new, min_remaining=min_remaining):
                self._warn(
                    f"the new registry token lives {human_duration(new.seconds_left(self.clock()))}, less than the "
                    f"minimum asked for ({human_duration(self.threshold(new, min_remaining))})"
                )
            return new

    def logout(self) -> bool:
        return self.store.delete()
