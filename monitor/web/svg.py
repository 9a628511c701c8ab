"""Charts as inline SVG strings built on the server: no JavaScript library, nothing from a CDN.

Every label that could come from data is XML-escaped here, because the result is
inserted into pages with Jinja's ``|safe``.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from html import escape

PALETTE = ("#1f6feb", "#d1242f", "#1a7f37", "#9a6700", "#8250df", "#bf3989", "#0a7b83", "#57606a")


def _fmt(v: float) -> str:
    return f"{v:.1f}".rstrip("0").rstrip(".")


def sparkline(
    values: Sequence[float], width: int = 120, height: int = 28, label: str = "", min_span: float = 5.0
) -> str:
    """A small growth line from zero; empty data gives an empty frame rather than an error.

    The scale starts at zero and spans at least ``min_span``: scaled min-to-max, one post coming and
    going looked like a crash or a surge, and the board is read at a glance.
    """
    title = f"<title>{escape(label)}</title>" if label else ""
    if len(values) < 2:
        return (
            f'<svg class="spark" viewBox="0 0 {width} {height}" width="{width}" height="{height}" role="img">'
            f'{title}<line x1="0" y1="{height - 2}" x2="{width}" y2="{height - 2}" class="spark-base"/></svg>'
        )
    lo = min(0.0, min(values))
    span = max(max(values) - lo, min_span)
    step = width / (len(values) - 1)
    pts = " ".join(
        f"{_fmt(i * step)},{_fmt(height - 2 - (v - lo) / span * (height - 4))}" for i, v in enumerate(values)
    )
    return (
        f'<svg class="spark" viewBox="0 0 {width} {height}" width="{width}" height="{height}" role="img">'
        f'{title}<line x1="0" y1="{height - 2}" x2="{width}" y2="{height - 2}" class="spark-base"/>'
        f'<polyline points="{pts}" fill="none" stroke="#d1242f" stroke-width="1.5"/></svg>'
    )


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


def _tick(v: float) -> str:
    return number_id(v, 0 if v >= 10 or v == int(v) else 1)


def _legend_layout(names: Sequence[str], left: float, right: float) -> list[tuple[float, int]]:
    """(x, row) of each legend entry: entries follow each other and wrap, sized by their names (~6 px a letter)."""
    out: list[tuple[float, int]] = []
    x, row = left, 0
    for name in names:
        width = 14 + 6 * len(name) + 16
        if x > left and x + width > right:
            x, row = left, row + 1
        out.append((x, row))
        x += width
    return out


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


def line_chart(
    x_labels: Sequence[str],
    series: Sequence[Series],
    width: int = 640,
    height: int = 220,
    title: str = "",
) -> str:
    """A responsive multi-line chart: y axis from zero to a round top, first/middle/last x labels, legend below.

    Few points (weeks, months) also get a dot each, so a single period still shows as a mark on the chart;
    a value of None is a gap in its line (no data), never drawn as zero.
    """
    pad_l, pad_r, pad_t = 44, 12, 10
    legend = _legend_layout([s.name for s in series], pad_l, width - pad_r)
    legend_rows = 1 + max((row for _, row in legend), default=0)
    pad_b = 22 + 14 * legend_rows
    plot_w, plot_h = width - pad_l - pad_r, height - pad_t - pad_b
    n = len(x_labels)
    known = [v for s in series for v in s.values if v is not None]
    top = nice_ceiling(max(known, default=0.0))
    base_y = pad_t + plot_h

    def to_y(v: float) -> float:
        return base_y - (v / top) * plot_h

    parts = [
        f'<svg class="chart" viewBox="0 0 {width} {height}" preserveAspectRatio="xMidYMid meet" role="img">',
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
    label_y = base_y + 14
    if n == 1:
        parts.append(f'<text x="{x0:.1f}" y="{label_y}" text-anchor="middle" class="tick">{escape(x_labels[0])}</text>')
    elif n:
        parts.append(f'<text x="{pad_l}" y="{label_y}" class="tick">{escape(x_labels[0])}</text>')
    if n > 1:
        parts.append(
            f'<text x="{pad_l + plot_w}" y="{label_y}" text-anchor="end" class="tick">{escape(x_labels[-1])}</text>'
        )
    if n > 4:
        mid = (n - 1) // 2
        parts.append(
            f'<text x="{pad_l + mid * step:.1f}" y="{label_y}" text-anchor="middle" class="tick">'
            f"{escape(x_labels[mid])}</text>"
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
                x, y = pts.split(",")
                parts.append(f'<circle cx="{x}" cy="{y}" r="2.5" fill="{color}"/>')
        if (dots and not s.dashed) or len(s.values) == 1:
            parts.extend(
                f'<circle cx="{x0 + j * step:.1f}" cy="{to_y(v):.1f}" r="2.5" fill="{color}"/>'
                for j, v in enumerate(s.values)
                if v is not None
            )
        lx, row = legend[i]
        ly = height - 6 - (legend_rows - 1 - row) * 14
        parts.append(f'<rect x="{_fmt(lx)}" y="{ly - 7}" width="10" height="3" fill="{color}"/>')
        parts.append(f'<text x="{_fmt(lx + 14)}" y="{ly}" class="legend">{escape(s.name)}</text>')
    parts.append("</svg>")
    return "".join(parts)


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
