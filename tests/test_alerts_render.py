"""Rendering: escaping always holds, Telegram text always fits, post text is cleaned."""

from __future__ import annotations

import html.parser
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from alerts.render import Links, clean_post_text, eta_text, render
from tests.telegram_server import check_html, visible_length

LINKS = Links(
    dashboard="https://monitor.okikab.example",
    issue="https://monitor.okikab.example/issues/1",
    ack="https://monitor.okikab.example/alerts/action/abc?x=1&y=<2>",
)

nasty = st.text(alphabet=st.characters(codec="utf-8"), max_size=600) | st.sampled_from(
    ["<script>alert(1)</script>", "a & b < c > d", "</b><i>", "&amp;&lt;", '"><a href="x">', "😀" * 3000]
)


def payload(title: str, post: str, kec: str, kind: str = "first", n_posts: int = 3) -> dict[str, Any]:
    return {
        "kind": kind,
        "issue": {
            "id": 1,
            "title": title,
            "topic": "infrastruktur",
            "agency_name": "Dinas PUPR OKI",
            "kecamatan": kec,
            "stage": "naik",
            "score": 70,
            "p_viral": 0.8,
            "eta_minutes": 170,
            "post_count": 12,
            "author_count": 9,
            "urgent": False,
        },
        "growth": [["2026-12-01T02:00:00+00:00", 3], ["2026-12-01T05:00:00+00:00", 12]],
        "posts": [
            {"id": k, "text": post, "url": f'https://x.com/a/status/{k}?a=1&b="2"', "platform": "x"}
            for k in range(n_posts)
        ],
        "ack_due_at": "2026-12-01T04:00:00+00:00",
        "respond_due_at": "2026-12-08T02:00:00+00:00",
    }


class _Collector(html.parser.HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.tags: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append(tag)


@settings(max_examples=150, deadline=None)
@given(title=nasty, post=nasty, kec=nasty, kind=st.sampled_from(["first", "update", "escalation", "crisis", "group"]))
def test_collected_text_never_becomes_markup(title: str, post: str, kec: str, kind: str) -> None:
    p = payload(title, post, kec, kind)
    p["group"] = [{"id": 2, "title": title, "kecamatan": kec, "post_count": 1}]
    out = render(p, LINKS)
    assert check_html(out.telegram) is None, out.telegram[:300]
    assert visible_length(out.telegram) <= 4096
    parser = _Collector()
    parser.feed(out.html)
    assert set(parser.tags) <= {"html", "head", "meta", "body", "p", "b", "a", "li", "img"}
    assert "\n" not in out.subject and "\r" not in out.subject


def test_long_posts_are_dropped_before_the_ack_hint() -> None:
    out = render(payload("Jalan rusak", "kata " * 2000, "Cengal", n_posts=3), LINKS)
    assert visible_length(out.telegram) <= 4096
    assert "“Terima”" in out.telegram and "Jalan rusak" in out.telegram


def test_message_says_what_where_how_fast_and_how_to_ack() -> None:
    out = render(payload("Jalan rusak <parah>", "@budi_oki jalan rusak https://t.co/x lihat", "Cengal"), LINKS)
    assert "Kecamatan Cengal" in out.plain
    assert "diperkirakan viral dalam ~3 jam" in out.plain
    assert "3 → 12 unggahan dalam 3 jam" in out.plain
    assert "budi_oki" not in out.plain and "t.co" not in out.plain
    assert "Jalan rusak &lt;parah&gt;" in out.telegram
    assert "“Terima”" in out.plain and "“Diproses”" in out.plain
    assert 'href="https://monitor.okikab.example/alerts/action/abc?x=1&amp;y=&lt;2&gt;"' in out.html


def test_clean_post_text() -> None:
    assert clean_post_text("@a_b halo  @c.d\n\ndunia http://x.y/z") == "@… halo @… dunia"
    assert clean_post_text("email a@b.com tetap") == "email a@b.com tetap"
    short = clean_post_text("kata " * 100, limit=50)
    assert len(short) <= 50 and short.endswith("…")


def test_eta_text() -> None:
    assert eta_text(170) == "diperkirakan viral dalam ~3 jam"
    assert eta_text(42) == "diperkirakan viral dalam ~40 menit"
    assert eta_text(None) is None


def test_growth_chart_is_a_png() -> None:
    from alerts.chart import growth_chart  # local, as in alerts.outbox: matplotlib is heavy to import

    png = growth_chart([["2026-12-01T02:00:00+00:00", 3], ["2026-12-01T03:00:00+00:00", 9]])
    assert png is not None and png.startswith(b"\x89PNG")
    assert growth_chart([["2026-12-01T02:00:00+00:00", 3]]) is None
