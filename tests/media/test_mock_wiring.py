"""The media package plugged into the mock (``--media-checks on``): a task from submit to a real result video."""

from __future__ import annotations

import io
from collections.abc import Awaitable, Callable
from typing import Any

import av
import pytest

from dashscope_mock.domain.keys import account
from dashscope_mock.testing import SUBMIT_PATH, async_mock_dashscope

from . import factory
from .conftest import FileServer

DETECT_PATH = "/api/v1/services/aigc/image2video/face-detect"


async def run_task(mock: Any, client: Any, body: dict[str, Any]) -> dict[str, Any]:
    submitted = await client.post(SUBMIT_PATH, json=body)
    assert submitted.status_code == 200, submitted.text
    task_id = submitted.json()["output"]["task_id"]
    await mock.backend.drain()
    mock.advance(600)
    answer = await client.get(f"/api/v1/tasks/{task_id}")
    assert answer.status_code == 200
    result: dict[str, Any] = answer.json()
    return result


async def test_a_liveportrait_task_ends_with_a_real_video(http_server: FileServer) -> None:
    http_server.files["face.jpg"] = factory.FACE_JPG.read_bytes()
    http_server.files["a.wav"] = factory.wav_bytes(2.0)
    async with (
        async_mock_dashscope(media_checks=True, rate_limit=False) as mock,
        mock.async_client(headers=mock.headers) as client,
    ):
        body = {
            "model": "liveportrait",
            "input": {"image_url": http_server.url("face.jpg"), "audio_url": http_server.url("a.wav")},
            "parameters": {"video_fps": 25},
        }
        task = await run_task(mock, client, body)
        assert task["output"]["task_status"] == "SUCCEEDED", task
        assert task["usage"] == {"video_duration": 2.0, "video_ratio": "standard"}
        video = await client.get(task["output"]["results"]["video_url"])
        assert video.status_code == 200
        with av.open(io.BytesIO(video.content)) as container:
            assert container.streams.video[0].codec_context.name == "h264"
            assert container.streams.audio[0].codec_context.name == "aac"
            assert float(container.streams.video[0].average_rate) == 25
            assert container.duration / 1_000_000 == pytest.approx(2.0, abs=0.1)


async def test_a_portrait_without_a_face_fails_the_task(http_server: FileServer) -> None:
    http_server.files["none.jpg"] = factory.image_bytes(factory.blank(600, 600), "JPEG")
    http_server.files["a.wav"] = factory.wav_bytes(2.0)
    async with (
        async_mock_dashscope(media_checks=True, rate_limit=False) as mock,
        mock.async_client(headers=mock.headers) as client,
    ):
        body = {
            "model": "liveportrait",
            "input": {"image_url": http_server.url("none.jpg"), "audio_url": http_server.url("a.wav")},
        }
        task = await run_task(mock, client, body)
        output = task["output"]
        assert (output["task_status"], output["code"], output["message"]) == (
            "FAILED",
            "InvalidImage.NoHumanFace",
            "No human face detected.",
        )


async def test_face_detect_through_the_mock(http_server: FileServer) -> None:
    http_server.files["face.jpg"] = factory.FACE_JPG.read_bytes()
    async with async_mock_dashscope(media_checks=True, rate_limit=False) as mock:
        headers = {k: v for k, v in mock.headers.items() if k.lower() != "x-dashscope-async"}
        async with mock.async_client(headers=headers) as client:
            answer = await client.post(
                DETECT_PATH,
                json={
                    "model": "emo-detect-v1",
                    "input": {"image_url": http_server.url("face.jpg")},
                    "parameters": {"ratio": "1:1"},
                },
            )
            assert answer.status_code == 200, answer.text
            assert answer.json()["output"]["face_bbox"] == factory_face_box()
            missing = await client.post(
                DETECT_PATH,
                json={"model": "liveportrait-detect", "input": {"image_url": f"{http_server.base}/status/404"}},
            )
            assert missing.status_code == 400
            assert missing.json()["code"] == "InvalidURL"
            assert missing.json()["message"] == "Invalid URL provided in your request."


def factory_face_box() -> list[int]:
    from dashscope_mock.media import detect_faces

    return list(detect_faces(factory.face_rgb())[0])


def _reader(content: bytes) -> Callable[[int], Awaitable[bytes]]:
    stream = io.BytesIO(content)

    async def read(size: int) -> bytes:
        return stream.read(size)

    return read


async def test_offline_users_upload_their_files_to_the_mock() -> None:
    async with async_mock_dashscope(media_checks=True, rate_limit=False) as mock:
        urls = {}
        for name, content in [("face.jpg", factory.FACE_JPG.read_bytes()), ("a.wav", factory.wav_bytes(1.5))]:
            policy = mock.backend.uploads.policy(account(mock.key), "liveportrait", mock.base_url)  # as handlers do
            fields = {
                "policy": policy["policy"],
                "Signature": policy["signature"],
                "key": f"{policy['upload_dir']}/{name}",
            }
            urls[name] = (await mock.backend.uploads.store_upload(fields, _reader(content))).url
        assert all(url.startswith("oss://") for url in urls.values())
        headers = {**mock.headers, "X-DashScope-OssResourceResolve": "enable"}
        async with mock.async_client(headers=headers) as client:
            body = {"model": "liveportrait", "input": {"image_url": urls["face.jpg"], "audio_url": urls["a.wav"]}}
            task = await run_task(mock, client, body)
            assert task["output"]["task_status"] == "SUCCEEDED", task
            assert task["usage"]["video_duration"] == 1.5
