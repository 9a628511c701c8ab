"""Who is asking, and may they: sessions, API tokens, CSRF, roles (login throttling: monitor.web.throttle).

Sessions live server-side (in the database, see monitor.web.sessions) so logout and deactivation end them
at once; the cookie only carries a random id. Analysts' API tokens are stored as
SHA-256 hashes, so a leaked database does not leak usable tokens.
"""

from __future__ import annotations

import functools
import hashlib
import hmac
import secrets
import threading
import time
from dataclasses import dataclass, field

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from monitor.kernel.regions import seen_region

ROLES: tuple[str, ...] = ("admin", "comms", "agency", "analyst")
"""admin: everything; comms: all issues, may act; agency: own agency only, may act; analyst: read all."""

ROLE_LABELS: dict[str, str] = {
    "admin": "Admin",
    "comms": "Tim Komunikasi",
    "agency": "OPD",
    "analyst": "Analis",
}

SESSION_COOKIE = "oki_session"
IDLE_TIMEOUT_SECONDS = 30 * 60
MAX_SESSION_SECONDS = 12 * 3600

_hasher = PasswordHasher()


@functools.cache
def _dummy_hash() -> str:
    """A real hash to verify against when the user does not exist, so timing does not reveal valid usernames.

    Made when an app is built (:func:`prepare_login_timing`), not at import: a process that only imports
    the web (the CLI, a pipeline worker) does not pay the ~0.2 s of one Argon2 hash.
    """
    return _hasher.hash(secrets.token_hex(16))


def prepare_login_timing() -> None:
    """Make the dummy hash before the first request, so the first unknown user's login takes as long as any."""
    _dummy_hash()


def hash_password(password: str) -> str:
    """Argon2id hash of a password."""
    return _hasher.hash(password)


def verify_password(password_hash: str | None, password: str) -> bool:
    """True when ``password`` matches; constant work whether or not the user exists."""
    try:
        return _hasher.verify(password_hash or _dummy_hash(), password) and password_hash is not None
    except (VerificationError, InvalidHashError):
        return False


def new_api_token() -> str:
    """A fresh personal API token (shown once to the user)."""
    return "oki_" + secrets.token_urlsafe(32)


def hash_token(token: str) -> str:
    """How an API token is stored: SHA-256 is enough because tokens are long and random."""
    return hashlib.sha256(token.encode()).hexdigest()


def validate_password(password: str) -> str | None:
    """Why a new password is unacceptable, or None."""
    if len(password) < 10:
        return "kata sandi minimal 10 karakter"
    if len(password) > 256:
        return "kata sandi terlalu panjang (maksimal 256 karakter)"
    return None


@dataclass(frozen=True, slots=True)
class Principal:
    """The authenticated user of one request."""

    user_id: int
    username: str
    role: str
    agency_code: str | None
    via_token: bool = False
    region_code: str | None = None
    """The user's region (``users.region_code``); None: every region."""

    @property
    def can_act(self) -> bool:
        """May acknowledge, resolve, merge, split and correct labels."""
        return self.role in ("admin", "comms", "agency")

    @property
    def sees_all_agencies(self) -> bool:
        return self.role != "agency"

    @property
    def scope_agency(self) -> str | None:
        """The agency code rows must carry for this principal to see them; None when it sees every agency.

        An agency user without an agency gets a code no row carries, so it sees nothing.
        """
        return None if self.sees_all_agencies else (self.agency_code or "\x00")

    @property
    def scope_region(self) -> str | None:
        """The region rows must carry for this principal to see them; None when it sees every region."""
        return seen_region(self.role, self.region_code)

    @property
    def sees_everything(self) -> bool:
        """No row-level rule applies: every agency of every region."""
        return self.scope_agency is None and self.scope_region is None

    def may_see_agency(self, agency_code: str | None) -> bool:
        """Row-level rule: an agency user sees only its own agency's rows."""
        return self.sees_all_agencies or (self.agency_code is not None and agency_code == self.agency_code)

    def may_see(self, agency_code: str | None, region_code: str | None) -> bool:
        """Row-level rule for a row of an agency and a region: its own agency, in its own region."""
        scope = self.scope_region
        return self.may_see_agency(agency_code) and (scope is None or region_code == scope)


@dataclass
class SessionData:
    user_id: int
    csrf_token: str
    created: float
    last_seen: float


@dataclass
class SessionStore:
    """In-process session table; the cookie holds only the random session id."""

    idle_timeout: float = IDLE_TIMEOUT_SECONDS
    max_age: float = MAX_SESSION_SECONDS
    _sessions: dict[str, SessionData] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def create(self, user_id: int, now: float | None = None) -> str:
        """Start a session and return its id (for the cookie)."""
        now = time.monotonic() if now is None else now
        sid = secrets.token_urlsafe(32)
        with self._lock:
            self._sessions[sid] = SessionData(user_id, secrets.token_urlsafe(32), now, now)
            self._expire(now)
        return sid

    def get(self, sid: str | None, now: float | None = None) -> SessionData | None:
        """The live session for ``sid``, refreshing its idle timer; None when unknown or expired."""
        if not sid:
            return None
        now = time.monotonic() if now is None else now
        with self._lock:
            data = self._sessions.get(sid)
            if data is None:
                return None
            if now - data.last_seen > self.idle_timeout or now - data.created > self.max_age:
                del self._sessions[sid]
                return None
            data.last_seen = now
            return data

    def destroy(self, sid: str | None) -> None:
        if sid:
            with self._lock:
                self._sessions.pop(sid, None)

    def destroy_user(self, user_id: int) -> None:
        """End every session of a user (deactivated, password changed)."""
        with self._lock:
            for sid in [s for s, d in self._sessions.items() if d.user_id == user_id]:
                del self._sessions[sid]

    def _expire(self, now: float) -> None:
        dead = [
            s
            for s, d in self._sessions.items()
            if now - d.last_seen > self.idle_timeout or now - d.created > self.max_age
        ]
        for sid in dead:
            del self._sessions[sid]


def csrf_ok(expected: str | None, given: str | None) -> bool:
    """Constant-time comparison of the session's CSRF token with the submitted one."""
    return bool(expected and given) and hmac.compare_digest(str(expected), str(given))
