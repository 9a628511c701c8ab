"""A short shared cache of rendered board rows.

Twenty people watching the board see the same rows (per scope), and the page refreshes
itself every 30 seconds: rendering 60 rows with sparklines for each of them is most of the
dashboard's CPU. Entries are keyed on (role, agency) and stamped with a *version*, a
fingerprint read from the database (see :func:`monitor.web.queries.board_version`) plus a
counter this process bumps on its own writes, so a pipeline or user write shows on the next
request and nothing needs to call into the web process. A time limit bounds staleness from
writes the fingerprint cannot see (e.g. a purge).
"""

from __future__ import annotations

import hashlib
import threading
import time
from collections.abc import Hashable
from dataclasses import dataclass, field


@dataclass(frozen=True, slots=True)
class CachedBoard:
    """Rendered rows and their strong ETag."""

    version: Hashable
    html: str
    etag: str
    expires: float


def etag_of(html: str) -> str:
    """A strong ETag for a body (quoted, as HTTP wants it)."""
    return '"' + hashlib.blake2b(html.encode(), digest_size=12).hexdigest() + '"'


@dataclass
class BoardCache:
    """Thread-safe map of (role, agency) → rendered board rows, valid while the version matches."""

    ttl: float = 10.0
    _entries: dict[Hashable, CachedBoard] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _generation: int = 0

    @property
    def generation(self) -> int:
        """Counter of this process's own writes (part of every version)."""
        return self._generation

    def invalidate(self) -> None:
        """Forget everything: called after the web app itself changed an issue."""
        with self._lock:
            self._generation += 1
            self._entries.clear()

    def get(self, key: Hashable, version: Hashable, now: float | None = None) -> CachedBoard | None:
        """The entry for ``key`` if it was rendered at ``version`` and has not expired."""
        now = time.monotonic() if now is None else now
        with self._lock:
            entry = self._entries.get(key)
        if entry is None or entry.version != version or entry.expires < now:
            return None
        return entry

    def put(self, key: Hashable, version: Hashable, html: str, now: float | None = None) -> CachedBoard:
        """Store rendered rows; a few scopes only, so the map stays small (bounded anyway)."""
        now = time.monotonic() if now is None else now
        entry = CachedBoard(version, html, etag_of(html), now + self.ttl)
        with self._lock:
            if len(self._entries) > 256:
                self._entries.clear()
            self._entries[key] = entry
        return entry
