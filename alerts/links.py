"""The e-mail's signed links: what the confirmation page shows (:func:`preview_link`) and what its
``POST /alerts/action`` does (:func:`apply_link`): acknowledge, a label correction, or a step of the answer.

Above :mod:`alerts.ack` (acknowledgement and feedback) and :mod:`alerts.buttons` (the answer's steps),
which it only calls.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.orm import Session

from alerts.ack import (
    AckError,
    LinkAction,
    acknowledge,
    feedback_pending,
    feedback_target,
    find_by,
    record_feedback,
    verify_ack_link,
)
from alerts.buttons import NOTE_CODES, apply_note, apply_reroute, issue_of
from alerts.directory import Directory
from monitor.domain.response import ACTION_LABELS, NOTE_PROMPTS, SALAH_DINAS, status_label
from monitor.kernel.clock import format_wib
from monitor.store.models import Alert


@dataclass(frozen=True)
class LinkPreview:
    """What a signed e-mail link asks, shown on the confirmation page before anything changes."""

    heading: str
    question: str
    button: str
    done: str | None
    """Set when what the link asks is already recorded: the page says so and offers no button."""
    note_label: str | None = None
    """A status step that needs a note (Diproses, Selesai, Bukan keluhan, Tunda): the page asks for it."""
    note_required: bool = False
    agencies: tuple[tuple[str, str], ...] = ()
    """Salah dinas: (code, name) of the agencies to pick from."""


@dataclass(frozen=True)
class LinkOutcome:
    """The result of confirming a link: the sentence for the person, and whether it had been done before."""

    message: str
    already_done: bool


def _issue_words(alert: Alert) -> str:
    if alert.issue_id is None:
        return "isu-isu dalam peringatan ini"
    title = str((alert.payload.get("issue") or {}).get("title") or "").strip()
    return f"isu OKI-{alert.issue_id}" + (f" “{title[:120]}”" if title else "")


def _ack_done_text(alert: Alert) -> str:
    when = format_wib(alert.acknowledged_at) if alert.acknowledged_at is not None else "-"
    return f"Tindak lanjut untuk {_issue_words(alert)} sudah dicatat sebelumnya ({when}). Tidak ada yang diubah."


def _feedback_done_text(said: str) -> str:
    return f"Masukan “{said}” untuk peringatan ini sudah dicatat sebelumnya. Tidak ada yang diubah."


def preview_link(session: Session, config: Directory, signed: str) -> LinkPreview:
    """What ``GET /alerts/action/<signed>`` shows: reads only, changes nothing.

    Mail scanners and link previews open every link in a message; only the confirmation page's
    POST (:func:`apply_link`) acts. Raises :class:`AckError` for a bad, expired or unknown link.
    """
    action = verify_ack_link(config, signed)
    alert = find_by(session, action.token, None)
    if action.action in STATUS_LINKS:
        return _status_preview(session, config, action)
    if action.action == "ack":
        return LinkPreview(
            heading="Konfirmasi tindak lanjut",
            question=(
                f"Catat bahwa {_issue_words(alert)} sedang ditindaklanjuti? Konfirmasi ini menghentikan "
                "pengingat dan eskalasi untuk penerima peringatan ini."
            ),
            button="Ya, catat tindak lanjut",
            done=_ack_done_text(alert) if alert.acknowledged_at is not None else None,
        )
    field, value, said = feedback_target(alert, action.action)
    pending = feedback_pending(session, alert, field, value, "email")
    return LinkPreview(
        heading="Koreksi label",
        question=(
            f"Tandai contoh unggahan peringatan tentang {_issue_words(alert)} sebagai “{said}”? "
            "Koreksi ini dipakai saat model dilatih ulang."
        ),
        button=f"Ya, {said}",
        done=None if pending else _feedback_done_text(said),
    )


STATUS_LINKS: dict[str, str] = {"rs:p": "p", "rs:s": "s", "rs:n": "n", "sz": "z", "rr": ""}
"""E-mail link actions of the agency's answer (``alerts.buttons``) → note code; ``rr`` is Salah dinas."""


def _status_preview(session: Session, config: Directory, action: LinkAction) -> LinkPreview:
    try:
        _alert, issue = issue_of(session, config, action.token)
    except AckError as exc:
        return LinkPreview(heading="Tanggapan isu", question="", button="", done=str(exc))
    config = config.for_region(issue.region_code)
    if action.action == "rr":
        holder = config.agency(issue.agency_code)
        return LinkPreview(
            heading=f"{ACTION_LABELS[SALAH_DINAS]}: OKI-{issue.id}",
            question=(
                f"Isu OKI-{issue.id} sekarang di {holder.name if holder else issue.agency_code}. "
                "Pilih OPD yang tepat; OPD itu langsung diberi tahu dan riwayat isu ikut pindah."
            ),
            button="Alihkan",
            done=None,
            note_label="Catatan (opsional)",
            agencies=tuple((a.code, a.name) for a in config.agencies if a.code != issue.agency_code),
        )
    step = NOTE_CODES[STATUS_LINKS[action.action]]
    label = ACTION_LABELS["snooze24"] if step == "snooze" else ACTION_LABELS[step]
    return LinkPreview(
        heading=f"{label}: OKI-{issue.id}",
        question=f"Status tanggapan sekarang: {status_label(issue.response_status)}.",
        button=label,
        done=None,
        note_label=NOTE_PROMPTS[step],
        note_required=True,
    )


def _apply_status_link(
    session: Session, config: Directory, action: LinkAction, note: str, agency: str, actor: str, now: datetime
) -> LinkOutcome:
    if action.action == "rr":
        text = apply_reroute(session, config, action.token, agency, actor=actor, channel="email", now=now, note=note)
    else:
        text = apply_note(
            session, config, STATUS_LINKS[action.action], action.token, note, actor=actor, channel="email", now=now
        )
    return LinkOutcome(text, already_done=False)


def apply_link(
    session: Session,
    config: Directory,
    signed: str,
    *,
    actor: str,
    now: datetime,
    note: str = "",
    agency: str = "",
) -> LinkOutcome:
    """What the confirmation page's ``POST /alerts/action`` does: acknowledge or record feedback.

    Idempotent: a second confirmation changes nothing and says it was already done. Raises
    :class:`AckError` for a bad, expired or unknown link.
    """
    action = verify_ack_link(config, signed)
    if action.action in STATUS_LINKS:
        return _apply_status_link(session, config, action, note, agency, actor, now)
    if action.action == "ack":
        alert = find_by(session, action.token, None)
        if alert.acknowledged_at is not None:
            return LinkOutcome(_ack_done_text(alert), already_done=True)
        alert = acknowledge(session, token=action.token, actor=actor, now=now, config=config, channel="email")
        issue = f" untuk isu OKI-{alert.issue_id}" if alert.issue_id is not None else ""
        return LinkOutcome(f"Terima kasih, tindak lanjut{issue} dicatat.", already_done=False)
    alert = find_by(session, action.token, None)
    field, value, said = feedback_target(alert, action.action)
    if not feedback_pending(session, alert, field, value, "email"):
        return LinkOutcome(_feedback_done_text(said), already_done=True)
    message = record_feedback(session, token=action.token, code=action.action, actor=actor, now=now, source="email")
    return LinkOutcome(message, already_done=False)
