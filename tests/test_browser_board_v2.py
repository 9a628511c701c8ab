"""Board and issue page in a real headless Chromium at desk (1366×768) and phone (390×844) width: what needs
action is at the top, everything fits the screen, chart text is legible, numbers are reachable."""

from __future__ import annotations

from itertools import pairwise
from typing import Any, NamedTuple

import pytest

from monitor.store.db import Database
from tests.browser_support import login, script_errors, wait_until
from tests.web_support import Seeded, seed_history, viral_flood_issue

pytestmark = pytest.mark.browser
SIZES = [(1366, 768), (390, 844)]


class Window(NamedTuple):
    base: str
    seeded: Seeded
    width: int
    height: int


@pytest.fixture(params=SIZES, ids=lambda size: f"{size[0]}x{size[1]}")
def window(request: pytest.FixtureRequest, server: tuple[str, Seeded], browser: Any, sqlite_db: Database) -> Window:
    """The seeded history, the browser sized to one of SIZES and logged in as kominfo."""
    base, s = server
    width, height = request.param
    seed_history(sqlite_db, s)
    browser.set_window_size(width, height)
    login(browser, base, "kominfo")
    return Window(base, s, width, height)


def _no_overflow(driver: Any, width: int) -> None:
    overflow = driver.execute_script("return document.documentElement.scrollWidth - window.innerWidth")
    culprits = driver.execute_script(
        "return Array.from(document.querySelectorAll('body *'))"
        ".filter(e => e.getBoundingClientRect().right > window.innerWidth + 1)"
        ".map(e => e.tagName + '.' + e.className + '#' + e.id).slice(0, 12)"
    )
    assert overflow <= 0, f"page {overflow}px wider than a {width}px screen: {culprits}"
    # Nothing sticks out of the screen on its own either (a filter box did on a phone).
    wide = driver.execute_script(
        "return Array.from(document.querySelectorAll('main select, main input, main button, main svg'))"
        ".filter(e => e.getBoundingClientRect().width > 0 && e.getBoundingClientRect().right > window.innerWidth + 1)"
        ".map(e => e.outerHTML.slice(0, 80))"
    )
    assert wide == [], wide


def test_board_shows_what_needs_action_first_and_fits(window: Window, browser: Any, sqlite_db: Database) -> None:
    from selenium.webdriver.common.by import By

    base, s, width, height = window
    browser.get(f"{base}/?refresh=2")
    strip = browser.find_element(By.ID, "board-summary")
    assert strip.is_displayed() and strip.rect["y"] < height  # the summary is on the first screen
    assert "3 isu terbuka" in strip.text and "1 belum diterima" in strip.text
    first = browser.find_element(By.CSS_SELECTOR, "#board-rows tr[data-issue]")
    assert first.get_attribute("data-issue") == str(s.rising_id) and "act-now" in (first.get_attribute("class") or "")
    assert "perlu tindakan" in first.text.lower() and "Naik karena laju 6 unggahan/jam" in first.text
    spark = first.find_element(By.CSS_SELECTOR, "svg.spark")
    assert (spark.get_attribute("aria-label") or "").startswith("Unggahan per jam, 24 jam terakhir: 9 unggahan")
    assert spark.is_displayed() and spark.rect["width"] >= 100
    _no_overflow(browser, width)
    # The strip refreshes with the rows.
    with sqlite_db.session() as session:
        session.add(viral_flood_issue())
    wait_until(browser, lambda d: "4 isu terbuka" in d.find_element(By.ID, "board-summary").text)
    assert "1 Viral" in browser.find_element(By.ID, "board-summary").text
    assert script_errors(browser) == []


def test_issue_page_reads_as_sentences_and_its_chart_is_legible(window: Window, browser: Any) -> None:
    from selenium.webdriver.common.by import By

    base, s, width, height = window
    browser.get(f"{base}/issues/{s.rising_id}")
    wait_until(browser, lambda d: d.find_elements(By.ID, "issue-why"))
    head = browser.find_element(By.ID, "issue-why")
    assert head.rect["y"] < height  # stage, reason and forecast on the first screen
    assert "Naik karena laju 6 unggahan/jam" in head.text and "Perkiraan viral" in head.text
    timeline = browser.find_element(By.ID, "issue-timeline").text
    assert "Tahap berubah dari Baru ke Naik" in timeline and "{'" not in timeline
    chart = browser.find_element(By.CSS_SELECTOR, "#chart-hourly svg.chart")
    browser.execute_script("arguments[0].scrollIntoView()", chart)
    sizes = browser.execute_script(
        "return Array.from(arguments[0].querySelectorAll('text.tick'))"
        ".map(t => t.getBoundingClientRect().height).filter(h => h > 0)",
        chart,
    )
    assert len(sizes) >= 3 and min(sizes) >= 9, sizes  # at least 9 px tall on screen, on a phone too
    ticks = browser.execute_script(
        "return Array.from(arguments[0].querySelectorAll('text.tick'))"
        ".filter(t => t.getBoundingClientRect().height > 0).map(t => t.getBoundingClientRect())"
        ".filter(r => r.top > arguments[0].getBoundingClientRect().bottom - 40)"
        ".map(r => [r.left, r.right]).sort((a, b) => a[0] - b[0])",
        chart,
    )
    assert all(a[1] <= b[0] + 1 for a, b in pairwise(ticks)), ticks  # x ticks do not overlap
    # Alert and acknowledgement marks name what happened; every hour's value is a hover away.
    marks = [m.get_attribute("textContent") for m in chart.find_elements(By.CSS_SELECTOR, "g.marker title")]
    assert any("Eskalasi ke Dinas PUPR OKI" in (m or "") for m in marks), marks
    hover = chart.find_elements(By.CSS_SELECTOR, "rect.hit title")
    assert hover and "WIB: Unggahan per jam" in (hover[-1].get_attribute("textContent") or "")
    # The numbers as a table, one click away.
    table = browser.find_element(By.CSS_SELECTOR, "#chart-hourly details.chart-data")
    table.find_element(By.TAG_NAME, "summary").click()
    wait_until(browser, lambda d: d.find_element(By.ID, "hourly-table").is_displayed())
    assert "Unggahan" in browser.find_element(By.ID, "hourly-table").text
    _no_overflow(browser, width)
    assert script_errors(browser) == []
