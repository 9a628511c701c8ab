"""Login throttling shared by every web worker: failed attempts are counted in the database.

Per account and per client address, each with a free allowance; past it, each further attempt
must wait a delay that doubles from :data:`FIRST_DELAY` up to :data:`MAX_DELAY` seconds. A delay,
never a lockout: the rightful user gets in after at most five minutes even while someone keeps
guessing, and a guesser gets about 12 tries an hour per account instead of thousands.

The decision (:func:`wait_seconds`) is a pure function of the stored counters and the time;
:class:`LoginThrottle` is the storage around it. An attempt is counted *before* the password is
checked, in the same transaction that read the counters (row locks on PostgreSQL, ``BEGIN
IMMEDIATE`` on SQLite): forty parallel guesses spread over several workers cannot all pass the
check before the first one is recorded. A successful login clears the account's counter and
takes back the address's count for that attempt.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy import Engine, delete, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from monitor.store.models import LoginThrottleRow

FIRST_DELAY = 2.0
"""Seconds to wait after the first failure past the free allowance; doubles with each further failure."""
MAX_DELAY = 300.0
"""The delay never grows past this (five minutes)."""
FORGET_AFTER = timedelta(hours=1)
"""A counter with no failure for this long starts again from zero."""
PRUNE_EVERY = 60.0
"""Seconds (per process) between deletions of forgotten counters."""


@dataclass(frozen=True, slots=True)
class ThrottlePolicy:
    """How many failures are free for one kind of key, and how the delay grows after them."""

    free: int
    first_delay: float = FIRST_DELAY
    max_delay: float = MAX_DELAY
    forget_after: timedelta = FORGET_AFTER


ACCOUNT = ThrottlePolicy(free=5)
"""Per user name (existing or not): five wrong passwords are free."""
ADDRESS = ThrottlePolicy(free=20)
"""Per client address: more, because an office behind one NAT address shares it."""
PASSWORD_CHANGE = ThrottlePolicy(free=10)
"""Wrong *current* passwords when a signed-in user changes theirs: a hijacked session must not
become a password-guessing oracle."""


@dataclass(frozen=True, slots=True)
class Counter:
    """The stored state of one key: failures so far and when the last one was counted."""

    failures: int
    last_failure_at: datetime


def delay_after(failures: int, policy: ThrottlePolicy) -> float:
    """Seconds that must pass after the last of ``failures`` failures before the next attempt."""
    if failures < policy.free:
        return 0.0
    steps = min(failures - policy.free, 32)  # bounded exponent: 2 s * 2**32 is far past any cap
    return min(policy.max_delay, policy.first_delay * 2.0**steps)


def current(counter: Counter | None, policy: ThrottlePolicy, now: datetime) -> int:
    """Failures that still count at ``now`` (0 once the counter has been quiet for ``forget_after``)."""
    if counter is None or now - counter.last_failure_at >= policy.forget_after:
        return 0
    return counter.failures


def wait_seconds(counters: Sequence[tuple[Counter | None, ThrottlePolicy]], now: datetime) -> float:
    """Seconds the caller must still wait before another attempt (0: allowed now).

    The longest wait of all the keys decides: the account's or the address's.
    """
    longest = 0.0
    for counter, policy in counters:
        failures = current(counter, policy, now)
        delay = delay_after(failures, policy)
        if counter is None or delay <= 0:
            continue  # within the free allowance: never a wait, whatever the stamps say
        ready = counter.last_failure_at + timedelta(seconds=delay)
        longest = max(longest, (ready - now).total_seconds())
    return longest


def retry_after_header(seconds: float) -> str:
    """``Retry-After`` value: whole seconds, rounded up, at least 1."""
    return str(max(1, math.ceil(seconds)))


def wait_text(seconds: float) -> str:
    """How long to wait, in Bahasa Indonesia ("5 detik", "sekitar 3 menit")."""
    whole = max(1, math.ceil(seconds))
    if whole < 90:
        return f"{whole} detik"
    return f"sekitar {math.ceil(whole / 60)} menit"


def account_key(username: str) -> str:
    """The counter key of a user name (normalised as the login form does)."""
    return "user:" + username.strip().lower()[:100]


def address_key(address: str) -> str:
    """The counter key of a client address."""
    return "ip:" + address[:100]


def password_change_key(user_id: int) -> str:
    """The counter key of one user's attempts to change their password."""
    return f"password:{user_id}"


class LoginThrottle:
    """The counters in the ``login_throttle`` table, shared by every worker of the dashboard.

    ``now`` is wall-clock time (UTC), not the app's clock: the demo runs on simulated time,
    waits are real.
    """

    def __init__(
        self,
        engine: Engine,
        *,
        account: ThrottlePolicy = ACCOUNT,
        address: ThrottlePolicy = ADDRESS,
        now: Callable[[], datetime] | None = None,
    ) -> None:
        self.engine = engine
        self.account = account
        self.address = address
        self._now = now or (lambda: datetime.now(UTC))
        self._pruned_at = -math.inf

    def attempt(self, username: str, address: str) -> float:
        """Count one login attempt for both keys, or refuse it; returns the seconds to wait (0: go on).

        A refused attempt (wait > 0) is not counted: it tested no password.
        """
        return self.attempt_keys([(account_key(username), self.account), (address_key(address), self.address)])

    def attempt_keys(self, counted: Sequence[tuple[str, ThrottlePolicy]]) -> float:
        """Count one attempt for every key, or none when any must still wait; returns that wait (0: go on)."""
        now = self._now()
        self._prune(now)
        # Locked in one order by every worker, so two attempts never wait for each other in a cycle.
        keys = sorted(counted, key=lambda k: k[0])
        with self.engine.begin() as conn:
            insert = pg_insert if conn.dialect.name == "postgresql" else sqlite_insert
            # Make sure each row exists, so both can be locked (a missing row cannot be).
            for key, _ in keys:
                conn.execute(
                    insert(LoginThrottleRow)
                    .values(key=key, failures=0, last_failure_at=now)
                    .on_conflict_do_nothing(index_elements=["key"])
                )
            rows = {
                r.key: Counter(r.failures, r.last_failure_at)
                for r in conn.execute(
                    select(LoginThrottleRow.key, LoginThrottleRow.failures, LoginThrottleRow.last_failure_at)
                    .where(LoginThrottleRow.key.in_([k for k, _ in keys]))
                    .order_by(LoginThrottleRow.key)
                    .with_for_update()
                )
            }
            # The time once the locks are held: an attempt that waited for another's lock must not
            # find that attempt's stamp in its future.
            now = max(self._now(), *(c.last_failure_at for c in rows.values()))
            wait = wait_seconds([(rows.get(key), policy) for key, policy in keys], now)
            if wait > 0:
                return wait
            for key, policy in keys:
                conn.execute(
                    update(LoginThrottleRow)
                    .where(LoginThrottleRow.key == key)
                    .values(failures=current(rows.get(key), policy, now) + 1, last_failure_at=now)
                )
        return 0.0

    def succeeded(self, username: str, address: str) -> None:
        """The attempt was right: clear the account's counter, take back the address's count."""
        with self.engine.begin() as conn:
            conn.execute(delete(LoginThrottleRow).where(LoginThrottleRow.key == account_key(username)))
            conn.execute(
                update(LoginThrottleRow)
                .where(LoginThrottleRow.key == address_key(address), LoginThrottleRow.failures > 0)
                .values(failures=LoginThrottleRow.failures - 1)
            )

    def clear(self, key: str) -> None:
        """Forget one key's failures (the right password was given)."""
        with self.engine.begin() as conn:
            conn.execute(delete(LoginThrottleRow).where(LoginThrottleRow.key == key))

    def _prune(self, now: datetime) -> None:
        """Delete counters nobody has failed on for ``forget_after`` (at most once a minute per process).

        Its own transaction, skipping rows another attempt holds: it never waits, so it can never be
        half of a deadlock with an attempt.
        """
        tick = time.monotonic()
        if tick - self._pruned_at < PRUNE_EVERY:
            return
        self._pruned_at = tick
        cutoff = now - max(self.account.forget_after, self.address.forget_after, PASSWORD_CHANGE.forget_after)
        stale = (
            select(LoginThrottleRow.key)
            .where(LoginThrottleRow.last_failure_at < cutoff)
            .with_for_update(skip_locked=True)
        )
        with self.engine.begin() as conn:
            conn.execute(delete(LoginThrottleRow).where(LoginThrottleRow.key.in_(stale)))
