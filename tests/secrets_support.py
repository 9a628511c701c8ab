"""Fake secrets and the search for them: set wherever the secret scan looks for leaks."""

from __future__ import annotations

import contextlib
import io
import logging
from collections.abc import Iterator

from sqlalchemy import select

from monitor.kernel.redact import setup_logging
from monitor.store.db import Database
from monitor.store.models import Base

SECRETS = {
    "OKI_MONITOR_TELEGRAM_TOKEN": "7234567890:AAHfakeTelegramBotTokenZZq81",
    "OKI_TEST_SMTP_PASSWORD": "smtp-Pa55w0rd-fake-91c2",
    "X_BEARER_TOKEN": "AAAAAAAAAAAAAAAAAAAAAFakeXBearerToken77d1",
    "YOUTUBE_API_KEY": "AIzaFakeYoutubeKey0000000000000000000xyz",
    "OKI_MONITOR_AUTHOR_KEY": "author-key-fake-5e1f0c77a9",
    "OKI_MONITOR_SECRET_KEY": "web-secret-fake-0b7ad2e4c1",
    "OKI_MONITOR_INGEST_TOKEN": "ingest-token-fake-4411aa",
    "OKI_TEST_FEED_KEY": "feedkey-fake-c0ffee1234",
}
"""Fake secrets: set (and registered with the redactor) wherever the secret scan looks for leaks."""


def database_text(db: Database) -> str:
    """Every row of every table, as text (what the dashboard and exports could show)."""
    parts: list[str] = []
    with db.engine.connect() as conn:
        for table in Base.metadata.sorted_tables:
            for row in conn.execute(select(table)):
                parts.append(repr(tuple(row)))
    return "\n".join(parts)


def leaks(text: str, values: dict[str, str]) -> dict[str, str]:
    """Which secrets appear in ``text`` (and where, for the failure message)."""
    found = {}
    for name, value in values.items():
        at = text.find(value)
        if at >= 0:
            found[name] = text[max(0, at - 80) : at + len(value) + 20]
    return found


_CHATTY = ("httpx", "httpcore", "apscheduler")
"""Libraries that log request URLs (where a secret in a query string would show) only when turned up."""


@contextlib.contextmanager
def debug_logging_into(buffer: io.StringIO) -> Iterator[None]:
    """The program's own logging set-up turned all the way up (an operator chasing a bug), written into
    ``buffer``; the logging as it was again after."""
    root = logging.getLogger()
    saved = (list(root.handlers), root.level)
    setup_logging(logging.DEBUG)
    for handler in root.handlers:
        if isinstance(handler, logging.StreamHandler):
            handler.setStream(buffer)
    for name in _CHATTY:
        logging.getLogger(name).setLevel(logging.DEBUG)
    try:
        yield
    finally:
        for name in _CHATTY:
            logging.getLogger(name).setLevel(logging.NOTSET)
        root.handlers[:] = saved[0]
        root.setLevel(saved[1])
