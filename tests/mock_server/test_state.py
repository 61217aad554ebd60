"""State: SQLite survives a restart; the in-memory store stays small and O(1) per query; media hook timing."""

from __future__ import annotations

import asyncio
import tracemalloc
from pathlib import Path

import httpx

from dashscope_mock import (
    SUBMIT_PATH,
    Backend,
    DetectJob,
    DetectOutcome,
    MediaFailure,
    MediaJob,
    MediaOutcome,
    MockConfig,
    VirtualClock,
    create_app,
    mock_dashscope,
)
from dashscope_mock.http import views

from .conftest import BODIES, status, submit, task


async def test_sqlite_state_survives_a_restart(tmp_path: Path) -> None:
    state = f"sqlite:///{tmp_path / 'mock.db'}"
    config = MockConfig(state=state, frozen_clock=True, media_checks=False)
    first = create_app(config)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=first), base_url="http://m") as http:
        http.headers.update({"Authorization": "Bearer sk-a", "X-DashScope-Async": "enable"})
        ids = [await submit(http, model) for model in ("liveportrait", "videoretalk", "videoretalk")]
        await http.post(f"/api/v1/tasks/{ids[2]}/cancel")
        await http.post("/_mock/clock/advance", json={"seconds": 1})
    first.backend.close()

    second = create_app(config)  # a new process, or another worker
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=second), base_url="http://m") as http:
        http.headers.update({"Authorization": "Bearer sk-a"})
        assert [await status(http, t) for t in ids] == ["RUNNING", "RUNNING", "CANCELED"]
        second.backend.advance(10)
        done = await task(http, ids[0])
        assert done["output"]["task_status"] == "SUCCEEDED" and done["usage"]["video_duration"] == 5.0
        listed = (await http.get("/api/v1/tasks")).json()
        assert listed["total"] == 3
    second.backend.close()


async def test_sqlite_workers_share_tasks_and_clock(tmp_path: Path) -> None:
    config = MockConfig(state=f"sqlite:///{tmp_path / 'shared.db'}", frozen_clock=True, media_checks=False)
    one, two = create_app(config), create_app(config)
    headers = {"Authorization": "Bearer sk-a", "X-DashScope-Async": "enable"}
    async with (
        httpx.AsyncClient(transport=httpx.ASGITransport(app=one), base_url="http://m", headers=headers) as a,
        httpx.AsyncClient(transport=httpx.ASGITransport(app=two), base_url="http://m", headers=headers) as b,
    ):
        first = await submit(a, "videoretalk")
        second = await submit(b, "videoretalk")  # queued behind the other worker's task
        await a.post("/_mock/clock/advance", json={"seconds": 1})
        assert [await status(b, first), await status(b, second)] == ["RUNNING", "PENDING"]
    one.backend.close()
    two.backend.close()


def test_stored_tasks_are_small_and_queries_constant_time() -> None:
    backend = Backend(MockConfig(frozen_clock=True, media_checks=False))
    body = BODIES["liveportrait"]

    async def fill(count: int) -> None:
        for _ in range(count):
            backend.tasks.submit("sk-a", body, oss_resolve=False, request_id="r")

    asyncio.run(fill(200))  # warm up caches
    tracemalloc.start()
    before = tracemalloc.take_snapshot()
    asyncio.run(fill(5000))
    after = tracemalloc.take_snapshot()
    tracemalloc.stop()
    grown = sum(stat.size_diff for stat in after.compare_to(before, "filename"))
    assert grown / 5000 < 2048, f"{grown / 5000:.0f} bytes per task"
    task_id = next(iter(backend.store.all_tasks())).task_id
    import time

    started = time.perf_counter()
    for _ in range(1000):
        record = backend.tasks.find("sk-a", task_id)
        assert record is not None
        model = backend.registry.video(record.model)
        snap = backend.tasks.snapshot(record)
        views.task_output(task_id, record, snap, model, result_url="http://m/r.mp4", format_time=backend.format_time)
    assert (time.perf_counter() - started) / 1000 < 0.001


class SlowMedia:
    """A media pipeline whose outcome arrives when the test says so."""

    def __init__(self) -> None:
        self.release = asyncio.Event()
        self.jobs: list[MediaJob] = []

    async def prepare(self, job: MediaJob) -> MediaOutcome:
        self.jobs.append(job)
        await self.release.wait()
        if "bad" in job.input["image_url"]:
            return MediaOutcome.failed(MediaFailure("InvalidImage.NoHumanFace", model=job.model))
        return MediaOutcome.succeeded(video_duration=2.79, video_ratio="standard", result_path=None)

    async def detect(self, job: DetectJob) -> DetectOutcome:
        return DetectOutcome()

    def close(self) -> None:
        return None


async def test_task_stays_running_until_the_media_outcome_is_known() -> None:
    media = SlowMedia()
    with mock_dashscope(media=media) as mock:
        async with mock.async_client(headers=mock.headers) as http:
            good = await submit(http)
            bad = await submit(http, input={"image_url": "https://e.com/bad.png", "audio_url": "https://e.com/a.mp3"})
            await asyncio.sleep(0)  # let the media tasks start (no time passes)
            mock.advance(60)
            assert [await status(http, good), await status(http, bad)] == ["RUNNING", "RUNNING"]
            assert len(media.jobs) == 2 and media.jobs[0].model == "liveportrait"
            media.release.set()
            await mock.backend.drain()
            assert [await status(http, good), await status(http, bad)] == ["SUCCEEDED", "FAILED"]
            done = await task(http, good)
            assert done["usage"]["video_duration"] == 2.79
            # the outcome arrived after the planned end: end_time is when it became known
            assert done["output"]["end_time"] >= done["output"]["scheduled_time"]


async def test_unknown_outcome_times_out_after_the_documented_limit() -> None:
    media = SlowMedia()
    with mock_dashscope(media=media) as mock:
        async with mock.async_client(headers=mock.headers) as http:
            task_id = await submit(http)
            mock.advance(3 * 3600 + 10)
            output = (await task(http, task_id))["output"]
            assert (output["task_status"], output["code"]) == ("FAILED", "InternalError.Timeout")
            media.release.set()


def test_backend_clock_is_injectable() -> None:
    clock = VirtualClock(frozen=True, start=1_700_000_000.0)
    backend = Backend(MockConfig(media_checks=False), clock=clock)
    assert backend.now() == 1_700_000_000.0
    backend.advance(5)
    assert backend.now() == 1_700_000_005.0
    assert backend.format_time(backend.now()) == "2023-11-15 06:13:25.000"


async def test_submit_path_with_sync_transport_and_server() -> None:
    with mock_dashscope(seed=3) as mock:
        with mock.client(headers=mock.headers) as sync_client:
            response = sync_client.post(SUBMIT_PATH, json=BODIES["liveportrait"])
            assert response.status_code == 200
            task_id = response.json()["output"]["task_id"]
            mock.advance(10)
            assert sync_client.get(f"/api/v1/tasks/{task_id}").json()["output"]["task_status"] == "SUCCEEDED"
        with mock.serve() as base_url, httpx.Client(base_url=base_url, headers=mock.headers) as live:
            output = live.get(f"/api/v1/tasks/{task_id}").json()["output"]
            assert output["results"]["video_url"].startswith(base_url)
            assert live.get(output["results"]["video_url"]).status_code == 200
