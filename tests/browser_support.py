"""Headless Chromium for the browser tests: the dashboard served on a free port, a driver, waiting and logging in.

The ``server`` and ``browser`` fixtures are offered to every test through ``tests/conftest.py``.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import subprocess
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
import uvicorn
from fastapi import FastAPI

from monitor.kernel.config import AppConfig
from monitor.store.db import Database
from monitor.web.app import create_app
from tests.web_support import PASSWORD, Seeded, free_port, make_clock, seed

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
CHROMEDRIVER = shutil.which("chromedriver") or "/usr/bin/chromedriver"
FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
)


def require_browser() -> None:
    missing = [p for p in (CHROMIUM, CHROMEDRIVER) if not Path(p).exists()]
    if not missing:
        return
    message = f"browser tests need {', '.join(missing)} (apt-get install chromium chromium-driver)"
    if os.environ.get("CI"):
        pytest.fail(message)
    pytest.skip(message)


@contextmanager
def serving(app: FastAPI) -> Iterator[str]:
    """``app`` served by uvicorn in a thread on a free port; yields its base URL and stops it on exit."""
    port = free_port()
    srv = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=srv.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not srv.started:
        if time.monotonic() > deadline:
            pytest.fail("the dashboard did not start within 10 s")
        time.sleep(0.05)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        srv.should_exit = True
        thread.join(timeout=10)


@pytest.fixture
def server(config: AppConfig, sqlite_db: Database) -> Iterator[tuple[str, Seeded]]:
    require_browser()
    seeded = seed(sqlite_db)
    with serving(create_app(config, sqlite_db, make_clock())) as base:
        yield base, seeded


WINDOW = (1280, 900)
PAGE_LOAD_SECONDS = 30


def _start_chromium(profile: Path) -> Any:
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for flag in FLAGS:
        options.add_argument(flag)
    options.add_argument(f"--user-data-dir={profile}")
    options.add_argument(f"--window-size={WINDOW[0]},{WINDOW[1]}")
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    driver = webdriver.Chrome(service=Service(CHROMEDRIVER), options=options)
    driver.set_page_load_timeout(PAGE_LOAD_SECONDS)
    return driver


def _blank(driver: Any) -> None:
    """Leave nothing of one test for the next: windows, storage, cookies, cache, console messages, window size."""
    handles = driver.window_handles
    for handle in handles[1:]:
        driver.switch_to.window(handle)
        driver.close()
    driver.switch_to.window(handles[0])
    if driver.current_url.startswith("http"):
        driver.execute_script("window.localStorage.clear(); window.sessionStorage.clear();")
    driver.get("about:blank")
    driver.execute_cdp_cmd("Network.clearBrowserCookies", {})
    driver.execute_cdp_cmd("Network.clearBrowserCache", {})
    driver.set_window_size(*WINDOW)
    driver.set_page_load_timeout(PAGE_LOAD_SECONDS)
    driver.get_log("browser")  # reading drains the console log


class _Chromium:
    """One headless Chromium per test process (starting one costs ~1-2 s of CPU), restarted if a test broke it."""

    def __init__(self, profiles: pytest.TempPathFactory) -> None:
        self._profiles = profiles
        self.driver: Any = None

    def fresh(self) -> Any:
        if self.driver is not None:
            try:
                _blank(self.driver)
                return self.driver
            except Exception:  # a test left it unusable (dialog open, crashed tab): start another one
                self.quit()
        self.driver = _start_chromium(self._profiles.mktemp("chrome-profile"))
        _blank(self.driver)
        return self.driver

    def quit(self) -> None:
        if self.driver is not None:
            with contextlib.suppress(Exception):
                self.driver.quit()
            self.driver = None


@pytest.fixture(scope="session")
def chromium(tmp_path_factory: pytest.TempPathFactory) -> Iterator[_Chromium]:
    holder = _Chromium(tmp_path_factory)
    yield holder
    holder.quit()


@pytest.fixture
def browser(chromium: _Chromium) -> object:
    """The process's Chromium, blank: no window, cookie, storage, cache or console message of an earlier test."""
    require_browser()
    return chromium.fresh()


LEFT_DOCUMENT = "does not belong to the document"
"""Chrome's message when an element found a moment ago went with a page that has since been replaced: the
same staleness as ``StaleElementReferenceException``, reported as a plain ``WebDriverException``."""


def wait_until(driver: object, condition: Callable[[Any], object], seconds: float = 10) -> None:
    """Wait for a condition, tolerating elements that vanish while a page loads or rows refresh."""
    from selenium.common.exceptions import NoSuchElementException, StaleElementReferenceException, WebDriverException
    from selenium.webdriver.remote.webdriver import WebDriver
    from selenium.webdriver.support.ui import WebDriverWait

    def tolerant(d: Any) -> object:
        try:
            return condition(d)
        except WebDriverException as exc:
            if LEFT_DOCUMENT in str(exc.msg or ""):
                return False  # looked up in the page being replaced: look again in the new one
            raise

    assert isinstance(driver, WebDriver)
    WebDriverWait(driver, seconds, ignored_exceptions=(StaleElementReferenceException, NoSuchElementException)).until(
        tolerant
    )


def script_errors(driver: Any) -> list[str]:
    """The SEVERE messages of the browser console since the last read (Chrome's log is drained by reading)."""
    return [str(e.get("message")) for e in driver.get_log("browser") if e.get("level") == "SEVERE"]


def login(driver: object, base: str, username: str) -> None:
    from selenium.webdriver.common.by import By
    from selenium.webdriver.remote.webdriver import WebDriver

    assert isinstance(driver, WebDriver)
    driver.get(f"{base}/")
    assert "/login" in driver.current_url  # no session → the login form
    driver.find_element(By.ID, "username").send_keys(username)
    driver.find_element(By.ID, "password").send_keys(PASSWORD)
    driver.find_element(By.ID, "login-submit").click()
    # click() may return before the redirect lands: wait for the board instead of reading the URL at once.
    wait_until(driver, lambda d: d.find_elements(By.ID, "board-rows") or d.find_elements(By.CLASS_NAME, "error"))
    assert "/login" not in driver.current_url, driver.find_element(By.TAG_NAME, "main").text


def fetch(driver: object, url: str) -> dict[str, object]:
    from selenium.webdriver.remote.webdriver import WebDriver

    assert isinstance(driver, WebDriver)
    script = """
        const done = arguments[arguments.length - 1];
        fetch(arguments[0], {credentials: 'same-origin'})
          .then(r => r.text().then(t => done({status: r.status, type: r.headers.get('content-type'), body: t})))
          .catch(e => done({status: -1, body: String(e)}));
    """
    result: dict[str, object] = driver.execute_async_script(script, url)
    return result


ROOT = Path(__file__).resolve().parent.parent
BLOCKING = ("serious", "critical")
"""Impacts that fail the test; minor and moderate ones are reported by axe but tolerated."""


def axe_source() -> str:
    """axe.min.js, from the cache folder scripts/axe-core.sh fills (the script prints it only when present)."""
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


def axe_violations(driver: Any, source: str) -> list[dict[str, Any]]:
    """The serious and critical axe-core violations on the page the driver shows."""
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
