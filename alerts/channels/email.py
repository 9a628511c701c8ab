"""E-mail over SMTP: plain-text and HTML parts, the growth chart inline, threaded updates.

The Message-ID is derived from the delivery's idempotency key, so a resend after a
crash carries the same id and mail clients fold the duplicate; updates set
In-Reply-To/References to the Message-ID of the first mail the recipient got about the issue,
under the same subject, so they land in its thread.
"""

from __future__ import annotations

import re
import smtplib
import ssl
from email.message import EmailMessage
from email.utils import formatdate

from alerts.channels.base import OutgoingMessage, PermanentFailure, TemporaryFailure
from alerts.config import SmtpSettings
from alerts.directory import Directory
from monitor.kernel.config import secret

_ADDRESS = re.compile(r"^[^@\s<>]+@[^@\s<>]+\.[^@\s<>]+$")


def message_id(key: str) -> str:
    """A stable RFC 5322 Message-ID for an idempotency key."""
    safe = re.sub(r"[^A-Za-z0-9.\-]", ".", key)
    return f"<{safe}@oki-monitor>"


def build_email(message: OutgoingMessage, sender: str, recipient: str) -> EmailMessage:
    """The MIME message: multipart/alternative (plain, HTML with the chart as a related image)."""
    msg = EmailMessage()
    msg["Subject"] = message.subject
    msg["From"] = sender
    msg["To"] = recipient
    msg["Date"] = formatdate(localtime=False)
    msg["Message-ID"] = message_id(message.idempotency_key)
    msg["X-OKI-Idempotency-Key"] = message.idempotency_key
    if message.reply_to:
        msg["In-Reply-To"] = message.reply_to
        msg["References"] = message.reply_to
    msg.set_content(message.plain)
    msg.add_alternative(message.html, subtype="html")
    if message.chart_png:
        for part in msg.iter_parts():
            if part.get_content_type() == "text/html":
                part.add_related(
                    message.chart_png, maintype="image", subtype="png", cid="<chart>", filename="grafik.png"
                )
    for filename, mime, data in message.attachments:
        maintype, _, subtype = mime.partition("/")
        msg.add_attachment(data, maintype=maintype, subtype=subtype or "octet-stream", filename=filename)
    return msg


class EmailChannel:
    kind = "email"

    def __init__(self, settings: SmtpSettings) -> None:
        self.settings = settings
        self._password = secret(settings.password_env)

    def _connect(self) -> smtplib.SMTP:
        s = self.settings
        if s.security == "ssl":
            return smtplib.SMTP_SSL(s.host, s.port, timeout=s.timeout_seconds, context=ssl.create_default_context())
        smtp = smtplib.SMTP(s.host, s.port, timeout=s.timeout_seconds)
        if s.security == "starttls":
            smtp.starttls(context=ssl.create_default_context())
        return smtp

    def send(self, message: OutgoingMessage, recipient: str) -> str:
        """Send one e-mail; 4xx and connection problems are temporary, 5xx on the address is permanent."""
        if not _ADDRESS.match(recipient):
            raise PermanentFailure(f"alamat e-mail tidak valid: {recipient!r}; perbaiki di config agencies/receivers")
        msg = build_email(message, self.settings.sender, recipient)
        try:
            smtp = self._connect()
        except (OSError, smtplib.SMTPException) as exc:
            where = f"{self.settings.host}:{self.settings.port}"
            raise TemporaryFailure(f"server SMTP {where} tidak terjangkau: {exc}") from None
        try:
            if self.settings.username:
                smtp.login(self.settings.username, self._password or "")
            smtp.send_message(msg)
        except smtplib.SMTPAuthenticationError as exc:
            # A config problem: keep retrying slowly so fixing the password delivers everything queued.
            raise TemporaryFailure(f"login SMTP ditolak ({exc.smtp_code}); periksa username/password", 300) from None
        except smtplib.SMTPRecipientsRefused as exc:
            code = next(iter(exc.recipients.values()))[0]
            if 400 <= code < 500:
                raise TemporaryFailure(f"penerima ditolak sementara ({code})") from None
            raise PermanentFailure(f"alamat {recipient} ditolak server ({code})") from None
        except smtplib.SMTPResponseException as exc:
            if 400 <= exc.smtp_code < 500:
                raise TemporaryFailure(f"server SMTP menunda ({exc.smtp_code} {exc.smtp_error!r})") from None
            raise PermanentFailure(f"server SMTP menolak pesan ({exc.smtp_code} {exc.smtp_error!r})") from None
        except (TimeoutError, OSError, smtplib.SMTPException) as exc:
            raise TemporaryFailure(f"koneksi SMTP terputus: {exc}") from None
        finally:
            try:
                smtp.quit()
            except (OSError, smtplib.SMTPException):
                smtp.close()
        return str(msg["Message-ID"])

    def close(self) -> None:
        """Nothing is kept open between sends."""


def create(config: Directory) -> EmailChannel:
    """The e-mail channel from ``alerts.smtp``."""
    return EmailChannel(config.alerts.smtp)
