"""A small PNG chart of an issue's growth (matplotlib's Agg canvas, no display, no pyplot state)."""

from __future__ import annotations

import io
from datetime import datetime
from typing import Any

import matplotlib.dates as mdates
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from monitor.kernel.clock import WIB


def growth_chart(growth: list[list[Any]], title: str = "Pertumbuhan unggahan (WIB)") -> bytes | None:
    """PNG bytes of mentions over time, or None when there are fewer than two usable points."""
    points: list[tuple[datetime, float]] = []
    for row in growth:
        try:
            points.append((datetime.fromisoformat(str(row[0])).astimezone(WIB), float(row[1])))
        except (ValueError, TypeError, IndexError):
            continue
    if len(points) < 2:
        return None
    # A bare Figure (not pyplot) is thread-safe and is freed with the object; no tight_layout: it costs ~3x.
    fig = Figure(figsize=(4.8, 2.2), dpi=90)
    FigureCanvasAgg(fig)
    ax = fig.add_axes((0.11, 0.16, 0.86, 0.72))
    xs = [float(mdates.date2num(p[0])) for p in points]
    ys = [p[1] for p in points]
    ax.plot(xs, ys, color="#c0392b", linewidth=2, marker="o", markersize=3)
    ax.fill_between(xs, ys, color="#c0392b", alpha=0.12)
    ax.set_title(title, fontsize=9)
    ax.xaxis.set_major_formatter(mdates.DateFormatter("%H.%M", tz=WIB))
    ax.tick_params(labelsize=7)
    ax.grid(alpha=0.3)
    buf = io.BytesIO()
    fig.savefig(buf, format="png")
    return buf.getvalue()
