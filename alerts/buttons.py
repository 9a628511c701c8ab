"""The agency's answer from a chat: status buttons, the note asked by a reply, the agency picker.

Callback data (Telegram allows 64 bytes; the alert's ``ack_token`` is 24 characters):

* ``ack:<token>`` — Terima (handled by :func:`alerts.ack.acknowledge`, as before);
* ``rs:<p|s|n>:<token>`` — Diproses / Selesai / Bukan keluhan: the bot asks for the note (or
  reason) with a message the officer answers by replying (Telegram's ``force_reply``);
* ``sz:<token>`` — Tunda 24 jam: the reason is asked the same way;
* ``rr:<token>`` — Salah dinas: the bot answers with a picker of agencies by name;
* ``rt:<code>:<token>`` — an agency picked: the issue moves there at once.

The note prompt carries ``Ref: <code>/<token>`` in its text; the officer's reply quotes the
prompt (``reply_to_message``), so the reply says what it answers without any server-side state.
A reply counts only when it answers the bot's own message, in a chat the alert was sent to.

Wording comes from :mod:`monitor.domain.response`, the same as the dashboard's.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from alerts import respond
from alerts.ack import AckError, receiver_agency
from alerts.channels.base import Button
from alerts.directory import Directory
from monitor.domain import response as rules
from monitor.kernel.clock import format_wib
from monitor.store.models import Alert, Delivery, Issue

NOTE_CODES: dict[str, str] = {"p": rules.DIPROSES, "s": rules.SELESAI, "n": rules.BUKAN_KELUHAN, "z": "snooze"}
"""Code in callback data and prompt reference → the step it asks a note for."""
SNOOZE_BUTTON_HOURS = 24
CALLBACK_LIMIT = 64
_REF = re.compile(r"Ref: ([psnz])/([A-Za-z0-9_-]{8,64})")
_URL = re.compile(r"https?://\S+")


@dataclass(frozen=True)
class Press:
    """A parsed button press."""

    action: str
    """note (ask for a note), picker (show agencies), reroute (an agency picked)."""
    token: str
    code: str = ""
    agency: str = ""


def status_keyboard(token: str) -> tuple[tuple[Button, ...], ...]:
    """The buttons under an alert about one issue: Terima first (its row keeps the old ack layout)."""
    a = rules.ACTION_LABELS
    return (
        (
            Button(f"✅ {a[rules.DITERIMA]}", callback_data=f"ack:{token}"),
            Button(a[rules.DIPROSES], callback_data=f"rs:p:{token}"),
            Button(a[rules.SELESAI], callback_data=f"rs:s:{token}"),
        ),
        (
            Button(a[rules.SALAH_DINAS], callback_data=f"rr:{token}"),
            Button(a[rules.BUKAN_KELUHAN], callback_data=f"rs:n:{token}"),
            Button(a["snooze24"], callback_data=f"sz:{token}"),
        ),
    )


STATUS_LINK_LABELS: tuple[tuple[str, str], ...] = (
    ("rs:p", rules.ACTION_LABELS[rules.DIPROSES]),
    ("rs:s", rules.ACTION_LABELS[rules.SELESAI]),
    ("rr", rules.ACTION_LABELS[rules.SALAH_DINAS]),
    ("rs:n", rules.ACTION_LABELS[rules.BUKAN_KELUHAN]),
    ("sz", rules.ACTION_LABELS["snooze24"]),
)
"""E-mail: the same steps as the Telegram buttons, as signed links (``alerts.links.STATUS_LINKS``)."""


def parse_press(data: str) -> Press | None:
    """The action of a status button's callback data, or None for other buttons (ack, feedback)."""
    parts = data.split(":")
    if parts[0] == "rs" and len(parts) == 3 and parts[1] in ("p", "s", "n"):
        return Press("note", parts[2], code=parts[1])
    if parts[0] == "sz" and len(parts) == 2:
        return Press("note", parts[1], code="z")
    if parts[0] == "rr" and len(parts) == 2:
        return Press("picker", parts[1])
    if parts[0] == "rt" and len(parts) == 3:
        return Press("reroute", parts[2], agency=parts[1])
    return None


def prompt_text(code: str, token: str, issue_id: int | None, who: str) -> str:
    """The question the officer answers by replying (plain text: no markup to break)."""
    step = NOTE_CODES[code]
    label = rules.ACTION_LABELS["snooze24"] if step == "snooze" else rules.ACTION_LABELS[step]
    ask = rules.NOTE_PROMPTS[step]
    return f"OKI-{issue_id} · {label}\n{who} {ask[0].lower() + ask[1:]}: balas pesan ini.\nRef: {code}/{token}"


def parse_ref(text: str | None) -> tuple[str, str] | None:
    """(code, token) of a note prompt's text, or None when it is no prompt of ours."""
    m = _REF.search(text or "")
    return (m.group(1), m.group(2)) if m else None


def picker_keyboard(config: Directory, token: str, current: str | None) -> tuple[tuple[Button, ...], ...]:
    """Agencies by name, two a row, leaving out the one that has the issue now."""
    buttons = [
        Button(a.name, callback_data=f"rt:{a.code}:{token}")
        for a in config.agencies
        if a.code != current and len(f"rt:{a.code}:{token}".encode()) <= CALLBACK_LIMIT
    ]
    return tuple(tuple(buttons[i : i + 2]) for i in range(0, len(buttons), 2))


def issue_of(session: Session, config: Directory, token: str) -> tuple[Alert, Issue]:
    """The alert a button belongs to and its issue, if this chat may still act on it; else :class:`AckError`.

    An agency's chat acts only on issues its agency holds now; a comms receiver (no agency of
    its own) or an escalation's target acts on any. After a reroute the old agency's buttons
    answer that the issue has moved.
    """
    alert = session.scalar(select(Alert).where(Alert.ack_token == token))
    if alert is None:
        raise AckError("Peringatan tidak ditemukan (tombol lama atau salah).")
    issue = session.get(Issue, alert.issue_id) if alert.issue_id is not None else None
    if issue is None:
        raise AckError("Tombol ini untuk satu isu; buka dasbor untuk menanggapi.")
    moved = alert.payload.get("rerouted_to")
    config = config.for_region(issue.region_code)
    agency = receiver_agency(alert.receiver, config)
    holds = issue.agency_code or config.routing.get(issue.topic)
    if moved or (agency is not None and alert.kind != "escalation" and agency != holds):
        holder = config.agency(issue.agency_code)
        name = holder.name if holder is not None else issue.agency_code
        raise AckError(f"Isu OKI-{issue.id} sudah dialihkan ke {name}; tombol ini tidak berlaku lagi.")
    return alert, issue


def sent_to_chat(session: Session, alert: Alert, chat: str) -> bool:
    """Was this alert delivered to this Telegram chat? (A reply from elsewhere does not count.)"""
    rows = session.scalars(
        select(Delivery.recipient).where(Delivery.alert_id == alert.id, Delivery.channel == "telegram")
    )
    return any(r.split("#", 1)[0] == chat for r in rows)  # "<chat>#<topic>" for a forum topic


def apply_note(
    session: Session, config: Directory, code: str, token: str, note: str, *, actor: str, channel: str, now: datetime
) -> str:
    """Apply the step a note answers; return the confirmation (one wording with the dashboard)."""
    _alert, issue = issue_of(session, config, token)
    config = config.for_region(issue.region_code)
    step = NOTE_CODES[code]
    try:
        if step == "snooze":
            row = respond.snooze(session, issue, SNOOZE_BUTTON_HOURS, note, actor=actor, channel=channel, now=now)
            return f"OKI-{issue.id}: peringatan ditunda sampai {format_wib(row.ends_at)} (oleh {who(actor)})."
        link = _URL.search(note) if step == rules.SELESAI else None
        respond.set_status(
            session,
            config,
            issue,
            step,
            note,
            actor=actor,
            channel=channel,
            now=now,
            evidence_url=link.group(0).rstrip(".,)") if link else None,
        )
    except respond.RespondError as exc:
        raise AckError(_user_message(exc)) from None
    return f"OKI-{issue.id}: status {rules.status_label(step)} dicatat (oleh {who(actor)})."


def apply_reroute(
    session: Session,
    config: Directory,
    token: str,
    agency: str,
    *,
    actor: str,
    channel: str,
    now: datetime,
    note: str | None = None,
) -> str:
    """Move the issue to the picked agency (code or name); return the confirmation."""
    _alert, issue = issue_of(session, config, token)
    config = config.for_region(issue.region_code)  # the agency picked is one of the issue's region
    try:
        step = respond.reroute(session, config, issue, agency, note, actor=actor, channel=channel, now=now)
    except respond.RespondError as exc:
        raise AckError(_user_message(exc)) from None
    target = config.agency(step.to_agency)
    name = target.name if target else step.to_agency
    return f"OKI-{issue.id}: {rules.status_label(rules.SALAH_DINAS)} ke {name} (oleh {who(actor)}); {name} diberi tahu."


def who(actor: str) -> str:
    """``telegram:@staf`` → ``@staf``."""
    return actor.split(":", 1)[1] if ":" in actor else actor


def _user_message(exc: respond.RespondError) -> str:
    # The API's "<field>: ..." prefix names a JSON key; in a chat the sentence alone reads better.
    text = str(exc)
    return text.split(": ", 1)[1] if ": " in text else text
