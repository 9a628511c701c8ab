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


def test_line_chart_legend_is_a_list_under_the_drawing_and_few_points_are_marked() -> None:
    names = [f"topik {i}" for i in range(8)]
    chart = svg.line_chart(["a", "b"], [svg.Series(n, [float(i), 2.0]) for i, n in enumerate(names)], height=220)
    drawing, legend = chart.split('<ul class="chart-legend">', 1)
    # The key is HTML after the drawing (it wraps, and keeps the page's text size on a phone).
    assert drawing.endswith("</svg>") and [n for n in names if n in legend] == names
    assert not re.search(r"<text[^>]*>topik", drawing)
    assert drawing.count("<circle") == 16  # two points per series, each marked
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


def _ys(chart: str) -> list[float]:
    return [float(p.split(",")[1]) for run in re.findall(r'<polyline points="([^"]+)"', chart) for p in run.split()]


def test_line_chart_never_draws_below_zero() -> None:
    chart = svg.line_chart([str(i) for i in range(50)], [svg.Series("x", [(-1.0) ** i * 3 for i in range(50)])])
    base = float(re.search(r'<line x1="[\d.]+" y1="([\d.]+)"', chart).group(1))  # type: ignore[union-attr]
    assert max(_ys(chart)) == pytest.approx(base)  # the negative values sit on the axis, not under it
    spark = svg.sparkline([0, -4, 2, 0], height=28)
    assert max(y for _, y in _points(spark)) == pytest.approx(26.0)


def test_hour_axis_ticks_fall_on_round_wib_hours() -> None:
    start = datetime(2026, 11, 28, 10, 0, tzinfo=UTC)  # 17.00 WIB
    full, ticks = svg.hour_axis(start, 24)
    assert full[0] == "28 Nov 2026 17.00 WIB" and full[-1] == "29 Nov 2026 16.00 WIB"
    texts = [t for _, t in ticks]
    assert 2 <= len(ticks) <= 6 and "29 Nov" in texts  # midnight WIB is written as the date
    assert all(t == "29 Nov" or t.endswith(".00") for t in texts)
    assert all(int(t[:2]) % 6 == 0 for t in texts if t.endswith(".00"))  # every 6 hours for a day
    _full, long_ticks = svg.hour_axis(start, 14 * 24)
    assert 2 <= len(long_ticks) <= 6 and all("." not in t for _, t in long_ticks)  # two weeks: dates only


def test_line_chart_shows_ticks_markers_and_values_on_hover() -> None:
    labels = [f"jam {i}" for i in range(48)]
    ticks = [(0, "00.00"), (12, "12.00"), (24, "1 Des"), (36, "12.00")]
    marker = svg.Marker(30.5, "alert", "Peringatan pertama ke Dinas PUPR OKI")
    chart = svg.line_chart(
        labels, [svg.Series("Unggahan per jam", [float(i % 7) for i in range(48)])], ticks=ticks, markers=[marker]
    )
    assert [t for t in re.findall(r'class="tick(?: minor)?">([^<]+)<', chart) if t in dict(ticks).values()] == [
        "00.00",
        "12.00",
        "1 Des",
        "12.00",
    ]
    assert chart.count('class="tick minor"') == 2  # every other tick hides on a phone
    assert "<title>Peringatan pertama ke Dinas PUPR OKI</title>" in chart and "P = peringatan" not in chart
    assert '<b class="key-mark" data-kind="alert">P</b> peringatan' in chart
    hover = re.findall(r'<rect [^>]*class="hit"><title>([^<]+)</title>', chart)
    assert len(hover) == 48 and hover[9] == "jam 9: Unggahan per jam 2"
    many = svg.line_chart([str(i) for i in range(336)], [svg.Series("x", [1.0] * 336)])
    assert many.count('class="hit"') <= svg.HOVER_TARGETS  # a long series groups neighbouring hours


def test_data_table_lists_values_and_skips_quiet_hours() -> None:
    table = svg.data_table(
        "unggahan per jam",
        "Jam",
        ["a", "b", "<c>"],
        [svg.Series("n", [0.0, 3.0, 1.5])],
        skip_zero=True,
        markers=[svg.Marker(2.2, "ack", "Diterima oleh kominfo")],
    )
    assert '<th scope="row">a</th>' not in table and '<th scope="row">b</th><td class="num">3</td>' in table
    assert '<th scope="row">&lt;c&gt;</th><td class="num">1,5</td><td>Diterima oleh kominfo</td>' in table
    assert table.startswith('<details class="chart-data">')
