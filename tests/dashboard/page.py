"""The dashboard page as the tests drive it: the ids and attributes of its DOM contract, explicit waits only."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal, TypeVar

import httpx
from selenium.common.exceptions import NoSuchElementException, StaleElementReferenceException, TimeoutException
from selenium.webdriver import Chrome
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys
from selenium.webdriver.remote.webelement import WebElement
from selenium.webdriver.support import expected_conditions as ec
from selenium.webdriver.support.ui import Select, WebDriverWait

from dashscope_mock import MockDashScope

T = TypeVar("T")

WAIT_SECONDS = 20.0  # the page's event stream ticks every ~0.5 s: 20 s is ample
VIEWS = ("tasks", "journal", "scripting")


@dataclass
class Served:
    """The mock under test: its handle, its base URL and an httpx client on it (with the control token if any)."""

    mock: MockDashScope
    base_url: str
    control: httpx.Client

    def get(self, path: str, **params: Any) -> Any:
        """A control-plane GET (``/_mock...``), checked for 200; the JSON body."""
        answer = self.control.get(path, params=params)
        assert answer.status_code == 200, f"GET {path}: {answer.status_code} {answer.text}"
        return answer.json()


def console_log(driver: Chrome) -> list[dict[str, Any]]:
    """The page's console lines since the last call (``goog:loggingPrefs``)."""
    lines: list[dict[str, Any]] = driver.get_log("browser")  # type: ignore[no-untyped-call]
    return lines


class Dashboard:
    def __init__(self, driver: Chrome, served: Served, *, screenshots: Path, test_name: str) -> None:
        self.driver = driver
        self.served = served
        self.screenshots = screenshots
        self.test_name = test_name
        self.url = f"{served.base_url}/_mock/dashboard"

    # waiting
    def wait(self, condition: Callable[[Chrome], Literal[False] | T], what: str, timeout: float = WAIT_SECONDS) -> T:
        """``condition`` once truthy (elements re-rendered meanwhile are looked up again); on timeout an
        ``AssertionError`` naming ``what`` with the page's console output."""
        waiter: WebDriverWait[Chrome] = WebDriverWait(
            self.driver,
            timeout,
            poll_frequency=0.1,
            ignored_exceptions=(NoSuchElementException, StaleElementReferenceException),
        )
        try:
            result: T = waiter.until(condition)
        except TimeoutException:
            raise AssertionError(f"timed out after {timeout:g} s waiting for {what}{self._diagnostics()}") from None
        return result

    def _diagnostics(self) -> str:
        lines = [f"{entry.get('level')}: {entry.get('message')}" for entry in console_log(self.driver)]
        message = self.text("#message") if self.present("#message") else ""
        console = "\n  ".join(lines[-20:]) or "(empty)"
        return f"\n#message: {message!r}\nbrowser console:\n  {console}"

    # elements
    def find(self, css: str) -> WebElement:
        return self.driver.find_element(By.CSS_SELECTOR, css)

    def find_all(self, css: str) -> list[WebElement]:
        return self.driver.find_elements(By.CSS_SELECTOR, css)

    def present(self, css: str) -> bool:
        return bool(self.find_all(css))

    def text(self, css: str) -> str:
        """The element's text as rendered (``textContent`` when it is not displayed), read again if the page
        re-rendered the element meanwhile (the change feed replaces list items as it ticks)."""

        def read(_: Chrome) -> tuple[str]:
            element = self.find(css)
            shown = element.text
            return (shown if element.is_displayed() else str(element.get_attribute("textContent") or ""),)

        (shown,) = self.wait(read, f"the text of {css}")
        return shown

    def visible(self, css: str, what: str | None = None) -> WebElement:
        return self.wait(ec.visibility_of_element_located((By.CSS_SELECTOR, css)), what or css)

    def click(self, css: str) -> None:
        self.wait(ec.element_to_be_clickable((By.CSS_SELECTOR, css)), f"{css} clickable").click()

    def fill(self, css: str, value: str) -> None:
        """Type ``value`` over the field's content, as a user does (each key fires ``input``; ``clear()`` would not)."""
        element = self.visible(css)
        element.send_keys(Keys.CONTROL, "a")
        element.send_keys(Keys.BACKSPACE)
        if value:
            element.send_keys(value)

    def select(self, css: str, value: str) -> None:
        """Choose the option of ``value`` in the select ``css`` (waiting for that option to be offered)."""
        self.wait(lambda d: self.present(f"{css} option[value='{value}']"), f"option {value!r} in {css}")
        Select(self.find(css)).select_by_value(value)

    def screenshot(self, suffix: str = "") -> Path:
        """The viewport (1280x800) as ``out/screenshots/<test name><suffix>.png``."""
        path = self.screenshots / f"{self.test_name}{suffix}.png"
        assert self.driver.save_screenshot(str(path)), f"no screenshot written to {path}"
        return path

    # the page
    def open(self) -> None:
        """Load the page and wait until it shows the mock's clock (its first control-plane answer arrived)."""
        self.driver.get(self.url)
        self.visible("#header")

    def wait_connected(self) -> None:
        clock = self.served.get("/_mock/clock")
        self.wait(lambda d: self.text("#clock-time") == clock["time"], f"#clock-time to show {clock['time']!r}")

    def tab(self, view: str) -> None:
        """Switch to ``view`` (tasks, journal, scripting) and check it is the only one shown."""
        self.click(f"#tab-{view}")
        self.visible(f"#view-{view}", f"#view-{view} shown")
        for other in VIEWS:
            if other != view:
                hidden = f"#view-{other}"
                self.wait(ec.invisibility_of_element_located((By.CSS_SELECTOR, hidden)), f"{hidden} hidden")

    # tasks
    @staticmethod
    def row_css(task_id: str) -> str:
        return f"#tasks-table tr[data-task-id='{task_id}']"

    def cell(self, task_id: str, name: str) -> str:
        return self.find(f"{self.row_css(task_id)} td.{name}").text.strip()

    def wait_row(self, task_id: str) -> WebElement:
        return self.visible(self.row_css(task_id), f"the row of task {task_id}")

    def wait_cell(self, task_id: str, name: str, values: Iterable[str], timeout: float = WAIT_SECONDS) -> str:
        wanted = set(values)
        return self.wait(
            lambda d: (shown := self.cell(task_id, name)) in wanted and shown,
            f"td.{name} of task {task_id} in {sorted(wanted)}",
            timeout,
        )

    def task_rows(self) -> list[str]:
        return [str(row.get_attribute("data-task-id")) for row in self.find_all("#tasks-table tr[data-task-id]")]

    def open_task(self, task_id: str) -> WebElement:
        """Click the task's row; the detail panel once it shows that task."""
        self.wait_row(task_id).click()
        return self.wait(
            lambda d: (
                (panel := self.find("#task-detail")).is_displayed()
                and panel.get_attribute("data-task-id") == task_id
                and panel
            ),
            f"#task-detail[data-task-id={task_id}] shown",
        )

    def timeline(self) -> list[str]:
        return [str(item.get_attribute("data-status")) for item in self.find_all("#task-timeline li[data-status]")]

    # journal
    def journal_rows(self, *, shown_only: bool = True) -> list[int]:
        rows = self.find_all("#journal-table tr[data-seq]")
        return [int(str(row.get_attribute("data-seq"))) for row in rows if row.is_displayed() or not shown_only]

    def json_of(self, css: str) -> Any:
        """The element's text as JSON; ``None`` while it holds something else (a placeholder)."""
        try:
            return json.loads(self.text(css))
        except ValueError:
            return None
