"""Redis state never blocks the event loop (issue 27): every operation of both specs, served under uvicorn on a real
``redis-server``, makes no blocking Redis call on the server's event loop. A request's first round trip and its
journal entry are awaited on the asynchronous client (``store._redis_async``); everything else runs on the store's
worker threads (``Store.call``). A blocking call on a loop is counted by ``_redis_client.note_blocking``.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
import redis

from dashscope_mock import mock_dashscope
from dashscope_mock.config import MockConfig
from dashscope_mock.domain.clock import VirtualClock
from dashscope_mock.http.app import create_app
from dashscope_mock.store import _redis_client
from dashscope_mock.store.redis import RedisStore
from dashscope_video import Client, errors

from ..media import factory

KEY = "sk-event-loop-0001"


@pytest.fixture
def served(redis_url: str) -> Iterator[str]:
    redis.Redis.from_url(redis_url).flushdb()
    with mock_dashscope(state=redis_url) as mock, mock.serve() as base:
        yield base


def test_no_operation_blocks_the_event_loop_on_redis(served: str, tmp_path: Path) -> None:
    image, audio = tmp_path / "face.png", tmp_path / "voice.wav"
    image.write_bytes(factory.image_bytes(factory.face_rgb()))
    audio.write_bytes(factory.wav_bytes(1.0))
    _redis_client.BLOCKING_ON_LOOP.clear()
    with Client(KEY, base_url=served) as client, httpx.Client(base_url=served, timeout=30) as http:
        control = f"{served}/_mock"
        assert (
            http.post(
                control + "/faults", json={"kind": "latency", "operation": "getTask", "latency_seconds": 0.01}
            ).status_code
            == 201
        )
        assert client.face_detect.liveportrait(image).passed  # getPolicy, the OSS form post, face-detect
        handle = client.video_synthesis.liveportrait(image, audio)  # submit with oss:// inputs
        assert http.post(control + "/clock/advance", json={"seconds": 3600}).status_code == 200
        task = client.tasks.wait(handle, timeout=30)  # task queries, the fault firing on the first
        assert task.status == "SUCCEEDED"
        assert httpx.get(task.result.video_url, timeout=30).status_code == 200  # the signed result link
        second = client.video_synthesis.liveportrait(image, audio)
        client.tasks.cancel(second)
        assert [t.task_id for t in client.tasks.list().data][:2] == [second.task_id, handle.task_id]
        with pytest.raises(errors.APIStatusError):
            client.tasks.cancel(second)  # no longer PENDING: refused, in the service's shape
        for path in ("/clock", "/tasks", f"/tasks/{handle.task_id}", "/requests", "/faults", "/scenarios"):
            assert http.get(control + path).status_code == 200, path
        assert http.get(control + "/events", params={"max_seconds": 0.2}).status_code == 200
        scenario = {"model": "liveportrait", "code": "InvalidImage.NoHumanFace"}
        assert http.post(control + "/scenarios", json=scenario).status_code == 201
        assert http.delete(control + "/scenarios").status_code == 200
        assert http.delete(control + "/requests").status_code == 200
        assert http.post(control + "/reset").status_code == 200
    assert dict(_redis_client.BLOCKING_ON_LOOP) == {}


def test_a_blocking_call_on_an_event_loop_is_counted(redis_url: str) -> None:
    """The count above can fail: a blocking call made on a running loop is seen (and one off any loop is not)."""
    store = RedisStore(redis_url)
    try:
        _redis_client.BLOCKING_ON_LOOP.clear()
        assert store.get_task("absent") is None  # this thread runs no loop
        assert dict(_redis_client.BLOCKING_ON_LOOP) == {}

        async def on_the_loop() -> None:
            assert store.get_task("absent") is None
            assert await store.call(store.get_task, "absent") is None  # on a worker thread: not counted

        asyncio.run(on_the_loop())
        assert dict(_redis_client.BLOCKING_ON_LOOP) == {"HGET": 1}
    finally:
        store.close()
        _redis_client.BLOCKING_ON_LOOP.clear()


def test_a_server_starting_on_redis_makes_no_blocking_call(redis_url: str) -> None:
    """uvicorn builds the app on its running loop (the CLI's app factory): the state is first read, awaited, at the
    lifespan's start, which adopts the clock another replica moved."""
    redis.Redis.from_url(redis_url).flushdb()
    redis.Redis.from_url(redis_url).set("dashscope-mock:clock", "1000")
    _redis_client.BLOCKING_ON_LOOP.clear()

    async def start_and_stop() -> tuple[list[str], float]:
        app = create_app(MockConfig(state=redis_url, media_checks=False))
        messages = iter([{"type": "lifespan.startup"}, {"type": "lifespan.shutdown"}])
        sent: list[str] = []

        async def receive() -> dict[str, str]:
            return next(messages)

        async def send(message: dict[str, str]) -> None:
            sent.append(message["type"])

        try:
            await app({"type": "lifespan"}, receive, send)
            clock = app.backend.clock
            assert isinstance(clock, VirtualClock)
            return sent, clock.offset
        finally:
            await app.backend.store.call(app.backend.close)

    sent, offset = asyncio.run(start_and_stop())
    assert sent == ["lifespan.startup.complete", "lifespan.shutdown.complete"]
    assert offset == 1000.0
    assert dict(_redis_client.BLOCKING_ON_LOOP) == {}
