"""The regent's weekly brief: one A4 PDF in Bahasa Indonesia (times in WIB).

What it holds: the week's top issues with stage, agency and status; the issues that became viral
this week and those still viral from before; the performance table of ``/kinerja`` for the week;
and a chart (share within the LAPOR! deadlines per agency).

:func:`collect` reads the week from the database into a :class:`Brief`; :func:`render_pdf` turns a
``Brief`` into PDF bytes (fpdf2, a DejaVu font shipped with matplotlib for Indonesian text);
:func:`send` mails it to the configured receivers (the Monday 07:00 WIB job).
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session

from alerts.channels.base import Channel
from monitor.domain.display import stage_label
from monitor.kernel.clock import format_wib, to_wib
from monitor.kernel.config import AppConfig
from monitor.kernel.regions import ALL_REGIONS_LABEL
from monitor.reports import kinerja
from monitor.reports.backtest import BacktestTotals, stored_timelines, summarise
from monitor.store.db import Database
from monitor.store.models import AuditLog, Issue, IssueStatus

log = logging.getLogger(__name__)

TOP_ISSUES = 10

STATUS_LABELS = {
    "belum_ditanggapi": "Belum ditanggapi",
    "diterima": "Diterima",
    "diproses": "Diproses",
    "selesai": "Selesai",
    "bukan_keluhan": "Bukan keluhan",
}


@dataclass(frozen=True)
class BriefIssue:
    id: int
    title: str
    stage: str
    agency: str
    kecamatan: str
    status: str
    posts: int
    viral_at: datetime | None = None


@dataclass(frozen=True)
class Brief:
    region: str
    week: kinerja.Period
    made_at: datetime
    top: list[BriefIssue] = field(default_factory=list)
    new_viral: list[BriefIssue] = field(default_factory=list)
    ongoing_viral: list[BriefIssue] = field(default_factory=list)
    performance: list[kinerja.AgencyRow] = field(default_factory=list)
    lead: BacktestTotals | None = None
    """The monitor's own early warning this week (first warnings before viral, false alerts)."""


def week_of(day: date) -> kinerja.Period:
    """Monday to Sunday of the week holding ``day``."""
    monday = day - timedelta(days=day.weekday())
    return kinerja.Period(monday, monday + timedelta(days=6))


def last_week(today: date) -> kinerja.Period:
    """The last complete week before ``today`` (on a Monday: the week that just ended)."""
    return week_of(today - timedelta(days=7))


def _status(issue: Issue) -> str:
    if issue.status == IssueStatus.RESOLVED:
        return "Selesai"
    if issue.status == IssueStatus.MERGED:
        return "Digabung"
    status = getattr(issue, "response_status", None)
    if status and status != "belum_ditanggapi":
        return STATUS_LABELS.get(status, status)
    return "Diterima" if issue.acknowledged_at is not None else "Belum ditanggapi"


def brief_region_name(config: AppConfig, region: str | None) -> str:
    """Whose brief it is: the region's name; for every region of a deployment of several, "Semua wilayah"."""
    if region is not None:
        return config.region_of(region).name if region in config.deployment_regions() else region
    return config.region if len(config.deployment_regions()) == 1 else ALL_REGIONS_LABEL


def collect(
    session: Session, config: AppConfig, week: kinerja.Period, now: datetime, region: str | None = None
) -> Brief:
    """The week's brief from the database (issues active in the week; performance of agencies told in it);
    of one region's issues and agencies when ``region`` is given."""
    start, end = week.start_utc, week.end_utc
    here = config.for_region(region)  # that region's agency names and routing
    names = {a.code: a.name for a in here.agencies}
    query = (
        select(Issue)
        .where(Issue.last_seen >= start, Issue.first_seen < end, Issue.merged_into_id.is_(None))
        .order_by(Issue.score.desc(), Issue.post_count.desc(), Issue.id)
    )
    if region is not None:
        query = query.where(Issue.region_code == region)
    active = list(session.scalars(query))
    viral_times = kinerja.viral_times(session, [i.id for i in active])

    def item(i: Issue) -> BriefIssue:
        code = i.agency_code or here.routing.get(i.topic, "")
        return BriefIssue(
            id=i.id,
            title=i.title,
            stage=stage_label(i.stage),
            agency=names.get(code, code or "-"),
            kecamatan=i.kecamatan or "-",
            status=_status(i),
            posts=i.post_count,
            viral_at=viral_times.get(i.id),
        )

    items = [item(i) for i in active]
    new_viral = [b for b in items if b.viral_at is not None and start <= b.viral_at < end]
    ongoing = [
        b
        for b, i in zip(items, active, strict=True)
        if b.viral_at is not None and b.viral_at < start and i.status == IssueStatus.OPEN
    ]
    performance = kinerja.agency_performance(session, config, week, min(now, end), region=region)
    rows = [r for r in performance if r.received]
    return Brief(
        region=brief_region_name(config, region),
        week=week,
        made_at=now,
        top=items[:TOP_ISSUES],
        new_viral=new_viral,
        ongoing_viral=ongoing,
        performance=kinerja.sort_rows(rows, "viral_before_ack", descending=True),
        lead=summarise(stored_timelines(session, start, end, region))[1],
    )


# ---------------------------------------------------------------- PDF


def font_dir() -> Path:
    """DejaVu fonts shipped with matplotlib (a dependency already): Unicode text without downloading a font."""
    import matplotlib

    return Path(matplotlib.get_data_path()) / "fonts" / "ttf"


def _day(d: date) -> str:
    months = ("Jan", "Feb", "Mar", "Apr", "Mei", "Jun", "Jul", "Agu", "Sep", "Okt", "Nov", "Des")
    return f"{d.day} {months[d.month - 1]} {d.year}"


def lead_sentence(lead: BacktestTotals | None) -> str:
    """The week's early warning in one Bahasa paragraph (issues warned, how early before viral, false alerts)."""
    if lead is None or (lead.alerted == 0 and lead.viral == 0):
        return "Tidak ada peringatan dan tidak ada isu viral pada pekan ini."
    parts = [f"{lead.alerted} isu diperingatkan; {lead.viral} menjadi viral"]
    if lead.warned_early:
        median = kinerja.hours_text(lead.median_lead_minutes / 60 if lead.median_lead_minutes is not None else None)
        parts.append(f"{lead.warned_early} di antaranya diperingatkan lebih dulu (median {median} sebelum viral)")
    if lead.missed:
        parts.append(f"{lead.missed} viral tanpa peringatan lebih dulu")
    parts.append(f"{lead.false_alerts} peringatan tidak diikuti viral dalam 48 jam (bisa karena cepat ditangani)")
    return "; ".join(parts) + "."


def render_pdf(brief: Brief) -> bytes:
    """The brief as an A4 PDF."""
    from fpdf import FPDF
    from fpdf.enums import XPos, YPos

    logging.getLogger("fontTools").setLevel(logging.WARNING)  # it logs every glyph of the font subset at INFO
    pdf = FPDF(orientation="P", unit="mm", format="A4")
    pdf.set_title(f"Ringkasan mingguan {brief.region}")
    pdf.set_author("OKI Viral Monitor")
    fonts = font_dir()
    pdf.add_font("DejaVu", "", str(fonts / "DejaVuSans.ttf"))
    pdf.add_font("DejaVu", "B", str(fonts / "DejaVuSans-Bold.ttf"))
    pdf.set_auto_page_break(auto=True, margin=15)
    pdf.add_page()
    width = pdf.w - pdf.l_margin - pdf.r_margin

    def heading(text: str, size: int = 12) -> None:
        pdf.ln(2)
        pdf.set_font("DejaVu", "B", size)
        pdf.multi_cell(width, 7, text, new_x=XPos.LMARGIN, new_y=YPos.NEXT)
        pdf.set_font("DejaVu", "", 9)

    def para(text: str) -> None:
        pdf.set_font("DejaVu", "", 9)
        pdf.multi_cell(width, 5, text, new_x=XPos.LMARGIN, new_y=YPos.NEXT)

    def table(header: tuple[str, ...], rows: Sequence[Sequence[str]], widths: tuple[float, ...]) -> None:
        scale = width / sum(widths)
        cols = [w * scale for w in widths]
        pdf.set_font("DejaVu", "B", 8)
        with pdf.table(col_widths=cols, text_align="LEFT", line_height=4.5, first_row_as_headings=True) as t:
            head = t.row()
            for h in header:
                head.cell(h)
            pdf.set_font("DejaVu", "", 8)
            for values in rows:
                r = t.row()
                for v in values:
                    r.cell(v)

    heading(f"Ringkasan mingguan isu publik — {brief.region}", 14)
    para(
        f"Pekan {_day(brief.week.start)} s.d. {_day(brief.week.end)} (WIB). "
        f"Dibuat {format_wib(brief.made_at)} oleh OKI Viral Monitor dari unggahan publik."
    )

    heading("Isu teratas pekan ini")
    if brief.top:
        table(
            ("#", "Isu", "Tahap", "OPD", "Kecamatan", "Status"),
            [(str(b.id), b.title, b.stage, b.agency, b.kecamatan, b.status) for b in brief.top],
            (8, 70, 16, 40, 24, 26),
        )
    else:
        para("Tidak ada isu aktif pada pekan ini.")

    heading("Isu viral")
    if brief.new_viral or brief.ongoing_viral:
        rows = [
            ("Baru viral", str(b.id), b.title, b.agency, format_wib(b.viral_at) if b.viral_at else "-", b.status)
            for b in brief.new_viral
        ] + [
            ("Masih viral", str(b.id), b.title, b.agency, format_wib(b.viral_at) if b.viral_at else "-", b.status)
            for b in brief.ongoing_viral
        ]
        table(("", "#", "Isu", "OPD", "Viral sejak", "Status"), rows, (20, 8, 66, 38, 32, 24))
    else:
        para("Tidak ada isu viral pada pekan ini.")

    heading("Ketepatan peringatan dini")
    para(lead_sentence(brief.lead))

    heading("Kinerja OPD: siapa yang menanggapi")
    para(
        "Waktu dihitung sejak OPD diberi tahu. Tepat waktu: isu tanpa batas LAPOR! yang terlewat (hari kerja). "
        "Viral dulu: isu yang sudah viral sebelum OPD mengonfirmasi."
    )
    if brief.performance:
        table(
            ("OPD", "Isu", "Konfirmasi", "Tanggapan", "Selesai", "Tepat waktu", "Viral dulu"),
            [
                (
                    r.name,
                    str(r.received),
                    kinerja.hours_text(r.median_ack_hours),
                    kinerja.hours_text(r.median_response_hours),
                    kinerja.hours_text(r.median_finish_hours),
                    kinerja.share_text(r.share_within_deadline),
                    str(r.viral_before_ack),
                )
                for r in brief.performance
            ],
            (52, 12, 22, 22, 20, 22, 20),
        )
        heading("Grafik: persen isu dalam batas waktu per OPD", 10)
        _bar_chart(pdf, brief.performance, width)
    else:
        para("Belum ada OPD yang diberi tahu tentang isu pada pekan ini.")
    return bytes(pdf.output())


def _bar_chart(pdf: object, rows: list[kinerja.AgencyRow], width: float) -> None:
    """Horizontal bars drawn with PDF primitives (sharp at any zoom, no image step)."""
    from fpdf import FPDF

    assert isinstance(pdf, FPDF)
    label_w, bar_h, gap = 60.0, 5.0, 2.0
    full = width - label_w - 20
    pdf.set_font("DejaVu", "", 8)
    for r in rows:
        if pdf.will_page_break(bar_h + gap):
            pdf.add_page()
        x, y = pdf.l_margin, pdf.get_y()
        pdf.set_xy(x, y)
        pdf.cell(label_w - 2, bar_h, r.name[:40], align="R")
        share = r.share_within_deadline
        if share is not None:
            pdf.set_fill_color(9, 105, 218)
            pdf.rect(x + label_w, y, max(full * share, 0.5), bar_h, style="F")
            pdf.set_xy(x + label_w + max(full * share, 0.5) + 1, y)
        else:
            pdf.set_xy(x + label_w + 1, y)
        pdf.cell(18, bar_h, kinerja.share_text(share))
        pdf.set_y(y + bar_h + gap)


def write_brief(
    session: Session, config: AppConfig, week: kinerja.Period, now: datetime, output: Path, region: str | None = None
) -> Brief:
    """Collect and write the brief (of ``region`` only, when given) to ``output``; returns what it holds."""
    brief = collect(session, config, week, now, region)
    output.write_bytes(render_pdf(brief))
    return brief


def file_name(week: kinerja.Period) -> str:
    """``ringkasan-mingguan-2026-11-02.pdf``."""
    return f"ringkasan-mingguan-{week.start.isoformat()}.pdf"


def wib_today(now: datetime) -> date:
    """Today's date in WIB."""
    return to_wib(now).date()


# ---------------------------------------------------------------- the Monday e-mail


def brief_addresses(config: AppConfig, region: str | None = None) -> list[str]:
    """E-mail addresses for one region's brief (None: the deployment's own region).

    A receiver of ``alerts.brief.receivers`` naming an agency brings that region's agency of that code;
    a receiver's own addresses get the deployment's own region's brief (they were written for it). A
    region none of them reaches gets its brief at its own Diskominfo, the regency's comms office.
    """
    own = region is None or region == config.region_code
    here = config.for_region(region)
    out: set[str] = set()
    for name in config.alerts.brief.receivers:
        receiver = config.alerts.receiver(name)
        if receiver is None:
            continue
        if own:
            out.update(receiver.email)
        agency = here.agency(receiver.agency) if receiver.agency else None
        if agency is not None:
            out.update(agency.emails)
    if not out and not own and config.alerts.brief.receivers:
        comms = here.agency("diskominfo")
        out.update(comms.emails if comms is not None else ())
    return sorted(out)


def send(db: Database, config: AppConfig, now: datetime, channel: Channel | None = None) -> list[str]:
    """Mail last week's brief (PDF attached) to the configured receivers, once per week; returns who got it.

    A deployment of several regions sends each region its own brief (its issues, its agencies) at that
    region's addresses (:func:`brief_addresses`). Sent directly over the SMTP channel (a PDF does not belong
    in the alert outbox's JSON); a week already recorded as sent for a region (``audit_log`` action
    ``brief_sent``) is not sent again after a restart.
    """
    if not config.alerts.brief.enabled:
        return []
    regions = list(config.deployment_regions())
    sent: list[str] = []
    for code in regions:
        sent += _send_region(db, config, now, code if len(regions) > 1 else None, channel)
    return sent


def _send_region(
    db: Database, config: AppConfig, now: datetime, region: str | None, channel: Channel | None
) -> list[str]:
    from alerts.channels.base import OutgoingMessage, PermanentFailure, TemporaryFailure
    from alerts.channels.email import EmailChannel

    addresses = brief_addresses(config, region)
    if not addresses:
        log.info("weekly brief %s: no receiver with an e-mail address in alerts.brief.receivers", region or "")
        return []
    week = last_week(wib_today(now))
    # The deployment's own region keeps the key it had before regions: a restart after the upgrade
    # does not send that week again.
    key = week.start.isoformat() if region in (None, config.region_code) else f"{week.start.isoformat()}:{region}"
    with db.session() as session:
        done = session.scalar(select(AuditLog.id).where(AuditLog.action == "brief_sent", AuditLog.target == key))
        if done is not None:
            return []
        brief = collect(session, config, week, now, region)
    pdf = render_pdf(brief)
    period = f"{_day(week.start)} s.d. {_day(week.end)}"
    viral = len(brief.new_viral) + len(brief.ongoing_viral)
    plain = (
        f"Yth. Bapak/Ibu,\n\nTerlampir ringkasan mingguan isu publik {brief.region} pekan {period} (WIB): "
        f"{len(brief.top)} isu teratas, {viral} isu viral, dan kinerja {len(brief.performance)} OPD.\n\n"
        "OKI Viral Monitor"
    )
    html = "<p>" + plain.replace("\n\n", "</p><p>") + "</p>"
    message = OutgoingMessage(
        idempotency_key=f"brief:{key}",
        subject=f"Ringkasan mingguan isu publik {period}",
        plain=plain,
        html=html,
        telegram_html="",
        attachments=((file_name(week), "application/pdf", pdf),),
    )
    mailer = channel or EmailChannel(config.alerts.smtp)
    sent: list[str] = []
    failed: dict[str, str] = {}
    for address in addresses:
        try:
            mailer.send(message, address)
            sent.append(address)
        except (TemporaryFailure, PermanentFailure) as exc:
            failed[address] = str(exc)
            log.warning("weekly brief to %s not sent: %s", address, exc)
    if sent:
        with db.session() as session:
            session.add(
                AuditLog(
                    at=now,
                    actor="sistem",
                    action="brief_sent",
                    target=key,
                    detail={"sent": sent, "failed": failed, **({"region": region} if region else {})},
                )
            )
    return sent
