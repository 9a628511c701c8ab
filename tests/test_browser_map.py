"""The map page in a real headless Chromium, at desk and phone width: it draws, fits, and leads to the board;
in a deployment of two regions, another regency's outline fits too and passes axe-core."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from classifiers.region import NATIONAL_LIST
from monitor.kernel.config import AppConfig, load_config
from monitor.store.db import Database
from monitor.web.app import create_app
from tests.browser_support import axe_source, axe_violations, login, require_browser, script_errors, serving, wait_until
from tests.region_support import OKU, seed_oku, two_region_config
from tests.web_support import Seeded, make_clock, seed

pytestmark = pytest.mark.browser


@pytest.mark.parametrize(("width", "height"), [(1366, 768), (390, 844)])
def test_map_draws_fits_and_clicks_through_to_the_board(
    server: tuple[str, Seeded],
    browser: object,
    width: int,
    height: int,
) -> None:
    from selenium.webdriver.common.by import By
    from selenium.webdriver.remote.webdriver import WebDriver

    assert isinstance(browser, WebDriver)
    base, _seeded = server
    browser.set_window_size(width, height)
    login(browser, base, "kominfo")
    browser.get(f"{base}/peta")
    wait_until(browser, lambda d: d.find_elements(By.CSS_SELECTOR, "svg.map path.area"))
    areas = browser.find_elements(By.CSS_SELECTOR, "svg.map path.area")
    assert len(areas) == 18
    shaded = [a for a in areas if "k0" not in (a.get_attribute("class") or "")]
    assert len(shaded) == 3  # Kayu Agung, Pedamaran, Jejawi have an open issue each
    svg_box = browser.find_element(By.CSS_SELECTOR, "svg.map").rect
    assert svg_box["width"] > 200 and svg_box["height"] > 150
    overflow = browser.execute_script("return document.documentElement.scrollWidth - window.innerWidth")
    assert overflow <= 0, f"page {overflow}px wider than a {width}px screen"
    assert script_errors(browser) == []
    # The table carries the same numbers for reading and for screen readers; its link filters the board.
    link = browser.find_element(By.LINK_TEXT, "Kayu Agung")
    browser.execute_script("arguments[0].scrollIntoView()", link)
    link.click()
    wait_until(browser, lambda d: "kecamatan=Kayu" in d.current_url and d.find_elements(By.ID, "board-rows"))
    rows = browser.find_element(By.ID, "board-rows").text
    assert "Jalan rusak di Kayu Agung" in rows and "Air PDAM" not in rows


@pytest.fixture
def province(config: AppConfig, sqlite_db: Database, tmp_path: Path) -> Iterator[str]:
    """The dashboard of a deployment of OKI and OKU, with both regions' issues."""
    require_browser()
    if not NATIONAL_LIST.exists():
        pytest.skip("needs ../shared/data/wilayah_id")
    deployment = load_config(two_region_config(tmp_path))
    seed(sqlite_db)
    seed_oku(sqlite_db)
    with serving(create_app(deployment, sqlite_db, make_clock())) as base:
        yield base


@pytest.mark.parametrize(("width", "height"), [(1366, 768), (390, 844)])
def test_province_user_picks_a_regency_whose_outline_fits_and_passes_axe(
    province: str, browser: object, width: int, height: int
) -> None:
    from selenium.webdriver.common.by import By
    from selenium.webdriver.remote.webdriver import WebDriver
    from selenium.webdriver.support.ui import Select

    assert isinstance(browser, WebDriver)
    browser.set_window_size(width, height)
    login(browser, province, "kominfo")
    browser.get(f"{province}/peta")
    wait_until(browser, lambda d: d.find_elements(By.CSS_SELECTOR, "svg.map path.area"))
    assert len(browser.find_elements(By.CSS_SELECTOR, "svg.map path.area")) == 18  # OKI's, by default
    Select(browser.find_element(By.NAME, "region")).select_by_value(OKU)
    browser.find_element(By.XPATH, "//button[normalize-space()='Tampilkan']").click()
    wait_until(browser, lambda d: f"region={OKU}" in d.current_url)
    areas = browser.find_elements(By.CSS_SELECTOR, "svg.map path.area")
    assert len(areas) == 1 and "k4" in (areas[0].get_attribute("class") or "")  # OKU's outline, its open issue
    box = browser.find_element(By.CSS_SELECTOR, "svg.map").rect
    assert box["width"] > 200 and box["height"] > 150
    overflow = browser.execute_script("return document.documentElement.scrollWidth - window.innerWidth")
    assert overflow <= 0, f"page {overflow}px wider than a {width}px screen"
    assert "Baturaja Timur" in browser.find_element(By.CSS_SELECTOR, "table.map-table").text
    assert script_errors(browser) == []
    if width > 1000:  # axe at desk width, as the other pages
        found = axe_violations(browser, axe_source())
        assert found == [], found
