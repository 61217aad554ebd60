"""The dashboard's page and assets are open like the control plane's documentation; its data is not (issue 12)."""

from __future__ import annotations

import re

import pytest

from dashscope_mock import MockConfig, cli, mock_dashscope
from dashscope_mock.http.guard import guard

from .conftest import assert_error

TOKEN = "t0ken"
PAGE_PATHS = ["/_mock/dashboard", "/_mock/dashboard/app.js", "/_mock/dashboard/style.css"]
# What the page reads and writes, and names that merely start like the page's path: all keep needing the token.
DATA_PATHS = [
    "/_mock/events",
    "/_mock/tasks",
    "/_mock/tasks/abc",
    "/_mock/catalogue",
    "/_mock/requests",
    "/_mock/dashboards",
    "/_mock/dashboard-data",
    "/_mock/dashboardx/app.js",
]
CONFIG = MockConfig(frozen_clock=True, media_checks=False, control_token=TOKEN)
SCOPE = {"server": ("127.0.0.1", 8000)}
HEADERS = {"host": "127.0.0.1:8000"}


@pytest.mark.parametrize("path", PAGE_PATHS)
def test_the_page_and_its_assets_need_no_token(path: str) -> None:
    assert guard(CONFIG, SCOPE, HEADERS, "GET", path, control=True) is None


@pytest.mark.parametrize("path", DATA_PATHS)
def test_everything_else_under_mock_keeps_needing_the_token(path: str) -> None:
    refused = guard(CONFIG, SCOPE, HEADERS, "GET", path, control=True)
    assert refused is not None and (refused.status, refused.code) == (401, "InvalidApiKey")
    with_token = {**HEADERS, "authorization": f"Bearer {TOKEN}"}
    assert guard(CONFIG, SCOPE, with_token, "GET", path, control=True) is None


def test_the_open_page_still_refuses_cross_site_writes() -> None:
    headers = {**HEADERS, "origin": "http://evil.example"}
    refused = guard(CONFIG, SCOPE, headers, "POST", "/_mock/dashboard", control=True)
    assert refused is not None and (refused.status, refused.code) == (403, "AccessDenied")


@pytest.mark.parametrize("path", ["/_mock/ui/", "/_mock/ui/swagger-ui.css", "/_mock/openapi.json"])
def test_the_documentation_stays_open_now_that_open_paths_match_whole_segments(path: str) -> None:
    with mock_dashscope(control_token=TOKEN) as mock, mock.client() as http:
        assert http.get(path).status_code == 200


def test_a_mock_with_a_token_serves_the_page_but_not_its_event_stream() -> None:
    with mock_dashscope(control_token=TOKEN) as mock, mock.client() as http:
        page = http.get("/_mock/dashboard")
        assert page.status_code == 200 and page.headers["content-type"].startswith("text/html"), page.text
        assert "/_mock/dashboard/app.js" in page.text
        assert http.get("/_mock/dashboard/app.js").status_code == 200
        assert http.get("/_mock/dashboard/style.css").status_code == 200
        assert_error(http.get("/_mock/events", params={"max_seconds": 1}), 401, "InvalidApiKey")
        assert_error(http.get("/_mock/tasks"), 401, "InvalidApiKey")


def _clear_env(monkeypatch: pytest.MonkeyPatch) -> None:
    names = ("PROFILE", "STATE", "MEDIA_CHECKS", "RATE_LIMIT", "LOG_LEVEL", "MEDIA_PROCESSES", "HOST", "FETCH_PRIVATE")
    for name in (*names, "CONTROL_TOKEN"):
        monkeypatch.setenv(cli.ENV_PREFIX + name, "")  # recorded, so that teardown removes what main() sets
        monkeypatch.delenv(cli.ENV_PREFIX + name)


@pytest.mark.parametrize(
    ("host", "base"),
    [("127.0.0.1", "http://127.0.0.1"), ("localhost", "http://localhost"), ("::1", "http://[::1]")],
)
def test_start_up_prints_the_dashboard_link(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], host: str, base: str
) -> None:
    _clear_env(monkeypatch)
    monkeypatch.setattr("uvicorn.run", lambda *a, **k: None)
    # port 0: the bound port is printed (a fixed one would collide with a mock running on it, or a parallel test)
    assert cli.main(["serve", "--host", host, "--port", "0", "--media-checks", "off"]) == 0
    lines = capsys.readouterr().err.splitlines()
    link = re.escape(base) + r":[1-9][0-9]*"
    assert any(re.fullmatch(f"dashscope-mock: dashboard: {link}/_mock/dashboard", line) for line in lines), lines
    assert any(re.match(f"dashscope-mock: {link} \\(profile", line) for line in lines), lines
