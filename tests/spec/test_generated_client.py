"""The generated client parses what the service may send tomorrow: new statuses and new error codes."""

from __future__ import annotations

import json

import httpx

from dashscope_video_client import AuthenticatedClient
from dashscope_video_client.api.tasks import get_task
from dashscope_video_client.api.video_synthesis import create_video_synthesis
from dashscope_video_client.models import Error, LivePortraitRequest, TaskResponse


def _client(status: int, body: object) -> AuthenticatedClient:
    transport = httpx.MockTransport(lambda request: httpx.Response(status, json=body))
    return AuthenticatedClient(base_url="https://dashscope.test", token="sk-test", httpx_args={"transport": transport})


def test_a_task_with_an_unseen_status_and_error_code_parses() -> None:
    body = {
        "request_id": "r-1",
        "output": {"task_id": "t-1", "task_status": "QUARANTINED", "code": "Brand.NewCode", "message": "new"},
    }
    response = get_task.sync_detailed("t-1", client=_client(200, body))
    task = response.parsed
    assert isinstance(task, TaskResponse)
    assert task.output.task_status == "QUARANTINED"
    assert task.output.code == "Brand.NewCode"
    assert task.to_dict() == body


def test_a_known_status_parses_as_itself() -> None:
    body = {"request_id": "r", "output": {"task_id": "t", "task_status": "PRE-PROCESSING"}}
    task = get_task.sync("t", client=_client(200, body))
    assert isinstance(task, TaskResponse)
    assert task.output.task_status == "PRE-PROCESSING"


def test_an_error_with_an_unseen_code_parses() -> None:
    body = {"request_id": "r-2", "code": "Throttling.SomethingNew", "message": "slow down"}
    response = get_task.sync_detailed("t", client=_client(429, body))
    assert isinstance(response.parsed, Error)
    assert response.parsed.code == "Throttling.SomethingNew"


def test_submit_sends_the_documented_path_headers_and_body() -> None:
    seen: list[httpx.Request] = []

    def answer(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(200, json={"output": {"task_id": "t", "task_status": "PENDING"}, "request_id": "r"})

    client = AuthenticatedClient(
        base_url="https://dashscope.test", token="sk-test", httpx_args={"transport": httpx.MockTransport(answer)}
    )
    body = {"model": "liveportrait", "input": {"image_url": "https://a/a.png", "audio_url": "https://a/a.wav"}}
    create_video_synthesis.sync(client=client, body=LivePortraitRequest.from_dict(body), x_dash_scope_async="enable")
    (request,) = seen
    assert request.url.path == "/api/v1/services/aigc/image2video/video-synthesis/"
    assert request.headers["X-DashScope-Async"] == "enable"
    assert request.headers["Authorization"] == "Bearer sk-test"
    assert json.loads(request.content) == body
