"""Author pseudonymisation (UU PDP): a keyed hash of handles, the same for ingest and for reports sent to the bot."""

from __future__ import annotations

import hashlib
import hmac
import logging
import os
import secrets as pysecrets
from pathlib import Path
from typing import Protocol

from monitor.kernel.config import secret

log = logging.getLogger(__name__)

MEMO_SIZE = 100_000
"""Pseudonyms remembered per pseudonymiser (a few MB) before the memo starts over."""


class PrivacySettings(Protocol):
    """The ``privacy:`` settings the pseudonymiser reads (``PrivacyConfig`` has them)."""

    @property
    def pseudonymise_authors(self) -> bool: ...

    @property
    def author_key_env(self) -> str: ...


class HasPrivacy(Protocol):
    """A configuration with ``privacy:`` settings (``AppConfig``, or alerts' directory)."""

    @property
    def privacy(self) -> PrivacySettings: ...


class AuthorPseudonymiser:
    """Keyed hash of author handles (UU PDP): stable per deployment, not reversible without the key."""

    def __init__(self, key: bytes | None, enabled: bool = True) -> None:
        self.enabled = enabled
        self._key = key or b""
        self._mac = hmac.new(self._key, digestmod=hashlib.sha256)
        self._seen: dict[str, str] = {}
        """Handle -> pseudonym: the same accounts post again and again, and an HMAC is ~2 µs per post."""

    @classmethod
    def from_config(cls, config: HasPrivacy, key_dir: Path = Path("var")) -> AuthorPseudonymiser:
        """Key from the configured env var, else a random key kept in var/author.key (created once)."""
        if not config.privacy.pseudonymise_authors:
            return cls(None, enabled=False)
        value = secret(config.privacy.author_key_env)
        if value:
            return cls(value.encode())
        path = key_dir / "author.key"
        if not path.exists():
            key_dir.mkdir(parents=True, exist_ok=True)
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            with os.fdopen(fd, "w") as fh:
                fh.write(pysecrets.token_hex(32))
            log.warning(
                "no %s set: created a random author-pseudonymisation key in %s; keep it with backups",
                config.privacy.author_key_env,
                path,
            )
        return cls(path.read_text().strip().encode())

    def __call__(self, author: str | None) -> str | None:
        if not author:
            return None
        handle = author.strip().lstrip("@").lower()
        if not self.enabled:
            return handle[:100].replace("\x00", "")  # stored as it is: PostgreSQL text holds no NUL
        found = self._seen.get(handle)
        if found is None:
            mac = self._mac.copy()  # the keyed state is set up once, not per handle
            mac.update(handle.encode("utf-8", "replace"))
            found = "a_" + mac.hexdigest()[:24]
            if len(self._seen) >= MEMO_SIZE:
                self._seen.clear()  # bounded: a long-running worker sees ever new accounts
            self._seen[handle] = found
        return found
