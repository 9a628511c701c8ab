"""Keeps secrets out of logs: every secret read is registered, and a log filter masks it.

httpx logs request URLs at INFO and the Telegram bot token is part of the
URL, so masking by value (not by logger) is the only safe default.
"""

from __future__ import annotations

import logging
import re
import threading

_lock = threading.Lock()
_secrets: set[str] = set()
_pattern: re.Pattern[str] | None = None
MASK = "***"


def register(value: str) -> None:
    """Remember a secret value so it is masked wherever it would be logged."""
    global _pattern
    if len(value) < 4:
        return  # too short to mask without mangling ordinary text
    with _lock:
        if value in _secrets:
            return
        _secrets.add(value)
        ordered = sorted(_secrets, key=len, reverse=True)
        _pattern = re.compile("|".join(re.escape(s) for s in ordered))


def mask(text: str) -> str:
    """``text`` with every registered secret replaced by ``***``."""
    pattern = _pattern
    return pattern.sub(MASK, text) if pattern is not None else text


class RedactingFilter(logging.Filter):
    """Formats the record once and masks secrets in the final message."""

    def filter(self, record: logging.LogRecord) -> bool:
        if _pattern is None:
            return True
        message = record.getMessage()
        masked = mask(message)
        if masked != message:
            record.msg, record.args = masked, None
        if record.exc_info and record.exc_info[1] is not None:
            record.exc_text = mask(logging.Formatter().formatException(record.exc_info))
        return True


def setup_logging(level: int = logging.INFO) -> None:
    """Root logging with secret masking; httpx request lines only at WARNING."""
    handler = logging.StreamHandler()
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    handler.addFilter(RedactingFilter())
    root = logging.getLogger()
    for existing in list(root.handlers):
        root.removeHandler(existing)
    root.addHandler(handler)
    root.setLevel(level)
    for noisy in ("httpx", "httpcore", "apscheduler.executors.default", "mail.log"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
