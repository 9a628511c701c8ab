"""Telegram Bot API over httpx: alerts with an acknowledge button, and reading the button presses.

Sending: ``sendMessage`` (HTML parse mode, text already escaped and fitted to 4096 by
:mod:`alerts.render`) with an inline keyboard, as a reply to the issue's first message in
that chat when there is one, then the growth chart (when it changed) via ``sendPhoto`` as
a reply, captioned with the issue's number and title. Telegram has no idempotency key, so a
timeout after the request left is treated as temporary (a possible duplicate is preferred to a
lost alert).

Receiving: :func:`poll_updates` (getUpdates, offset kept in the database) or
:func:`handle_webhook` (the dashboard forwards POSTs that carry the secret-token header).
"""

from __future__ import annotations

import hmac
import json
import logging
import time
from datetime import datetime
from functools import lru_cache
from typing import Any

import httpx
from sqlalchemy import select
from sqlalchemy.orm import Session

from alerts.buttons import (
    Press,
    apply_note,
    apply_reroute,
    issue_of,
    parse_press,
    parse_ref,
    picker_keyboard,
    prompt_text,
    sent_to_chat,
)
from alerts.channels.base import Button, OutgoingMessage, PermanentFailure, TemporaryFailure
from alerts.config import TelegramSettings
from alerts.directory import Directory
from monitor.domain.response import ACTION_LABELS, SALAH_DINAS
from monitor.kernel.config import secret
from monitor.store.db import Database
from monitor.store.models import Source

log = logging.getLogger(__name__)

OFFSET_SOURCE = "_telegram_bot_updates"
"""Name of the row in ``sources`` that keeps the getUpdates offset (kind starts with '_': internal)."""


class TelegramApiError(Exception):
    """A Bot API call failed; ``temporary`` says whether retrying may help."""

    def __init__(self, message: str, *, temporary: bool, retry_after: float | None = None) -> None:
        super().__init__(message)
        self.temporary = temporary
        self.retry_after = retry_after


@lru_cache(maxsize=4)
def shared_client(timeout_seconds: float) -> httpx.Client:
    """One pooled client per process: building one loads the CA bundle (~60 ms) and opens new connections."""
    return httpx.Client(timeout=httpx.Timeout(timeout_seconds, connect=5.0))


class TelegramClient:
    """A thin Bot API client: one method, errors mapped to what the outbox needs to know."""

    def __init__(self, settings: TelegramSettings, client: httpx.Client | None = None) -> None:
        self.settings = settings
        self.token = secret(settings.token_env)
        self._client = client or shared_client(settings.timeout_seconds)

    def call(self, method: str, payload: dict[str, Any] | None = None, files: dict[str, Any] | None = None) -> Any:
        """Call ``method`` and return its ``result``; raise :class:`TelegramApiError` on any failure."""
        if not self.token:
            raise TelegramApiError(
                f"token bot Telegram belum diatur: isi variabel lingkungan {self.settings.token_env}",
                temporary=True,
                retry_after=600,
            )
        url = f"{self.settings.api_base.rstrip('/')}/bot{self.token}/{method}"
        try:
            if files:
                form = {k: json.dumps(v) if isinstance(v, dict | list) else str(v) for k, v in (payload or {}).items()}
                response = self._client.post(url, data=form, files=files)
            else:
                response = self._client.post(url, json=payload or {})
        except httpx.TimeoutException:
            raise TelegramApiError(
                "Telegram tidak menjawab tepat waktu (pesan mungkin sudah terkirim)", temporary=True
            ) from None
        except httpx.TransportError as exc:
            raise TelegramApiError(f"Telegram tidak terjangkau: {exc.__class__.__name__}", temporary=True) from None
        try:
            body = response.json()
        except ValueError:
            body = {}
        if response.status_code == 200 and body.get("ok"):
            return body.get("result")
        code = int(body.get("error_code") or response.status_code)
        description = str(body.get("description") or f"HTTP {response.status_code}")
        params = body.get("parameters") or {}
        if code == 429:
            retry = params.get("retry_after") or response.headers.get("Retry-After")
            raise TelegramApiError(description, temporary=True, retry_after=float(retry) if retry else None)
        if "migrate_to_chat_id" in params:
            raise TelegramApiError(
                f"grup sudah menjadi supergroup; ganti chat id dengan {params['migrate_to_chat_id']} di config",
                temporary=False,
            )
        if code == 401:
            raise TelegramApiError("token bot Telegram ditolak (401); periksa token", temporary=True, retry_after=600)
        if code >= 500:
            raise TelegramApiError(description, temporary=True)
        raise TelegramApiError(description, temporary=False)

    def close(self) -> None:
        """Nothing to release: the HTTP client is shared per process (or belongs to the caller)."""


def chat_id(recipient: str) -> int | str:
    """Numeric chat ids go as integers, ``@channel`` names as strings (a ``#topic`` suffix is dropped)."""
    chat = recipient.partition("#")[0]
    try:
        return int(chat)
    except ValueError:
        return chat


def thread_id(recipient: str) -> int | None:
    """The forum topic of a ``<chat_id>#<message_thread_id>`` recipient, or None for the whole chat."""
    _, sep, topic = recipient.partition("#")
    return int(topic) if sep and topic.isdigit() else None


def _target(recipient: str) -> dict[str, Any]:
    """``chat_id`` and, for a topic of a forum supergroup, ``message_thread_id``."""
    target: dict[str, Any] = {"chat_id": chat_id(recipient)}
    topic = thread_id(recipient)
    if topic is not None:
        target["message_thread_id"] = topic
    return target


def keyboard(buttons: tuple[tuple[Button, ...], ...]) -> dict[str, Any]:
    """An InlineKeyboardMarkup from rows of buttons."""
    rows = []
    for row in buttons:
        rows.append(
            [
                {"text": b.text, "callback_data": b.callback_data}
                if b.callback_data
                else {"text": b.text, "url": b.url}
                for b in row
            ]
        )
    return {"inline_keyboard": rows}


class TelegramChannel:
    kind = "telegram"

    def __init__(self, settings: TelegramSettings, client: httpx.Client | None = None) -> None:
        self.api = TelegramClient(settings, client)
        self._interval = settings.per_chat_interval_seconds
        self._last_send: dict[str, float] = {}

    def _pace(self, recipient: str) -> None:
        # Stay under Telegram's per-chat flood limit instead of collecting 429s during a burst.
        last = self._last_send.get(recipient)
        if last is not None and self._interval > 0:
            wait = self._interval - (time.monotonic() - last)
            if wait > 0:
                time.sleep(wait)
        self._last_send[recipient] = time.monotonic()

    def send(self, message: OutgoingMessage, recipient: str) -> str:
        """Send the alert text with its buttons, then the chart; return the message id."""
        payload: dict[str, Any] = {
            **_target(recipient),
            "text": message.telegram_html,
            "parse_mode": "HTML",
            "link_preview_options": {"is_disabled": True},
        }
        if message.buttons:
            payload["reply_markup"] = keyboard(message.buttons)
        if message.reply_to and message.reply_to.isdigit():
            # An update answers the issue's first message; if that was deleted, it still goes out.
            payload["reply_parameters"] = {"message_id": int(message.reply_to), "allow_sending_without_reply": True}
        self._pace(recipient)
        try:
            result = self.api.call("sendMessage", payload)
        except TelegramApiError as exc:
            if exc.temporary:
                raise TemporaryFailure(str(exc), exc.retry_after) from None
            raise PermanentFailure(f"Telegram menolak pesan ke chat {recipient}: {exc}") from None
        message_id = str((result or {}).get("message_id", ""))
        if message.chart_png:
            # The chart is a courtesy: the alert already arrived, so its failure must not resend the text.
            try:
                self.api.call(
                    "sendPhoto",
                    {
                        **_target(recipient),
                        "caption": message.chart_caption or "Grafik pertumbuhan unggahan",
                        "reply_parameters": {"message_id": int(message_id or 0)},
                    },
                    files={"photo": ("grafik.png", message.chart_png, "image/png")},
                )
            except TelegramApiError as exc:
                log.warning("chart to chat %s not sent: %s", recipient, exc)
        return message_id

    def close(self) -> None:
        self.api.close()


def create(config: Directory) -> TelegramChannel:
    """The Telegram channel from ``alerts.telegram``."""
    return TelegramChannel(config.alerts.telegram)


# --- receiving button presses ---------------------------------------------------------------------


def handle_update(
    session: Session, config: Directory, update: dict[str, Any], now: datetime, api: TelegramClient | None = None
) -> bool:
    """Apply one Update; return True when it was an acknowledgement, feedback, a note or a queued report.

    Telegram calls (answerCallbackQuery, editMessageReplyMarkup) are best effort: the
    acknowledgement is recorded even when they fail.
    """
    from alerts.ack import AckError, acknowledge, record_feedback

    query = update.get("callback_query")
    if not isinstance(query, dict):
        message = update.get("message")
        if not isinstance(message, dict):
            return False
        if handle_reply(session, config, message, now, api):
            return True
        # Anything else sent to the bot in a private chat is a report ("Lapor ke monitor"): queued
        # here, read and answered by later passes, so the poll never waits for a download or OCR.
        from alerts.inbound import accept_telegram

        return accept_telegram(session, config, message, now)
    data = str(query.get("data") or "")
    actor = _actor(query.get("from") or {})
    answer = "Perintah tidak dikenal"
    handled = False
    press = parse_press(data)
    try:
        if press is not None:
            answer = _press(session, config, query, press, actor, now, api)
            handled = True
        elif data.startswith("ack:"):
            acknowledge(session, token=data[4:], actor=actor, now=now, config=config, channel="telegram")
            answer, handled = "Dicatat, terima kasih. Silakan tindak lanjuti.", True
        elif data.startswith("fb:") and data.count(":") == 2:
            _, code, token = data.split(":")
            answer = record_feedback(session, token=token, code=code, actor=actor, now=now, source="telegram")
            handled = True
    except AckError as exc:
        answer = str(exc)
    if api is not None:
        _answer(api, query, answer, actor if data.startswith("ack:") and handled else None)
    return handled


def _actor(user: dict[str, Any]) -> str:
    return f"telegram:@{user['username']}" if user.get("username") else f"telegram:{user.get('id', '?')}"


def _where(message: dict[str, Any]) -> dict[str, Any]:
    """chat_id (and forum topic) of a message, to answer in the same place."""
    out: dict[str, Any] = {"chat_id": (message.get("chat") or {}).get("id")}
    if message.get("message_thread_id"):
        out["message_thread_id"] = message["message_thread_id"]
    return out


def _say(api: TelegramClient | None, message: dict[str, Any], text: str, markup: dict[str, Any] | None = None) -> None:
    """Post ``text`` in the chat of ``message``, as a reply to it; best effort (the step is recorded anyway)."""
    if api is None or (message.get("chat") or {}).get("id") is None:
        return
    payload: dict[str, Any] = _where(message) | {"text": text[:4000]}
    if message.get("message_id"):
        payload["reply_parameters"] = {"message_id": message["message_id"], "allow_sending_without_reply": True}
    if markup:
        payload["reply_markup"] = markup
    try:
        api.call("sendMessage", payload)
    except TelegramApiError as exc:
        log.info("telegram message after a button press failed: %s", exc)


def _press(
    session: Session,
    config: Directory,
    query: dict[str, Any],
    press: Press,
    actor: str,
    now: datetime,
    api: TelegramClient | None,
) -> str:
    """A status button: ask for the note, show the agency picker, or move the issue to the picked agency."""
    message = query.get("message") or {}
    _alert, issue = issue_of(session, config, press.token)
    who = actor.removeprefix("telegram:")
    if press.action == "note":
        placeholder = "Alasan" if press.code in ("n", "z") else "Catatan"
        _say(
            api,
            message,
            prompt_text(press.code, press.token, issue.id, who),
            {"force_reply": True, "selective": True, "input_field_placeholder": placeholder},
        )
        return "Balas pesan dari bot dengan catatan Anda."
    if press.action == "picker":
        rows = picker_keyboard(config.for_region(issue.region_code), press.token, issue.agency_code)
        _say(
            api,
            message,
            f"OKI-{issue.id} · {ACTION_LABELS[SALAH_DINAS]}: pilih OPD yang tepat ({who}).",
            keyboard(rows),
        )
        return "Pilih OPD yang tepat."
    text = apply_reroute(session, config, press.token, press.agency, actor=actor, channel="telegram", now=now)
    if api is not None and message.get("message_id") and (message.get("chat") or {}).get("id") is not None:
        try:
            done = {"text": f"✅ {text}"[:60], "callback_data": "noop"}
            api.call(
                "editMessageReplyMarkup",
                {**_where(message), "message_id": message["message_id"], "reply_markup": {"inline_keyboard": [[done]]}},
            )
        except TelegramApiError as exc:
            log.info("telegram picker edit failed: %s", exc)
    _say(api, message, text)
    return text


def handle_reply(
    session: Session, config: Directory, message: dict[str, Any], now: datetime, api: TelegramClient | None = None
) -> bool:
    """An officer's reply to a note prompt of the bot: apply the step with the reply as its note.

    Only a reply to the bot's own prompt, in a chat the alert went to, counts; anything else
    in the chat is ignored (returns False).
    """
    from alerts.ack import AckError

    original = message.get("reply_to_message") or {}
    if not (original.get("from") or {}).get("is_bot"):
        return False
    ref = parse_ref(original.get("text"))
    if ref is None:
        return False
    code, token = ref
    chat = str((message.get("chat") or {}).get("id", ""))
    note = str(message.get("text") or "").strip()
    actor = _actor(message.get("from") or {})
    try:
        alert, _issue = issue_of(session, config, token)
        if not sent_to_chat(session, alert, chat):
            raise AckError("Balasan ini bukan dari grup yang menerima peringatan.")
        answer = apply_note(session, config, code, token, note, actor=actor, channel="telegram", now=now)
    except AckError as exc:
        answer = f"Belum dicatat: {exc}"
        _say(api, message, answer)
        return False
    _say(api, message, f"✅ {answer}")
    return True


def _answer(api: TelegramClient, query: dict[str, Any], text: str, acked_by: str | None) -> None:
    try:
        api.call("answerCallbackQuery", {"callback_query_id": query.get("id"), "text": text[:200]})
        message = query.get("message") or {}
        if acked_by and message.get("message_id") and (message.get("chat") or {}).get("id") is not None:
            who = acked_by.removeprefix("telegram:")
            done = {"text": f"✅ Diterima oleh {who}", "callback_data": "noop"}
            # The other buttons stay: after Terima come Diproses, Selesai, Salah dinas...
            rows = ((message.get("reply_markup") or {}).get("inline_keyboard")) or [[]]
            kept = [[b for b in row if not str(b.get("callback_data", "")).startswith("ack:")] for row in rows]
            kept = [[done, *kept[0]], *kept[1:]]
            api.call(
                "editMessageReplyMarkup",
                {
                    "chat_id": message["chat"]["id"],
                    "message_id": message["message_id"],
                    "reply_markup": {"inline_keyboard": [row for row in kept if row]},
                },
            )
    except TelegramApiError as exc:
        log.info("telegram reply to a button press failed: %s", exc)


def _offset_row(session: Session) -> Source:
    row = session.scalar(select(Source).where(Source.name == OFFSET_SOURCE))
    if row is None:
        row = Source(name=OFFSET_SOURCE, kind="_internal", enabled=False, cursor={"offset": 0}, status="ok")
        session.add(row)
        session.flush()
    return row


def poll_updates(db: Database, config: Directory, now: datetime, *, client: httpx.Client | None = None) -> int:
    """Read pending updates once (short poll) and apply them; return how many were handled.

    The offset is stored in the same transaction as the acknowledgements it confirms, so a
    crash re-reads (and idempotently re-applies) at most the last batch.
    """
    api = TelegramClient(config.alerts.telegram, client)
    handled = 0
    try:
        with db.session() as session:
            offset = int((_offset_row(session).cursor or {}).get("offset", 0))
        try:
            updates = api.call(
                "getUpdates",
                {"offset": offset, "limit": 100, "timeout": 0, "allowed_updates": ["callback_query", "message"]},
            )
        except TelegramApiError as exc:
            log.warning("telegram getUpdates failed: %s", exc)
            return 0
        if not updates:
            return 0
        with db.session() as session:
            for update in updates:
                if handle_update(session, config, update, now, api):
                    handled += 1
                offset = max(offset, int(update.get("update_id", 0)) + 1)
            row = _offset_row(session)
            row.cursor = {"offset": offset}
            row.last_run_at = now
    finally:
        api.close()
    return handled


def verify_webhook_secret(config: Directory, header_value: str | None) -> bool:
    """True when the X-Telegram-Bot-Api-Secret-Token header matches the configured secret."""
    expected = secret(config.alerts.telegram.webhook_secret_env)
    return bool(expected and header_value and hmac.compare_digest(expected, header_value))


def handle_webhook(db: Database, config: Directory, header_secret: str | None, body: bytes, now: datetime) -> int:
    """Apply a webhook POST from Telegram; returns the HTTP status the dashboard should answer."""
    if not verify_webhook_secret(config, header_secret):
        return 403
    try:
        update = json.loads(body)
    except ValueError:
        return 400
    if not isinstance(update, dict):
        return 400
    api = TelegramClient(config.alerts.telegram)
    try:
        with db.session() as session:
            handle_update(session, config, update, now, api)
    finally:
        api.close()
    return 200
