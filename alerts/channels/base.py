"""The one small protocol every channel implements, and the two ways a send can fail."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Protocol


@dataclass(frozen=True)
class Button:
    """An inline button: either a callback (Telegram) or a link."""

    text: str
    callback_data: str | None = None
    url: str | None = None


@dataclass(frozen=True)
class OutgoingMessage:
    """Everything a channel may use; each channel picks the parts it can show."""

    idempotency_key: str
    subject: str
    plain: str
    html: str
    telegram_html: str
    chart_png: bytes | None = None
    buttons: tuple[tuple[Button, ...], ...] = ()
    reply_to: str | None = None
    """The channel's id of the thread's first message (Telegram message_id, e-mail Message-ID), if any."""
    chart_caption: str = ""
    """What the chart shows (issue number and title), for channels that send it as a separate photo."""
    json_body: dict[str, object] = field(default_factory=dict)
    """Structured form for webhooks."""
    whatsapp_text: str = ""
    """WhatsApp text (bold with ``*``, links written out), fitted to a text message."""
    whatsapp_short: str = ""
    """The same fitted to an interactive message's body (reply buttons)."""
    template_params: tuple[str, ...] = ()
    """WhatsApp template parameters: headline, one-line summary, dashboard link."""
    attachments: tuple[tuple[str, str, bytes], ...] = ()
    """Files to attach (filename, MIME type, bytes): e-mail only (the weekly brief PDF)."""
    conversation_open: bool = False
    """The recipient wrote to us in the last 24 hours (WhatsApp's customer service window): a free-form
    message is allowed; outside it only an approved template is."""


class TemporaryFailure(Exception):
    """Try again later; ``retry_after`` (seconds) is the channel's own requested wait, if any."""

    def __init__(self, message: str, retry_after: float | None = None) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class PermanentFailure(Exception):
    """Retrying will not help (bad address, bot blocked): the delivery is marked dead and shown."""


class Channel(Protocol):
    kind: str

    def send(self, message: OutgoingMessage, recipient: str) -> str:
        """Send one message; return the channel's id for it, or raise one of the failures above."""
        ...

    def close(self) -> None:
        """Release connections."""
        ...
