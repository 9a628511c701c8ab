"""Charts as inline SVG strings built on the server: no JavaScript library, nothing from a CDN.

Every label that could come from data is XML-escaped here, because the result is
inserted into pages with Jinja's ``|safe``.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from html import escape

from monitor.kernel.clock import MONTHS, format_wib, to_wib

PALETTE = ("#1f6feb", "#d1242f", "#1a7f37", "#9a6700", "#8250df", "#bf3989", "#0a7b83", "#57606a")


def _fmt(v: float) -> str:
    return f"{v:.1f}".rstrip("0").rstrip(".")


def sparkline(
    values: Sequence[float],
    width: int = 120,
    height: int = 28,
    label: str = "",
    min_span: float = 5.0,
    peak_label: str = "",
) -> str:
    """A small line from zero; empty data gives an empty frame rather than an error.

    The scale starts at zero and spans at least ``min_span``: scaled min-to-max, one post coming and
    going looked like a crash or a surge, and the board is read at a glance. ``label`` is the
    accessible name (and the hover text); ``peak_label`` marks the highest point with a dot.
    The values ride along in ``data-values`` so a test (or a reader's tool) can read them back.
    """
    title = f"<title>{escape(label)}</title>" if label else ""
    data = ",".join(_fmt(v) for v in values)
    head = (
        f'<svg class="spark" viewBox="0 0 {width} {height}" width="{width}" height="{height}" role="img"'
        f'{f" aria-label={_attr(label)}" if label else ""} data-values="{data}">{title}'
        f'<line x1="0" y1="{height - 2}" x2="{width}" y2="{height - 2}" class="spark-base"/>'
    )
    if len(values) < 2:
        return head + "</svg>"
    span = max(max(values), min_span)
    step = width / (len(values) - 1)

    def y(v: float) -> str:
        return _fmt(height - 2 - max(v, 0.0) / span * (height - 4))  # never below the base line

    pts = " ".join(f"{_fmt(i * step)},{y(v)}" for i, v in enumerate(values))
    peak = max(range(len(values)), key=lambda i: (values[i], i))
    dot = (
        f'<circle cx="{_fmt(peak * step)}" cy="{y(values[peak])}" r="2" fill="#d1242f"/>'
        if peak_label and values[peak] > 0
        else ""
    )
    return head + f'<polyline points="{pts}" fill="none" stroke="#d1242f" stroke-width="1.5"/>{dot}</svg>'


def _attr(text: str) -> str:
    return '"' + escape(text, quote=True) + '"'


@dataclass(frozen=True, slots=True)
class Series:
    """One line of a chart: a name and y values aligned with the chart's x labels."""

    name: str
    values: Sequence[float | None]
    """None where there is no value (a gap in the line)."""
    dashed: bool = False


def number_id(v: float, decimals: int = 0) -> str:
    """A number the Indonesian way: ``.`` between thousands, ``,`` before decimals (12.345,6)."""
    text = f"{v:,.{decimals}f}"
    return text.replace(",", "\x00").replace(".", ",").replace("\x00", ".")


def nice_ceiling(v: float) -> float:
    """The smallest round number (1, 1.2, 1.5, 2, 2.5, 3, 4, 5, 6 or 8 × 10^k) at or above ``v``: an axis top a
    reader can take in that still uses most of the chart's height."""
    if v <= 0:
        return 1.0
    magnitude = 10 ** math.floor(math.log10(v))
    for m in (1.0, 1.2, 1.5, 2.0, 2.5, 3.0, 4.0, 5.0, 6.0, 8.0, 10.0):
        if v <= m * magnitude * (1 + 1e-9):
            return m * magnitude
    return 10.0 * magnitude


def value_text(v: float) -> str:
    """A value as read out (hover, tables): whole numbers without decimals, others with one (``2``, ``1,5``)."""
    return number_id(v, 0 if float(v).is_integer() else 1)


def _tick(v: float) -> str:
    return number_id(v, 0 if v >= 10 or v == int(v) else 1)


def _segments(xs: Sequence[float], values: Sequence[float | None], to_y: Callable[[float], float]) -> list[str]:
    """Polyline point lists of the runs of known values: a missing value is a gap, not a zero."""
    runs: list[str] = []
    current: list[str] = []
    for x, v in zip(xs, values, strict=True):
        if v is None:
            if current:
                runs.append(" ".join(current))
                current = []
            continue
        # printf-style formatting of the (x, y) pairs: a page draws up to 336 points per line, and
        # trimming trailing zeros point by point was most of the chart's cost.
        current.append("%.1f,%.1f" % (x, to_y(v)))  # noqa: UP031 (speed, see above)
    if current:
        runs.append(" ".join(current))
    return runs


@dataclass(frozen=True, slots=True)
class Marker:
    """Something that happened at a point of a chart's x axis: an alert, an acknowledgement, a stage change."""

    at: float
    """Position in points from the first (fractional between two points)."""
    kind: str
    """``alert``, ``ack`` or ``stage``: the mark's colour and letter."""
    text: str
    """What happened, for the hover text and the table (Bahasa)."""


MARKER_STYLE: dict[str, tuple[str, str]] = {
    "alert": ("#a40e26", "P"),
    "ack": ("#1a7f37", "D"),
    "stage": ("#8250df", "T"),
}
"""Colour and letter of each marker kind (Peringatan, Diterima, Tahap); the legend names them."""
MARKER_NAMES = {"alert": "peringatan", "ack": "diterima", "stage": "tahap berubah"}


def even_ticks(n: int, most: int = 5) -> list[int]:
    """Up to ``most`` indexes spread evenly over ``n`` points, first and last included."""
    if n <= 0:
        return []
    if n <= most:
        return list(range(n))
    return sorted({round(k * (n - 1) / (most - 1)) for k in range(most)})


def hour_axis(start: datetime, n: int, most: int = 6) -> tuple[list[str], list[tuple[int, str]]]:
    """Labels of ``n`` hourly points from ``start``: the full WIB time of each (hover, table) and the ticks.

    Ticks fall on round WIB hours (every 1, 2, 3, 6 or 12 hours, or at midnight every 1, 2, 7 ... days) so that
    at most ``most`` show; midnight is written as the date (``29 Nov``), other hours as ``14:00``.
    """
    first = to_wib(start)
    full = [format_wib(first + timedelta(hours=k)) for k in range(n)]
    step = next((h for h in (1, 2, 3, 6, 12, 24, 48, 72, 168, 336, 720) if n / h <= most), 720)
    ticks: list[tuple[int, str]] = []
    for k in range(n):
        local = first + timedelta(hours=k)
        hours_since_midnight = local.hour
        if step < 24 and hours_since_midnight % step == 0:
            ticks.append((k, _day(local) if hours_since_midnight == 0 else f"{local.hour:02d}.00"))
        elif step >= 24 and hours_since_midnight == 0 and (local.toordinal() % (step // 24)) == 0:
            ticks.append((k, _day(local)))
    if not ticks and n:
        ticks = [(0, f"{first.hour:02d}.00")]
    return full, ticks


def _day(local: datetime) -> str:
    return f"{local.day} {MONTHS[local.month - 1]}"


def line_chart(
    x_labels: Sequence[str],
    series: Sequence[Series],
    width: int = 600,
    height: int = 240,
    title: str = "",
    *,
    ticks: Sequence[tuple[int, str]] | None = None,
    markers: Sequence[Marker] = (),
) -> str:
    """A responsive multi-line chart: y axis from zero to a round top, x ticks, markers, hover values, legend below.

    ``x_labels`` names every point (the hover text); ``ticks`` are the (index, text) written under
    the axis (default: up to five evenly spread labels). Every other tick is ``minor`` and hidden on
    a phone, where the text is drawn larger (see app.css). Hovering shows the values of the nearest
    points (SVG ``<title>``); pair the chart with :func:`data_table` for screen readers. Few points
    (weeks, months) also get a dot each; a value of None is a gap in its line (no data), never a zero;
    no line goes below zero.
    """
    # Room for axis text at the phone size too (app.css draws it about twice as large there).
    pad_l, pad_r, pad_t, pad_b = 60, 14, 22, 28
    plot_w, plot_h = width - pad_l - pad_r, height - pad_t - pad_b
    n = len(x_labels)
    known = [v for s in series for v in s.values if v is not None]
    top = nice_ceiling(max(known, default=0.0))
    base_y = pad_t + plot_h

    def to_y(v: float) -> float:
        return base_y - (max(v, 0.0) / top) * plot_h  # counts cannot be negative; neither can their line

    parts = [
        f'<svg class="chart" viewBox="0 0 {width} {height}" preserveAspectRatio="xMidYMid meet" role="img"'
        f"{f' aria-label={_attr(title)}' if title else ''}>",
        f"<title>{escape(title)}</title>" if title else "",
        f'<line x1="{pad_l}" y1="{base_y}" x2="{pad_l + plot_w}" y2="{base_y}" class="axis"/>',
        f'<line x1="{pad_l}" y1="{pad_t}" x2="{pad_l}" y2="{base_y}" class="axis"/>',
        f'<line x1="{pad_l}" y1="{pad_t + plot_h / 2:.1f}" x2="{pad_l + plot_w}" y2="{pad_t + plot_h / 2:.1f}" '
        'class="grid"/>',
        f'<text x="{pad_l - 4}" y="{pad_t + 8}" text-anchor="end" class="tick">{escape(_tick(top))}</text>',
        f'<text x="{pad_l - 4}" y="{pad_t + plot_h / 2 + 4:.1f}" text-anchor="end" class="tick">'
        f"{escape(_tick(top / 2))}</text>",
        f'<text x="{pad_l - 4}" y="{base_y}" text-anchor="end" class="tick">0</text>',
    ]
    step = plot_w / (n - 1) if n > 1 else 0.0
    x0 = pad_l if n > 1 else pad_l + plot_w / 2  # one period sits in the middle, not on the axis
    label_y = base_y + 18
    chosen = list(ticks) if ticks is not None else [(i, x_labels[i]) for i in even_ticks(n)]
    for k, (i, text) in enumerate(chosen):
        x = x0 + i * step
        anchor = "start" if n > 1 and i == 0 else "end" if n > 1 and i == n - 1 else "middle"
        minor = " minor" if k % 2 else ""
        parts.append(f'<line x1="{x:.1f}" y1="{base_y}" x2="{x:.1f}" y2="{base_y + 4}" class="axis"/>')
        parts.append(
            f'<text x="{x:.1f}" y="{label_y}" text-anchor="{anchor}" class="tick{minor}">{escape(text)}</text>'
        )
    for m in markers:
        color, letter = MARKER_STYLE.get(m.kind, ("#57606a", "?"))
        x = x0 + min(max(m.at, 0.0), max(n - 1, 0)) * step
        parts.append(
            f'<g class="marker marker-{escape(m.kind)}"><title>{escape(m.text)}</title>'
            f'<line x1="{x:.1f}" y1="{pad_t}" x2="{x:.1f}" y2="{base_y}" stroke="{color}" stroke-width="1.5" '
            f'stroke-dasharray="3 2"/><text x="{x:.1f}" y="{pad_t - 4}" text-anchor="middle" class="mark" '
            f'fill="{color}">{letter}</text></g>'
        )
    dots = n <= 31
    for i, s in enumerate(series):
        color = PALETTE[i % len(PALETTE)]
        values: Sequence[float | None] = s.values
        xs = [x0 + j * step for j in range(len(values))]
        if len(values) > 2 and None not in values and len(set(values)) == 1:
            # A flat line (the baseline) needs its two ends, not one point per hour.
            values, xs = [values[0], values[-1]], [xs[0], xs[-1]]
        dash = ' stroke-dasharray="5 4"' if s.dashed else ""
        for pts in _segments(xs, values, to_y):
            if " " in pts:
                parts.append(f'<polyline points="{pts}" fill="none" stroke="{color}" stroke-width="2"{dash}/>')
            elif not dots:  # a lone known value between gaps still shows
                px, py = pts.split(",")
                parts.append(f'<circle cx="{px}" cy="{py}" r="2.5" fill="{color}"/>')
        if (dots and not s.dashed) or len(s.values) == 1:
            parts.extend(
                f'<circle cx="{x0 + j * step:.1f}" cy="{to_y(v):.1f}" r="2.5" fill="{color}"/>'
                for j, v in enumerate(s.values)
                if v is not None
            )
    parts.extend(_hover_targets(x_labels, series, x0, step, pad_t, plot_h))
    parts.append("</svg>")
    parts.append(_legend(series, markers))
    return "".join(parts)


def _legend(series: Sequence[Series], markers: Sequence[Marker]) -> str:
    """The key as an HTML list under the chart: it wraps and keeps the page's text size on a phone,
    where text inside the scaled-down drawing could not."""
    items = [
        f'<li><svg class="key" width="16" height="6" aria-hidden="true"><rect y="1" width="16" height="4" '
        f'fill="{PALETTE[i % len(PALETTE)]}"/></svg>{escape(s.name)}{" (putus-putus)" if s.dashed else ""}</li>'
        for i, s in enumerate(series)
    ]
    for kind, (_color, letter) in MARKER_STYLE.items():
        if any(m.kind == kind for m in markers):
            items.append(f'<li><b class="key-mark" data-kind="{kind}">{letter}</b> {MARKER_NAMES[kind]}</li>')
    return f'<ul class="chart-legend">{"".join(items)}</ul>'


HOVER_TARGETS = 72
"""Most hover areas a chart draws: past that, an area covers several neighbouring points (page weight:
an issue page's three charts of two weeks stay a few kilobytes each)."""


def _hover_targets(
    x_labels: Sequence[str], series: Sequence[Series], x0: float, step: float, top: float, plot_h: float
) -> list[str]:
    """Transparent columns over the plot, each with a ``<title>``: the time and every series' value, or, when a
    column covers several points, the time span and the values of each series in order."""
    n = len(x_labels)
    if not n or not series:
        return []
    per = max(1, math.ceil(n / HOVER_TARGETS))
    width = max(step * per, 2.0) if n > 1 else 20.0

    def value(s: Series, j: int) -> str:
        v = s.values[j] if j < len(s.values) else None
        return "-" if v is None else value_text(v)

    out = []
    for first in range(0, n, per):
        last = min(first + per, n) - 1
        if first == last:
            text = f"{x_labels[first]}: " + "; ".join(f"{s.name} {value(s, first)}" for s in series)
        else:
            # A flat (dashed) reference line is the same at every point: once is enough.
            text = f"{x_labels[first]} – {x_labels[last]}: " + "; ".join(
                f"{s.name} {value(s, first)}"
                if s.dashed
                else f"{s.name} {', '.join(value(s, j) for j in range(first, last + 1))}"
                for s in series
            )
        left = x0 + first * step - (step / 2 if n > 1 else width / 2)
        out.append(
            f'<rect x="{left:.1f}" y="{top}" width="{width:.1f}" height="{plot_h:.1f}" class="hit">'
            f"<title>{escape(text)}</title></rect>"
        )
    return out


def data_table(
    caption: str,
    x_header: str,
    x_labels: Sequence[str],
    series: Sequence[Series],
    *,
    skip_zero: bool = False,
    markers: Sequence[Marker] = (),
    table_id: str = "",
) -> str:
    """The chart's numbers as an HTML table inside a closed ``<details>`` (screen readers, copying, a phone).

    ``skip_zero`` leaves out the points where every series is 0 or missing (hourly counts are mostly quiet
    hours); markers become a last column on the row of the point they sit on.
    """
    notes: dict[int, list[str]] = {}
    for m in markers:
        notes.setdefault(round(m.at), []).append(m.text)
    head = "".join(f'<th scope="col" class="num">{escape(s.name)}</th>' for s in series)
    has_notes = bool(notes)
    rows = []
    for j, label in enumerate(x_labels):
        values = [s.values[j] if j < len(s.values) else None for s in series]
        if skip_zero and not any(values) and j not in notes:
            continue
        cells = "".join(f'<td class="num">{"-" if v is None else escape(value_text(v))}</td>' for v in values)
        note = f"<td>{escape('; '.join(notes.get(j, [])))}</td>" if has_notes else ""
        rows.append(f'<tr><th scope="row">{escape(label)}</th>{cells}{note}</tr>')
    if not rows:
        rows.append(f'<tr><td colspan="{1 + len(series) + has_notes}" class="muted">Tidak ada data.</td></tr>')
    ident = f' id="{escape(table_id)}"' if table_id else ""
    notes_head = '<th scope="col">Kejadian</th>' if has_notes else ""
    return (
        f'<details class="chart-data"><summary>Tabel angka: {escape(caption)}</summary><div class="table-wrap">'
        f'<table{ident}><caption>{escape(caption)}</caption><thead><tr><th scope="col">{escape(x_header)}</th>'
        f"{head}{notes_head}</tr></thead><tbody>{''.join(rows)}</tbody></table></div></details>"
    )


def heatmap(
    rows: Sequence[str],
    cols: Sequence[str],
    values: dict[tuple[str, str], float],
    cell: int = 26,
    title: str = "",
) -> str:
    """Rows × columns of shaded cells with the count written in each non-empty cell."""
    # Room for the longest labels (10 px text is about 6 px a character; column labels are turned
    # 60°, so they rise ~0.87 and lean right ~0.5 of their length): a fixed margin cut long topic names.
    char = 6.0
    label_w = round(8 + char * max((len(r) for r in rows), default=0))
    longest_col = char * max((len(c) for c in cols), default=0)
    label_h = round(12 + 0.87 * longest_col)
    width = label_w + cell * len(cols) + round(0.5 * longest_col) + 4
    height = label_h + cell * len(rows) + 4
    top = max(values.values(), default=0.0) or 1.0
    parts = [
        f'<svg class="heatmap" viewBox="0 0 {width} {height}" width="{width}" height="{height}" role="img">',
        f"<title>{escape(title)}</title>" if title else "",
    ]
    for j, col in enumerate(cols):
        x = label_w + j * cell + cell / 2
        parts.append(
            f'<text transform="translate({_fmt(x)},{label_h - 4}) rotate(-60)" class="tick">{escape(col)}</text>'
        )
    for i, row in enumerate(rows):
        y = label_h + i * cell
        parts.append(
            f'<text x="{label_w - 4}" y="{_fmt(y + cell * 0.65)}" text-anchor="end" class="tick">{escape(row)}</text>'
        )
        for j, col in enumerate(cols):
            v = values.get((row, col), 0.0)
            alpha = 0.06 + 0.94 * (v / top) if v else 0.0
            x = label_w + j * cell
            parts.append(
                f'<rect x="{x}" y="{y}" width="{cell - 2}" height="{cell - 2}" fill="#d1242f" '
                f'fill-opacity="{alpha:.2f}" class="cell"><title>{escape(row)} × {escape(col)}: '
                f"{escape(_fmt(v))}</title></rect>"
            )
            if v:
                dark = alpha > 0.55
                parts.append(
                    f'<text x="{_fmt(x + (cell - 2) / 2)}" y="{_fmt(y + cell * 0.62)}" text-anchor="middle" '
                    f'class="cellnum{" light" if dark else ""}">{escape(_fmt(v))}</text>'
                )
    parts.append("</svg>")
    return "".join(parts)


def bar_chart(
    labels: Sequence[str],
    values: Sequence[float | None],
    *,
    top: float | None = None,
    unit: str = "",
    title: str = "",
    width: int = 640,
) -> str:
    """Horizontal bars, one per label, the value written after each bar; None is "no data" (no bar, a dash)."""
    char = 6.0
    label_w = round(8 + char * max((len(x) for x in labels), default=0))
    row_h, pad_t = 22, 6
    height = pad_t * 2 + row_h * max(len(labels), 1)
    scale_top = top if top is not None else nice_ceiling(max((v for v in values if v is not None), default=0.0))
    scale_top = scale_top or 1.0
    bar_w = width - label_w - 60
    parts = [
        f'<svg class="chart bars" viewBox="0 0 {width} {height}" preserveAspectRatio="xMidYMid meet" role="img">',
        f"<title>{escape(title)}</title>" if title else "",
    ]
    for i, (label, v) in enumerate(zip(labels, values, strict=True)):
        y = pad_t + i * row_h
        baseline = _fmt(y + row_h * 0.65)
        parts.append(f'<text x="{label_w - 4}" y="{baseline}" text-anchor="end" class="tick">{escape(label)}</text>')
        if v is None:
            parts.append(f'<text x="{label_w + 4}" y="{_fmt(y + row_h * 0.65)}" class="tick">-</text>')
            continue
        w = max(bar_w * min(v, scale_top) / scale_top, 1.0)
        parts.append(
            f'<rect x="{label_w}" y="{y + 3}" width="{_fmt(w)}" height="{row_h - 6}" fill="#0969da">'
            f"<title>{escape(label)}: {escape(number_id(v, 1))}{escape(unit)}</title></rect>"
        )
        parts.append(
            f'<text x="{_fmt(label_w + w + 4)}" y="{_fmt(y + row_h * 0.65)}" class="tick">'
            f"{escape(number_id(v, 0))}{escape(unit)}</text>"
        )
    parts.append("</svg>")
    return "".join(parts)
