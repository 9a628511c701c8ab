"""The dashboard in a real headless Chromium against the app on 127.0.0.1 (selenium + Debian chromedriver)."""

from __future__ import annotations

import pytest

from monitor.kernel.config import AppConfig
from monitor.store.db import Database
from tests.browser_support import fetch, login, script_errors, wait_until
from tests.web_support import Seeded, viral_flood_issue

pytestmark = pytest.mark.browser


def test_comms_user_sees_rising_issue_acknowledges_it_and_exports(server: tuple[str, Seeded], browser: object) -> None:
    from selenium.webdriver.common.by import By
    from selenium.webdriver.remote.webdriver import WebDriver

    base, s = server
    driver = browser
    assert isinstance(driver, WebDriver)
    login(driver, base, "kominfo")
    rows = driver.find_elements(By.CSS_SELECTOR, "#board-rows tr[data-issue]")
    assert rows and rows[0].get_attribute("data-issue") == str(s.rising_id)
    assert "Naik" in rows[0].text and "Belum diterima" in rows[0].text

    rows[0].find_element(By.TAG_NAME, "a").click()
    wait_until(driver, lambda d: f"/issues/{s.rising_id}" in d.current_url)
    texts = [e.text for e in driver.find_elements(By.CSS_SELECTOR, ".post-text")]
    assert any("<script>document.title='PWNED'</script>" in t for t in texts)  # shown as text
    assert any("onerror=" in t for t in texts)
    assert "PWNED" not in driver.title  # and nothing ran
    assert driver.execute_script("return document.querySelectorAll('main script, main img').length") == 0

    driver.find_element(By.ID, "ack-button").click()
    wait_until(driver, lambda d: "Diterima oleh kominfo" in d.find_element(By.ID, "ack-state").text)
    assert not driver.find_elements(By.ID, "ack-button")
    driver.get(f"{base}/")
    first = driver.find_elements(By.CSS_SELECTOR, "#board-rows tr[data-issue]")[0]
    assert "Diterima" in first.text and "Belum" not in first.text

    driver.get(f"{base}/trends?topic=infrastruktur")
    href = driver.find_element(By.ID, "export-csv").get_attribute("href")
    assert href and "topic=infrastruktur" in href
    result = fetch(driver, href)
    assert result["status"] == 200 and str(result["type"]).startswith("text/csv")
    body = str(result["body"])
    assert (
        body.lstrip("\ufeff").startswith("Periode mulai (WIB)") and "Infrastruktur" in body and "Air bersih" not in body
    )
    xlsx = fetch(driver, str(driver.find_element(By.ID, "export-xlsx").get_attribute("href")))
    assert xlsx["status"] == 200 and "spreadsheetml" in str(xlsx["type"])

    logs = driver.get_log("browser")  # type: ignore[attr-defined]  # Chrome-only method
    problems = [e["message"] for e in logs if e["level"] == "SEVERE"]
    assert not [p for p in problems if "Content Security Policy" in p or "app.js" in p], problems


def test_agency_user_cannot_reach_another_agency(server: tuple[str, Seeded], browser: object) -> None:
    from selenium.webdriver.common.by import By
    from selenium.webdriver.remote.webdriver import WebDriver

    base, s = server
    driver = browser
    assert isinstance(driver, WebDriver)
    login(driver, base, "pupr")
    board = driver.find_element(By.ID, "board-rows").text
    assert "Jalan rusak di Kayu Agung" in board and "Air PDAM" not in board
    driver.get(f"{base}/issues/{s.pdam_id}")
    page = driver.find_element(By.TAG_NAME, "main").text
    assert "tidak ditemukan" in page and "Air PDAM" not in page
    api = fetch(driver, f"{base}/api/issues/{s.pdam_id}")
    assert api["status"] in (403, 404) and "Air PDAM" not in str(api["body"])
    own = fetch(driver, f"{base}/api/issues/{s.rising_id}")
    assert own["status"] == 200


def test_board_fits_a_phone_screen(server: tuple[str, Seeded], browser: object) -> None:
    from selenium.webdriver.common.by import By
    from selenium.webdriver.remote.webdriver import WebDriver

    base, s = server
    driver = browser
    assert isinstance(driver, WebDriver)
    driver.set_window_size(390, 844)
    login(driver, base, "kominfo")
    width = driver.execute_script("return [document.documentElement.scrollWidth, window.innerWidth]")
    assert width[0] <= width[1] + 1, width
    row = driver.find_element(By.CSS_SELECTOR, f'tr[data-issue="{s.rising_id}"]')
    assert row.is_displayed() and "Perkiraan viral" in driver.execute_script(
        "return getComputedStyle(arguments[0], '::before').content", row.find_elements(By.TAG_NAME, "td")[3]
    )


def test_board_refreshes_itself(server: tuple[str, Seeded], browser: object, sqlite_db: Database) -> None:
    from selenium.webdriver.common.by import By
    from selenium.webdriver.remote.webdriver import WebDriver

    base, _s = server
    driver = browser
    assert isinstance(driver, WebDriver)
    login(driver, base, "kominfo")
    driver.get(f"{base}/?refresh=2")
    assert "Banjir rob" not in driver.find_element(By.ID, "board-rows").text
    with sqlite_db.session() as session:
        session.add(viral_flood_issue())
    wait_until(driver, lambda d: "Banjir rob di Cengal" in d.find_element(By.ID, "board-rows").text)
    # Rows are replaced every 2 s: read the first one in a single script call, not via a stale element.
    first = driver.execute_script("return document.querySelector('#board-rows tr[data-issue]').innerText")
    assert "Banjir rob" in first and "Viral" in first


def test_admin_changes_a_role_and_resets_a_password(server: tuple[str, Seeded], browser: object) -> None:
    from selenium.webdriver.common.by import By
    from selenium.webdriver.remote.webdriver import WebDriver
    from selenium.webdriver.support.ui import Select

    base, s = server
    driver = browser
    assert isinstance(driver, WebDriver)
    login(driver, base, "admin")
    driver.get(f"{base}/admin/users")
    edit = driver.find_element(By.ID, "edit-analis")
    edit.find_element(By.TAG_NAME, "summary").click()
    role_form = edit.find_element(By.CLASS_NAME, "role-form")
    Select(role_form.find_element(By.NAME, "role")).select_by_value("agency")
    Select(role_form.find_element(By.NAME, "agency")).select_by_value("pdam")
    role_form.find_element(By.TAG_NAME, "button").click()
    wait_until(driver, lambda d: "Peran analis diubah" in d.find_element(By.CLASS_NAME, "notice").text)
    row = driver.find_element(By.ID, "edit-analis").find_element(By.XPATH, "./ancestor::tr").text
    assert "OPD" in row and "PDAM Tirta Agung OKI" in row  # the name, not the code

    edit = driver.find_element(By.ID, "edit-analis")
    edit.find_element(By.TAG_NAME, "summary").click()
    pw_form = edit.find_element(By.CLASS_NAME, "password-form")
    pw_form.find_element(By.NAME, "password").send_keys("sandi-baru-analis-1")
    pw_form.find_element(By.TAG_NAME, "button").click()
    wait_until(driver, lambda d: "Kata sandi analis diganti" in d.find_element(By.CLASS_NAME, "notice").text)

    driver.find_element(By.CSS_SELECTOR, "form.logout button").click()
    wait_until(driver, lambda d: "/login" in d.current_url)
    driver.find_element(By.ID, "username").send_keys("analis")
    driver.find_element(By.ID, "password").send_keys("sandi-baru-analis-1")
    driver.find_element(By.ID, "login-submit").click()
    wait_until(driver, lambda d: d.find_elements(By.ID, "board-rows"))
    board = driver.find_element(By.ID, "board-rows").text
    assert "Air PDAM" in board and "Jalan rusak di Kayu Agung" not in board  # now bound to PDAM only
    assert f'data-issue="{s.pdam_id}"' in driver.page_source


def test_email_link_opens_a_confirmation_page_and_only_its_button_acts(
    config: AppConfig, sqlite_db: Database, server: tuple[str, Seeded], browser: object, monkeypatch: pytest.MonkeyPatch
) -> None:
    """An alert e-mail's link in a browser without a dashboard login: opening it changes nothing; the button does."""
    from urllib.parse import urlsplit

    from selenium.webdriver.common.by import By
    from selenium.webdriver.remote.webdriver import WebDriver
    from sqlalchemy import select

    from alerts.ack import sign_ack_link
    from monitor.store.models import Alert

    assert isinstance(browser, WebDriver)
    base, seeded = server
    monkeypatch.setenv(config.alerts.ack_secret_env, "kunci-rahasia-uji-0123456789abcdef")
    link = sign_ack_link(config, "tok-rising")
    assert link is not None
    browser.get(base + urlsplit(link).path)
    wait_until(browser, lambda d: d.find_elements(By.ID, "alert-action-form"))
    assert "Konfirmasi tindak lanjut" in browser.find_element(By.TAG_NAME, "h1").text
    with sqlite_db.session() as s:
        assert s.scalar(select(Alert.acknowledged_at).where(Alert.id == seeded.alert_id)) is None
    browser.find_element(By.CSS_SELECTOR, "#alert-action-form button").click()
    wait_until(browser, lambda d: "Terima kasih" in d.find_element(By.TAG_NAME, "h1").text)
    with sqlite_db.session() as s:
        assert s.scalar(select(Alert.acknowledged_by).where(Alert.id == seeded.alert_id)) == "email"
    browser.get(base + urlsplit(link).path)  # opened again: says so, offers no button
    wait_until(browser, lambda d: "sudah dicatat sebelumnya" in d.find_element(By.TAG_NAME, "main").text)
    assert not browser.find_elements(By.ID, "alert-action-form")


@pytest.mark.parametrize(("width", "height"), [(1366, 768), (390, 844)])
def test_every_other_page_fits_desk_and_phone(
    server: tuple[str, Seeded], browser: object, width: int, height: int
) -> None:
    """Trends (each view), kinerja, sources, admin and map: nothing wider than the screen, no script error."""
    from selenium.webdriver.common.by import By
    from selenium.webdriver.remote.webdriver import WebDriver

    base, _s = server
    driver = browser
    assert isinstance(driver, WebDriver)
    driver.set_window_size(width, height)
    login(driver, base, "admin")
    wide: dict[str, list[int]] = {}
    pages = ("/trends", "/trends?view=opd", "/trends?view=kecamatan", "/kinerja", "/sources", "/admin/users", "/peta")
    for path in pages:
        driver.get(f"{base}{path}")
        assert driver.find_element(By.TAG_NAME, "h1").is_displayed(), path
        assert "tidak ditemukan" not in driver.find_element(By.TAG_NAME, "main").text.lower(), path
        sizes = driver.execute_script("return [document.documentElement.scrollWidth, window.innerWidth]")
        if sizes[0] > sizes[1] + 1:
            wide[path] = sizes
    assert wide == {}
    assert script_errors(driver) == []
