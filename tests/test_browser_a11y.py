"""Accessibility: axe-core run inside headless Chromium on every dashboard page, at desk width.

axe-core is the npm package, installed once by ``scripts/axe-core.sh`` (run by ``scripts/system-deps.sh``,
so by ``make test``) into a cache folder; the test itself downloads nothing. The script is injected
through the driver (DevTools evaluation is not subject to the page's Content-Security-Policy).
"""

from __future__ import annotations

import os
import subprocess
from pathlib import Path
from typing import Any

import pytest

from tests.browser_support import login, wait_until
from tests.web_support import Seeded

pytestmark = pytest.mark.browser

ROOT = Path(__file__).resolve().parent.parent
BLOCKING = ("serious", "critical")
"""Impacts that fail the test; minor and moderate ones are reported by axe but tolerated."""


def _axe_source() -> str:
    """axe.min.js from the cache folder scripts/axe-core.sh fills (the script only prints it when present)."""
    env = {**os.environ, "npm_config_offline": "true"}  # never fetch from here: that is system-deps' job
    done = subprocess.run(
        ["bash", str(ROOT / "scripts" / "axe-core.sh")], capture_output=True, text=True, env=env, check=False
    )
    path = Path(done.stdout.strip()) if done.returncode == 0 else None
    if path is None or not path.is_file():
        message = "axe-core is not installed: run scripts/system-deps.sh (or scripts/axe-core.sh)"
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)
    return path.read_text(encoding="utf-8")


def _violations(driver: Any, source: str) -> list[dict[str, Any]]:
    driver.execute_script(source + "\n;return true;")
    driver.set_script_timeout(60)
    found: list[dict[str, Any]] = driver.execute_async_script(
        """
        const done = arguments[arguments.length - 1];
        axe.run(document, {resultTypes: ['violations']}).then(r => done(r.violations.map(v => ({
            id: v.id, impact: v.impact, help: v.help,
            nodes: v.nodes.slice(0, 5).map(n => n.target.join(' ') + ' :: ' + n.failureSummary)
        })))).catch(e => done([{id: 'axe-error', impact: 'critical', help: String(e), nodes: []}]));
        """
    )
    return [v for v in found if v["impact"] in BLOCKING]


def test_every_page_has_no_serious_accessibility_violations(
    server: tuple[str, Seeded],
    browser: Any,
) -> None:
    from selenium.webdriver.common.by import By

    source = _axe_source()
    base, s = server
    browser.set_window_size(1366, 768)
    browser.get(f"{base}/login")
    wait_until(browser, lambda d: d.find_elements(By.ID, "login-submit"))
    problems: dict[str, list[dict[str, Any]]] = {}
    found = _violations(browser, source)
    if found:
        problems["/login"] = found
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
        found = _violations(browser, source)
        if found:
            problems[path] = found
    # Pages that only a form leads to: a confirmation, and a new API token shown once.
    browser.get(f"{base}/admin/users")
    browser.find_element(By.XPATH, "//button[normalize-space()='Nonaktifkan']").click()
    wait_until(browser, lambda d: d.find_elements(By.ID, "confirm-yes"))
    found = _violations(browser, source)
    if found:
        problems["konfirmasi"] = found
    browser.get(f"{base}/admin/users")
    browser.find_element(By.XPATH, "//button[normalize-space()='Buat token']").click()
    wait_until(browser, lambda d: d.find_elements(By.ID, "api-token"))
    found = _violations(browser, source)
    if found:
        problems["token"] = found
    assert not problems, "\n".join(
        f"{path}: {v['impact']} {v['id']} ({v['help']}): {v['nodes']}"
        for path, found in problems.items()
        for v in found
    )
