from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any
from xml.etree import ElementTree

import httpx
import pytest

from dashscope_mock import SUBMIT_PATH, MockDashScope

DETECT_PATH = "/api/v1/services/aigc/image2video/face-detect"

BODIES: dict[str, dict[str, Any]] = {
    "liveportrait": {
        "model": "liveportrait",
        "input": {"image_url": "https://example.com/face.png", "audio_url": "https://example.com/voice.mp3"},
        "parameters": {"video_fps": 24},
    },
    "emo-v1": {
        "model": "emo-v1",
        "input": {
            "image_url": "https://example.com/face.png",
            "audio_url": "https://example.com/voice.mp3",
            "face_bbox": [10, 20, 30, 40],
            "ext_bbox": [0, 0, 300, 400],
        },
        "parameters": {"style_level": "normal"},
    },
    "videoretalk": {
        "model": "videoretalk",
        "input": {"video_url": "https://example.com/talk.mp4", "audio_url": "https://example.com/voice.mp3"},
    },
}


@pytest.fixture
def mock(dashscope_mock: MockDashScope) -> MockDashScope:
    return dashscope_mock


@pytest.fixture
async def client(mock: MockDashScope) -> AsyncIterator[httpx.AsyncClient]:
    async with mock.async_client(headers=mock.headers) as http:
        yield http


async def submit(client: httpx.AsyncClient, model: str = "liveportrait", **changes: Any) -> str:
    body = {**BODIES[model], **changes}
    response = await client.post(SUBMIT_PATH, json=body)
    assert response.status_code == 200, response.text
    task_id: str = response.json()["output"]["task_id"]
    return task_id


async def task(client: httpx.AsyncClient, task_id: str, **kwargs: Any) -> dict[str, Any]:
    response = await client.get(f"/api/v1/tasks/{task_id}", **kwargs)
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


async def status(client: httpx.AsyncClient, task_id: str) -> str:
    return str((await task(client, task_id))["output"]["task_status"])


def assert_error(response: httpx.Response, status: int, code: str, message: str | None = None) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/json")
    body: dict[str, Any] = response.json()
    assert set(body) == {"request_id", "code", "message"}
    assert body["code"] == code
    assert response.headers["x-request-id"] == body["request_id"]
    if message is not None:
        assert body["message"] == message
    return body


def assert_oss_error(response: httpx.Response, status: int, code: str, message: str | None = None) -> dict[str, str]:
    """An error of the simulated OSS: its XML ``<Error>`` with ``Code``, ``Message``, ``RequestId``, ``HostId``."""
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/xml")
    root = ElementTree.fromstring(response.content)
    assert root.tag == "Error"
    fields = {child.tag: child.text or "" for child in root}
    assert set(fields) == {"Code", "Message", "RequestId", "HostId"}
    assert fields["Code"] == code
    assert response.headers["x-oss-request-id"] == fields["RequestId"]
    if message is not None:
        assert fields["Message"] == message
    return fields
