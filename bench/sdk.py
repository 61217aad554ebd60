"""Benchmark 3: the SDK.

(a) ``client.tasks.get`` against raw httpx for the same call, over the same transport: a served mock (``dashscope-mock
serve`` in a subprocess, keep-alive connection; media checks and the query limit off, and the SDK's process-wide query
pacing replaced by a limiter that never waits, so both sides send as fast as they can) and, to show the SDK's own cost
alone, an ``httpx.MockTransport`` answering the mock's bytes. Rounds alternate between the two; the figure is the
median of the rounds' mean per-call times.

(b) The wait loop on the virtual clock: the in-process mock (``mock_dashscope``) with liveportrait timed to end exactly
``D`` seconds after submission (``ModelTiming(0, (("RUNNING", D),))``), and ``Client(sleep=mock.advance)`` so that
every pause of the SDK moves the mock's clock. For each ``D`` (5 s, 60 s, 10 min) and ``TASKS`` seeds of the SDK's
jitter: polls per task (the mock's journal) and the lag between the task's end and ``wait`` returning.
"""

from __future__ import annotations

import random
import statistics
import time
from collections.abc import Callable
from typing import Any

import httpx

from dashscope_mock import ModelTiming, mock_dashscope
from dashscope_video import Client, QueryLimiter, SystemClock

from ._servers import BIN, free_port, running
from .throughput import SUBMIT_PATH

DURATIONS = (5.0, 60.0, 600.0)
TASKS = 40
KEY = "sk-bench-sdk"
IMAGE = "https://example.com/portrait.png"
AUDIO = "https://example.com/voice.mp3"
BODY = {"model": "liveportrait", "input": {"image_url": IMAGE, "audio_url": AUDIO}}


def _unpaced_limiter() -> QueryLimiter:
    return QueryLimiter(1e12, SystemClock())


def _compare(raw: Callable[[], Any], sdk: Callable[[], Any], *, calls: int, rounds: int) -> dict[str, float]:
    for _ in range(50):  # warm up both
        raw()
        sdk()
    raw_means: list[float] = []
    sdk_means: list[float] = []
    for _ in range(rounds):
        for call, means in ((raw, raw_means), (sdk, sdk_means)):
            started = time.perf_counter()
            for _ in range(calls):
                call()
            means.append((time.perf_counter() - started) / calls * 1e6)
    raw_us, sdk_us = statistics.median(raw_means), statistics.median(sdk_means)
    return {"raw_httpx_us": raw_us, "sdk_get_us": sdk_us, "ratio": sdk_us / raw_us}


def measure_get(*, calls: int = 300, rounds: int = 10, log: Callable[[str], None] = print) -> dict[str, Any]:
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    command = [str(BIN / "dashscope-mock"), "serve", "--host", "127.0.0.1", "--port", str(port)]
    command += ["--media-checks", "off", "--rate-limit", "off", "--log-level", "warning"]
    results: dict[str, Any] = {}
    with running(command, ready_url=base + "/_mock/clock"):
        headers = {"Authorization": f"Bearer {KEY}"}
        with httpx.Client(base_url=base, headers=headers) as http:
            answer = http.post(SUBMIT_PATH, json=BODY, headers={"X-DashScope-Async": "enable"})
            task_id = answer.json()["output"]["task_id"]
            path = f"/api/v1/tasks/{task_id}"
            canned = http.get(path).content
            with Client(KEY, base_url=base, limiter=_unpaced_limiter()) as client:
                results["served"] = _compare(
                    lambda: http.get(path).json(), lambda: client.tasks.get(task_id), calls=calls, rounds=rounds
                )

    def answer_canned(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, content=canned, headers={"content-type": "application/json"})

    transport = httpx.MockTransport(answer_canned)
    with (
        httpx.Client(base_url=base, headers=headers, transport=transport) as http,
        Client(KEY, base_url=base, transport=transport, limiter=_unpaced_limiter()) as client,
    ):
        results["canned"] = _compare(
            lambda: http.get(path).json(), lambda: client.tasks.get(task_id), calls=calls * 3, rounds=rounds
        )
    for name, row in results.items():
        log(
            f"  client.tasks.get vs raw httpx ({name}): {row['sdk_get_us']:.0f} us vs {row['raw_httpx_us']:.0f} us"
            f" = {row['ratio']:.2f}x"
        )
    return results


def measure_wait(
    durations: tuple[float, ...] = DURATIONS, *, tasks: int = TASKS, log: Callable[[str], None] = print
) -> dict[str, Any]:
    results: dict[str, Any] = {}
    for duration in durations:
        timing = ModelTiming(0.0, (("RUNNING", duration),))
        polls: list[int] = []
        lags: list[float] = []
        with mock_dashscope(media_checks=False, timings={"liveportrait": timing}) as mock:
            for seed in range(tasks):
                client = Client(
                    mock.key,
                    base_url=mock.base_url,
                    transport=mock.transport(),
                    sleep=mock.advance,
                    rng=random.Random(seed),
                )
                with client:
                    submitted_at = mock.clock.now()
                    handle = client.video_synthesis.liveportrait(IMAGE, AUDIO)
                    task_id = handle.task_id
                    client.tasks.wait(handle)
                    returned_at = mock.clock.now()
                polls.append(len(mock.requests("getTask", path_contains=task_id)))
                lags.append(returned_at - (submitted_at + duration))
        row = {
            "tasks": tasks,
            "polls_mean": statistics.fmean(polls),
            "polls_max": max(polls),
            "lag_mean_s": statistics.fmean(lags),
            "lag_max_s": max(lags),
            "lag_mean_pct": statistics.fmean(lags) / duration * 100,
            "lag_max_pct": max(lags) / duration * 100,
        }
        results[f"{duration:g}"] = row
        log(
            f"  wait, {duration:>5g} s task: polls mean {row['polls_mean']:.1f} max {row['polls_max']}; lag mean "
            f"{row['lag_mean_s']:.2f} s ({row['lag_mean_pct']:.1f} %) max {row['lag_max_s']:.2f} s"
            f" ({row['lag_max_pct']:.1f} %)"
        )
    return results
