"""Sessions in the database, so several uvicorn workers (``web.workers``) share them.

Same interface and rules as the in-process :class:`monitor.web.auth.SessionStore`: the cookie
carries a random id, logout, deactivation, role changes and password changes end sessions at
once (every worker reads the same table), 30 minutes idle or 12 hours in all ends a session.
Only the SHA-256 of the id is stored. Idle time is refreshed at most once a minute, so a busy
dashboard does not turn every page view into a write.

A worker remembers a session it has just checked for :data:`RECHECK_AFTER` seconds: the board's
refreshes and a user's clicks come in bursts, and the lookup was a round trip on every one of
them. Ending a session (logout, deactivation, role or password change) forgets it in the worker
that ended it at once; another worker may honour it for at most that long.
"""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import delete, insert, or_, select, update
from sqlalchemy.engine import Engine

from monitor.store.models import User, WebSession
from monitor.web.auth import IDLE_TIMEOUT_SECONDS, MAX_SESSION_SECONDS, SessionData
from monitor.web.cache import VersionedCache

TOUCH_EVERY = timedelta(seconds=60)
"""How stale ``last_seen_at`` may get before a request writes it (well under the idle timeout)."""

RECHECK_AFTER = 2.0
"""Seconds a worker trusts a session it has read from the table before reading it again."""


def session_hash(sid: str) -> str:
    """What is stored for a session id."""
    return hashlib.sha256(sid.encode()).hexdigest()


class DbSessionStore:
    """Session table access: writes through ``engine``, lookups through ``read_engine``.

    On SQLite the writer engine starts every transaction with BEGIN IMMEDIATE; a lookup on every
    request must not take the write lock, so it goes through the app's query-only reader.
    """

    def __init__(
        self,
        engine: Engine,
        read_engine: Engine | None = None,
        *,
        idle_timeout: float = IDLE_TIMEOUT_SECONDS,
        max_age: float = MAX_SESSION_SECONDS,
        now: Callable[[], datetime] | None = None,
    ) -> None:
        self.engine = engine
        self.read_engine = read_engine or engine
        self.idle = timedelta(seconds=idle_timeout)
        self.max_age = timedelta(seconds=max_age)
        # Wall-clock time, not the app's clock: the demo runs on simulated time, sessions on real time.
        self._now = now or (lambda: datetime.now(UTC))
        self._recent = VersionedCache(ttl=RECHECK_AFTER, max_entries=4096)

    def create(self, user_id: int) -> str:
        """Start a session, drop expired ones, and return the id for the cookie."""
        sid = secrets.token_urlsafe(32)
        now = self._now()
        with self.engine.begin() as conn:
            conn.execute(
                delete(WebSession).where(
                    or_(WebSession.last_seen_at < now - self.idle, WebSession.created_at < now - self.max_age)
                )
            )
            conn.execute(
                insert(WebSession),
                [
                    {
                        "id_hash": session_hash(sid),
                        "user_id": user_id,
                        "csrf_token": secrets.token_urlsafe(32),
                        "created_at": now,
                        "last_seen_at": now,
                    }
                ],
            )
        return sid

    def get(self, sid: str | None) -> SessionData | None:
        """The live session for ``sid``, refreshing its idle timer; None when unknown or expired."""
        found = self.get_with_user(sid)
        return None if found is None else found[0]

    def get_with_user(self, sid: str | None) -> tuple[SessionData, Any] | None:
        """The live session for ``sid`` and its user's row (``id, username, role, agency_code, active,
        region_code``).

        One query for both: every page and partial asks this first, so a second round trip for the
        user was a fixed cost on each request. None when the session is unknown or expired.
        """
        if not sid or len(sid) > 200:
            return None
        found = self.remembered(sid)
        if found is not None:
            return found
        key = session_hash(sid)
        now = self._now()
        with self.read_engine.connect() as conn:
            row = conn.execute(
                select(
                    WebSession.user_id,
                    WebSession.csrf_token,
                    WebSession.created_at,
                    WebSession.last_seen_at,
                    User.username,
                    User.role,
                    User.agency_code,
                    User.active,
                    User.region_code,
                )
                .join(User, User.id == WebSession.user_id)
                .where(WebSession.id_hash == key)
            ).first()
            conn.rollback()
        if row is None:
            return None
        if now - row.last_seen_at > self.idle or now - row.created_at > self.max_age:
            self.destroy(sid)
            return None
        seen = row.last_seen_at
        if now - seen >= TOUCH_EVERY:
            with self.engine.begin() as conn:
                conn.execute(update(WebSession).where(WebSession.id_hash == key).values(last_seen_at=now))
            seen = now
        found = SessionData(row.user_id, row.csrf_token, row.created_at.timestamp(), now.timestamp()), row
        self._recent.put(key, None, (seen, found), now=now.timestamp())
        return found

    def remembered(self, sid: str | None) -> tuple[SessionData, Any] | None:
        """What :meth:`get_with_user` would return, if this worker checked the session within
        :data:`RECHECK_AFTER` seconds and its idle timer needs no refresh yet; None otherwise.

        Memory only (no I/O), so the web app can call it on its event loop.
        """
        if not sid or len(sid) > 200:
            return None
        now = self._now()
        recent = self._recent.get(session_hash(sid), None, now=now.timestamp())
        if recent is None:
            return None
        seen, found = recent
        # Past TOUCH_EVERY the table must be read (and the idle timer written) again.
        return found if now - seen < TOUCH_EVERY else None

    def destroy(self, sid: str | None) -> None:
        """End one session (logout)."""
        if sid:
            # Forget every remembered session, not just this one: ending sessions is rare, and
            # destroy_user could not find a user's entries by key anyway.
            self._recent.invalidate()
            with self.engine.begin() as conn:
                conn.execute(delete(WebSession).where(WebSession.id_hash == session_hash(sid)))

    def destroy_user(self, user_id: int) -> None:
        """End every session of a user (deactivated, role or password changed)."""
        self._recent.invalidate()
        with self.engine.begin() as conn:
            conn.execute(delete(WebSession).where(WebSession.user_id == user_id))
