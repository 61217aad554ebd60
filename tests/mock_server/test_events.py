"""The change feed ``GET /_mock/events`` (issue 12).

The feed's rules (``services.feed.ChangeFeed``) are polled directly on the virtual clock: no waiting. The stream is
read through the ASGI app as it comes (``Stream`` below: httpx's ASGI transport would wait for the body's end), then
under a real server: it ends after ``max_seconds``, when the client goes away (its loop stops) and when the server
shuts down (``serve()`` and ``dashscope-mock serve`` stop at once with a stream open). Those few tests wait real time,
as the stream's bounds are real time: a tick (``x-dashboard.tick_seconds``) at most, or the bound under test.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from dashscope_mock import SUBMIT_PATH, MockDashScope, mock_dashscope
from dashscope_mock.http.events import KEEP_ALIVE, event_stream
from dashscope_mock.http.feed import ChangeFeed, Event
from dashscope_openapi import limits, load_control_spec

from ..services import free_port
from .conftest import BODIES, assert_error

TICK = float(load_control_spec()["x-dashboard"]["tick_seconds"])
PATIENCE = 10 * TICK  # a broken stream fails the test instead of hanging it (not a performance budget)


def _names(events: list[Event]) -> list[str]:
    return [name for name, _ in events]


def _of(events: list[Event], name: str) -> list[dict[str, Any]]:
    return [data for event, data in events if event == name]


def _submit(http: httpx.Client, model: str = "liveportrait") -> str:
    answer = http.post(SUBMIT_PATH, json=BODIES[model])
    assert answer.status_code == 200, answer.text
    task_id: str = answer.json()["output"]["task_id"]
    return task_id


@pytest.fixture
def http(mock: MockDashScope) -> Iterator[httpx.Client]:
    with mock.client(headers=mock.headers) as client:
        yield client


# --- the feed, polled -----------------------------------------------------------------------------------------------


def test_the_first_poll_is_the_whole_state_then_only_changes(mock: MockDashScope, http: httpx.Client) -> None:
    http.post("/_mock/scenarios", json={"model": "emo-v1", "extra_seconds": {"RUNNING": 5}})
    http.post("/_mock/faults", json={"kind": "latency", "operation": "getResult", "latency_seconds": 0})
    older, newer = _submit(http), _submit(http)
    feed = ChangeFeed(mock.backend, mock.base_url)
    first = feed.poll()
    assert _names(first) == ["clock", "scenarios", "faults", "task", "task", "request", "request"]
    assert _of(first, "clock") == [http.get("/_mock/clock").json()]
    assert _of(first, "scenarios") == [http.get("/_mock/scenarios").json()]
    assert _of(first, "faults") == [http.get("/_mock/faults").json()]
    assert [t["task_id"] for t in _of(first, "task")] == [newer, older], "newest first"
    listed = {t["task_id"]: t for t in http.get("/_mock/tasks").json()["data"]}
    assert all(t == listed[t["task_id"]] for t in _of(first, "task")), "the items of GET /_mock/tasks"
    assert _of(first, "request") == http.get("/_mock/requests").json()["data"], "oldest first"
    assert feed.poll() == [], "a frozen clock and nothing new: nothing to say"


def test_a_task_is_followed_from_pending_to_succeeded(mock: MockDashScope, http: httpx.Client) -> None:
    feed = ChangeFeed(mock.backend, mock.base_url)
    feed.poll()
    seen: list[dict[str, Any]] = []
    task_id = _submit(http, "emo-v1")
    after_submit = feed.poll()
    assert _names(after_submit) == ["task", "request"]
    assert _of(after_submit, "request")[0]["operation"] == "createVideoSynthesis"
    seen += _of(after_submit, "task")
    for _ in range(12):
        mock.advance(0.25)
        events = feed.poll()
        assert _names(events)[0] == "clock" and _of(events, "clock")[0]["now"] == mock.backend.now()
        seen += _of(events, "task")
    assert {t["task_id"] for t in seen} == {task_id}
    assert [t["status"] for t in seen] == ["PENDING", "PRE-PROCESSING", "RUNNING", "POST-PROCESSING", "SUCCEEDED"]
    done = seen[-1]
    assert done == next(t for t in http.get("/_mock/tasks").json()["data"] if t["task_id"] == task_id)
    assert "end_time" in done and done["result_url"]
    assert feed.poll() == []


def test_each_journaled_request_is_one_event(mock: MockDashScope, http: httpx.Client) -> None:
    task_id = _submit(http)
    feed = ChangeFeed(mock.backend, mock.base_url)
    feed.poll()
    for _ in range(3):
        http.get(f"/api/v1/tasks/{task_id}")
    http.get("/_mock/tasks")  # the control plane is not journaled
    events = feed.poll()
    assert _names(events) == ["request"] * 3
    assert _of(events, "request") == http.get("/_mock/requests", params={"after_seq": 1}).json()["data"]
    assert [e["seq"] for e in _of(events, "request")] == [2, 3, 4]


def test_scenarios_and_faults_are_sent_whenever_they_change(mock: MockDashScope, http: httpx.Client) -> None:
    feed = ChangeFeed(mock.backend, mock.base_url)
    feed.poll()
    added = http.post("/_mock/scenarios", json={"model": "liveportrait", "code": "InvalidImage.NoHumanFace"}).json()
    events = feed.poll()
    assert events == [("scenarios", {"data": [added]})]
    _submit(http)  # uses it up
    used = _of(feed.poll(), "scenarios")
    assert [s["remaining"] for s in used[0]["data"]] == [0]
    http.delete(f"/_mock/scenarios/{added['id']}")
    assert feed.poll() == [("scenarios", {"data": []})]
    fault = http.post("/_mock/faults", json={"kind": "error", "operation": "getTask", "status": 503}).json()
    assert feed.poll() == [("faults", {"data": [fault]})]
    http.delete(f"/_mock/faults/{fault['id']}")
    assert feed.poll() == [("faults", {"data": []})]


def test_a_reset_removes_the_tasks_then_sends_the_new_state(mock: MockDashScope, http: httpx.Client) -> None:
    ids = [_submit(http), _submit(http)]
    http.post("/_mock/scenarios", json={"model": "emo-v1", "extra_seconds": {"RUNNING": 5}})
    feed = ChangeFeed(mock.backend, mock.base_url)
    feed.poll()
    assert http.post("/_mock/reset").status_code == 200
    for _ in range(5):  # more requests than the feed had seen: the journal's seq passed the last one sent
        _submit(http)
    events = feed.poll()
    assert _names(events)[:3] == ["tasks-removed", "reset", "clock"]
    assert sorted(events[0][1]["task_ids"]) == sorted(ids)
    assert events[1][1] == {}
    assert _of(events, "scenarios") == [{"data": []}] and _of(events, "faults") == [{"data": []}]
    assert len(_of(events, "task")) == 5
    assert [e["seq"] for e in _of(events, "request")] == [1, 2, 3, 4, 5], "the new journal, from its start"
    assert feed.poll() == []


def test_emptying_the_journal_is_a_reset_too(mock: MockDashScope, http: httpx.Client) -> None:
    task_id = _submit(http)
    for _ in range(2):
        http.get(f"/api/v1/tasks/{task_id}")
    feed = ChangeFeed(mock.backend, mock.base_url)
    feed.poll()
    http.delete("/_mock/requests")
    for _ in range(4):  # seq 1..4 again, past the 3 entries sent
        http.get(f"/api/v1/tasks/{task_id}")
    events = feed.poll()
    assert _names(events)[:2] == ["reset", "clock"], "the task is still there: none removed"
    assert [t["task_id"] for t in _of(events, "task")] == [task_id], "everything again after a reset"
    assert [e["seq"] for e in _of(events, "request")] == [1, 2, 3, 4]


def test_tasks_forgotten_after_retention_are_removed(mock: MockDashScope, http: httpx.Client) -> None:
    task_id = _submit(http)
    feed = ChangeFeed(mock.backend, mock.base_url)
    feed.poll()
    mock.advance((float(limits()["task_retention_hours"]) + float(limits()["result_url_validity_hours"]) + 1) * 3600)
    expired = _of(feed.poll(), "task")
    assert [(t["task_id"], t["expired"]) for t in expired] == [(task_id, True)]
    assert mock.backend.tasks.purge() == 1
    assert _of(feed.poll(), "tasks-removed") == [{"task_ids": [task_id]}]


def test_the_newest_tasks_are_followed_and_the_latest_requests_sent(mock: MockDashScope, http: httpx.Client) -> None:
    ids = [_submit(http) for _ in range(3)]
    feed = ChangeFeed(mock.backend, mock.base_url, max_tasks=2, max_requests=2)
    first = feed.poll()
    assert [t["task_id"] for t in _of(first, "task")] == [ids[2], ids[1]]
    assert [e["seq"] for e in _of(first, "request")] == [2, 3]
    newest = _submit(http)
    events = feed.poll()
    assert [t["task_id"] for t in _of(events, "task")] == [newest]
    assert "tasks-removed" not in _names(events), "pushed out of the window is not gone"


def test_the_feed_sees_what_another_worker_does_on_a_shared_store(tmp_path: Path) -> None:
    state = f"sqlite:///{tmp_path / 'state.db'}"
    with mock_dashscope(state=state, frozen_clock=True) as one, mock_dashscope(state=state, frozen_clock=True) as two:
        feed = ChangeFeed(one.backend, one.base_url)
        feed.poll()
        with two.client(headers=two.headers) as other:
            task_id = _submit(other)
            other.post("/_mock/clock/advance", json={"seconds": 1})
        events = feed.poll()
        assert _names(events) == ["clock", "task", "request"]
        assert _of(events, "clock")[0]["offset_seconds"] == 1
        assert [(t["task_id"], t["status"]) for t in _of(events, "task")] == [(task_id, "RUNNING")]


# --- the stream through the app -------------------------------------------------------------------------------------


class Stream:
    """``GET /_mock/events`` on the ASGI app (guard, routing, validation, handler), its body read as it comes."""

    def __init__(self, app: Any, query: str = "max_seconds=60", headers: dict[str, str] | None = None) -> None:
        raw = [(b"host", b"dashscope.mock"), *((k.lower().encode(), v.encode()) for k, v in (headers or {}).items())]
        self.scope = {
            "type": "http",
            "asgi": {"version": "3.0", "spec_version": "2.3"},
            "http_version": "1.1",
            "method": "GET",
            "scheme": "http",
            "path": "/_mock/events",
            "raw_path": b"/_mock/events",
            "query_string": query.encode(),
            "root_path": "",
            "headers": raw,
            "client": ("127.0.0.1", 50000),
            "server": ("dashscope.mock", 80),
        }
        self.app = app
        self.status = 0
        self.headers: dict[str, str] = {}
        self.ended = asyncio.Event()
        self._chunks: asyncio.Queue[bytes] = asyncio.Queue()
        self._gone = asyncio.Event()
        self._requested = False
        self._buffer = b""
        self.task: asyncio.Task[None] | None = None

    async def _receive(self) -> dict[str, Any]:
        if not self._requested:
            self._requested = True
            return {"type": "http.request", "body": b"", "more_body": False}
        await self._gone.wait()
        return {"type": "http.disconnect"}

    async def _send(self, message: dict[str, Any]) -> None:
        if message["type"] == "http.response.start":
            self.status = message["status"]
            self.headers = {k.decode().lower(): v.decode() for k, v in message["headers"]}
        elif message["type"] == "http.response.body":
            if message.get("body"):
                await self._chunks.put(message["body"])
            if not message.get("more_body", False):
                self.ended.set()

    def start(self) -> None:
        self.task = asyncio.create_task(self.app(self.scope, self._receive, self._send))

    async def frame(self) -> str:
        """The next frame (an event or a comment), as text."""
        while b"\n\n" not in self._buffer:
            self._buffer += await asyncio.wait_for(self._chunks.get(), PATIENCE)
        frame, self._buffer = self._buffer.split(b"\n\n", 1)
        return frame.decode()

    async def event(self) -> tuple[str, dict[str, Any]]:
        """The next event, comments skipped."""
        while True:
            frame = await self.frame()
            if frame.startswith(":"):
                continue
            lines = dict(line.split(": ", 1) for line in frame.split("\n"))
            assert set(lines) == {"event", "data"}, frame
            data: dict[str, Any] = json.loads(lines["data"])
            return lines["event"], data

    async def until(self, name: str, check: Any = lambda data: True) -> dict[str, Any]:
        while True:
            event, data = await self.event()
            if event == name and check(data):
                return data

    async def close(self) -> None:
        """The client goes away: the app's call must return (nothing of the stream left running)."""
        self._gone.set()
        assert self.task is not None
        await asyncio.wait_for(self.task, PATIENCE)


@contextlib.asynccontextmanager
async def stream(
    app: Any, query: str = "max_seconds=60", headers: dict[str, str] | None = None
) -> AsyncIterator[Stream]:
    opened = Stream(app, query, headers)
    opened.start()
    try:
        yield opened
    finally:
        await opened.close()


async def test_the_stream_sends_the_state_then_each_change(mock: MockDashScope, client: httpx.AsyncClient) -> None:
    before = asyncio.all_tasks()
    async with stream(mock.app) as events:
        assert [await events.event() for _ in range(3)] == [
            ("clock", (await client.get("/_mock/clock")).json()),
            ("scenarios", {"data": []}),
            ("faults", {"data": []}),
        ]
        assert events.status == 200
        assert events.headers["content-type"] == "text/event-stream; charset=utf-8"
        assert events.headers["cache-control"] == "no-cache" and "content-length" not in events.headers
        answer = await client.post(SUBMIT_PATH, json=BODIES["liveportrait"])
        task_id = answer.json()["output"]["task_id"]
        assert (await events.event()) == ("task", (await client.get("/_mock/tasks")).json()["data"][0])
        request = await events.until("request")
        assert (request["operation"], request["request_id"]) == ("createVideoSynthesis", answer.headers["x-request-id"])
        await client.post("/_mock/clock/advance", json={"seconds": 10})
        done = await events.until("task")
        assert (done["task_id"], done["status"]) == (task_id, "SUCCEEDED")
        await client.post("/_mock/reset")
        assert (await events.until("tasks-removed")) == {"task_ids": [task_id]}
        assert (await events.event()) == ("reset", {})
    assert events.task is not None and events.task.done() and events.task.exception() is None
    await asyncio.sleep(0)
    assert asyncio.all_tasks() - before == set(), "the stream left nothing running"


async def test_max_seconds_ends_the_stream(mock: MockDashScope) -> None:
    snapshot = Stream(mock.app, "max_seconds=0")  # the current state, then the end
    snapshot.start()
    await asyncio.wait_for(snapshot.ended.wait(), PATIENCE)
    assert [(await snapshot.event())[0] for _ in range(3)] == ["clock", "scenarios", "faults"]
    assert snapshot.task is not None
    await asyncio.wait_for(snapshot.task, PATIENCE)

    loop = asyncio.get_running_loop()
    started = loop.time()
    async with stream(mock.app, "max_seconds=0.3") as bounded:  # the client stays: the server ends it
        await asyncio.wait_for(bounded.ended.wait(), PATIENCE)
        assert 0.3 <= loop.time() - started < 0.3 + TICK + 1.0


async def test_a_quiet_stream_sends_keep_alive_comments(mock: MockDashScope) -> None:
    feed = ChangeFeed(mock.backend, mock.base_url)
    chunks = event_stream(feed, max_seconds=1.0, tick_seconds=0.01, keepalive_seconds=0.05)
    first = await anext(chunks)
    assert first.startswith(b"event: clock\n")
    assert await anext(chunks) == KEEP_ALIVE, "a frozen clock and nothing new: a comment keeps proxies from closing"
    await chunks.aclose()


@pytest.mark.dashscope_mock(control_token="t0ken")
async def test_the_stream_needs_the_control_token(mock: MockDashScope) -> None:
    async with mock.async_client() as http:
        assert_error(await http.get("/_mock/events", params={"max_seconds": 0}), 401, "InvalidApiKey")
        wrong = {"Authorization": "Bearer nope"}
        assert_error(await http.get("/_mock/events", params={"max_seconds": 0}, headers=wrong), 401, "InvalidApiKey")
        allowed = await http.get("/_mock/events", params={"max_seconds": 0}, headers={"Authorization": "Bearer t0ken"})
        assert allowed.status_code == 200 and allowed.text.startswith("event: clock\n")


@pytest.mark.parametrize("value", ["-1", "3601", "soon"])
async def test_max_seconds_is_bounded_by_the_spec(client: httpx.AsyncClient, value: str) -> None:
    assert_error(await client.get("/_mock/events", params={"max_seconds": value}), 400, "InvalidParameter")


# --- under a real server --------------------------------------------------------------------------------------------


def _read_first_event(response: httpx.Response) -> Iterator[str]:
    lines = response.iter_lines()
    assert next(lines) == "event: clock"
    return lines


def test_a_served_mock_stops_promptly_with_a_stream_open(mock: MockDashScope) -> None:
    server = mock.serve()
    base = server.__enter__()
    with httpx.Client(base_url=base, timeout=PATIENCE) as http, http.stream("GET", "/_mock/events") as response:
        lines = _read_first_event(response)  # the default max_seconds: minutes
        stopping = threading.Thread(target=server.__exit__, args=(None, None, None))
        started = time.monotonic()
        stopping.start()
        for _ in lines:  # the server ends the stream: the body ends cleanly
            pass
        stopping.join(PATIENCE)
        assert not stopping.is_alive(), "the server waited for the stream"
        assert time.monotonic() - started < TICK + 2.0


def test_the_stream_stops_when_the_client_goes_away(mock: MockDashScope, monkeypatch: pytest.MonkeyPatch) -> None:
    polls: list[float] = []
    original = ChangeFeed.poll

    def counted(self: ChangeFeed) -> list[Event]:
        polls.append(time.monotonic())
        return original(self)

    monkeypatch.setattr(ChangeFeed, "poll", counted)
    with mock.serve() as base, httpx.Client(base_url=base, timeout=PATIENCE) as http:
        with http.stream("GET", "/_mock/events") as response:
            lines = _read_first_event(response)  # kept: dropping the iterator closes the connection
            deadline = time.monotonic() + PATIENCE
            while len(polls) < 3 and time.monotonic() < deadline:
                time.sleep(TICK / 5)
            assert len(polls) >= 3, "the stream polls every tick while its client is there"
            assert next(lines).startswith("data: ")
        closed = time.monotonic()
        time.sleep(4 * TICK)
        assert [at for at in polls if at > closed + 2 * TICK] == [], "no poll once the client has gone"


def test_dashscope_mock_serve_stops_on_sigterm_with_a_stream_open() -> None:
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    command = [sys.executable, "-m", "dashscope_mock.cli", "serve", "--port", str(port), "--media-checks", "off"]
    process = subprocess.Popen(
        command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True, env=dict(os.environ)
    )
    try:
        deadline = time.monotonic() + 60
        while True:
            assert process.poll() is None, f"the mock exited with {process.returncode}"
            with contextlib.suppress(httpx.HTTPError):
                if httpx.get(base + "/_mock/clock", timeout=2).status_code == 200:
                    break
            assert time.monotonic() < deadline, "the mock did not start"
            time.sleep(0.1)
        with httpx.Client(base_url=base, timeout=PATIENCE) as http, http.stream("GET", "/_mock/events") as response:
            lines = _read_first_event(response)
            started = time.monotonic()
            process.send_signal(signal.SIGTERM)
            for _ in lines:  # the server ends the stream (a flowing clock: an event each tick until then)
                assert time.monotonic() - started < TICK + 3.0, "the server did not end the stream"
            # uvicorn re-raises the signal it handled once it has shut down
            assert process.wait(timeout=PATIENCE) in (0, -signal.SIGTERM)
            assert time.monotonic() - started < TICK + 3.0
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()
