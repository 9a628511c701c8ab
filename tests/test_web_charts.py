"""The dashboard's server-drawn charts and number formats: readable at a glance, honest about scale."""

from __future__ import annotations

import re
from datetime import UTC, datetime

import pytest

from monitor.web import queries, svg


def _points(polyline_svg: str) -> list[tuple[float, float]]:
    found = re.search(r'<polyline points="([^"]+)"', polyline_svg)
    assert found, polyline_svg
    return [(float(x), float(y)) for x, y in (p.split(",") for p in found.group(1).split())]


def test_number_id_uses_indonesian_separators() -> None:
    assert svg.number_id(20499.76, 1) == "20.499,8"
    assert svg.number_id(5590) == "5.590"
    assert svg.number_id(0.91, 1) == "0,9"
    assert svg.number_id(1234567) == "1.234.567"


@pytest.mark.parametrize(
    ("top", "nice"), [(0.0, 1.0), (0.3, 0.3), (7, 8), (30, 30), (217, 250), (5590.4, 6000), (1001, 1200)]
)
def test_nice_ceiling_is_round_and_not_below_the_data(top: float, nice: float) -> None:
    assert svg.nice_ceiling(top) == pytest.approx(nice)
    assert svg.nice_ceiling(top) >= top


def test_sparkline_starts_at_zero_so_one_post_is_not_a_surge() -> None:
    height = 28
    one_post = _points(svg.sparkline([0, 1, 1, 0], height=height))
    # One post on a scale of at least five stays in the lowest fifth of the frame (y grows downwards).
    assert min(y for _, y in one_post) > height - 2 - (height - 4) / 5 - 0.01
    surge = _points(svg.sparkline([0, 2, 10, 40], height=height))
    assert min(y for _, y in surge) == pytest.approx(2.0)  # a real rise still reaches the top
    assert max(y for _, y in surge) == pytest.approx(height - 2)  # zero sits on the baseline


def test_line_chart_keeps_legend_below_the_x_labels_and_marks_few_points() -> None:
    names = [f"topik {i}" for i in range(8)]
    chart = svg.line_chart(["a", "b"], [svg.Series(n, [float(i), 2.0]) for i, n in enumerate(names)], height=220)
    label_y = max(float(y) for y in re.findall(r'<text x="[\d.]+" y="([\d.]+)"[^>]*class="tick">[ab]<', chart))
    legend_y = [float(y) for y in re.findall(r'y="([\d.]+)" class="legend"', chart)]
    assert len(legend_y) == 8 and min(legend_y) > label_y + 6
    assert max(legend_y) <= 220
    assert chart.count("<circle") == 16  # two points per series, each marked
    single = svg.line_chart(["02/11/26"], [svg.Series("x", [217.0])])
    assert single.count("<circle") == 1 and ">250<" in single  # round axis top above the value


def test_line_chart_draws_many_points_as_lines_only() -> None:
    chart = svg.line_chart([str(i) for i in range(100)], [svg.Series("x", [float(i) for i in range(100)])])
    assert "<circle" not in chart and len(_points(chart)) == 100


def test_heatmap_leaves_room_for_the_longest_labels() -> None:
    rows = ["Air bersih", "Administrasi kependudukan"]
    cols = ["Cengal", "(tanpa kecamatan)"]
    heat = svg.heatmap(rows, cols, {("Air bersih", "Cengal"): 2.0})
    # Row labels are right-aligned at the label column's edge: it must be wider than the longest label.
    edge = float(re.search(r'<text x="([\d.]+)" y="[\d.]+" text-anchor="end"', heat).group(1))  # type: ignore[union-attr]
    assert edge >= 6 * len("Administrasi kependudukan")
    short = svg.heatmap(["Air"], ["Cengal"], {("Air", "Cengal"): 1.0})
    width = lambda s: int(re.search(r'width="(\d+)"', s).group(1))  # type: ignore[union-attr]  # noqa: E731
    assert width(heat) > width(short)


def test_bucket_starts_fill_every_period_of_the_range() -> None:
    start, end = datetime(2026, 10, 1, tzinfo=UTC), datetime(2026, 11, 5, tzinfo=UTC)
    weeks = queries.bucket_starts(start, end, "week")
    assert weeks is not None and len(weeks) == 6
    assert all(w.weekday() == 0 and w.hour == 0 for w in weeks)  # Mondays, WIB midnight
    assert weeks[0] <= start and weeks[-1] < end
    months = queries.bucket_starts(datetime(2026, 11, 20, tzinfo=UTC), datetime(2027, 2, 2, tzinfo=UTC), "month")
    assert months is not None and [(m.year, m.month) for m in months] == [(2026, 11), (2026, 12), (2027, 1), (2027, 2)]
    assert queries.bucket_starts(start, end, "hour", limit=100) is None  # too many to draw: the caller falls back
    days = queries.bucket_starts(start, end, "day")
    assert days is not None and len(days) == 36  # 1 Oct .. 5 Nov WIB: the end, 00:00 UTC, is 07:00 WIB on 5 Nov


def test_line_chart_leaves_a_gap_for_missing_values_instead_of_a_zero() -> None:
    chart = svg.line_chart([str(i) for i in range(40)], [svg.Series("x", [None, 4.0, 5.0, None, None, *[6.0] * 35])])
    lines = re.findall(r'<polyline points="([^"]+)"', chart)
    assert len(lines) == 2  # two runs of known values, no line through the gap
    assert all(float(p.split(",")[1]) < 180 for run in lines for p in run.split())  # nothing drawn at zero
    few = svg.line_chart(["a", "b"], [svg.Series("selesai", [None, None])])
    assert "<circle" not in few and "<polyline" not in few


def test_line_chart_legend_entries_do_not_overlap() -> None:
    names = ["Median jam sampai diterima", "Median jam sampai selesai", "x"]
    chart = svg.line_chart(["a", "b"], [svg.Series(n, [1.0, 2.0]) for n in names])
    entries = [(float(x), float(y)) for x, y in re.findall(r'<text x="([\d.]+)" y="([\d.]+)" class="legend"', chart)]
    for (x1, y1), (x2, y2), name in zip(entries, entries[1:], names, strict=False):
        assert y2 != y1 or x2 >= x1 + 6 * len(name)  # the next entry starts after this one's text, or on a new row
