"""Who was alerted, when, who acknowledged, who was escalated to: lines in Bahasa Indonesia."""

from __future__ import annotations

from collections import Counter
from textwrap import shorten

from sqlalchemy import select
from sqlalchemy.orm import Session

from alerts.render import KIND_PREFIX
from alerts.stats import agency_times, minutes_text
from monitor.kernel.clock import format_wib
from monitor.store.models import Alert, AlertKind, Delivery, DeliveryStatus, Issue

STATUS_ID = {
    "sent": "terkirim",
    "pending": "menunggu",
    "failed": "gagal sementara",
    "sending": "sedang dikirim",
    "dead": "GAGAL PERMANEN",
}


def summarise(session: Session) -> list[str]:
    """One line per alert (grouped members folded into their group), then dead deliveries and response times."""
    lines: list[str] = []
    alerts = list(session.scalars(select(Alert).order_by(Alert.created_at, Alert.id)))
    deliveries: dict[int, list[Delivery]] = {}
    for d in session.scalars(select(Delivery).order_by(Delivery.id)):
        deliveries.setdefault(d.alert_id, []).append(d)
    issues = {i.id: i for i in session.scalars(select(Issue))}
    for a in alerts:
        if a.payload.get("grouped_into"):
            continue
        who = a.payload.get("receiver_name") or a.receiver
        what = KIND_PREFIX.get(a.kind, a.kind)
        issue = issues.get(a.issue_id) if a.issue_id is not None else None
        subject = f"isu #{issue.id} “{shorten(issue.title, 90, placeholder='…')}”" if issue else _subject(a)
        ds = deliveries.get(a.id, [])
        counts = Counter(d.status for d in ds)
        sent = ", ".join(f"{n} {STATUS_ID.get(s, s)}" for s, n in sorted(counts.items())) or "tanpa penerima"
        first_sent = min((d.sent_at for d in ds if d.sent_at), default=None)
        line = f"{format_wib(a.created_at)} · {what} ke {who} (tahap {a.stage or '-'}) · {subject} · {sent}"
        if first_sent and first_sent != a.created_at:
            line += f", diterima {format_wib(first_sent, with_date=False)}"
        if a.kind == AlertKind.ESCALATION:
            esc = a.payload.get("escalation") or {}
            line += f" · karena {esc.get('reason', '-')} dari {esc.get('from_name', '-')}"
        if a.parent_alert_id:
            line += f" · lanjutan peringatan #{a.parent_alert_id}"
        if a.acknowledged_at:
            took = minutes_text((a.acknowledged_at - a.created_at).total_seconds() / 60)
            line += f" · ditindaklanjuti {format_wib(a.acknowledged_at)} oleh {a.acknowledged_by} (setelah {took})"
        elif a.escalated_at:
            line += f" · belum dikonfirmasi, dieskalasi {format_wib(a.escalated_at, with_date=False)}"
        lines.append(f"#{a.id} {line}")
    dead = [d for ds in deliveries.values() for d in ds if d.status == DeliveryStatus.DEAD]
    for d in dead:
        lines.append(f"Pengiriman #{d.id} ({d.channel} → {d.recipient}) GAGAL PERMANEN: {d.last_error}")
    latest = max((a.created_at for a in alerts), default=None)
    if latest is not None:
        for code, t in sorted(agency_times(session, latest).items()):
            lines.append(
                f"{code}: {t.alerts} peringatan, {t.acknowledged} dikonfirmasi"
                f" (median {minutes_text(t.median_ack_minutes)}),"
                f" {t.resolved} selesai, {t.overdue} lewat SLA"
            )
    return lines


def _subject(a: Alert) -> str:
    if a.kind == AlertKind.GROUP:
        return f"{len(a.payload.get('group', []))} isu"
    if a.kind == AlertKind.SOURCE_HEALTH:
        return f"sumber {(a.payload.get('source') or {}).get('name', '?')}"
    if a.kind == AlertKind.DELIVERY_FAILED:
        f = a.payload.get("failure") or {}
        return f"peringatan #{f.get('alert_id')} ke {f.get('receiver')} lewat {f.get('channel')}"
    if a.kind == AlertKind.DIGEST:
        return f"ringkasan {(a.payload.get('digest') or {}).get('date', '')}"
    return "-"
