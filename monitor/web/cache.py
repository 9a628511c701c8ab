"""Short in-process caches: rendered board rows, and values read from the database.

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
from collections import OrderedDict
from collections.abc import Hashable
from dataclasses import dataclass, field
from typing import Any


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


@dataclass(frozen=True, slots=True)
class CachedValue:
    """Anything read from the database, with the version it was read at."""

    version: Hashable
    value: Any
    expires: float


@dataclass
class VersionedCache:
    """Thread-safe LRU of values read from the database, each valid while its version matches.

    Used for issue-page data (not HTML: the page embeds the user's CSRF token), per issue, under
    the same rule as :class:`BoardCache`: the database fingerprint and this process's write counter
    match, and the time limit has not passed (callers check the reader's scope on every hit, so one
    entry serves every role and agency that may see the issue); and for sessions just checked
    (:mod:`monitor.web.sessions`), where the time limit alone decides.
    """

    ttl: float = 10.0
    max_entries: int = 512
    _entries: OrderedDict[Hashable, CachedValue] = field(default_factory=OrderedDict)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def invalidate(self) -> None:
        """Forget everything (the web app changed an issue, or labels)."""
        with self._lock:
            self._entries.clear()

    def get(self, key: Hashable, version: Hashable, now: float | None = None) -> Any | None:
        """The value for ``key`` if it was read at ``version`` and has not expired."""
        now = time.monotonic() if now is None else now
        with self._lock:
            entry = self._entries.get(key)
            if entry is None or entry.version != version or entry.expires < now:
                return None
            self._entries.move_to_end(key)
        return entry.value

    def put(self, key: Hashable, version: Hashable, value: Any, now: float | None = None) -> None:
        """Store a value; the least recently used entry goes when the cache is full."""
        now = time.monotonic() if now is None else now
        with self._lock:
            self._entries[key] = CachedValue(version, value, now + self.ttl)
            self._entries.move_to_end(key)
            while len(self._entries) > self.max_entries:
                self._entries.popitem(last=False)
