"""The task engine in process: a bounded pool of media workers over the store's queue, per-key lanes from the spec,
face-detect in its own lane, terminal statuses that never change, a bounded queue, a clock that takes finite numbers
only. (Restarts and replicas, with real server processes: ``test_replicas``.)"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from dashscope_mock import DetectJob, DetectOutcome, MediaJob, MediaOutcome, MockDashScope, mock_dashscope
from dashscope_mock.seam import RecordedOutcome
from dashscope_openapi import limits, load_control_spec

from .conftest import BODIES, DETECT_PATH, assert_error, status, submit, task


class GatedMedia:
    """Media work that ends when the test opens the job's gate; face-detect answers at once."""

    def __init__(self) -> None:
        self.started: list[str] = []  # task ids, in the order their work started
        self.gates: dict[str, asyncio.Event] = {}

    def gate(self, task_id: str) -> asyncio.Event:
        return self.gates.setdefault(task_id, asyncio.Event())

    def open_all(self) -> None:
        for task_id in self.started:
            self.gate(task_id).set()

    async def prepare(self, job: MediaJob) -> MediaOutcome:
        self.started.append(job.task_id)
        await self.gate(job.task_id).wait()
        return MediaOutcome.succeeded(video_duration=3.0, video_ratio="standard")

    async def detect(self, job: DetectJob) -> DetectOutcome:
        return DetectOutcome(boxes={"face_bbox": (1, 2, 3, 4)})

    def close(self) -> None:
        return None


@pytest.fixture
def gated() -> GatedMedia:
    return GatedMedia()


@pytest.fixture
def engine_mock(request: pytest.FixtureRequest, gated: GatedMedia) -> Iterator[MockDashScope]:
    overrides: dict[str, Any] = getattr(request, "param", {})
    with mock_dashscope(media=gated, **{"media_workers": 2, **overrides}) as mock:
        yield mock


async def _client(mock: MockDashScope) -> httpx.AsyncClient:
    return mock.async_client(headers=mock.headers)


async def settle() -> None:
    """Let the started workers run up to their next wait (no virtual time passes)."""
    for _ in range(5):
        await asyncio.sleep(0)


async def test_a_task_is_pending_while_queued_and_running_once_a_worker_has_it(
    engine_mock: MockDashScope, gated: GatedMedia
) -> None:
    async with await _client(engine_mock) as http:
        ids = [await submit(http) for _ in range(4)]
        engine_mock.advance(60)  # far past every planned start
        await settle()
        assert [await status(http, t) for t in ids] == ["RUNNING", "RUNNING", "PENDING", "PENDING"]
        assert gated.started == ids[:2], "two media workers: two tasks worked on, two queued"
        gated.gate(ids[0]).set()
        await asyncio.sleep(0.01)  # the freed worker takes the next item (no virtual time passes)
        assert gated.started == ids[:3]
        assert await status(http, ids[2]) == "RUNNING" and await status(http, ids[3]) == "PENDING"
        gated.open_all()
        for _ in range(3):
            await asyncio.sleep(0.01)
            gated.open_all()
        await engine_mock.backend.drain()
        engine_mock.advance(60)
        assert [await status(http, t) for t in ids] == ["SUCCEEDED"] * 4


@pytest.mark.parametrize("engine_mock", [{"media_workers": 4}], indirect=True)
async def test_one_videoretalk_task_per_key_runs_at_a_time(engine_mock: MockDashScope, gated: GatedMedia) -> None:
    assert limits()["concurrency"]["videoretalk"] == 1
    async with await _client(engine_mock) as http:
        first, second = await submit(http, "videoretalk"), await submit(http, "videoretalk")
        other_headers = {**engine_mock.headers, "Authorization": "Bearer sk-other-account"}
        other = (
            await http.post(
                "/api/v1/services/aigc/image2video/video-synthesis/", json=BODIES["videoretalk"], headers=other_headers
            )
        ).json()["output"]["task_id"]
        await settle()
        assert gated.started == [first, other], "the key's second task waits for its slot; another key's does not"
        engine_mock.advance(3600)
        assert await status(http, second) == "PENDING"
        gated.gate(first).set()
        await asyncio.sleep(0.01)
        assert gated.started == [first, other, second]
        gated.open_all()
        await engine_mock.backend.drain()


@pytest.mark.parametrize("engine_mock", [{"media_workers": 4}], indirect=True)
async def test_liveportrait_and_emo_have_no_per_key_limit(engine_mock: MockDashScope, gated: GatedMedia) -> None:
    assert limits()["concurrency"]["liveportrait"] is None and limits()["concurrency"]["emo-v1"] is None
    async with await _client(engine_mock) as http:
        ids = [await submit(http, "liveportrait"), await submit(http, "liveportrait"), await submit(http, "emo-v1")]
        await settle()
        assert gated.started == ids
        gated.open_all()
        await engine_mock.backend.drain()


@pytest.mark.parametrize("engine_mock", [{"media_workers": 4, "concurrency": {"emo-v1": 1}}], indirect=True)
async def test_a_configured_limit_makes_a_model_strict(engine_mock: MockDashScope, gated: GatedMedia) -> None:
    async with await _client(engine_mock) as http:
        first, second = await submit(http, "emo-v1"), await submit(http, "emo-v1")
        await settle()
        assert gated.started == [first]
        gated.gate(first).set()
        await asyncio.sleep(0.01)
        assert gated.started == [first, second]
        gated.open_all()
        await engine_mock.backend.drain()


@pytest.mark.parametrize("engine_mock", [{"media_workers": 1}], indirect=True)
async def test_face_detect_answers_while_the_queue_is_full(engine_mock: MockDashScope, gated: GatedMedia) -> None:
    async with await _client(engine_mock) as http:
        for _ in range(50):
            await submit(http)
        await settle()
        assert len(gated.started) == 1 and len(engine_mock.backend.store.work) == 50
        detect = {"model": "liveportrait-detect", "input": {"image_url": "https://example.com/face.jpg"}}
        sync_headers = {"Authorization": engine_mock.headers["Authorization"]}  # face-detect is synchronous
        async with engine_mock.async_client(headers=sync_headers) as plain:
            answer = await plain.post(DETECT_PATH, json=detect)
        assert answer.status_code == 200, answer.text
        assert answer.json()["output"]["pass"] is True
        assert len(gated.started) == 1, "face-detect did not wait behind, or push aside, the queued work"
        engine_mock.backend.pool.close()  # the 49 queued items stay queued: nothing to wait for


async def test_a_timed_out_task_stays_failed_when_its_result_arrives(
    engine_mock: MockDashScope, gated: GatedMedia
) -> None:
    async with await _client(engine_mock) as http:
        task_id = await submit(http)
        await settle()
        assert gated.started == [task_id]
        engine_mock.advance(float(limits()["task_timeout_hours"]) * 3600 + 10)
        output = (await task(http, task_id))["output"]
        assert (output["task_status"], output["code"]) == ("FAILED", "InternalError.Timeout")
        gated.open_all()
        await engine_mock.backend.drain()
        engine_mock.advance(60)
        output = (await task(http, task_id))["output"]
        assert (output["task_status"], output["code"]) == ("FAILED", "InternalError.Timeout")
        notes = [e for e in engine_mock.requests() if e.task_id == task_id and e.note]
        assert len(notes) == 1 and "FAILED" in str(notes[0].note)


async def test_a_canceled_task_stays_canceled_when_its_result_arrives(
    engine_mock: MockDashScope, gated: GatedMedia
) -> None:
    async with await _client(engine_mock) as http:
        task_id = await submit(http)
        await settle()
        assert gated.started == [task_id] and await status(http, task_id) == "PENDING"  # claimed, not started yet
        assert (await http.post(f"/api/v1/tasks/{task_id}/cancel")).status_code == 200
        gated.open_all()
        await engine_mock.backend.drain()
        engine_mock.advance(60)
        assert await status(http, task_id) == "CANCELED"
        assert any(e.task_id == task_id and "CANCELED" in str(e.note) for e in engine_mock.requests())


async def test_a_recorded_outcome_is_never_replaced(engine_mock: MockDashScope, gated: GatedMedia) -> None:
    """Two workers finishing one task (the first one's lease had run out): the first outcome stays."""
    async with await _client(engine_mock) as http:
        task_id = await submit(http)
        await settle()
        work = engine_mock.backend.task_work
        failed = RecordedOutcome(failure_code="InvalidImage.NoHumanFace", failure_message="No human face detected.")
        assert work.complete(task_id, failed) is not None
        assert work.complete(task_id, RecordedOutcome(video_duration=3.0, video_ratio="standard")) is None
        engine_mock.advance(60)
        output = (await task(http, task_id))["output"]
        assert (output["task_status"], output["code"]) == ("FAILED", "InvalidImage.NoHumanFace")
        gated.open_all()
        await engine_mock.backend.drain()
        assert await status(http, task_id) == "FAILED"


@pytest.mark.parametrize("engine_mock", [{"media_workers": 1}], indirect=True)
async def test_a_queued_task_canceled_never_runs(engine_mock: MockDashScope, gated: GatedMedia) -> None:
    async with await _client(engine_mock) as http:
        busy, queued = await submit(http), await submit(http)
        assert (await http.post(f"/api/v1/tasks/{queued}/cancel")).status_code == 200
        await settle()
        gated.open_all()
        await engine_mock.backend.drain()
        assert gated.started == [busy] and len(engine_mock.backend.store.work) == 0


@pytest.mark.parametrize("engine_mock", [{"media_workers": 1, "queue_max": 3}], indirect=True)
async def test_the_queue_is_bounded(engine_mock: MockDashScope, gated: GatedMedia) -> None:
    async with await _client(engine_mock) as http:
        for _ in range(3):
            await submit(http)
        answer = await http.post("/api/v1/services/aigc/image2video/video-synthesis/", json=BODIES["liveportrait"])
        assert_error(answer, 429, load_control_spec()["x-task-engine"]["queue_full_code"])
        assert len(list(engine_mock.backend.store.all_tasks())) == 3, "the refused submit stored nothing"
        engine_mock.backend.pool.close()


@pytest.mark.parametrize("seconds", ["NaN", "Infinity", "-Infinity", "1e308", "-1", '"5"', "null"])
async def test_the_clock_takes_finite_numbers_only(
    client: httpx.AsyncClient, mock: MockDashScope, seconds: str
) -> None:
    before = mock.backend.now()
    answer = await client.post(
        "/_mock/clock/advance", content=f'{{"seconds": {seconds}}}', headers={"Content-Type": "application/json"}
    )
    body = assert_error(answer, 400, answer.json()["code"])
    assert body["code"].startswith("InvalidParameter") or body["code"] == "BadRequest", body
    assert mock.backend.now() == before
    assert (await client.get("/_mock/clock")).status_code == 200
    assert (await client.get("/_mock/tasks")).status_code == 200
    assert (await client.post("/_mock/clock/advance", json={"seconds": 1})).json()["offset_seconds"] == 1


def test_backend_advance_refuses_what_is_not_a_finite_forward_move() -> None:
    with mock_dashscope() as mock:
        for bad in (float("nan"), float("inf"), -1.0):
            with pytest.raises(ValueError):
                mock.backend.advance(bad)
        assert mock.backend.clock.offset == 0.0  # type: ignore[attr-defined]
