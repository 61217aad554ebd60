"""The SDK end to end against the mock server (``dashscope_mock``), in-process on its virtual clock.

Sleeping is the mock's clock: ``Client(sleep=mock.advance)`` — every backoff and poll interval moves the mock's time
instead of the test's, so the waits below take milliseconds, and the mock's request journal shows the intervals.
Media checks are off (the mock's default in-process): the downloaded MP4 is whatever the mock serves as a result.
"""

from __future__ import annotations

import asyncio
import itertools
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from dashscope_video import (
    AsyncClient,
    Client,
    EmoParameters,
    EmoResult,
    LivePortraitParameters,
    LivePortraitResult,
    PollPolicy,
    SucceededTask,
    TaskHandle,
    VideoResult,
    VideoRetalkParameters,
    VideoRetalkResult,
    errors,
)

dashscope_mock = pytest.importorskip("dashscope_mock.testing")
mock_dashscope = dashscope_mock.mock_dashscope

Mock = Any
URL_IMAGE = "https://example.com/face.png"
URL_AUDIO = "https://example.com/voice.mp3"
URL_VIDEO = "https://example.com/talk.mp4"


@pytest.fixture
def mock() -> Iterator[Mock]:
    with mock_dashscope(seed=1) as instance:
        yield instance


def sdk(mock: Mock, transport: httpx.BaseTransport | None = None, **kwargs: Any) -> Client:
    return Client(
        mock.key, base_url=mock.base_url, transport=transport or mock.transport(), sleep=mock.advance, **kwargs
    )


def polls(mock: Mock) -> list[Any]:
    return list(mock.requests("getTask"))


@pytest.fixture
def media(tmp_path: Path) -> dict[str, Path]:
    files = {"image": tmp_path / "face.png", "audio": tmp_path / "voice.mp3", "video": tmp_path / "talk.mp4"}
    for name, path in files.items():
        path.write_bytes(f"not really a {name}".encode())
    return files


# ---------------------------------------------------------------------------------------------- each model
def test_each_model_from_local_files_to_mp4(mock: Mock, media: dict[str, Path], tmp_path: Path) -> None:
    with sdk(mock) as client:
        fps = LivePortraitParameters.from_dict({"video_fps": 25})
        lp = client.tasks.wait(client.video_synthesis.liveportrait(media["image"], media["audio"], parameters=fps))
        emo = client.tasks.wait(client.video_synthesis.emo(media["image"], media["audio"], ratio="3:4"))
        vr = client.tasks.wait(
            client.video_synthesis.videoretalk(media["video"], media["audio"], ref_image=media["image"])
        )
        done: dict[str, SucceededTask[Any]] = {"lp": lp, "emo": emo, "vr": vr}
        for name, task in done.items():
            out = client.tasks.download(task, tmp_path / f"{name}.mp4")
            assert out.stat().st_size > 0
    uploads = mock.requests("getUploadPolicy")
    assert {e.query for e in uploads} >= {"action=getPolicy&model=liveportrait"}
    assert len(mock.requests("createVideoSynthesis")) == 3


def test_each_model_from_urls_to_mp4(mock: Mock, tmp_path: Path) -> None:
    with sdk(mock) as client:
        synth = client.video_synthesis
        extend = VideoRetalkParameters.from_dict({"video_extension": True})
        tasks: dict[str, SucceededTask[Any]] = {
            "liveportrait": client.tasks.wait(synth.liveportrait(URL_IMAGE, URL_AUDIO)),
            "emo": client.tasks.wait(synth.emo(URL_IMAGE, URL_AUDIO, face_bbox=[1, 2, 3, 4], ext_bbox=[0, 0, 9, 9])),
            "videoretalk": client.tasks.wait(synth.videoretalk(URL_VIDEO, URL_AUDIO, parameters=extend)),
        }
        for name, task in tasks.items():
            assert task.status == "SUCCEEDED"
            out = client.tasks.download(task, tmp_path / f"{name}.mp4")
            assert out.is_file() and out.stat().st_size > 0
    assert not list(tmp_path.glob(".*.part"))


def test_each_model_waits_to_its_typed_result(mock: Mock) -> None:
    """``tasks.wait`` on a model's handle returns a SucceededTask whose ``result`` is that model's result class,
    holding the URL, the billed duration and the frame ratio the mock reported."""
    with sdk(mock) as client:
        synth = client.video_synthesis
        calm = EmoParameters(style_level="calm")
        cases: list[tuple[TaskHandle[Any], type[VideoResult], str]] = [
            (synth.liveportrait(URL_IMAGE, URL_AUDIO), LivePortraitResult, "standard"),
            # emo-v1 detects its boxes with the ratio; the frame follows them
            (synth.emo(URL_IMAGE, URL_AUDIO, ratio="3:4", parameters=calm), EmoResult, "3:4"),
            (synth.videoretalk(URL_VIDEO, URL_AUDIO, ref_image=URL_IMAGE), VideoRetalkResult, "standard"),
        ]
        for handle, result_type, ratio in cases:
            assert handle.result_type is result_type and handle.model == result_type.model
            task = client.tasks.wait(handle)
            assert isinstance(task, SucceededTask) and task.task_id == handle.task_id
            result = task.result
            assert type(result) is result_type, (handle.model, result)
            assert isinstance(result.video_url, str) and result.video_url.startswith("http")
            assert isinstance(result.video_duration, float) and result.video_duration > 0
            assert result.video_duration == task.raw["usage"]["video_duration"]
            assert result.video_ratio == task.raw["usage"]["video_ratio"] == ratio


def test_detectors(mock: Mock) -> None:
    with sdk(mock) as client:
        emo = client.face_detect.emo(URL_IMAGE, "1:1")
        assert emo.passed and emo.face_bbox and emo.ext_bbox
        assert client.face_detect.liveportrait(URL_IMAGE).passed
        # emo-v1 without boxes runs the detector first and uses its boxes
        client.video_synthesis.emo(URL_IMAGE, URL_AUDIO)
    assert len(mock.requests("detectFace")) == 3


# ---------------------------------------------------------------------------------------------- outcomes
def test_failed_task_raises_with_the_catalogue_code(mock: Mock) -> None:
    mock.scenario("liveportrait", "InvalidImage.NoHumanFace")
    with sdk(mock) as client, pytest.raises(errors.TaskFailed) as caught:
        client.tasks.wait(client.video_synthesis.liveportrait(URL_IMAGE, URL_AUDIO))
    exc = caught.value
    assert exc.code == "InvalidImage.NoHumanFace" and isinstance(exc, errors.InvalidImage)
    assert exc.entry is not None and exc.message == exc.entry.message and exc.request_id


def test_submit_time_error_raises_status_and_family(mock: Mock) -> None:
    with sdk(mock) as client, pytest.raises(errors.BadRequestError) as caught:
        client.video_synthesis.liveportrait(
            URL_IMAGE, URL_AUDIO, parameters=LivePortraitParameters.from_dict({"video_fps": 99})
        )
    assert caught.value.code == "InvalidParamter.OutOfDefinition" and isinstance(caught.value, errors.InvalidParamter)
    assert caught.value.request_id == caught.value.response.headers["X-Request-ID"]


def test_deadline(mock: Mock) -> None:
    mock.scenario("liveportrait", extra_seconds={"RUNNING": 3600})
    with sdk(mock) as client:
        handle = client.video_synthesis.liveportrait(URL_IMAGE, URL_AUDIO)
        start = mock.clock.now()
        with pytest.raises(errors.WaitTimeout) as caught:
            client.tasks.wait(handle, timeout=45)
    assert caught.value.last_status == "RUNNING" and caught.value.task_id == handle.task_id
    times = [e.time - start for e in polls(mock)]
    assert times[-1] == pytest.approx(45, abs=0.5) and all(t <= 45.5 for t in times)


def test_poll_intervals_and_retry_after_from_the_journal(mock: Mock) -> None:
    mock.scenario("liveportrait", extra_seconds={"RUNNING": 60})
    mock.fault("error", "getTask", status=429, code="Throttling.RateQuota", retry_after=9, times=1)
    policy = PollPolicy()
    with sdk(mock) as client:
        client.tasks.wait(client.video_synthesis.liveportrait(URL_IMAGE, URL_AUDIO))
    entries = polls(mock)
    assert entries[0].status == 429 and all(e.status == 200 for e in entries[1:])
    gaps = [b.time - a.time for a, b in itertools.pairwise(entries)]
    assert gaps[0] >= 9.0  # Retry-After honoured
    for n, gap in enumerate(gaps[1:], start=1):
        nominal = min(policy.max_interval, policy.initial_interval * policy.multiplier**n)
        assert nominal * (1 - policy.jitter) - 0.01 <= gap <= nominal + 0.2, (n, gap)
    assert max(gaps[1:]) <= policy.max_interval + 0.2


def test_wait_survives_5xx_and_dropped_connections(mock: Mock) -> None:
    mock.fault("error", "getTask", status=503, code="ModelUnavailable", times=2)
    mock.fault("drop", "getTask", times=1)
    with sdk(mock) as client:
        done = client.tasks.wait(client.video_synthesis.liveportrait(URL_IMAGE, URL_AUDIO))
    assert done.status == "SUCCEEDED"


def test_expired_download(mock: Mock, tmp_path: Path) -> None:
    with sdk(mock) as client:
        done = client.tasks.wait(client.video_synthesis.liveportrait(URL_IMAGE, URL_AUDIO))
        mock.advance(25 * 3600)
        with pytest.raises(errors.ResultExpired):
            client.tasks.download(done, tmp_path / "late.mp4")
    assert not (tmp_path / "late.mp4").exists()


def test_unknown_id(mock: Mock) -> None:
    with sdk(mock) as client, pytest.raises(errors.TaskNotFound):
        client.tasks.wait("00000000-0000-4000-8000-000000000000")


class Rewrite(httpx.BaseTransport):
    """Rewrites the first ``times`` task answers to a status the SDK has never seen."""

    def __init__(self, inner: httpx.BaseTransport, times: int) -> None:
        self.inner, self.times = inner, times

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        response = self.inner.handle_request(request)
        if request.method == "GET" and "/api/v1/tasks/" in request.url.path and self.times > 0:
            self.times -= 1
            body = json.loads(response.read())
            body["output"]["task_status"] = "WARMING-UP"
            return httpx.Response(200, json=body, headers={"X-Request-ID": body["request_id"]}, request=request)
        return response


def test_unknown_status_is_not_terminal(mock: Mock) -> None:
    seen: list[str | None] = []
    with sdk(mock, Rewrite(mock.transport(), 2)) as client:
        handle = client.video_synthesis.liveportrait(URL_IMAGE, URL_AUDIO)
        client.tasks.wait(handle, on_progress=lambda p: seen.append(p.status))
    assert seen[:2] == ["WARMING-UP", "WARMING-UP"] and seen[-1] == "SUCCEEDED"


# ---------------------------------------------------------------------------------------------- submit retries
class Trouble(httpx.BaseTransport):
    """Fails the first ``times`` submits: ``before`` raises without forwarding; otherwise forwards, then raises."""

    def __init__(self, inner: httpx.BaseTransport, error: type[httpx.TransportError], before: bool, times: int = 1):
        self.inner, self.error, self.before, self.times = inner, error, before, times

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        if request.method == "POST" and "video-synthesis" in request.url.path and self.times > 0:
            self.times -= 1
            if not self.before:
                self.inner.handle_request(request)
            raise self.error("injected", request=request)
        return self.inner.handle_request(request)


def test_submit_not_retried_on_read_timeout(mock: Mock) -> None:
    with sdk(mock, Trouble(mock.transport(), httpx.ReadTimeout, before=False)) as client:
        with pytest.raises(errors.APITimeoutError):
            client.video_synthesis.liveportrait(URL_IMAGE, URL_AUDIO)
        assert client.tasks.list().total == 1  # the mock created exactly one task; no second (billed) one
    assert len(mock.requests("createVideoSynthesis")) == 1


def test_submit_retried_on_refused_connection(mock: Mock) -> None:
    with sdk(mock, Trouble(mock.transport(), httpx.ConnectError, before=True, times=2)) as client:
        submitted = client.video_synthesis.liveportrait(URL_IMAGE, URL_AUDIO)
        assert [item.task_id for item in client.tasks.iter()] == [submitted.task_id]
    assert len(mock.requests("createVideoSynthesis")) == 1


# ---------------------------------------------------------------------------------------------- async twins
async def test_async_twins(mock: Mock, tmp_path: Path) -> None:
    async with AsyncClient(
        mock.key, base_url=mock.base_url, transport=mock.async_transport(), sleep=mock.advance
    ) as client:
        done = await client.tasks.wait(await client.video_synthesis.liveportrait(URL_IMAGE, URL_AUDIO))
        assert (await client.tasks.download(done, tmp_path / "a.mp4")).is_file()
        assert (await client.face_detect.emo(URL_IMAGE)).passed
        mock.scenario("videoretalk", "InvalidFile.FPS")
        with pytest.raises(errors.InvalidFile) as caught:
            await client.tasks.wait(await client.video_synthesis.videoretalk(URL_VIDEO, URL_AUDIO))
        assert isinstance(caught.value, errors.TaskFailed) and caught.value.code == "InvalidFile.FPS"
        pending = await client.video_synthesis.liveportrait(URL_IMAGE, URL_AUDIO)
        await client.tasks.cancel(pending)
        with pytest.raises(errors.TaskCanceled):
            await client.tasks.wait(pending)
        assert len([item async for item in client.tasks.iter(page_size=1)]) == 3


async def test_concurrent_sync_and_async_waits_share_the_query_limit() -> None:
    """25 waits at once — 13 async, 12 in threads — on real time: the mock answers 429 to more than 20 task
    queries per second per key, so any burst would show in its journal. Tasks finish at once (zero timings), so
    each wait is a single poll and the test takes about 25 / 20 s."""
    from concurrent.futures import ThreadPoolExecutor

    from dashscope_mock.config import ModelTiming

    instant = {"liveportrait": ModelTiming(0.0, (("RUNNING", 0.0),))}
    with mock_dashscope(seed=1, frozen_clock=False, timings=instant) as live:
        sync_client = Client(live.key, base_url=live.base_url, transport=live.transport())
        async with AsyncClient(live.key, base_url=live.base_url, transport=live.async_transport()) as client:
            tasks = [await client.video_synthesis.liveportrait(URL_IMAGE, URL_AUDIO) for _ in range(25)]
            live.advance(1)  # all finished; the queries below are the burst
            with ThreadPoolExecutor(12) as pool:
                threaded = [pool.submit(sync_client.tasks.wait, t) for t in tasks[13:]]
                await asyncio.gather(*(client.tasks.wait(t) for t in tasks[:13]))
                assert all(f.result().status == "SUCCEEDED" for f in threaded)
        sync_client.close()
        entries = list(live.requests("getTask"))
    assert len(entries) == 25 and all(e.status == 200 for e in entries)
