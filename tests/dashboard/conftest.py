"""Fixtures of the dashboard's browser tests: Debian's Chromium driven by Selenium, a mock served on a free port.

The browser is ``/usr/bin/chromium`` driven through ``/usr/bin/chromedriver`` (``make chromium`` installs both; ``make
test`` does when they are missing): Selenium Manager is told to stay offline, so nothing is downloaded at run time.
Without them the tests fail (never skip) and say so.

Each test gets a fresh in-process mock (``mock_dashscope``: frozen virtual clock, media checks off unless the test's
``@pytest.mark.dashboard_mock(...)`` says otherwise) served by uvicorn on 127.0.0.1, port 0, and the page at
``<base>/_mock/dashboard``.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from selenium import webdriver
from selenium.webdriver.chrome.service import Service

from dashscope_mock import mock_dashscope
from dashscope_video import Client

from .page import Dashboard, Served, console_log

CHROMIUM = Path("/usr/bin/chromium")
CHROMEDRIVER = Path("/usr/bin/chromedriver")
SCREENSHOTS = Path(__file__).resolve().parents[2] / "out" / "screenshots"
WIDTH, HEIGHT = 1280, 800
KEY = "sk-dashboard-test"


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers", "dashboard_mock(**overrides): MockConfig overrides for the served mock of a dashboard test"
    )


def _options() -> webdriver.ChromeOptions:
    options = webdriver.ChromeOptions()
    options.binary_location = str(CHROMIUM)
    for argument in (
        "--headless=new",
        "--no-sandbox",
        "--disable-gpu",
        f"--window-size={WIDTH},{HEIGHT}",
        "--autoplay-policy=no-user-gesture-required",
        "--disable-dev-shm-usage",
        "--no-first-run",
        "--disable-extensions",
    ):
        options.add_argument(argument)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})  # the page's console, for failure messages
    return options


@pytest.fixture(scope="session")
def browser() -> Iterator[webdriver.Chrome]:
    """One headless Chromium for the session, its viewport exactly 1280x800 (screenshots are that size)."""
    missing = [str(path) for path in (CHROMIUM, CHROMEDRIVER) if not os.access(path, os.X_OK)]
    if missing:
        pytest.fail(
            f"{' and '.join(missing)} not found: run `make chromium` (Debian's chromium and chromium-driver; "
            "`make test` installs them when missing)",
            pytrace=False,
        )
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("SE_OFFLINE", "true")  # Selenium Manager never downloads a browser or a driver
        driver = webdriver.Chrome(service=Service(executable_path=str(CHROMEDRIVER)), options=_options())
    try:
        driver.execute_cdp_cmd(
            "Emulation.setDeviceMetricsOverride",
            {"width": WIDTH, "height": HEIGHT, "deviceScaleFactor": 1, "mobile": False},
        )
        yield driver
    finally:
        driver.quit()


@pytest.fixture
def served(request: pytest.FixtureRequest) -> Iterator[Served]:
    """A fresh mock on a free loopback port: frozen clock, media checks off (``dashboard_mock`` marker overrides)."""
    overrides: dict[str, Any] = {"seed": 12, "rate_limit": False}
    marker = request.node.get_closest_marker("dashboard_mock")
    if marker is not None:
        overrides.update(marker.kwargs)
    with mock_dashscope(**overrides) as mock, mock.serve() as base_url:
        token = overrides.get("control_token")
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        with httpx.Client(base_url=base_url, headers=headers, timeout=10) as control:
            yield Served(mock=mock, base_url=base_url, control=control)


@pytest.fixture
def sdk(served: Served) -> Iterator[Client]:
    """The SDK on the served mock, with a valid key."""
    with Client(KEY, base_url=served.base_url) as client:
        yield client


@pytest.fixture
def dashboard(browser: webdriver.Chrome, served: Served, request: pytest.FixtureRequest) -> Iterator[Dashboard]:
    """The page object (not opened yet: ``dashboard.open()``); the browser leaves the page afterwards, which ends
    its event stream before the server stops."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page = Dashboard(browser, served, screenshots=SCREENSHOTS, test_name=request.node.name)
    try:
        yield page
    finally:
        browser.get("about:blank")
        console_log(browser)  # drop this test's console lines
