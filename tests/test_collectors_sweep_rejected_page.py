"""A page whose every item the parser rejected must not end a backwards walk (the older pages were lost)."""

from __future__ import annotations

from datetime import UTC, datetime

from collectors.base import RawItem
from collectors.sweep import Page, sweep
from collectors.telegram_channel import parse_channel_page

NOW = datetime(2026, 11, 29, 6, 0, tzinfo=UTC)


def _item(n: int) -> tuple[int, RawItem]:
    return n, RawItem(source="tg", platform="telegram", external_id=f"ch/{n}", text="jalan rusak", created_at=NOW)


def _photo(n: int) -> str:
    return (
        f'<div class="tgme_widget_message" data-post="ch/{n}"><div class="tgme_widget_message_bubble">'
        f'<time datetime="2026-11-29T05:00:00+00:00"></time></div></div>'
    )


def test_a_page_of_photos_parses_to_no_items_but_a_next_page() -> None:
    html = '<div class="tgme_channel_history">' + "".join(_photo(n) for n in range(20, 15, -1)) + "</div>"
    html += '<a class="tme_messages_more" data-before="16"></a>'
    page = parse_channel_page(html, source="tg", channel="ch", now=NOW)
    assert page.items == [] and page.rejected == 5 and page.next_token == 16


def test_walk_goes_past_a_page_of_rejected_items() -> None:
    # Mark 10 (stored last time). Since then 11..30 arrived: 30..21 text, 20..16 photos only, 15..11 text.
    pages = {
        None: Page([_item(n) for n in range(30, 20, -1)], 21),
        21: Page([], 16, rejected=5),
        16: Page([_item(n) for n in range(15, 10, -1)], 11),
        11: Page([_item(n) for n in range(10, 5, -1)], 6),
    }
    result = sweep({"mark": 10, "pending": None}, lambda token: pages[token], max_pages=10, source="tg")
    got = {int(i.external_id.split("/")[1]) for i in result.items}
    assert got == set(range(21, 31)) | set(range(11, 16))
    assert result.cursor == {"mark": 30, "pending": None}


def test_an_empty_page_still_ends_the_walk() -> None:
    pages = {None: Page([_item(12)], 7), 7: Page([], 3)}
    result = sweep({"mark": 10, "pending": None}, lambda token: pages[token], max_pages=10, source="tg")
    assert [i.external_id for i in result.items] == ["ch/12"] and result.cursor == {"mark": 12, "pending": None}
