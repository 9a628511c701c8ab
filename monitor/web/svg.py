"""Charts as inline SVG strings built on the server: no JavaScript library, nothing from a CDN.

Every label that could come from data is XML-escaped here, because the result is
inserted into pages with Jinja's ``|safe``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from html import escape

PALETTE = ("#1f6feb", "#d1242f", "#1a7f37", "#9a6700", "#8250df", "#bf3989", "#0a7b83", "#57606a")


def _fmt(v: float) -> str:
    return f"{v:.1f}".rstrip("0").rstrip(".")


def sparkline(values: Sequence[float], width: int = 120, height: int = 28, label: str = "") -> str:
    """A small growth line; empty data gives an empty frame rather than an error."""
    title = f"<title>{escape(label)}</title>" if label else ""
    if len(values) < 2:
        return (
            f'<svg class="spark" viewBox="0 0 {width} {height}" width="{width}" height="{height}" role="img">'
            f'{title}<line x1="0" y1="{height - 2}" x2="{width}" y2="{height - 2}" class="spark-base"/></svg>'
        )
    lo, hi = min(values), max(values)
    span = (hi - lo) or 1.0
    step = width / (len(values) - 1)
    pts = " ".join(
        f"{_fmt(i * step)},{_fmt(height - 2 - (v - lo) / span * (height - 4))}" for i, v in enumerate(values)
    )
    return (
        f'<svg class="spark" viewBox="0 0 {width} {height}" width="{width}" height="{height}" role="img">'
        f'{title}<polyline points="{pts}" fill="none" stroke="#d1242f" stroke-width="1.5"/></svg>'
    )


@dataclass(frozen=True, slots=True)
class Series:
    """One line of a chart: a name and y values aligned with the chart's x labels."""

    name: str
    values: Sequence[float]
    dashed: bool = False


def line_chart(
    x_labels: Sequence[str],
    series: Sequence[Series],
    width: int = 640,
    height: int = 220,
    title: str = "",
) -> str:
    """A responsive multi-line chart with a y-axis maximum, first/last x labels and a legend."""
    pad_l, pad_r, pad_t, pad_b = 40, 10, 10, 40
    plot_w, plot_h = width - pad_l - pad_r, height - pad_t - pad_b
    n = len(x_labels)
    top = max((max(s.values, default=0.0) for s in series), default=0.0) or 1.0
    parts = [
        f'<svg class="chart" viewBox="0 0 {width} {height}" preserveAspectRatio="xMidYMid meet" role="img">',
        f"<title>{escape(title)}</title>" if title else "",
        f'<line x1="{pad_l}" y1="{pad_t + plot_h}" x2="{pad_l + plot_w}" y2="{pad_t + plot_h}" class="axis"/>',
        f'<line x1="{pad_l}" y1="{pad_t}" x2="{pad_l}" y2="{pad_t + plot_h}" class="axis"/>',
        f'<text x="{pad_l - 4}" y="{pad_t + 8}" text-anchor="end" class="tick">{escape(_fmt(top))}</text>',
        f'<text x="{pad_l - 4}" y="{pad_t + plot_h}" text-anchor="end" class="tick">0</text>',
    ]
    if n:
        parts.append(f'<text x="{pad_l}" y="{height - 24}" class="tick">{escape(x_labels[0])}</text>')
        if n > 1:
            parts.append(
                f'<text x="{pad_l + plot_w}" y="{height - 24}" text-anchor="end" class="tick">'
                f"{escape(x_labels[-1])}</text>"
            )
    step = plot_w / (n - 1) if n > 1 else 0.0
    for i, s in enumerate(series):
        color = PALETTE[i % len(PALETTE)]
        values = s.values
        if len(values) > 2 and min(values) == max(values):
            # A flat line (the baseline) needs its two ends, not one point per hour.
            values = [values[0], values[-1]]
            xs = [pad_l, pad_l + (len(s.values) - 1) * step]
        else:
            xs = [pad_l + j * step for j in range(len(values))]
        ys = [pad_t + plot_h - (v / top) * plot_h for v in values]
        # printf-style formatting of the (x, y) pairs: a page draws up to 336 points per line, and
        # trimming trailing zeros point by point was most of the chart's cost.
        pts = " ".join(["%.1f,%.1f" % xy for xy in zip(xs, ys, strict=True)])  # noqa: UP031 (speed, see above)
        dash = ' stroke-dasharray="5 4"' if s.dashed else ""
        if len(s.values) == 1:
            x, y = pts.split(",")
            parts.append(f'<circle cx="{x}" cy="{y}" r="3" fill="{color}"/>')
        elif pts:
            parts.append(f'<polyline points="{pts}" fill="none" stroke="{color}" stroke-width="2"{dash}/>')
        lx = pad_l + (i % 4) * (plot_w / 4)
        ly = height - 8 - (i // 4) * 12
        parts.append(f'<rect x="{_fmt(lx)}" y="{ly - 8}" width="10" height="3" fill="{color}"/>')
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
    label_w, label_h = 130, 110
    width = label_w + cell * len(cols) + 4
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
