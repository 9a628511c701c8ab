"""How values are shown to users (Bahasa Indonesia)."""

from __future__ import annotations

import contextlib
import re
from collections.abc import Mapping
from datetime import datetime
from typing import Any

from classifiers.taxonomy import TOPIC_LABELS
from monitor.kernel.clock import format_wib

STAGE_LABELS: dict[str, str] = {"baru": "Baru", "naik": "Naik", "viral": "Viral", "mereda": "Mereda"}
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
    """A source's stored rate-limit facts for the sources page: reset times in WIB, nested windows spelled out."""
    parts: list[str] = []
    for key, value in (state or {}).items():
        if isinstance(value, Mapping):
            parts.append(f"{key}: ({rate_limit_text(value)})")
            continue
        if key == "reset" and isinstance(value, str):
            # Stored as UTC ISO text (collectors.budget.RateLimit.to_json); users read WIB.
            with contextlib.suppress(ValueError):
                value = format_wib(datetime.fromisoformat(value))
        parts.append(f"{key}={value}")
    return " ".join(parts)
