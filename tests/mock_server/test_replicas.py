"""Real server processes on shared state: kill -9 and restart resumes every task's work (SQLite, Redis); two
uvicorn workers, and two ``dashscope-mock serve`` processes on one Redis, behave as one service (scenarios, faults,
the journal, the per-key query limit)."""

from __future__ import annotations

import contextlib
import functools
import http.server
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import redis

from dashscope_openapi import limits

from ..media import factory
from ..services import free_port

SUBMIT = "/api/v1/services/aigc/image2video/video-synthesis/"
TERMINAL = {"SUCCEEDED", "FAILED", "CANCELED"}
HANG_GUARD = 120.0  # seconds: a broken engine fails the test instead of hanging it (not a performance budget)


class MockProcess:
    """``dashscope-mock serve`` in its own process group (kill -9 takes its media workers too)."""

    def __init__(self, port: int, *args: str, env: dict[str, str] | None = None) -> None:
        self.base = f"http://127.0.0.1:{port}"
        command = [sys.executable, "-m", "dashscope_mock.cli", "serve", "--port", str(port), "--log-level", "warning"]
        self.process = subprocess.Popen(
            [*command, *args],
            env={**os.environ, **(env or {})},
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,
        )
        deadline = time.monotonic() + HANG_GUARD
        while True:
            if self.process.poll() is not None:
                raise RuntimeError(f"the mock exited with {self.process.returncode}")
            with contextlib.suppress(httpx.HTTPError):
                if httpx.get(self.base + "/_mock/clock", timeout=2).status_code == 200:
                    return
            if time.monotonic() > deadline:
                raise RuntimeError("the mock did not start")
            time.sleep(0.1)

    def kill(self) -> None:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait()

    def stop(self) -> None:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.process.pid, signal.SIGTERM)
        try:
            self.process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            self.kill()


@contextlib.contextmanager
def serving(*args: str, port: int | None = None, env: dict[str, str] | None = None) -> Iterator[MockProcess]:
    mock = MockProcess(port or free_port(), *args, env=env)
    try:
        yield mock
    finally:
        mock.stop()


class _Inputs(http.server.SimpleHTTPRequestHandler):
    hold: threading.Event  # set: answer; clear: hold every request until it is set

    def do_GET(self) -> None:
        self.hold.wait(HANG_GUARD)
        super().do_GET()

    def log_message(self, *args: Any) -> None:
        return None


@pytest.fixture
def inputs(tmp_path: Path) -> Iterator[tuple[str, threading.Event]]:
    """A loopback server of a real face image and a short WAV; its event holds requests while cleared."""
    (tmp_path / "face.png").write_bytes(factory.image_bytes(factory.face_rgb()))
    (tmp_path / "voice.wav").write_bytes(factory.wav_bytes(2.0))
    hold = threading.Event()
    handler = type("Handler", (_Inputs,), {"hold": hold})
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(handler, directory=str(tmp_path)))
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}", hold
    finally:
        hold.set()
        server.shutdown()
        server.server_close()


def _headers(key: str = "sk-replica", *, asynchronous: bool = True) -> dict[str, str]:
    headers = {"Authorization": f"Bearer {key}"}
    return {**headers, "X-DashScope-Async": "enable"} if asynchronous else headers


def _submit(base: str, media: str = "https://example.com", key: str = "sk-replica") -> str:
    body = {"model": "liveportrait", "input": {"image_url": f"{media}/face.png", "audio_url": f"{media}/voice.wav"}}
    answer = httpx.post(base + SUBMIT, json=body, headers=_headers(key), timeout=30)
    assert answer.status_code == 200, answer.text
    task_id: str = answer.json()["output"]["task_id"]
    return task_id


def _output(base: str, task_id: str, key: str = "sk-replica") -> dict[str, Any]:
    answer = httpx.get(f"{base}/api/v1/tasks/{task_id}", headers=_headers(key, asynchronous=False), timeout=30)
    assert answer.status_code == 200, answer.text
    output: dict[str, Any] = answer.json()["output"]
    return output


def _wait_for(condition: Callable[[], bool], what: str) -> None:
    deadline = time.monotonic() + HANG_GUARD
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"gave up waiting for {what}")
        time.sleep(0.2)


@pytest.fixture(params=["sqlite", "redis"])
def shared_state(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'state.db'}"
    url: str = request.getfixturevalue("redis_url")
    redis.Redis.from_url(url).flushdb()
    return url


def test_kill_9_mid_run_and_restart_every_task_ends(shared_state: str, inputs: tuple[str, threading.Event]) -> None:
    media, hold = inputs
    args = ("--state", shared_state, "--media-checks", "on", "--media-workers", "2")
    env = {"DASHSCOPE_MOCK_LEASE_SECONDS": "2"}
    port = free_port()
    first = MockProcess(port, *args, env=env)
    try:
        ids = [_submit(first.base, media) for _ in range(4)]
        # Two workers hold a task each, stuck downloading; two tasks wait in the queue.
        _wait_for(lambda: [_output(first.base, t)["task_status"] for t in ids].count("RUNNING") == 2, "2 RUNNING")
        assert [_output(first.base, t)["task_status"] for t in ids].count("PENDING") == 2
    finally:
        first.kill()
    hold.set()
    with serving(*args, port=port, env=env) as second:
        _wait_for(lambda: all(_output(second.base, t)["task_status"] in TERMINAL for t in ids), "every task to end")
        outputs = [_output(second.base, t) for t in ids]
    assert [o["task_status"] for o in outputs] == ["SUCCEEDED"] * 4, outputs
    assert [o["task_id"] for o in outputs] == ids


def _control(base: str, method: str, path: str, **kwargs: Any) -> Any:
    answer = httpx.request(method, base + "/_mock" + path, timeout=30, **kwargs)
    assert answer.status_code < 300, answer.text
    return answer.json()


def test_two_processes_on_one_redis_are_one_service(redis_url: str) -> None:
    redis.Redis.from_url(redis_url).flushdb()
    args = ("--state", redis_url, "--media-checks", "off", "--clock", "frozen", "--clock-start", "1764000000")
    with serving(*args) as one, serving(*args) as two:
        # a scenario set through one applies to tasks submitted through the other
        _control(
            one.base, "POST", "/scenarios", json={"model": "liveportrait", "code": "InternalError.Algo", "times": 2}
        )
        ids = [_submit(two.base) for _ in range(3)]
        _control(one.base, "POST", "/clock/advance", json={"seconds": 60})
        assert [_output(two.base, t).get("code") for t in ids] == ["InternalError.Algo", "InternalError.Algo", None]
        assert _output(one.base, ids[2])["task_status"] == "SUCCEEDED", "the clock advanced through one moved both"
        # a fault created through one fires on the other, once
        _control(one.base, "POST", "/faults", json={"kind": "error", "status": 503, "operation": "getTask"})
        fault_hit = httpx.get(f"{two.base}/api/v1/tasks/{ids[0]}", headers=_headers(asynchronous=False))
        assert fault_hit.status_code == 503
        assert _output(one.base, ids[0])["task_status"] == "FAILED"
        # the journal shows the requests of both
        journal = _control(one.base, "GET", "/requests", params={"operation": "createVideoSynthesis"})["data"]
        assert len(journal) == 3
        assert len(_control(two.base, "GET", "/requests")["data"]) == len(
            _control(one.base, "GET", "/requests")["data"]
        )
        # one per-key query limit across both: the frozen clock puts every query in the same second
        qps = int(limits()["task_query_qps_per_account"])
        statuses = [
            httpx.get(
                f"{server.base}/api/v1/tasks/none", headers=_headers("sk-limited", asynchronous=False)
            ).status_code
            for _ in range(qps)
            for server in (one, two)
        ]
        assert statuses.count(200) == qps and statuses.count(429) == qps, statuses


def test_two_uvicorn_workers_on_one_redis_are_one_service(redis_url: str) -> None:
    redis.Redis.from_url(redis_url).flushdb()
    args = ("--state", redis_url, "--media-checks", "off", "--workers", "2", "--clock", "frozen")
    with serving(*args) as mock:
        _control(
            mock.base, "POST", "/scenarios", json={"model": "liveportrait", "code": "InternalError.Algo", "times": 10}
        )
        ids = [_submit(mock.base) for _ in range(10)]  # new connections: the workers share them
        _control(mock.base, "POST", "/clock/advance", json={"seconds": 60})
        assert [_output(mock.base, t).get("code") for t in ids] == ["InternalError.Algo"] * 10
        assert len(_control(mock.base, "GET", "/requests", params={"operation": "createVideoSynthesis"})["data"]) == 10
        assert len(_control(mock.base, "GET", "/requests", params={"operation": "getTask"})["data"]) == 10
