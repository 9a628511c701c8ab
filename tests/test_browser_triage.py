"""The triage page in real headless Chromium: one click labels a post, it leaves the list, the correction is kept."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from monitor.store.db import Database
from monitor.store.models import LabelCorrection
from tests.browser_support import login, wait_until
from tests.triage_support import seed_triage
from tests.web_support import Seeded

pytestmark = pytest.mark.browser


def test_comms_user_labels_an_uncertain_post_with_one_click(
    server: tuple[str, Seeded],
    browser: object,
    sqlite_db: Database,
) -> None:
    from selenium.webdriver.common.by import By
    from selenium.webdriver.remote.webdriver import WebDriver

    base, _s = server
    posts = seed_triage(sqlite_db)
    driver = browser
    assert isinstance(driver, WebDriver)
    login(driver, base, "kominfo")
    driver.find_element(By.LINK_TEXT, "Triase").click()
    wait_until(driver, lambda d: d.find_elements(By.ID, "triage-list"))
    listed = [e.get_attribute("data-post") for e in driver.find_elements(By.CSS_SELECTOR, "#triage-list li[data-post]")]
    assert listed == [str(posts.water), str(posts.road)]
    card = driver.find_element(By.ID, f"triage-{posts.water}")
    assert "Teluk Gelam" in card.text and "Air bersih" in card.text

    card.find_element(By.CSS_SELECTOR, "button.triage-complaint").click()  # "Keluhan OKI: Air bersih"

    wait_until(driver, lambda d: d.find_elements(By.ID, "flash"))
    assert "dilabeli: keluhan OKI, topik Air bersih" in driver.find_element(By.ID, "flash").text
    assert not driver.find_elements(By.ID, f"triage-{posts.water}")
    assert driver.find_elements(By.ID, f"triage-{posts.road}")
    assert driver.find_element(By.ID, "triage-count").text == "1"
    with sqlite_db.session() as s:
        rows = s.scalars(select(LabelCorrection).where(LabelCorrection.source == "triage")).all()
        stored = sorted((c.post_id, c.field, c.value) for c in rows)
    assert stored == [
        (posts.water, "is_complaint", "true"),
        (posts.water, "relevant", "true"),
        (posts.water, "topic", "air_bersih"),
    ]
    logs = driver.get_log("browser")  # type: ignore[attr-defined]  # Chrome-only method
    assert not [e["message"] for e in logs if e["level"] == "SEVERE" and "Content Security Policy" in e["message"]]
