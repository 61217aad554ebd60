"""Independent oracle: the SDK's end-to-end tests again, through Prism's validation proxy in front of the mock.

Prism (``@stoplight/prism-cli`` from npm) implements the spec independently of everything here. It sits between
the SDK and the mock and reports every request and response that breaks the spec in an ``sl-violations`` header.
A test fails on any response violation, and on any request violation the mock accepted (a request the spec forbids
but the mock served means the spec and the mock disagree). Request violations the mock also rejected are the
tests' own deliberately bad input.

One Prism process serves the whole session; it proxies to a switchboard that forwards to the current test's mock.
"""

from __future__ import annotations

import contextlib
import json
import shutil
import subprocess
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import uvicorn

import tests.sdk.test_e2e_mock as sdk_tests
from dashscope_mock import mock_dashscope
from dashscope_openapi import SPEC_FILE

ROOT = Path(__file__).parents[1]
PRISM = ROOT / "node_modules" / ".bin" / "prism"

# The SDK's end-to-end tests, collected again here with this module's `mock` fixture (the one that goes through
# Prism). The concurrency test builds its own mock and stays in tests/sdk only.
media = sdk_tests.media
ORACLE_TESTS = [
    "test_each_model_from_local_files_to_mp4",
    "test_each_model_from_urls_to_mp4",
    "test_detectors",
    "test_failed_task_raises_with_the_catalogue_code",
    "test_submit_time_error_raises_status_and_family",
    "test_deadline",
    "test_poll_intervals_and_retry_after_from_the_journal",
    "test_wait_survives_5xx_and_dropped_connections",
    "test_expired_download",
    "test_unknown_id",
    "test_unknown_status_is_not_terminal",
    "test_submit_not_retried_on_read_timeout",
    "test_submit_retried_on_refused_connection",
    "test_async_twins",
]
for _name in ORACLE_TESTS:
    globals()[f"{_name}_through_prism"] = getattr(sdk_tests, _name)


class Switchboard:
    """An ASGI app that forwards to whichever mock the current test uses."""

    def __init__(self) -> None:
        self.current: Any = None

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if self.current is None:  # a straggler after its test ended
            await send({"type": "http.response.start", "status": 503, "headers": []})
            await send({"type": "http.response.body", "body": b""})
            return
        await self.current(scope, receive, send)


class Gateway:
    def __init__(self, board: Switchboard, url: str) -> None:
        self.board = board
        self.url = url
        self.violations: list[str] = []

    def record(self, request: httpx.Request, response: httpx.Response) -> None:
        raw = response.headers.get("sl-violations")
        if not raw:
            return
        for violation in json.loads(raw):
            if violation.get("severity") != "Error":
                continue  # e.g. "Selected route not found" for the mock's own /_mock routes
            where = violation["location"][0]
            if where == "response" or response.status_code < 400:
                self.violations.append(
                    f"{request.method} {request.url.path} -> {response.status_code}: "
                    f"{'.'.join(violation['location'])}: {violation['message']}"
                )


class CheckedTransport(httpx.BaseTransport):
    def __init__(self, gateway: Gateway) -> None:
        self.gateway = gateway
        self.inner = httpx.HTTPTransport()

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        response = self.inner.handle_request(request)
        response.read()
        self.gateway.record(request, response)
        return response

    def close(self) -> None:
        self.inner.close()


class AsyncCheckedTransport(httpx.AsyncBaseTransport):
    def __init__(self, gateway: Gateway) -> None:
        self.gateway = gateway
        self.inner = httpx.AsyncHTTPTransport()

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        response = await self.inner.handle_async_request(request)
        await response.aread()
        self.gateway.record(request, response)
        return response

    async def aclose(self) -> None:
        await self.inner.aclose()


class ThroughPrism:
    """The mock's test handle, with the HTTP path going through Prism (clock, scenarios, journal stay in process)."""

    def __init__(self, mock: Any, gateway: Gateway) -> None:
        self._mock = mock
        self._gateway = gateway
        self.base_url = gateway.url

    def __getattr__(self, name: str) -> Any:
        return getattr(self._mock, name)

    def transport(self) -> httpx.BaseTransport:
        return CheckedTransport(self._gateway)

    def async_transport(self) -> httpx.AsyncBaseTransport:
        return AsyncCheckedTransport(self._gateway)


@contextlib.contextmanager
def _serve(app: Any) -> Iterator[int]:
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=0, log_level="warning", lifespan="off"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        if time.monotonic() > deadline:
            raise RuntimeError("the switchboard did not start")
        time.sleep(0.01)
    try:
        yield server.servers[0].sockets[0].getsockname()[1]
    finally:
        server.should_exit = True
        thread.join(timeout=10)


@pytest.fixture(scope="module")
def gateway() -> Iterator[Gateway]:
    if not PRISM.exists() or shutil.which("node") is None:
        pytest.fail("Prism is not installed: run `npm ci` (make test does)")
    board = Switchboard()
    with _serve(board) as upstream_port, socket_port() as prism_port:
        upstream = f"http://127.0.0.1:{upstream_port}"
        process = subprocess.Popen(
            [str(PRISM), "proxy", str(SPEC_FILE), upstream, "-p", str(prism_port), "-h", "127.0.0.1"],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        url = f"http://127.0.0.1:{prism_port}"
        try:
            _wait_until_up(url, process)
            yield Gateway(board, url)
        finally:
            process.terminate()
            process.wait(timeout=10)


@contextlib.contextmanager
def socket_port() -> Iterator[int]:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    yield port


def _wait_until_up(url: str, process: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError("Prism exited")
        with contextlib.suppress(httpx.HTTPError):
            httpx.get(f"{url}/api/v1/tasks/probe", timeout=1)
            return
        time.sleep(0.25)
    raise RuntimeError("Prism did not start")


@pytest.fixture
def mock(gateway: Gateway) -> Iterator[ThroughPrism]:
    with mock_dashscope(seed=1) as instance:
        gateway.board.current = instance.app
        gateway.violations.clear()
        yield ThroughPrism(instance, gateway)
        gateway.board.current = None
    assert not gateway.violations, "Prism reported violations:\n" + "\n".join(gateway.violations)


def test_the_oracle_reports_a_response_the_spec_forbids(gateway: Gateway) -> None:
    """Prism does judge: a task answer with a misspelt field is a violation."""

    async def broken(scope: Any, receive: Any, send: Any) -> None:
        body = json.dumps({"request_id": "r", "output": {"task_id": "t", "task_statsu": "PENDING"}}).encode()
        headers = [(b"content-type", b"application/json"), (b"x-request-id", b"r")]
        await send({"type": "http.response.start", "status": 200, "headers": headers})
        await send({"type": "http.response.body", "body": body})

    gateway.board.current = broken
    gateway.violations.clear()
    try:
        with httpx.Client(transport=CheckedTransport(gateway), base_url=gateway.url) as client:
            client.get("/api/v1/tasks/t", headers={"Authorization": "Bearer sk-oracle"})
    finally:
        gateway.board.current = None
    assert any("task_status" in v or "task_statsu" in v for v in gateway.violations), gateway.violations
    gateway.violations.clear()
