"""Benchmark 2: task-query latency with 10, 1,000 and 100,000 stored tasks, and the memory a stored task costs.

In process (no sockets, so the figures are the mock's own cost): the ASGI app answers ``GET /api/v1/tasks/{id}`` for
tasks drawn at random from the store; each request is timed with ``perf_counter``. Tasks are stored through
``Backend.submit`` (what a submit does after validation), spread over 100 keys. Memory: ``tracemalloc`` across the
submits of the largest size, divided by the number of tasks (the record and the store's indexes; the request journal
is per request and bounded, see ``store.memory_keepers.Journal``). Memory store (the default) and SQLite store.
"""

from __future__ import annotations

import asyncio
import gc
import random
import statistics
import tempfile
import time
import tracemalloc
from collections.abc import Callable
from pathlib import Path
from typing import Any

from dashscope_mock import Backend, MockConfig, VirtualClock, create_app
from dashscope_mock.http.app import MockApp

SIZES = (10, 1_000, 100_000)
BODY = {
    "model": "liveportrait",
    "input": {"image_url": "https://example.com/portrait.png", "audio_url": "https://example.com/voice.mp3"},
}
KEYS = 100


def _backend(state: str) -> Backend:
    config = MockConfig(media_checks=False, rate_limit=False, state=state)
    return Backend(config, clock=VirtualClock(frozen=True))


def _fill(backend: Backend, count: int) -> list[tuple[str, str]]:
    tasks = []
    for index in range(count):
        key = f"sk-scale-{index % KEYS:03d}"
        record = backend.tasks.submit(key, BODY, oss_resolve=False, request_id=f"r-{index}")
        tasks.append((key, record.task_id))
    return tasks


async def _get(app: MockApp, key: str, task_id: str) -> int:
    status = 0
    path = f"/api/v1/tasks/{task_id}"
    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "GET",
        "scheme": "http",
        "path": path,
        "raw_path": path.encode(),
        "query_string": b"",
        "root_path": "",
        "headers": [(b"host", b"bench"), (b"authorization", f"Bearer {key}".encode())],
        "client": ("127.0.0.1", 50000),
        "server": ("127.0.0.1", 8000),
    }

    async def receive() -> dict[str, Any]:
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message: dict[str, Any]) -> None:
        nonlocal status
        if message["type"] == "http.response.start":
            status = message["status"]

    await app(scope, receive, send)
    return status


async def _latency(app: MockApp, tasks: list[tuple[str, str]], queries: int) -> dict[str, float]:
    rng = random.Random(1)
    picks = [tasks[rng.randrange(len(tasks))] for _ in range(queries)]
    for key, task_id in picks[:200]:  # warm up
        await _get(app, key, task_id)
    samples = []
    for key, task_id in picks:
        started = time.perf_counter()
        status = await _get(app, key, task_id)
        samples.append((time.perf_counter() - started) * 1e6)
        if status != 200:
            raise RuntimeError(f"task query answered {status}")
    samples.sort()
    return {
        "p50_us": samples[len(samples) // 2],
        "p99_us": samples[int(len(samples) * 0.99)],
        "mean_us": statistics.fmean(samples),
    }


def _memory_per_task(make: Callable[[], Backend], count: int) -> float:
    backend = make()
    try:
        _fill(backend, 10)  # first-use allocations (caches, interned keys) are not per task
        gc.collect()
        tracemalloc.start()
        before = tracemalloc.get_traced_memory()[0]
        _fill(backend, count)
        gc.collect()
        after = tracemalloc.get_traced_memory()[0]
        tracemalloc.stop()
        return (after - before) / count
    finally:
        backend.close()


def measure(
    sizes: tuple[int, ...] = SIZES, *, queries: int = 5_000, log: Callable[[str], None] = print
) -> dict[str, Any]:
    results: dict[str, Any] = {"sizes": list(sizes), "queries": queries}
    with tempfile.TemporaryDirectory() as tmp:
        for store in ("memory", "sqlite"):
            rows = {}
            for size in sizes:
                state = "memory" if store == "memory" else f"sqlite:///{Path(tmp) / f'scale-{size}.db'}"
                backend = _backend(state)
                try:
                    app = create_app(backend=backend)
                    tasks = _fill(backend, size)
                    rows[str(size)] = asyncio.run(_latency(app, tasks, queries))
                finally:
                    backend.close()
                row = rows[str(size)]
                log(
                    f"  {store:6s} {size:>7,d} tasks: p50 {row['p50_us']:6.1f} us  p99 {row['p99_us']:6.1f} us"
                    f"  mean {row['mean_us']:6.1f} us"
                )
            results[store] = rows
            smallest, largest = rows[str(sizes[0])], rows[str(sizes[-1])]
            results[f"{store}_p50_ratio"] = largest["p50_us"] / smallest["p50_us"]
        count = sizes[-1]
        results["memory_bytes_per_task"] = _memory_per_task(lambda: _backend("memory"), count)
        log(f"  memory per stored task: {results['memory_bytes_per_task']:.0f} bytes (tracemalloc, {count:,d} tasks)")
    return results
