"""Accessibility: axe-core run inside headless Chromium on every dashboard page, at desk width.

axe-core is the npm package, installed once by ``scripts/axe-core.sh`` (run by ``scripts/system-deps.sh``,
so by ``make test``) into a cache folder; the test itself downloads nothing. The script is injected
through the driver (DevTools evaluation is not subject to the page's Content-Security-Policy).
"""

from __future__ import annotations

from typing import Any

import pytest

from tests.browser_support import axe_source, axe_violations, login, wait_until
from tests.web_support import Seeded

pytestmark = pytest.mark.browser

def test_every_page_has_no_serious_accessibility_violations(
    server: tuple[str, Seeded],
    browser: Any,
) -> None:
    from selenium.webdriver.common.by import By

    source = axe_source()
    base, s = server
    browser.set_window_size(1366, 768)
    browser.get(f"{base}/login")
    wait_until(browser, lambda d: d.find_elements(By.ID, "login-submit"))
    problems: dict[str, list[dict[str, Any]]] = {}

    def check(name: str) -> None:
        """axe-core on the page now shown; its violations kept under ``name``."""
        found = axe_violations(browser, source)
        if found:
            problems[name] = found

    check("/login")
    login(browser, base, "admin")
    pages = [
        "/",
        f"/issues/{s.rising_id}",
        "/peta",
        "/trends",
        "/kinerja",
        "/agency",
        "/agency/pupr",
        "/sources",
        "/triage",
        "/silences",
        "/admin/users",
        "/docs",
        "/account/password",
        "/tidak-ada",
    ]
    for path in pages:
        browser.get(base + path)
        wait_until(browser, lambda d: d.find_elements(By.TAG_NAME, "main"))
        check(path)
    # Pages that only a form leads to: a confirmation, and a new API token shown once.
    for name, button, shown in (("konfirmasi", "Nonaktifkan", "confirm-yes"), ("token", "Buat token", "api-token")):
        browser.get(f"{base}/admin/users")
        browser.find_element(By.XPATH, f"//button[normalize-space()='{button}']").click()
        wait_until(browser, lambda d, shown=shown: d.find_elements(By.ID, shown))
        check(name)
    assert not problems, "\n".join(
        f"{path}: {v['impact']} {v['id']} ({v['help']}): {v['nodes']}"
        for path, found in problems.items()
        for v in found
    )
