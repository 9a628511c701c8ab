"""A real SMTP server in-process (aiosmtpd) that keeps what it receives: the demo's mail server."""

from __future__ import annotations

import email
import socket
import threading
from dataclasses import dataclass
from email.message import Message
from typing import Any

from aiosmtpd.controller import Controller


@dataclass(frozen=True)
class ReceivedMail:
    mail_from: str
    rcpt_tos: tuple[str, ...]
    message: Message

    @property
    def subject(self) -> str:
        return str(self.message.get("Subject", ""))


class _Handler:
    def __init__(self, sink: SmtpSink) -> None:
        self.sink = sink

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        if self.sink.refuse_with:
            return self.sink.refuse_with
        raw = envelope.original_content or envelope.content
        msg = email.message_from_bytes(raw if isinstance(raw, bytes) else raw.encode())
        with self.sink.lock:
            self.sink.received.append(ReceivedMail(envelope.mail_from, tuple(envelope.rcpt_tos), msg))
        return "250 OK diterima"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


class SmtpSink:
    """Start with :meth:`start`; messages land in :attr:`received`. ``refuse_with`` simulates a 4xx/5xx."""

    def __init__(self, port: int | None = None) -> None:
        self.port = port or free_port()
        self.received: list[ReceivedMail] = []
        self.lock = threading.Lock()
        self.refuse_with: str | None = None
        # Built by start(): aiosmtpd's Controller opens an event loop when it is made and closes it only
        # when its server thread ends, so one made for a sink that never starts is never closed.
        self._controller: Controller | None = None

    def start(self) -> SmtpSink:
        """Serve on :attr:`port` in a thread of its own until :meth:`stop`."""
        self._controller = Controller(_Handler(self), hostname="127.0.0.1", port=self.port)
        self._controller.start()
        return self

    def stop(self) -> None:
        """Stop serving; the server thread closes its event loop."""
        if self._controller is not None:
            self._controller.stop()
            self._controller = None

    def __enter__(self) -> SmtpSink:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
