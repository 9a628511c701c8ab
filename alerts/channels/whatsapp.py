"""WhatsApp alerts: Meta's Business Cloud API, or a generic HTTP gateway (``alerts.whatsapp.profile``).

Cloud API (``POST {api_base}/{version}/{phone-number-id}/messages``, ``Authorization: Bearer``):

* Outside the 24-hour customer service window (the recipient has not written to us in the last
  24 hours, as recorded by the webhook in :mod:`alerts.conversation`) only an approved template may
  go: ``type: template`` with three body parameters (headline, summary, dashboard link) and the
  quick-reply buttons' payloads (``ack:<token>``, ``fb:n:<token>``, ...).
* Inside it, a free-form message: reply buttons (``type: interactive``) or plain text. When Meta
  answers 131047 (the window closed after all), the same alert goes again at once as a template.
* Errors are mapped by their documented ``error.code``: throughput and pair-rate limits
  (130429, 131056, 80007, 4) and temporary server trouble are retried by the outbox with
  backoff; template, recipient and token errors (132xxx, 131026, 190, ...) give up with the
  reason in Bahasa Indonesia in the delivery status.

The webhook (``GET``/``POST /whatsapp/webhook`` on the dashboard) answers Meta's verification
(``hub.mode``, ``hub.verify_token``, ``hub.challenge``), checks ``X-Hub-Signature-256`` (HMAC-SHA256
of the raw body with the app secret) and turns button replies into acknowledgements and feedback,
like the Telegram buttons. Failed-status notifications mark a sent delivery failed or dead.

Gateway: one form or JSON POST with a token (header or field); field names, fixed extra fields
and the success test come from config. Gateways have no buttons, so the text carries the signed
confirmation link.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import time
from datetime import UTC, datetime, timedelta
from functools import lru_cache
from typing import Any

import httpx
from sqlalchemy import select
from sqlalchemy.orm import Session

from alerts.channels.base import OutgoingMessage, PermanentFailure, TemporaryFailure
from alerts.config import WhatsAppCloudSettings, WhatsAppGatewaySettings, WhatsAppSettings
from alerts.conversation import close_conversation, normalise_number, record_inbound, set_pending, take_pending
from alerts.directory import Directory
from alerts.inbound import accept_whatsapp
from alerts.render import FEEDBACK_LABELS
from monitor.domain.response import DIPROSES, NOTE_PROMPTS, SELESAI, status_label
from monitor.kernel.config import secret
from monitor.store.db import Database
from monitor.store.models import Delivery, DeliveryAttempt, DeliveryStatus, Issue

log = logging.getLogger(__name__)

RETRY_CODES: dict[int, tuple[str, float | None]] = {
    4: ("batas panggilan API aplikasi Meta tercapai", 60.0),
    80007: ("batas laju akun WhatsApp Business tercapai", 60.0),
    130429: ("batas laju pengiriman nomor bisnis tercapai (throughput)", None),
    131056: ("terlalu banyak pesan ke nomor yang sama dalam waktu singkat (pair rate limit)", 6.0),
    131048: ("nomor bisnis dibatasi karena banyak pesan ditandai spam; periksa kualitas di WhatsApp Manager", 3600.0),
    1: ("galat sementara di server Meta", None),
    2: ("layanan Meta sedang sibuk atau tidak tersedia", None),
    131000: ("galat tak terduga di server Meta", None),
    131016: ("layanan WhatsApp sementara tidak tersedia", None),
    133004: ("server WhatsApp sementara tidak tersedia", None),
}
"""Documented error codes that a later try may overcome: (reason in Bahasa, wait in seconds or None)."""

GIVE_UP_CODES: dict[int, str] = {
    0: "token akses WhatsApp tidak dapat diautentikasi; buat token baru",
    3: "aplikasi Meta tidak punya izin untuk WhatsApp Cloud API",
    10: "izin aplikasi Meta belum diberikan atau dicabut",
    190: "token akses WhatsApp kedaluwarsa atau dicabut (kode 190); ganti token di variabel lingkungan",
    100: "permintaan ke WhatsApp tidak sah (parameter salah); periksa konfigurasi",
    368: "nomor bisnis diblokir sementara karena pelanggaran kebijakan WhatsApp",
    131008: "parameter wajib pesan WhatsApp tidak ada",
    131009: "nilai parameter pesan WhatsApp tidak sah",
    131021: "nomor penerima sama dengan nomor pengirim",
    131026: "pesan tidak dapat diterima: nomor tidak memakai WhatsApp, aplikasinya terlalu lama, "
    "atau belum menyetujui ketentuan WhatsApp",
    131030: "nomor penerima belum ada di daftar nomor uji aplikasi Meta",
    131031: "akun WhatsApp Business dikunci oleh Meta",
    131045: "nomor bisnis belum terdaftar dengan benar (sertifikat tampilan)",
    131047: "lebih dari 24 jam sejak penerima terakhir membalas; hanya templat yang boleh dikirim",
    131051: "jenis pesan tidak didukung WhatsApp",
    132000: "jumlah parameter templat WhatsApp tidak cocok dengan templat yang disetujui",
    132001: "templat WhatsApp tidak ada (nama atau bahasa salah, atau belum disetujui)",
    132005: "teks templat WhatsApp terlalu panjang setelah diisi",
    132007: "isi templat WhatsApp melanggar kebijakan format",
    132012: "format parameter templat WhatsApp tidak cocok dengan templat",
    132015: "templat WhatsApp dijeda karena kualitasnya rendah",
    132016: "templat WhatsApp dinonaktifkan karena kualitasnya rendah",
    132018: "parameter templat WhatsApp berisi baris baru, tab atau spasi berlebih",
    133010: "nomor bisnis belum terdaftar di Cloud API",
}
"""Documented error codes where retrying cannot help: the delivery is marked dead with this reason."""

REENGAGEMENT = 131047
"""Meta: "Re-engagement message" — more than 24 hours since the recipient last replied."""


class WhatsAppError(Exception):
    """A Cloud API call failed; ``code`` is Meta's ``error.code`` (0 when the answer had none)."""

    def __init__(self, message: str, code: int, *, temporary: bool, retry_after: float | None = None) -> None:
        super().__init__(message)
        self.code = code
        self.temporary = temporary
        self.retry_after = retry_after


@lru_cache(maxsize=4)
def shared_client(timeout_seconds: float) -> httpx.Client:
    """One pooled client per process (building one loads the CA bundle and opens new connections)."""
    return httpx.Client(timeout=httpx.Timeout(timeout_seconds, connect=5.0), follow_redirects=False)


def classify_error(status: int, body: Any, retry_after_header: str | None = None) -> WhatsAppError:
    """Map a Cloud API error answer to retry-or-give-up with a reason in Bahasa Indonesia."""
    error = body.get("error") if isinstance(body, dict) else None
    error = error if isinstance(error, dict) else {}
    try:
        code = int(error["code"])
    except (KeyError, TypeError, ValueError):
        code = -1  # no Meta error code (a proxy's page, an empty answer): judged by the HTTP status
    details = (error.get("error_data") or {}).get("details") if isinstance(error.get("error_data"), dict) else None
    said = str(details or error.get("message") or f"HTTP {status}")[:300]
    coded = f", kode {code}" if code >= 0 else ""
    header_wait = float(retry_after_header) if retry_after_header and retry_after_header.isdigit() else None
    if code in RETRY_CODES:
        reason, wait = RETRY_CODES[code]
        return WhatsAppError(f"{reason} (kode {code})", code, temporary=True, retry_after=header_wait or wait)
    if code in GIVE_UP_CODES:
        return WhatsAppError(f"{GIVE_UP_CODES[code]} (kode {code}: {said})", code, temporary=False)
    if status == 429 or status >= 500 or status == 408:
        return WhatsAppError(
            f"WhatsApp menjawab HTTP {status}{coded}: {said}", code, temporary=True, retry_after=header_wait
        )
    if 200 <= code < 300:
        return WhatsAppError(f"izin API WhatsApp belum diberikan (kode {code})", code, temporary=False)
    if status == 401:
        return WhatsAppError(f"token akses WhatsApp ditolak (HTTP 401{coded})", code, temporary=False)
    return WhatsAppError(f"WhatsApp menolak pesan (HTTP {status}{coded}): {said}", code, temporary=False)


class CloudClient:
    """The Messages endpoint of one business phone number."""

    def __init__(self, settings: WhatsAppSettings, client: httpx.Client | None = None) -> None:
        self.cloud: WhatsAppCloudSettings = settings.cloud
        self.token = secret(self.cloud.token_env)
        self._client = client or shared_client(settings.timeout_seconds)

    @property
    def url(self) -> str:
        c = self.cloud
        return f"{c.api_base.rstrip('/')}/{c.api_version}/{c.phone_number_id}/messages"

    def post(self, payload: dict[str, Any]) -> str:
        """Send one message; return its ``wamid``, or raise :class:`WhatsAppError`."""
        if not self.token:
            raise WhatsAppError(
                f"token WhatsApp belum diatur: isi variabel lingkungan {self.cloud.token_env}",
                0,
                temporary=True,
                retry_after=600,
            )
        try:
            response = self._client.post(self.url, json=payload, headers={"Authorization": f"Bearer {self.token}"})
        except httpx.TimeoutException:
            # The request may have left: a possible duplicate is preferred to a lost alert.
            raise WhatsAppError(
                "WhatsApp tidak menjawab tepat waktu (pesan mungkin sudah terkirim)", 0, temporary=True
            ) from None
        except httpx.TransportError as exc:
            raise WhatsAppError(f"WhatsApp tidak terjangkau: {exc.__class__.__name__}", 0, temporary=True) from None
        try:
            body = response.json()
        except ValueError:
            body = {}
        if response.status_code == 200 and isinstance(body, dict) and body.get("messages"):
            return str((body["messages"][0] or {}).get("id") or "")
        raise classify_error(response.status_code, body, response.headers.get("Retry-After"))


STATUS_ACTIONS = (DIPROSES, SELESAI)
"""Answer steps a button can start; both need a note, asked for in the chat."""


def _payloads(message: OutgoingMessage) -> dict[str, str]:
    """Button action → payload from the alert's buttons: ``ack:<token>``, ``fb:n:<token>``, ``st:diproses:<token>``."""
    out: dict[str, str] = {}
    for row in message.buttons:
        for b in row:
            data = b.callback_data or ""
            if data.startswith("ack:"):
                out["ack"] = data
                out |= {status: f"st:{status}:{data[4:]}" for status in STATUS_ACTIONS}
            elif data.startswith("fb:") and data.count(":") == 2:
                out[data.split(":")[1]] = data
    return out


BUTTON_TITLES = {"ack": "Tindak lanjuti", **FEEDBACK_LABELS, DIPROSES: "Sedang diproses", SELESAI: "Sudah selesai"}
"""Reply-button titles (at most 20 characters each on WhatsApp)."""


def template_message(cloud: WhatsAppCloudSettings, message: OutgoingMessage, to: str) -> dict[str, Any]:
    """The ``type: template`` request for an alert (Meta's documented shape)."""
    payloads = _payloads(message)
    params = list(message.template_params) or [message.subject, message.subject, "-"]
    components: list[dict[str, Any]] = [{"type": "body", "parameters": [{"type": "text", "text": p} for p in params]}]
    if "ack" in payloads:
        name = cloud.template
        for index, action in enumerate(cloud.template_buttons):
            components.append(
                {
                    "type": "button",
                    "sub_type": "quick_reply",
                    "index": str(index),
                    # A feedback button of an alert without example posts answers "noop": nothing to label.
                    "parameters": [{"type": "payload", "payload": payloads.get(action, "noop")}],
                }
            )
    else:
        name = cloud.info_template
    return {
        "messaging_product": "whatsapp",
        "recipient_type": "individual",
        "to": to,
        "type": "template",
        "template": {"name": name, "language": {"code": cloud.language}, "components": components},
    }


def free_form_message(cloud: WhatsAppCloudSettings, message: OutgoingMessage, to: str) -> dict[str, Any]:
    """Inside the 24-hour window: reply buttons when the alert has any, else plain text."""
    payloads = _payloads(message)
    base = {"messaging_product": "whatsapp", "recipient_type": "individual", "to": to}
    if payloads:
        order = [a for a in ("ack", *cloud.template_buttons) if a in payloads]
        actions = list(dict.fromkeys(order))[:3]  # WhatsApp allows three reply buttons
        return base | {
            "type": "interactive",
            "interactive": {
                "type": "button",
                "body": {"text": message.whatsapp_short or message.subject},
                "action": {
                    "buttons": [
                        {"type": "reply", "reply": {"id": payloads[a], "title": BUTTON_TITLES[a][:20]}} for a in actions
                    ]
                },
            },
        }
    return base | {
        "type": "text",
        "text": {"body": message.whatsapp_text or message.plain[:4096], "preview_url": False},
    }


class _Paced:
    """At most one message per ``interval`` to one recipient (Meta's pair rate: about one per 6 s)."""

    def __init__(self, interval: float) -> None:
        self._interval = interval
        self._last: dict[str, float] = {}

    def wait(self, recipient: str) -> None:
        last = self._last.get(recipient)
        if last is not None and self._interval > 0:
            pause = self._interval - (time.monotonic() - last)
            if pause > 0:
                time.sleep(pause)
        self._last[recipient] = time.monotonic()


class WhatsAppCloudChannel:
    kind = "whatsapp"

    def __init__(self, settings: WhatsAppSettings, client: httpx.Client | None = None) -> None:
        self.settings = settings
        self.api = CloudClient(settings, client)
        self._pace = _Paced(settings.per_recipient_interval_seconds)

    def send(self, message: OutgoingMessage, recipient: str) -> str:
        """Send a free-form message inside the window, else (or when Meta says it closed) the template."""
        to = normalise_number(recipient)
        if not to:
            raise PermanentFailure(f"nomor WhatsApp {recipient!r} tidak sah")
        cloud = self.settings.cloud
        self._pace.wait(to)
        try:
            if message.conversation_open:
                try:
                    return self.api.post(free_form_message(cloud, message, to))
                except WhatsAppError as exc:
                    if exc.code != REENGAGEMENT:
                        raise
                    # Documented answer to 131047: the user must be reached with a template.
                    log.info("whatsapp window to %s closed; sending the template instead", to)
            return self.api.post(template_message(cloud, message, to))
        except WhatsAppError as exc:
            if exc.temporary:
                raise TemporaryFailure(str(exc), exc.retry_after) from None
            raise PermanentFailure(f"WhatsApp ke {recipient}: {exc}") from None

    def close(self) -> None:
        """Nothing to release: the HTTP client is shared per process."""


def _dig(data: Any, path: str | None) -> Any:
    """The value at a dotted path (``data.status``, ``id.0``) of a JSON answer, or None."""
    if not path:
        return None
    for key in path.split("."):
        if isinstance(data, dict):
            data = data.get(key)
        elif isinstance(data, list) and key.isdigit() and int(key) < len(data):
            data = data[int(key)]
        else:
            return None
    return data


class WhatsAppGatewayChannel:
    """A generic Indonesian WhatsApp gateway: form or JSON POST, token in a header or a field."""

    kind = "whatsapp"

    def __init__(self, settings: WhatsAppSettings, client: httpx.Client | None = None) -> None:
        self.gateway: WhatsAppGatewaySettings = settings.gateway
        self.token = secret(self.gateway.token_env)
        self._client = client or shared_client(settings.timeout_seconds)
        self._pace = _Paced(settings.per_recipient_interval_seconds)

    def send(self, message: OutgoingMessage, recipient: str) -> str:
        """POST the alert text to the gateway; success as the configured field says."""
        g = self.gateway
        if not self.token:
            raise TemporaryFailure(f"token gateway WhatsApp belum diatur: isi variabel lingkungan {g.token_env}", 600)
        to = normalise_number(recipient)
        if not to:
            raise PermanentFailure(f"nomor WhatsApp {recipient!r} tidak sah")
        fields: dict[str, str] = dict(g.extra_fields)
        fields[g.phone_field] = to
        fields[g.message_field] = message.whatsapp_text or message.plain
        headers: dict[str, str] = {"Idempotency-Key": message.idempotency_key}
        if g.token_header:
            headers[g.token_header] = g.token_prefix + self.token
        if g.token_field:
            fields[g.token_field] = self.token
        self._pace.wait(to)
        try:
            if g.body == "json":
                response = self._client.post(g.url, json=fields, headers=headers)
            else:
                response = self._client.post(g.url, data=fields, headers=headers)
        except httpx.TimeoutException:
            raise TemporaryFailure(
                "gateway WhatsApp tidak menjawab tepat waktu (pesan mungkin sudah terkirim)"
            ) from None
        except httpx.TransportError as exc:
            raise TemporaryFailure(f"gateway WhatsApp tidak terjangkau: {exc.__class__.__name__}") from None
        status = response.status_code
        if status == 429 or status >= 500 or status == 408:
            retry = response.headers.get("Retry-After")
            raise TemporaryFailure(
                f"gateway WhatsApp menjawab {status}", float(retry) if retry and retry.isdigit() else None
            )
        if status in (401, 403):
            raise PermanentFailure(f"gateway WhatsApp menolak token (HTTP {status}); periksa {g.token_env}")
        if not 200 <= status < 300:
            raise PermanentFailure(f"gateway WhatsApp menolak pesan (HTTP {status})")
        try:
            body: Any = response.json()
        except ValueError:
            body = None
        if g.success_field:
            value = _dig(body, g.success_field)
            if str(value).lower() not in {v.lower() for v in g.success_values}:
                reason = _dig(body, g.reason_field)
                # Gateways say "device disconnected", "quota", "invalid number" alike in one field: retry,
                # and show their words; the outbox gives up after its attempts and tells the admins.
                raise TemporaryFailure(f"gateway WhatsApp tidak mengirim: {str(reason or value)[:200]}")
        ident = _dig(body, g.id_field)
        if isinstance(ident, list):
            ident = ident[0] if ident else None
        return str(ident if ident is not None else status)

    def close(self) -> None:
        """Nothing to release: the HTTP client is shared per process."""


def create(config: Directory) -> WhatsAppCloudChannel | WhatsAppGatewayChannel:
    """The WhatsApp channel of the configured profile."""
    settings = config.alerts.whatsapp
    if settings.profile == "gateway":
        return WhatsAppGatewayChannel(settings)
    return WhatsAppCloudChannel(settings)


# --- the webhook -------------------------------------------------------------------------------------


def verify_subscription(config: Directory, mode: str | None, token: str | None, challenge: str | None) -> str | None:
    """Meta's ``GET`` check of the callback URL: the challenge to echo, or None to refuse (403)."""
    expected = secret(config.alerts.whatsapp.cloud.verify_token_env)
    if mode != "subscribe" or not expected or not token or challenge is None:
        return None
    return challenge if hmac.compare_digest(expected, token) else None


def sign_body(app_secret: str, body: bytes) -> str:
    """The ``X-Hub-Signature-256`` value Meta sends for ``body``."""
    return "sha256=" + hmac.new(app_secret.encode(), body, hashlib.sha256).hexdigest()


def verify_signature(config: Directory, body: bytes, header: str | None) -> bool:
    """True when ``X-Hub-Signature-256`` is the HMAC-SHA256 of the raw body with the app secret."""
    key = secret(config.alerts.whatsapp.cloud.app_secret_env)
    return bool(key and header and hmac.compare_digest(sign_body(key, body), header.strip()))


def _when(value: Any, now: datetime) -> datetime:
    try:
        return datetime.fromtimestamp(int(value), UTC)
    except (TypeError, ValueError, OverflowError, OSError):
        return now


def _button_payload(msg: dict[str, Any]) -> str | None:
    """The payload of a pressed button: template quick reply (``button``) or reply button (``interactive``)."""
    if msg.get("type") == "button":
        return str((msg.get("button") or {}).get("payload") or "") or None
    if msg.get("type") == "interactive":
        inter = msg.get("interactive") or {}
        if inter.get("type") == "button_reply":
            return str((inter.get("button_reply") or {}).get("id") or "") or None
    return None


def apply_button(session: Session, config: Directory, payload: str, actor: str, now: datetime) -> str:
    """Do what a button's payload asks (acknowledge, feedback, start a status step); return the reply."""
    from alerts.ack import AckError, acknowledge, record_feedback

    try:
        if payload.startswith("ack:"):
            alert = acknowledge(session, token=payload[4:], actor=actor, now=now, config=config, channel="whatsapp")
            which = f" untuk isu OKI-{alert.issue_id}" if alert.issue_id is not None else ""
            return f"Dicatat{which}, terima kasih. Silakan tindak lanjuti."
        if payload.startswith("fb:") and payload.count(":") == 2:
            _, code, token = payload.split(":")
            return record_feedback(session, token=token, code=code, actor=actor, now=now, source="whatsapp")
        if payload == "noop":
            return "Tidak ada unggahan contoh untuk diberi label pada peringatan ini."
        if payload.startswith("st:") and payload.count(":") == 2:
            _, status, token = payload.split(":")
            if status not in STATUS_ACTIONS:
                return "Perintah tidak dikenal."
            issue = _issue_for_answer(session, config, token)
            set_pending(session, actor.removeprefix("whatsapp:+"), {"status": status, "token": token}, now)
            return (
                f"{NOTE_PROMPTS[status]} untuk isu OKI-{issue.id} (status {status_label(status)}): "
                "balas pesan ini dengan teks dalam 1 jam."
            )
    except AckError as exc:
        return str(exc)
    return "Perintah tidak dikenal."


def _issue_for_answer(session: Session, config: Directory, token: str) -> Issue:
    """The issue an alert's status button answers; only the agency responsible for it may answer."""
    from alerts.ack import AckError, find_alert, speaks_for_issue

    alert = find_alert(session, token)
    issue = session.get(Issue, alert.issue_id) if alert.issue_id is not None else None
    if issue is None:
        raise AckError("Peringatan ini tidak menyangkut satu isu; ubah status lewat dasbor.")
    if not speaks_for_issue(alert, issue, config):
        raise AckError("Hanya dinas penanggung jawab yang dapat mengubah status isu ini; lihat dasbor.")
    return issue


def apply_note(session: Session, config: Directory, sender: str, text: str, now: datetime) -> str | None:
    """A text that answers a status button: the step is done with it as its note. None when nothing waits."""
    from alerts.ack import AckError
    from alerts.respond import RespondError, set_status

    pending = take_pending(session, sender, now)
    if pending is None:
        return None
    try:
        issue = _issue_for_answer(session, config, pending.get("token", ""))
        step = set_status(
            session,
            config,
            issue,
            pending.get("status", ""),
            text,
            actor=f"whatsapp:+{sender}",
            channel="whatsapp",
            now=now,
        )
    except (AckError, RespondError) as exc:
        return str(exc)
    return f"Status isu OKI-{issue.id} sekarang {status_label(step.status)}; catatan dicatat. Terima kasih."


def _status_failure(session: Session, config: Directory, status: dict[str, Any], now: datetime) -> None:
    """A ``failed`` status of a message we sent: the delivery is retried (limits) or marked dead."""
    from alerts.outbox import _tell_admins

    wamid = str(status.get("id") or "")
    delivery = (
        session.scalar(select(Delivery).where(Delivery.channel == "whatsapp", Delivery.external_id == wamid))
        if wamid
        else None
    )
    if delivery is None or delivery.status != DeliveryStatus.SENT:
        return
    errors = status.get("errors") or [{}]
    err = classify_error(400, {"error": errors[0] if isinstance(errors[0], dict) else {}})
    if err.code == REENGAGEMENT:
        close_conversation(session, delivery.recipient)
    session.add(DeliveryAttempt(delivery_id=delivery.id, at=now, ok=False, error=str(err), retry_after=err.retry_after))
    delivery.last_error = f"WhatsApp tidak menyampaikan pesan: {err}"
    if err.temporary or err.code == REENGAGEMENT:
        # Sent again (as a template, since the window is now known closed) after the limit's wait.
        delivery.status = DeliveryStatus.FAILED
        delivery.next_attempt_at = now + timedelta(seconds=err.retry_after or 60)
    else:
        delivery.status = DeliveryStatus.DEAD
        _tell_admins(session, config, delivery, now)


def handle_webhook(
    db: Database,
    config: Directory,
    signature: str | None,
    body: bytes,
    now: datetime,
    *,
    client: httpx.Client | None = None,
) -> int:
    """Apply a webhook POST from Meta; return the HTTP status to answer (403 for a bad signature).

    Every inbound message opens (renews) the sender's 24-hour window; button presses acknowledge
    or give feedback, answered with a short text (free-form is allowed: the user just wrote). A text
    that answers no status step, a photo or an image file is a report, queued for the intake
    (:mod:`alerts.inbound`).
    """
    if not verify_signature(config, body, signature):
        return 403
    try:
        data = json.loads(body)
    except ValueError:
        return 400
    if not isinstance(data, dict) or data.get("object") != "whatsapp_business_account":
        return 400
    replies: list[tuple[str, str, str | None]] = []
    with db.session() as session:
        for entry in data.get("entry") or []:
            for change in (entry or {}).get("changes") or []:
                if (change or {}).get("field") != "messages":
                    continue
                value = change.get("value") or {}
                for msg in value.get("messages") or []:
                    sender = normalise_number(str(msg.get("from") or ""))
                    if not sender:
                        continue
                    record_inbound(session, sender, _when(msg.get("timestamp"), now))
                    payload = _button_payload(msg)
                    if payload:
                        answer = apply_button(session, config, payload, f"whatsapp:+{sender}", now)
                        replies.append((sender, answer, msg.get("id")))
                        continue
                    if msg.get("type") == "text":
                        body_text = str((msg.get("text") or {}).get("body") or "")
                        noted = apply_note(session, config, sender, body_text, now)
                        if noted is not None:
                            replies.append((sender, noted, msg.get("id")))
                            continue
                    # Anything else is a report ("Lapor ke monitor"): queued now, read (media, OCR)
                    # and answered by later passes, so Meta gets its 200 at once.
                    accept_whatsapp(session, config, msg, sender, now)
                for status in value.get("statuses") or []:
                    if (status or {}).get("status") == "failed":
                        _status_failure(session, config, status, now)
    if replies and config.alerts.whatsapp.profile == "cloud":
        api = CloudClient(config.alerts.whatsapp, client)
        for to, text, replied in replies:
            message: dict[str, Any] = {
                "messaging_product": "whatsapp",
                "recipient_type": "individual",
                "to": to,
                "type": "text",
                "text": {"body": text, "preview_url": False},
            }
            if replied:
                message["context"] = {"message_id": replied}
            try:
                api.post(message)
            except WhatsAppError as exc:  # the acknowledgement is recorded; the courtesy reply may fail
                log.info("whatsapp reply to a button press failed: %s", exc)
    return 200
