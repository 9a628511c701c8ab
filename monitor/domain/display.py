"""How values are shown to users (Bahasa Indonesia)."""

from __future__ import annotations

import contextlib
import re
from collections.abc import Callable, Mapping, Sequence
from datetime import datetime
from typing import Any

from classifiers.taxonomy import TOPIC_LABELS
from classifiers.virality import STAGES
from monitor.kernel.clock import format_wib

STAGE_LABELS: dict[str, str] = {stage: stage.capitalize() for stage in STAGES}
STATUS_LABELS: dict[str, str] = {
    "open": "Terbuka",
    "closed": "Tenang",
    "resolved": "Selesai",
    "merged": "Digabung",
}


def topic_label(key: str | None) -> str:
    return TOPIC_LABELS.get(key or "", key or "-")


def stage_label(key: str | None) -> str:
    return STAGE_LABELS.get(key or "", key or "-")


def status_label(key: str | None) -> str:
    return STATUS_LABELS.get(key or "", key or "-")


def eta_text(minutes: float | None) -> str:
    """Forecast time to viral, as a person would say it."""
    if minutes is None:
        return "-"
    if minutes <= 0:
        return "sekarang"
    if minutes < 60:
        return f"±{round(minutes)} menit"
    hours = minutes / 60
    if hours < 48:
        return f"±{hours:.1f} jam".replace(".0 ", " ").replace(".", ",")  # Indonesian decimal comma
    return f"±{hours / 24:.0f} hari"


def forecast_text(p_viral: float | None, eta_minutes: float | None) -> str:
    """The forecast column: "sudah viral" once the viral level is reached, else the time to it ("-" if none)."""
    if p_viral is not None and p_viral >= 0.995 and eta_minutes is None:
        return "sudah viral"
    return eta_text(eta_minutes)


_LINKABLE = re.compile(r"https?://[^/?#\s]", re.IGNORECASE)
"""An absolute http(s) URL with a host: the only kind a page links to."""


def safe_url(url: str | None) -> str | None:
    """The URL if it is plain http(s) with a host; None otherwise (``javascript:`` and friends are never linked)."""
    # A prefix match rather than urlsplit: it runs for every evidence post on every issue page, and
    # the scheme and the presence of a host are all that decides whether a link is safe to show.
    if not url:
        return None
    url = url.strip()
    return url if _LINKABLE.match(url) else None


def rate_limit_text(state: Mapping[str, Any] | None) -> str:
    """A source's stored rate-limit and quota facts in words for the sources page (reset times in WIB).

    ``{"limit": 450, "remaining": 449, "reset": ...}`` → "batas 450, sisa 449, pulih 29 Nov 2026 14:00 WIB";
    ``{"quota_used": 927, "quota_budget": 9000}`` → "kuota terpakai 927 dari 9000"; a nested window
    is named by its key. Keys not known here are left out rather than shown as codes.
    """
    state = state or {}
    parts: list[str] = []
    for key, value in state.items():
        if isinstance(value, Mapping):
            inner = rate_limit_text(value)
            if inner:
                parts.append(f"{key}: {inner}")
            continue
        if key == "reset" and isinstance(value, str):
            # Stored as UTC ISO text (collectors.budget.RateLimit.to_json); users read WIB.
            with contextlib.suppress(ValueError):
                parts.append(f"pulih {format_wib(datetime.fromisoformat(value))}")
            continue
        if key == "quota_used":
            budget = state.get("quota_budget")
            parts.append(f"kuota terpakai {value}" + (f" dari {budget}" if budget is not None else ""))
            continue
        word = _RATE_WORDS.get(key)
        if word is not None:
            parts.append(word.format(value))
    return ", ".join(parts)


_RATE_WORDS = {"limit": "batas {}", "remaining": "sisa {}", "used_percent": "terpakai {}%"}


ALERT_KIND_LABELS: dict[str, str] = {
    "first": "Peringatan pertama",
    "crisis": "Peringatan krisis",
    "update": "Pembaruan",
    "repeat": "Pengingat",
    "escalation": "Eskalasi",
    "regression": "Muncul lagi",
    "group": "Ringkasan isu",
    "digest": "Ringkasan harian",
    "source_health": "Sumber data diam",
    "delivery_failed": "Pengiriman gagal",
    "info": "Untuk diketahui",
}
DELIVERY_STATUS_LABELS: dict[str, str] = {
    "pending": "Menunggu dikirim",
    "sent": "Terkirim",
    "failed": "Gagal, akan dicoba lagi",
    "dead": "Gagal permanen",
}
CHANNEL_LABELS: dict[str, str] = {
    "email": "E-mail",
    "telegram": "Telegram",
    "whatsapp": "WhatsApp",
    "webhook": "Webhook",
    "dashboard": "dasbor",
    "api": "API",
    "sistem": "sistem",
}


def alert_kind_label(kind: str | None) -> str:
    """``first`` → "Peringatan pertama" (an unknown kind is shown as "Peringatan", never as its code)."""
    return ALERT_KIND_LABELS.get(kind or "", "Peringatan")


def delivery_status_label(status: str | None) -> str:
    """``sent`` → "Terkirim"."""
    return DELIVERY_STATUS_LABELS.get(status or "", "Tidak diketahui")


def channel_label(channel: str | None) -> str:
    """``telegram`` → "Telegram"; also the channels of an agency's answer (``dashboard`` → "dasbor")."""
    return CHANNEL_LABELS.get(channel or "", channel or "-")


def receiver_label(receiver: str | None, agency_name: Callable[[str | None], str]) -> str:
    """Who an alert went to, by name: ``agency:pupr`` → the agency's name; a configured receiver by its
    name with a capital (``humas`` → "Humas")."""
    if not receiver:
        return "-"
    if receiver.startswith("agency:"):
        return agency_name(receiver.removeprefix("agency:"))
    return receiver[:1].upper() + receiver[1:]


def recipient_label(channel: str | None, recipient: str | None, receiver_name: str) -> str:
    """Where a delivery went: an e-mail address as it is; a chat id, phone number or webhook URL by its owner.

    Chat ids and numbers mean nothing to a reader (and a number is personal data): "chat Telegram
    Dinas PUPR OKI" says the same.
    """
    if channel == "email" and recipient:
        return recipient
    return f"{channel_label(channel)} {receiver_name}"


_REASON_ORDER: dict[str, tuple[str, ...]] = {
    "viral": ("sudah melewati", "laju", "diberitakan", "keterlibatan"),
    "naik": ("laju", "lonjakan", "tumbuh", "peluang viral", "diberitakan"),
    "baru": ("masih sedikit", "laju", "peluang viral"),
    "mereda": ("laju menurun", "laju"),
}
_REASON_SHORT = {"sudah melewati": "sudah melewati ambang viral"}


def stage_sentence(stage: str | None, reasons: Sequence[str]) -> str:
    """One short sentence on why an issue is at its stage, from its latest assessment's reasons.

    ``naik`` with reasons ["laju 5 unggahan/jam, 3x di atas garis dasar", "tumbuh 40% per jam", ...] →
    "Naik karena laju 5 unggahan/jam, 3x di atas garis dasar dan tumbuh 40% per jam." Two reasons at most,
    the most telling for that stage first; the full list is on the issue page.
    """
    name = stage_label(stage)
    picked: list[str] = []
    for prefix in _REASON_ORDER.get(stage or "", ("laju",)):
        for reason in reasons:
            if reason.startswith(prefix) and reason not in picked:
                picked.append(reason)
                break
        if len(picked) == 2:
            break
    if not picked:
        return f"{name}: belum ada penilaian." if not reasons else f"{name} karena {reasons[0]}."
    shown = [_REASON_SHORT.get(next((p for p in _REASON_SHORT if r.startswith(p)), ""), r) for r in picked]
    return f"{name} karena {' dan '.join(shown)}."


def sentence(text: str) -> str:
    """A reason phrase as a sentence: capital first letter, a full stop."""
    text = text.strip()
    if not text:
        return text
    return text[:1].upper() + text[1:] + ("" if text.endswith(".") else ".")
