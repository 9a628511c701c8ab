"""A small PNG chart of an issue's growth (matplotlib, Agg backend, no display needed)."""

from __future__ import annotations

import io
from datetime import datetime
from typing import Any

import matplotlib

matplotlib.use("Agg")
import matplotlib.dates as mdates
import matplotlib.pyplot as plt

from monitor.clock import WIB


def growth_chart(growth: list[list[Any]], title: str = "Pertumbuhan unggahan") -> bytes | None:
    """PNG bytes of mentions over time (WIB), or None when there are fewer than two points."""
    points: list[tuple[datetime, float]] = []
    for row in growth:
        try:
            points.append((datetime.fromisoformat(str(row[0])).astimezone(WIB), float(row[1])))
        except (ValueError, TypeError, IndexError):
            continue
    if len(points) < 2:
        return None
    fig, ax = plt.subplots(figsize=(4.8, 2.2), dpi=100)
    try:
        xs = [float(mdates.date2num(p[0])) for p in points]
        ys = [p[1] for p in points]
        ax.plot(xs, ys, color="#c0392b", linewidth=2, marker="o", markersize=3)
        ax.fill_between(xs, ys, color="#c0392b", alpha=0.12)
        ax.set_title(title, fontsize=9)
        ax.set_ylabel("unggahan", fontsize=8)
        ax.xaxis.set_major_formatter(mdates.DateFormatter("%H:%M", tz=WIB))
        ax.tick_params(labelsize=7)
        ax.grid(alpha=0.3)
        fig.tight_layout()
        buf = io.BytesIO()
        fig.savefig(buf, format="png")
        return buf.getvalue()
    finally:
        plt.close(fig)
