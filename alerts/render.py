"""Turn a frozen alert payload into message text: subject, plain text, HTML e-mail, Telegram HTML.

Pure: no DB, no network, no clock (times come from the payload). Every piece of
collected text goes through :func:`clean_post_text` and is escaped for the target
format, so a post can never inject markup into a message.
"""

from __future__ import annotations

import html
import re
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from classifiers.places import place_parts, place_phrase
from classifiers.taxonomy import TOPIC_LONG_LABELS
from classifiers.urgency import find_terms
from classifiers.virality import STAGES
from monitor.kernel.clock import format_wib
from monitor.store.models import AlertKind

TELEGRAM_LIMIT = 4096
"""Telegram's limit for a message text (counted in UTF-16 code units)."""
POST_CHARS = 220

TOPIC_LABELS = TOPIC_LONG_LABELS
STAGE_LABELS: dict[str, str] = {stage: stage.upper() for stage in STAGES}
KIND_PREFIX: dict[str, str] = {
    AlertKind.FIRST: "Peringatan",
    AlertKind.CRISIS: "KRISIS",
    AlertKind.UPDATE: "Pembaruan",
    AlertKind.REPEAT: "Pengingat",
    AlertKind.ESCALATION: "ESKALASI",
    AlertKind.REGRESSION: "Muncul lagi",
    AlertKind.GROUP: "Ringkasan isu",
    AlertKind.DIGEST: "Ringkasan harian",
    AlertKind.SOURCE_HEALTH: "Sumber data diam",
    AlertKind.DELIVERY_FAILED: "Pengiriman gagal",
    AlertKind.INFO: "Untuk diketahui",
}

_HANDLE = re.compile(r"(?<![\w.])@[A-Za-z0-9_.]{1,30}")
_URL = re.compile(r"https?://\S+")
_SPACE = re.compile(r"\s+")
# Control characters other than newline/tab break mail headers and Telegram parsing.
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f]")


@dataclass(frozen=True)
class Links:
    """Where buttons and links point; built by the outbox (it holds the signing key)."""

    dashboard: str
    issue: str | None = None
    ack: str | None = None
    feedback: dict[str, str] = field(default_factory=dict)
    """Feedback label → signed URL, for e-mail (Telegram uses buttons instead)."""
    actions: dict[str, str] = field(default_factory=dict)
    """Steps of the agency's answer (Diproses, Selesai, ...) → signed URL of their confirmation page, for e-mail."""


@dataclass(frozen=True)
class Rendered:
    subject: str
    plain: str
    html: str
    telegram: str
    chart_caption: str = ""
    """Caption of the growth chart: the issue's number and title, so a photo alone says what it shows."""
    whatsapp: str = ""
    """WhatsApp text (``*bold*``, links written out), within :data:`WHATSAPP_TEXT_LIMIT`."""
    whatsapp_short: str = ""
    """The same within :data:`WHATSAPP_BODY_LIMIT`, for a message with reply buttons."""
    template_params: tuple[str, ...] = ()
    """Parameters of the WhatsApp template: headline, one-line summary, dashboard link (no newlines)."""


WHATSAPP_TEXT_LIMIT = 4096
"""Cloud API: the body of a text message."""
WHATSAPP_BODY_LIMIT = 1024
"""Cloud API: the body of an interactive (reply buttons) message."""
TEMPLATE_PARAM_LIMITS = (160, 700, 300)
"""Headline, summary, link: together with the template's own words within the 1024-character body."""


PLATFORM_LABELS = {
    "x": "X",
    "facebook": "Facebook",
    "instagram": "Instagram",
    "tiktok": "TikTok",
    "youtube": "YouTube",
    "telegram": "Telegram",
    "reddit": "Reddit",
    "bluesky": "Bluesky",
    "mastodon": "Mastodon",
    "googlenews": "Google News",
    "rss": "berita",
    "news": "berita",
    "import": "laporan",
    "laporan": "laporan warga",
    "lapor": "SP4N-LAPOR!",
}
"""How a post's platform is named in a message (an imported report with no known platform is a "laporan"; one
forwarded to the monitor's bot, source ``laporan``, a "laporan warga")."""
CAPTION_LIMIT = 1024
"""Telegram's limit for a photo caption."""
THREAD_KINDS = ("first", "crisis", "update", "repeat", "regression", "escalation")
"""Alerts about one issue, sent in that issue's thread."""


def issue_number(issue_id: object) -> str:
    """The issue's number as people see it: ``OKI-123`` (stable: the issue's id)."""
    return f"OKI-{issue_id}"


def where_text(item: dict[str, Any], *, short: bool = False) -> str:
    """Where an issue is, as far as its data says: "Kelurahan Kedaton, Kecamatan Kayu Agung", or not known."""
    return place_phrase(item.get("kecamatan"), item.get("desa"), short=short) or "lokasi belum diketahui"


def thread_subject(issue: dict[str, Any]) -> str:
    """The e-mail subject of an issue's thread, fixed at its first message: "[OKI-12] <title> – <place>"."""
    place = place_phrase(issue.get("kecamatan"), issue.get("desa"), short=True)
    _village, kec = place_parts(issue.get("kecamatan"), issue.get("desa"))
    title = str(issue.get("title") or "Isu")
    # Titles usually name the place already ("Infrastruktur di Desa Bangsal, Pampangan: ...").
    said = kec is not None and kec.lower() in title.lower()
    text = f"[{issue_number(issue.get('id'))}] {title}" + (f" – {place}" if place and not said else "")
    return _CONTROL.sub(" ", text).replace("\n", " ")[:180]


def chart_caption(issue: dict[str, Any]) -> str:
    """ "OKI-12 · <title>: grafik pertumbuhan unggahan", within Telegram's caption limit."""
    tail = ": grafik pertumbuhan unggahan"
    head = f"{issue_number(issue.get('id'))} · "
    title = clean_post_text(str(issue.get("title") or "Isu"), CAPTION_LIMIT - len(head) - len(tail))
    return head + title + tail


def named_crisis_words(reason: str | None, issue: dict[str, Any], posts: list[dict[str, Any]]) -> list[str]:
    """The crisis words of ``reason`` that the message itself quotes (title or example posts), not denied there.

    A word found only in posts the message does not show, or a reason that is no word at all
    ("mendesak"), is not named: the reader must be able to see it in what is quoted.
    """
    words = [w.strip() for w in (reason or "").split(",") if w.strip()]
    if not words:
        return []
    quoted = " | ".join(
        [str(issue.get("title") or ""), *(clean_post_text(str(p.get("text") or "")) for p in posts[:3])]
    )
    return find_terms(quoted, words)


FEEDBACK_LABELS = {"n": "Bukan keluhan", "o": "Bukan OKI", "d": "Salah dinas"}


def clean_post_text(text: str | None, limit: int = POST_CHARS) -> str:
    """Post text fit for a message: handles and links removed, whitespace folded, shortened."""
    if not text:
        return ""
    text = _CONTROL.sub(" ", text)
    text = _HANDLE.sub("@…", text)
    text = _URL.sub("", text)
    text = _SPACE.sub(" ", text).strip()
    if len(text) > limit:
        cut = text[: limit - 1]
        space = cut.rfind(" ")
        text = (cut[:space] if space > limit // 2 else cut).rstrip() + "…"
    return text


def eta_text(eta_minutes: float | None) -> str | None:
    """'diperkirakan viral dalam ~3 jam' style forecast, or None when there is none."""
    if eta_minutes is None or eta_minutes < 0:
        return None
    if eta_minutes < 90:
        return f"diperkirakan viral dalam ~{max(5, round(eta_minutes / 5) * 5)} menit"
    return f"diperkirakan viral dalam ~{round(eta_minutes / 60)} jam"


def growth_text(growth: list[list[Any]]) -> str | None:
    """'12 → 45 unggahan dalam 3 jam' from the growth series, or None when too short."""
    if len(growth) < 2:
        return None
    try:
        t0, v0 = datetime.fromisoformat(str(growth[0][0])), float(growth[0][1])
        t1, v1 = datetime.fromisoformat(str(growth[-1][0])), float(growth[-1][1])
    except (ValueError, TypeError, IndexError):
        return None
    hours = max((t1 - t0).total_seconds() / 3600, 0.0)
    span = f"{hours:.0f} jam" if hours >= 1 else f"{hours * 60:.0f} menit"
    return f"{v0:.0f} → {v1:.0f} unggahan dalam {span}"


def _later_deadlines(deadlines: Any) -> str:
    """``; diproses paling lambat … (5 hari kerja); selesai paling lambat … (10 hari kerja)`` when known."""
    if not isinstance(deadlines, dict):
        return ""
    parts = []
    for clock, word in (("process", "diproses"), ("finish", "selesai")):
        entry = deadlines.get(clock)
        if isinstance(entry, dict) and entry.get("due"):
            parts.append(f"; {word} paling lambat {_when(entry['due'])} ({entry.get('days', '?')} hari kerja)")
    return "".join(parts)


def _when(value: Any) -> str:
    if not value:
        return "-"
    try:
        return format_wib(datetime.fromisoformat(str(value)))
    except ValueError:
        return "-"


@dataclass
class _Doc:
    """A message as blocks; each block is rendered to plain, HTML and Telegram HTML in step."""

    title: str
    blocks: list[tuple[str, list[tuple[str, str | None, bool]]]] = field(default_factory=list)
    """(block kind, parts) where a part is (text, link, bold); kind 'p' paragraph, 'li' list item, 'post' optional."""

    def add(self, *parts: tuple[str, str | None, bool], kind: str = "p") -> None:
        self.blocks.append((kind, list(parts)))


def _t(text: str, link: str | None = None, bold: bool = False) -> tuple[str, str | None, bool]:
    return (text, link, bold)


def _html_part(part: tuple[str, str | None, bool]) -> str:
    text, link, bold = part
    out = html.escape(text, quote=False)
    if link:
        out = f'<a href="{html.escape(link, quote=True)}">{out}</a>'
    if bold:
        out = f"<b>{out}</b>"
    return out


def _plain_part(part: tuple[str, str | None, bool]) -> str:
    text, link, _ = part
    return f"{text} ({link})" if link else text


def _build(payload: dict[str, Any], links: Links) -> _Doc:
    kind = str(payload.get("kind", "first"))
    issue: dict[str, Any] = payload.get("issue") or {}
    prefix = KIND_PREFIX.get(kind, "Peringatan")
    if kind == AlertKind.DIGEST:
        return _build_digest(payload, links, prefix)
    if kind == AlertKind.SOURCE_HEALTH:
        return _build_source(payload, links, prefix)
    if kind == AlertKind.GROUP or (kind == AlertKind.ESCALATION and "group" in payload and not issue):
        return _build_group(payload, links, prefix)
    if kind == AlertKind.DELIVERY_FAILED:
        return _build_failure(payload, links, prefix)
    stage = STAGE_LABELS.get(str(issue.get("stage", "")), str(issue.get("stage", "")).upper())
    doc = _Doc(thread_subject(issue))
    doc.add(
        _t(f"[{prefix} · {stage}] ", None, True),
        _t(f"{issue_number(issue.get('id'))} · {issue.get('title', 'Isu')}", None, True),
    )
    doc.add(_t("Apa: "), _t(TOPIC_LABELS.get(str(issue.get("topic")), str(issue.get("topic")))))
    doc.add(_t("Di mana: "), _t(where_text(issue)))
    doc.add(_t("Dinas: "), _t(str(issue.get("agency_name") or issue.get("agency_code") or "-")))
    moved = payload.get("reroute") or {}
    if moved:
        said = clean_post_text(str(moved.get("note") or ""))
        doc.add(
            _t("Salah dinas: ", None, True),
            _t(
                f"dialihkan ke dinas Anda dari {moved.get('from_name') or moved.get('from_agency') or '-'}"
                f" oleh {moved.get('by') or '-'}" + (f": “{said}”" if said else "") + "."
            ),
        )
    stats = f"{issue.get('post_count', 0)} unggahan dari {issue.get('author_count', 0)} akun"
    grow = growth_text(payload.get("growth") or [])
    if grow:
        stats += f"; {grow}"
    doc.add(_t("Perkembangan: "), _t(stats))
    for label, said in spread_lines(payload.get("spread") or {}):
        doc.add(_t(label), _t(said))
    eta = eta_text(issue.get("eta_minutes")) if issue.get("stage") != "viral" else None
    p = float(issue.get("p_viral") or 0)
    if eta:
        doc.add(_t("Perkiraan: "), _t(f"{eta} (peluang {p:.0%})", None, True))
    if kind == AlertKind.UPDATE and payload.get("first_sent_at"):
        doc.add(
            _t(
                f"Isu ini naik dari tahap {STAGE_LABELS.get(str(payload.get('previous_stage')), '-')} ke {stage}; "
                f"peringatan pertama dikirim {_when(payload.get('first_sent_at'))}."
            )
        )
    if kind == AlertKind.REGRESSION:
        doc.add(_t("Isu ini sudah ditandai selesai, tetapi keluhan muncul lagi.", None, True))
    if kind == AlertKind.CRISIS and payload.get("reason"):
        named = named_crisis_words(payload.get("reason"), issue, payload.get("posts") or [])
        if named:
            line = f"Kata krisis dalam unggahan: {', '.join(named)}. Dikirim segera tanpa menunggu lonjakan."
        else:
            line = "Dikirim segera tanpa menunggu lonjakan: laporan menyangkut keselamatan."
        doc.add(_t(line, None, True))
    if kind == AlertKind.ESCALATION:
        doc.add(_escalation_line(payload.get("escalation") or {}))
    if issue.get("urgent"):
        doc.add(_t("⚠ Mendesak: menyangkut keselamatan (bencana/korban/anak).", None, True))
    posts = payload.get("posts") or []
    if posts:
        doc.add(_t("Contoh unggahan:", None, True))
        for i, post in enumerate(posts[:3], 1):
            text = clean_post_text(str(post.get("text") or ""))
            url = post.get("url") or None
            platform = str(post.get("platform") or "")
            label = PLATFORM_LABELS.get(platform, platform or "sumber")
            doc.add(_t(f"{i}. “{text}” "), _t(f"[{label}]", url), kind="post")
    if kind == AlertKind.INFO:
        # A secondary agency is told once, for its part of an event another agency fixes: no
        # deadline, no confirmation asked, nothing that reads like an alarm.
        part = TOPIC_LABELS.get(str((payload.get("info") or {}).get("topic")), "bagian isu ini")
        primary = issue.get("agency_name") or issue.get("agency_code") or "dinas utama"
        doc.add(
            _t("Yang perlu dilakukan: "),
            _t(f"isu ini ditangani {primary}; dampaknya pada {part.lower()} perlu diketahui dinas Anda. "
               "Tidak perlu konfirmasi; bantu bila diminta."),
        )
        doc.add(_t("Detail dan bukti: "), _t("buka di dasbor", links.issue or links.dashboard))
        return doc
    doc.add(_t("Yang perlu dilakukan: "), _t(_advice(kind, issue)))
    if payload.get("ack_due_at") or payload.get("respond_due_at"):
        doc.add(
            _t(
                f"Batas tindak lanjut: {_when(payload.get('ack_due_at'))}; "
                f"batas tanggapan (SLA {payload.get('sla_days', 5)} hari kerja): "
                f"{_when(payload.get('respond_due_at'))}{_later_deadlines(payload.get('deadlines'))}."
            )
        )
    # One wording on every channel (monitor.domain.response.ACTION_LABELS): the buttons say the same.
    ack_hint = (
        "tekan “Terima” (tombol di Telegram; di e-mail buka tautannya lalu tekan tombolnya; atau dasbor), "
        "lalu “Diproses” dan “Selesai” dengan catatan; “Salah dinas” bila bukan wewenang dinas Anda"
    )
    if links.ack:
        doc.add(_t("Konfirmasi: "), _t(ack_hint + ". "), _t("Terima", links.ack, True))
    else:
        doc.add(_t("Konfirmasi: "), _t(ack_hint + "."))
    if links.actions:
        parts = [_t("Tanggapi: ")]
        for label, url in links.actions.items():
            parts.append(_t(label, url))
            parts.append(_t(" · "))
        doc.add(*parts[:-1])
    doc.add(_t("Detail dan bukti: "), _t("buka di dasbor", links.issue or links.dashboard))
    if links.feedback:
        parts = [_t("Label salah? ")]
        for label, url in links.feedback.items():
            parts.append(_t(label, url))
            parts.append(_t(" · "))
        doc.add(*parts[:-1])
    return doc


def platform_label(platform: str | None) -> str:
    """How a platform is named in a message."""
    return PLATFORM_LABELS.get(platform or "", platform or "sumber lain")


def spread_lines(spread: dict[str, Any], *, top: int = 4) -> list[tuple[str, str]]:
    """(label, text) lines saying where an issue spreads: platforms and sources, first post, hashtags.

    Empty for payloads frozen before the spread was recorded (old alerts re-sent after an upgrade).
    """
    lines: list[tuple[str, str]] = []
    platforms = [(str(p), int(n)) for p, n in spread.get("platforms") or []]
    if platforms:
        shown = ", ".join(f"{platform_label(p)} {n}" for p, n in platforms[:top])
        if len(platforms) > top:
            shown += f", {len(platforms) - top} platform lain {sum(n for _, n in platforms[top:])}"
        sources = [(str(s), int(n)) for s, n in spread.get("sources") or []]
        if sources:
            shown += "; sumber teratas: " + ", ".join(f"{clean_post_text(s, 40)} {n}" for s, n in sources[:3])
        lines.append(("Sebaran: ", shown + "."))
    first = spread.get("first")
    if isinstance(first, dict) and first.get("at"):
        said = clean_post_text(str(first.get("text") or ""), 100)
        lines.append(
            (
                "Pertama muncul: ",
                f"{_when(first.get('at'))} di {platform_label(first.get('platform'))} "
                f"oleh {first.get('author') or 'anonim'}" + (f": “{said}”" if said else "."),
            )
        )
    tags = [str(t) for t, _ in spread.get("hashtags") or []][:top]
    if tags:
        lines.append(("Tagar teratas: ", " ".join("#" + clean_post_text(t, 40).lstrip("#") for t in tags)))
    return lines


def _advice(kind: str, issue: dict[str, Any]) -> str:
    if kind == AlertKind.ESCALATION:
        return "pastikan dinas terkait menindaklanjuti dan beri tanggapan publik."
    if issue.get("stage") == "viral":
        return "segera beri klarifikasi/tanggapan resmi dan tindak lanjut di lapangan."
    return "periksa laporan, koordinasikan tindak lanjut, dan siapkan tanggapan sebelum isu membesar."


def _escalation_line(esc: dict[str, Any]) -> tuple[str, str | None, bool]:
    """Who has not acted since when, and why the alert went up a level."""
    return _t(
        f"Belum ditindaklanjuti oleh {esc.get('from_name', '-')} sejak {_when(esc.get('since'))}"
        f" ({esc.get('reason', 'batas waktu terlewati')}).",
        None,
        True,
    )


def _build_group(payload: dict[str, Any], links: Links, prefix: str) -> _Doc:
    items: list[dict[str, Any]] = payload.get("group") or []
    esc: dict[str, Any] | None = payload.get("escalation") if payload.get("kind") == "escalation" else None
    if esc is not None:
        doc = _Doc(f"[{prefix}] {len(items)} isu belum ditindaklanjuti oleh {esc.get('from_name', 'dinas')}")
        doc.add(_t(f"[{prefix}] ", None, True), _t(f"{len(items)} isu kecil belum ditindaklanjuti", None, True))
        doc.add(_escalation_line(esc))
    else:
        doc = _Doc(f"[{prefix}] {len(items)} isu baru untuk {payload.get('agency_name', 'dinas')}")
        doc.add(_t(f"[{prefix}] ", None, True), _t(f"{len(items)} isu kecil baru", None, True))
    for it in items:
        doc.add(
            _t(
                f"• {issue_number(it.get('id'))} · {it.get('title', 'Isu')} – {where_text(it, short=True)} "
                f"({it.get('post_count', 0)} unggahan) "
            ),
            _t("[detail]", f"{links.dashboard}/issues/{it.get('id')}"),
            kind="li",
        )
    if esc is not None:
        doc.add(_t("Yang perlu dilakukan: "), _t(_advice("escalation", {})))
    doc.add(_t("Konfirmasi: "), _t("satu konfirmasi berlaku untuk semua isu di ringkasan ini."))
    if links.ack:
        doc.add(_t("Terima", links.ack, True))
    return doc


def _build_digest(payload: dict[str, Any], links: Links, prefix: str) -> _Doc:
    d: dict[str, Any] = payload.get("digest") or {}
    doc = _Doc(f"[{prefix}] {payload.get('agency_name', 'Dinas')} – {d.get('date', '')}")
    doc.add(_t(f"[{prefix}] {payload.get('agency_name', 'Dinas')} – {d.get('date', '')}", None, True))
    doc.add(
        _t(f"Isu terbuka: {d.get('open', 0)}; baru 24 jam: {d.get('new', 0)}; selesai 24 jam: {d.get('resolved', 0)}")
    )
    doc.add(
        _t(f"Median waktu konfirmasi: {d.get('ack_text', '-')}; median waktu selesai: {d.get('resolve_text', '-')}")
    )
    overdue = d.get("overdue", 0)
    if overdue:
        doc.add(_t(f"Lewat batas SLA: {overdue} isu", None, True))
    for it in (d.get("top") or [])[:5]:
        doc.add(
            _t(
                f"• [{STAGE_LABELS.get(str(it.get('stage')), '')}] {it.get('title', '')} – {where_text(it, short=True)}"
            ),
            kind="li",
        )
    doc.add(_t("Dasbor: "), _t("buka", links.dashboard))
    return doc


def _build_source(payload: dict[str, Any], links: Links, prefix: str) -> _Doc:
    s: dict[str, Any] = payload.get("source") or {}
    doc = _Doc(f"[{prefix}] {s.get('name', '?')}")
    doc.add(_t(f"[{prefix}] ", None, True), _t(str(s.get("name", "?")), None, True))
    doc.add(
        _t(f"Item terakhir: {_when(s.get('last_item_at'))}; biasanya ada item setiap ~{s.get('usual_gap_text', '?')}.")
    )
    if s.get("last_error"):
        doc.add(_t(f"Galat terakhir: {s['last_error']}"))
    doc.add(
        _t("Yang perlu dilakukan: periksa token/alamat sumber dan log kolektor. "),
        _t("Status sumber", f"{links.dashboard}/sources"),
    )
    return doc


def _build_failure(payload: dict[str, Any], links: Links, prefix: str) -> _Doc:
    f: dict[str, Any] = payload.get("failure") or {}
    doc = _Doc(f"[{prefix}] {f.get('channel', '?')} ke {f.get('receiver', '?')}")
    what = f"peringatan isu {issue_number(f['issue_id'])}" if f.get("issue_id") else "sebuah peringatan"
    if f.get("issue_title"):
        what += f" “{f['issue_title']}”"
    doc.add(_t(f"[{prefix}] ", None, True), _t(f"{what} tidak sampai", None, True))
    doc.add(_t(f"Penerima: {f.get('receiver', '?')} lewat {f.get('channel', '?')} ({f.get('recipient', '?')})"))
    doc.add(_t(f"Sebab: {f.get('error') or '-'}"))
    doc.add(
        _t("Yang perlu dilakukan: perbaiki alamat/chat id di config lalu kirim ulang dari dasbor. "),
        _t("Status pengiriman", f"{links.dashboard}/alerts"),
    )
    return doc


def _fit_telegram(doc: _Doc) -> str:
    blocks = list(doc.blocks)

    def assemble(bs: list[tuple[str, list[tuple[str, str | None, bool]]]]) -> str:
        return "\n".join("".join(_html_part(p) for p in parts) for _, parts in bs)

    text = assemble(blocks)
    # Drop example posts from the end first: the headline, the ask and the ack hint must survive.
    while _utf16_len(text) > TELEGRAM_LIMIT and any(k == "post" for k, _ in blocks):
        idx = max(i for i, (k, _) in enumerate(blocks) if k == "post")
        del blocks[idx]
        text = assemble(blocks)
    while _utf16_len(text) > TELEGRAM_LIMIT and len(blocks) > 1:
        # Still too long (huge title/group): shorten the longest block's texts.
        idx = max(range(len(blocks)), key=lambda i: sum(len(p[0]) for p in blocks[i][1]))
        k, parts = blocks[idx]
        blocks[idx] = (k, [(clean_post_text(p[0], max(20, len(p[0]) // 2)), p[1], p[2]) for p in parts])
        shorter = assemble(blocks)
        if shorter == text:
            # Every text is at its floor (many short list items with links): drop list items from the end,
            # then the longest block, so the loop always ends; the headline (block 0) stays.
            items = [i for i, (kind, _) in enumerate(blocks) if kind == "li"]
            del blocks[items[-1] if items else max(range(1, len(blocks)), key=lambda i: len(assemble([blocks[i]])))]
            shorter = assemble(blocks)
        text = shorter
    return text


def _whatsapp_part(part: tuple[str, str | None, bool]) -> str:
    text, link, bold = part
    text = text.strip() if bold else text
    out = f"*{text}*" if bold and text else text
    return f"{out} ({link})" if link else out


def _fit_whatsapp(doc: _Doc, limit: int) -> str:
    """WhatsApp text within ``limit``: example posts go first (from the end), then the tail is cut."""
    blocks = list(doc.blocks)

    def assemble(bs: list[tuple[str, list[tuple[str, str | None, bool]]]]) -> str:
        return "\n\n".join("".join(_whatsapp_part(p) for p in parts) for _, parts in bs)

    text = assemble(blocks)
    while len(text) > limit and any(k == "post" for k, _ in blocks):
        del blocks[max(i for i, (k, _) in enumerate(blocks) if k == "post")]
        text = assemble(blocks)
    if len(text) > limit:
        text = text[: limit - 1].rstrip() + "…"
    return text


_PARAM_SPACE = re.compile(r"[\t\n\r]+| {4,}")


def template_param(text: str, limit: int) -> str:
    """A template parameter: Meta refuses newlines, tabs and more than four spaces in a row (132018)."""
    text = _PARAM_SPACE.sub(" · ", _CONTROL.sub(" ", text)).strip(" ·") or "-"
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


def _template_params(doc: _Doc, link: str) -> tuple[str, ...]:
    """Headline, summary (the blocks without example posts and links) and the dashboard link."""
    head = "".join(p[0] for p in doc.blocks[0][1]) if doc.blocks else doc.title
    rest = [
        "".join(p[0] for p in parts).strip()
        for kind, parts in doc.blocks[1:]
        if kind != "post" and not any(p[1] for p in parts)
    ]
    limits = TEMPLATE_PARAM_LIMITS
    return (
        template_param(head, limits[0]),
        template_param(" · ".join(r.rstrip(":") for r in rest if r), limits[1]),
        template_param(link, limits[2]),
    )


def _utf16_len(text: str) -> int:
    return len(text.encode("utf-16-le")) // 2


def render(payload: dict[str, Any], links: Links, *, subject: str | None = None, chart: bool | None = None) -> Rendered:
    """Render one alert for every channel; the Telegram text always fits in one message.

    ``subject`` is the thread's fixed subject when the recipient already has one; ``chart`` says
    whether the growth chart goes with this message (default: whenever there is a growth series).
    """
    doc = _build(payload, links)
    subject = _CONTROL.sub(" ", subject or doc.title).replace("\n", " ")[:180]
    issue: dict[str, Any] = payload.get("issue") or {}
    caption = chart_caption(issue) if issue else "Grafik pertumbuhan unggahan"
    plain = "\n\n".join("".join(_plain_part(p) for p in parts) for _, parts in doc.blocks)
    body = "\n".join(
        f"<li>{''.join(_html_part(p) for p in parts)}</li>"
        if k == "li"
        else f"<p>{''.join(_html_part(p) for p in parts)}</p>"
        for k, parts in doc.blocks
    )
    with_chart = bool(payload.get("growth")) if chart is None else chart
    alt = html.escape(caption, quote=True)
    chart_html = f'<p><img src="cid:chart" alt="{alt}" width="480"></p>' if with_chart else ""
    html_body = (
        '<!doctype html><html lang="id"><head><meta charset="utf-8"></head>'
        f'<body style="font-family:sans-serif;max-width:640px">{body}{chart_html}'
        '<p style="color:#666;font-size:12px">OKI Viral Monitor · Pemkab Ogan Komering Ilir · waktu dalam WIB</p>'
        "</body></html>"
    )
    return Rendered(
        subject=subject,
        plain=plain,
        html=html_body,
        telegram=_fit_telegram(doc),
        chart_caption=caption,
        whatsapp=_fit_whatsapp(doc, WHATSAPP_TEXT_LIMIT),
        whatsapp_short=_fit_whatsapp(doc, WHATSAPP_BODY_LIMIT),
        template_params=_template_params(doc, links.issue or links.dashboard),
    )
