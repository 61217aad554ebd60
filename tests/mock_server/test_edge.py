"""What every request must be to be read at all (issue 21, "hardening"): one identity, a well-formed Host, bounded
headers and query strings, a typed body, log lines that cannot be forged, a clock that stays writable. Each answer
is the service's error shape, never a 500 or plain text."""

from __future__ import annotations

import logging
import socket
import sqlite3
import sys
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from dashscope_mock import SUBMIT_PATH, MockConfig, MockDashScope, mock_dashscope
from dashscope_openapi import limits, load_control_spec

from .conftest import BODIES, DETECT_PATH, assert_error, assert_oss_error

POLICY = "/api/v1/uploads?action=getPolicy&model=liveportrait"


@pytest.fixture
def http(mock: MockDashScope) -> Iterator[httpx.Client]:
    with mock.client(headers=mock.headers) as client:
        yield client


def _send(
    http: httpx.Client, method: str, path: str, headers: list[tuple[str, str]], body: bytes = b""
) -> httpx.Response:
    """A request with exactly ``headers`` (repeats kept, nothing added but what httpx must)."""
    request = http.build_request(method, path, content=body)
    request.headers = httpx.Headers([*headers, ("content-length", str(len(body)))] if body else headers)
    return http.send(request)


# --------------------------------------------------------------------------------------------------- identity
def test_two_authorization_headers_are_refused_and_nothing_is_filed() -> None:
    with mock_dashscope(keys=frozenset({"sk-listedkeyAAAA1111"})) as mock, mock.client() as http:
        _two_keys_refused(mock, http)


def _two_keys_refused(mock: MockDashScope, http: httpx.Client) -> None:
    headers = [
        ("Authorization", "Bearer sk-listedkeyAAAA1111"),
        ("Authorization", "Bearer sk-NOTLISTED-zzzz9999"),
        ("X-DashScope-Async", "enable"),
        ("Content-Type", "application/json"),
    ]
    body = httpx.Request("POST", "http://x", json=BODIES["liveportrait"]).read()
    assert_error(_send(http, "POST", SUBMIT_PATH, headers, body), 401, "InvalidApiKey")
    assert_error(_send(http, "GET", "/api/v1/tasks/abc", headers[:2]), 401, "InvalidApiKey")
    assert not list(mock.backend.store.all_tasks())
    assert all(entry.key is None for entry in mock.requests())  # the journal believed neither key
    one = [("Authorization", "Bearer sk-listedkeyAAAA1111"), *headers[2:]]
    assert _send(http, "POST", SUBMIT_PATH, one, body).status_code == 200


def test_two_authorization_headers_never_pass_the_control_token() -> None:
    with mock_dashscope(control_token="tok") as mock, mock.client() as http:
        twice = [("Authorization", "Bearer tok"), ("Authorization", "Bearer other")]
        assert_error(_send(http, "POST", "/_mock/reset", twice), 401, "InvalidApiKey")
        assert _send(http, "POST", "/_mock/reset", twice[:1]).status_code == 200


# ------------------------------------------------------------------------------------------------------ Host
@pytest.mark.parametrize(
    "host",
    [
        "127.0.0.1:1@evil.example",
        "[::1]evil.example",
        "127.0.0.1:80/.evil.example",
        "evil.example:99999",
        "a b",
        "[zz::1]:80",
        "127.0.0.1:",
        "example.com%2f",
    ],
)
def test_a_malformed_host_is_a_400_and_never_reaches_a_url(http: httpx.Client, host: str) -> None:
    answer = _send(http, "GET", POLICY, [("Host", host), ("Authorization", http.headers["Authorization"])])
    assert_error(answer, 400, "InvalidParameter")
    assert "evil" not in answer.text


def test_two_host_headers_are_a_400(http: httpx.Client) -> None:
    headers = [("Host", "127.0.0.1"), ("Host", "evil.example"), ("Authorization", http.headers["Authorization"])]
    assert_error(_send(http, "GET", POLICY, headers), 400, "InvalidParameter")


@pytest.mark.parametrize("host", ["127.0.0.1:8000", "[::1]:8000", "mock", "mock.internal.", "my_host:1", "[::1]"])
def test_a_well_formed_host_is_copied_into_upload_urls(http: httpx.Client, host: str) -> None:
    answer = _send(http, "GET", POLICY, [("Host", host), ("Authorization", http.headers["Authorization"])])
    assert answer.status_code == 200, answer.text
    assert answer.json()["data"]["upload_host"] == f"http://{host}/_mock/oss"


def test_on_a_bound_server_only_the_bind_and_public_hosts_reach_urls() -> None:
    with mock_dashscope(bind_host="0.0.0.0", public_hosts=("mock",)) as mock, mock.client(headers=mock.headers) as http:
        for host in ("mock:8124", "127.0.0.1:8124"):
            answer = _send(http, "GET", POLICY, [("Host", host), ("Authorization", http.headers["Authorization"])])
            assert answer.json()["data"]["upload_host"] == f"http://{host}/_mock/oss"
        foreign = _send(
            http, "GET", POLICY, [("Host", "evil.example"), ("Authorization", http.headers["Authorization"])]
        )
        assert_error(foreign, 403, "AccessDenied")


# ------------------------------------------------------------------------------------------- request bounds
def test_headers_past_their_bound_are_431(http: httpx.Client) -> None:
    bound = int(limits()["request_header_max_bytes"])
    answer = http.get("/api/v1/tasks/abc", headers={"X-Pad": "x" * bound})
    assert_error(answer, 431, "BadRequest.HeaderTooLarge")
    assert http.get("/api/v1/tasks/abc", headers={"X-Pad": "x" * (bound // 2)}).status_code == 200


def test_a_served_mock_stops_reading_a_header_flood_at_its_bound(mock: MockDashScope) -> None:
    flood = 64 * 2**20  # far past the kernel's socket buffers: only a server that reads it all lets it through
    with mock.serve() as base_url:
        port = int(base_url.rsplit(":", 1)[1])
        with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
            sock.sendall(b"GET /api/v1/tasks/abc HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Flood: ")
            sent, answer = 0, b""
            try:
                while sent < flood:  # a header line that never ends
                    sock.sendall(b"a" * 65536)
                    sent += 65536
            except OSError:  # closed by the server: a broken pipe or a reset
                pass
            try:
                while chunk := sock.recv(65536):
                    answer += chunk
            except OSError:  # the reset may come before the answer is read
                pass
        assert sent < flood, "the server read the whole flood"
        if answer:
            assert answer.startswith(b"HTTP/1.1 431 "), answer[:200]
            assert b'"code": "BadRequest.HeaderTooLarge"' in answer
        assert httpx.get(f"{base_url}/api/v1/tasks/abc", headers=mock.headers).status_code == 200


def test_too_many_query_parameters_are_a_400_on_every_route(http: httpx.Client) -> None:
    most = int(limits()["query_max_parameters"])
    for flood in ("&".join(["a=1"] * 10_000), "&" * 4000):  # past the byte bound; within it
        for path in ("/api/v1/tasks", "/api/v1/uploads", "/_mock/requests", "/_mock/tasks"):
            assert_error(http.get(f"{path}?{flood}"), 400, "InvalidParameter")
    within = "&".join(f"p{i}=1" for i in range(most))
    assert http.get(f"/api/v1/tasks?{within}").status_code == 200


def test_a_query_string_past_its_bound_is_a_400(http: httpx.Client) -> None:
    bound = int(limits()["query_max_bytes"])
    assert_error(http.get(f"/api/v1/tasks?model={'x' * bound}"), 400, "InvalidParameter")


# ------------------------------------------------------------------------------------------------ Content-Type
@pytest.mark.parametrize("path", [SUBMIT_PATH, DETECT_PATH, "/_mock/scenarios", "/_mock/clock/advance"])
def test_a_body_without_content_type_is_the_services_400(http: httpx.Client, path: str) -> None:
    headers = [("Authorization", http.headers["Authorization"])]
    if path == SUBMIT_PATH:
        headers.append(("X-DashScope-Async", "enable"))
    body = httpx.Request("POST", "http://x", json=BODIES["liveportrait"]).read()
    assert_error(_send(http, "POST", path, headers, body), 400, "InvalidParameter")


def test_an_upload_form_without_content_type_is_osss_400(http: httpx.Client) -> None:
    answer = _send(http, "POST", "/_mock/oss", [], b"key=a&policy=b")
    assert_oss_error(answer, 400, "InvalidArgument")


def test_a_required_body_missing_with_its_content_type_is_a_400(http: httpx.Client) -> None:
    headers = [("Authorization", http.headers["Authorization"]), ("X-DashScope-Async", "enable")]
    assert_error(_send(http, "POST", SUBMIT_PATH, headers), 400, "InvalidParameter")


# ------------------------------------------------------------------------------------------------- log lines
def test_a_path_cannot_forge_a_log_line_or_a_terminal_sequence(
    http: httpx.Client, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.INFO, logger="dashscope_mock"):
        http.get("/api/v1/tasks/x%0D%0A2026-01-01%2000:00:00,000%20INFO%20forged%1B%5B2J%E2%80%A8")
    (line,) = [record.getMessage() for record in caplog.records if record.name == "dashscope_mock"]
    assert "\r" not in line and "\n" not in line and "\x1b" not in line and "\u2028" not in line
    assert "x\\x0d\\x0a2026-01-01 00:00:00,000 INFO forged\\x1b[2J\\u2028" in line


# ------------------------------------------------------------------------------------------------------ clock
def test_an_advance_past_the_clocks_range_is_a_400_that_changes_nothing(http: httpx.Client) -> None:
    latest = float(load_control_spec()["x-clock-latest"])
    step = 315_360_000  # ten years, the most one call may ask
    before = http.get("/_mock/clock").json()
    moved = 0.0
    while before["now"] + moved + step <= latest:
        assert http.post("/_mock/clock/advance", json={"seconds": step}).status_code == 200
        moved += step
    at_edge = http.get("/_mock/clock").json()
    refused = http.post("/_mock/clock/advance", json={"seconds": step})
    assert_error(refused, 400, "InvalidParameter")
    assert "x-clock-latest" in refused.json()["message"]
    assert http.get("/_mock/clock").json() == at_edge
    assert http.get("/_mock/tasks").status_code == 200
    assert at_edge["time"].startswith("99")


@pytest.mark.parametrize("start", [-1.0, float("nan"), float("inf"), 253_402_300_800.0])
def test_a_clock_start_outside_the_range_is_refused(start: float) -> None:
    with pytest.raises(ValueError, match="clock_start"):
        MockConfig(clock_start=start)


# -------------------------------------------------------------------------------------------------- rate windows
def test_the_memory_stores_idle_rate_windows_are_dropped() -> None:
    from dashscope_mock.store.memory import MemoryRates

    rates = MemoryRates()
    for index in range(MemoryRates.SWEEP_AT + 10):  # getPolicy opens a window per key and model name
        assert rates.hit(f"getPolicy:model-{index}", 0.0, 100, 1.0)
    assert rates.hit("getPolicy:late", 5.0, 100, 1.0)
    assert len(rates._windows) < 20


def test_the_sqlite_stores_idle_rate_rows_are_dropped(tmp_path: Path) -> None:
    from dashscope_mock.store import open_store

    store = open_store(f"sqlite:///{tmp_path / 'state.db'}")
    for index in range(1000):
        store.rates.hit(f"getPolicy:model-{index}", 0.0, 100, 1.0)
    for index in range(1000):
        store.rates.hit(f"getPolicy:later-{index}", 7200.0, 100, 1.0)
    with sqlite3.connect(tmp_path / "state.db") as db:
        assert db.execute("SELECT COUNT(*) FROM rates WHERE at = 0").fetchone()[0] == 0


# ------------------------------------------------------------------------------------------------- JSON depth
@pytest.mark.parametrize("recursion_limit", [1_000, 100_000])
def test_a_body_nested_past_its_bound_is_the_same_400_whatever_the_recursion_limit(
    http: httpx.Client, recursion_limit: int
) -> None:
    """It was a RecursionError: a process with a higher recursion limit (some test libraries raise it) parsed the
    body and answered a model's validation error instead."""
    depth = int(limits()["request_body_max_depth"]) + 1
    body = '{"model":"liveportrait","input":' + "[" * depth + "]" * depth + "}"
    before = sys.getrecursionlimit()
    sys.setrecursionlimit(recursion_limit)
    try:
        answer = http.post(SUBMIT_PATH, content=body, headers={"Content-Type": "application/json"})
    finally:
        sys.setrecursionlimit(before)
    message = "Required parameter(s) missing or invalid, please check the request parameters."
    assert_error(answer, 400, "InvalidParameter", message)


# ------------------------------------------------------------------------------------------------ health, Host
def test_health_needs_no_token_and_says_nothing_else() -> None:
    with mock_dashscope(control_token="tok", bind_host="0.0.0.0") as mock, mock.client() as http:
        health = http.get("/_mock/health", headers={"Host": "127.0.0.1:8000"})
        assert (health.status_code, health.json()) == (200, {"status": "ok"})
        assert http.get("/_mock/clock", headers={"Host": "127.0.0.1:8000"}).status_code == 401


def test_a_foreign_host_is_told_why_and_how_to_accept_it() -> None:
    with mock_dashscope(bind_host="0.0.0.0") as mock, mock.client(headers=mock.headers) as http:
        answer = http.get("/api/v1/tasks/abc", headers={"Host": "mock:8124"})
    body = assert_error(answer, 403, "AccessDenied")
    assert "Host" in body["message"] and "--public-host" in body["message"]


def test_the_base_url_points_to_the_docs_and_the_dashboard(http: httpx.Client) -> None:
    body = assert_error(http.get("/"), 404, "NotFound")
    assert "/ui" in body["message"] and "/_mock/dashboard" in body["message"]
    assert assert_error(http.get("/nothing"), 404, "NotFound")["message"] == "Not found!"


def test_short_keys_mask_apart_without_showing_their_characters() -> None:
    from dashscope_mock.domain.keys import masked

    first, second = masked("sk-a1"), masked("sk-b2")
    assert first != second and first.startswith("sk-…~") and "a1" not in first
    assert masked("sk-0123456789abcdef") == "sk-…cdef"
