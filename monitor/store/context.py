"""What a command or a dashboard worker needs: the config, the database and the clock, built lazily.

Lazily, so ``--help`` and ``detect`` never touch config or database. Below the CLI and the web alike:
both build one from a config file.
"""

from __future__ import annotations

from functools import cached_property
from pathlib import Path

from monitor.kernel.clock import Clock, SystemClock
from monitor.kernel.config import DEFAULT_CONFIG, AppConfig, load_config
from monitor.store.db import Database


class Context:
    """What a command needs, built lazily so `--help` and `detect` never touch config or DB."""

    def __init__(self, config_path: Path | None = None, clock: Clock | None = None) -> None:
        # Without --config the demo may fall back to the packaged config; a named file must exist.
        self.config_given = config_path is not None
        self.config_path = config_path or DEFAULT_CONFIG
        self.clock: Clock = clock or SystemClock()
        self._db: Database | None = None

    @cached_property
    def config(self) -> AppConfig:
        from monitor.kernel.sources import validate_sources

        cfg = load_config(self.config_path)
        validate_sources(cfg, self.config_path)
        return cfg

    def database(self) -> Database:
        """The configured database (OKI_MONITOR_DATABASE_URL wins over the file)."""
        if self._db is None:
            self._db = Database(self.config.database_url)
        return self._db

    def checked_database(self) -> Database:
        """The database, refusing a schema that is behind this code."""
        db = self.database()
        db.check_schema()
        return db

    def close(self) -> None:
        if self._db is not None:
            self._db.dispose()
