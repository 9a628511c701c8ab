"""Audit rows of page *views*, written in batches by a small background thread.

Every issue view is audit-logged (UU PDP: who looked at which complaints). Writing that row in its own
transaction cost each view an INSERT, a commit and a wait for the disk flush, about a fifth of the issue
page's time under load. Views are the only audit rows written this way: logins, exports, actions and
denied accesses stay synchronous, in the request.

Durability trade-off: view rows wait in memory for at most :data:`FLUSH_SECONDS` (0.5 s) before their
INSERT; they are flushed at application shutdown too, so a crash or ``kill -9`` of a worker can lose
the view rows of its last second, never those of a clean stop. The time stamp is taken when the view
happens, not when the row is written, so the log's order is unchanged.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from typing import Any

from sqlalchemy import insert
from sqlalchemy.engine import Engine

from monitor.store.models import AuditLog

log = logging.getLogger(__name__)

FLUSH_SECONDS = 0.5
"""Longest time a view row waits in memory."""

MAX_PENDING = 50_000
"""Rows kept while the database is unreachable; older ones are dropped (and counted in the log) past this."""

IDLE_ROUNDS = 20
"""Flush rounds without rows after which the thread ends (the next view starts a new one)."""


class AuditWriter:
    """Queue of audit rows with one flushing thread per process, started on the first row."""

    def __init__(self, engine: Engine, *, interval: float = FLUSH_SECONDS) -> None:
        self.engine = engine
        self.interval = interval
        self._rows: list[dict[str, Any]] = []
        self._lock = threading.Lock()
        self._wake = threading.Event()
        self._thread: threading.Thread | None = None
        self._closed = False
        # Serialises flushes, so flush() from a test or shutdown never races the thread's own flush.
        self._flush_lock = threading.Lock()
        self.on_flush: Callable[[int], None] | None = None

    def add(self, row: dict[str, Any]) -> None:
        """Queue one row (keys of :class:`monitor.store.models.AuditLog`); written within :attr:`interval`."""
        with self._lock:
            self._rows.append(row)
            if len(self._rows) > MAX_PENDING:
                dropped = len(self._rows) - MAX_PENDING
                del self._rows[:dropped]
                log.error("audit writer: database unreachable, dropped %d oldest view rows", dropped)
            if self._closed:
                start = False
            else:
                start = self._thread is None or not self._thread.is_alive()
                if start:
                    self._thread = threading.Thread(target=self._run, name="audit-writer", daemon=True)
        if start:
            assert self._thread is not None
            self._thread.start()
        elif self._closed:
            # After shutdown there is no thread: write at once rather than keep the row in memory.
            self.flush()

    def pending(self) -> int:
        """Rows not yet written."""
        with self._lock:
            return len(self._rows)

    def flush(self) -> int:
        """Write every queued row now, in one transaction; return how many. Rows are kept if the write fails."""
        with self._flush_lock:
            with self._lock:
                rows, self._rows = self._rows, []
            if not rows:
                return 0
            try:
                with self.engine.begin() as conn:
                    conn.execute(insert(AuditLog), rows)
            except Exception:
                with self._lock:
                    self._rows[:0] = rows
                raise
            if self.on_flush is not None:
                self.on_flush(len(rows))
            return len(rows)

    def close(self) -> None:
        """Flush what is queued and stop the thread (application shutdown)."""
        with self._lock:
            self._closed = True
            thread = self._thread
        self._wake.set()
        if thread is not None and thread is not threading.current_thread():
            thread.join(timeout=10)
        try:
            self.flush()
        except Exception:
            log.exception("audit writer: could not write %d view rows at shutdown", self.pending())

    def _run(self) -> None:
        idle = 0
        while True:
            self._wake.wait(self.interval)
            with self._lock:
                if self._closed:
                    return
                if not self._rows:
                    idle += 1
                    if idle >= IDLE_ROUNDS:
                        # Decided under the lock, so add() sees a dead thread and starts a new one.
                        self._thread = None
                        return
                    continue
            idle = 0
            try:
                self.flush()
            except Exception as exc:  # the database is down: keep the rows, try again next round
                log.warning("audit writer: %d view rows not written yet: %s", self.pending(), exc.__class__.__name__)
