"""Moving a test database to one migration (the tests of a migration start from the schema before it)."""

from __future__ import annotations

from monitor.store.db import Database, alembic_config


def migrate(db: Database, revision: str, *, down: bool = False) -> None:
    """Upgrade ``db`` to ``revision`` (with ``down``, downgrade it), in one transaction as ``Database.upgrade``
    does."""
    from alembic import command  # on first use: most test modules that import this never migrate by hand

    with db.engine.begin() as conn:
        cfg = alembic_config(db.url)
        cfg.attributes["connection"] = conn
        (command.downgrade if down else command.upgrade)(cfg, revision)
