"""Auth, the sync/async 403s, per-model request validation, malformed bodies, routing: the service's error shape."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from dashscope_mock import SUBMIT_PATH, MockDashScope, mock_dashscope
from dashscope_openapi import error_catalogue

from .conftest import BODIES, DETECT_PATH, assert_error, submit


def message(code: str, **kwargs: Any) -> str:
    found = error_catalogue().find(code, **kwargs)
    assert found is not None
    return found.message


@pytest.mark.parametrize(
    "headers",
    [
        {},
        {"Authorization": "sk-abc"},
        {"Authorization": "Bearer"},
        {"Authorization": "Bearer ak-abc"},
        {"Authorization": "Basic c2stYWJjOng="},
        {"Authorization": "Bearer sk-"},
    ],
)
async def test_missing_or_malformed_key_is_401(mock: MockDashScope, headers: dict[str, str]) -> None:
    async with mock.async_client(headers={**headers, "X-DashScope-Async": "enable"}) as http:
        for response in (
            await http.post(SUBMIT_PATH, json=BODIES["liveportrait"]),
            await http.get("/api/v1/tasks/abc"),
            await http.get("/api/v1/tasks"),
        ):
            assert_error(response, 401, "InvalidApiKey", "Invalid API-key provided.")


@pytest.mark.dashscope_mock(keys=frozenset({"sk-a", "sk-b"}))
async def test_restricted_key_set(mock: MockDashScope) -> None:
    async with mock.async_client() as http:
        ok = await http.get("/api/v1/tasks/x", headers={"Authorization": "Bearer sk-a"})
        assert ok.status_code == 200
        refused = await http.get("/api/v1/tasks/x", headers={"Authorization": "Bearer sk-c"})
        assert_error(refused, 401, "InvalidApiKey")


async def test_submit_without_async_header_is_403(mock: MockDashScope) -> None:
    async with mock.async_client(headers={"Authorization": f"Bearer {mock.key}"}) as http:
        response = await http.post(SUBMIT_PATH, json=BODIES["liveportrait"])
        assert_error(response, 403, "AccessDenied", "current user api does not support synchronous calls")
        response = await http.post(SUBMIT_PATH, json=BODIES["liveportrait"], headers={"X-DashScope-Async": "disable"})
        assert_error(response, 403, "AccessDenied")


async def test_face_detect_with_async_header_is_403(client: httpx.AsyncClient) -> None:
    body = {"model": "liveportrait-detect", "input": {"image_url": "https://example.com/a.png"}}
    response = await client.post(DETECT_PATH, json=body)
    assert_error(response, 403, "AccessDenied", "current user api does not support asynchronous calls")


async def test_submit_answers_pending_with_uuid4(client: httpx.AsyncClient) -> None:
    response = await client.post(SUBMIT_PATH, json=BODIES["liveportrait"])
    assert response.status_code == 200
    body = response.json()
    assert body["output"]["task_status"] == "PENDING"
    import uuid

    assert uuid.UUID(body["output"]["task_id"]).version == 4
    assert response.headers["x-request-id"] == body["request_id"]


@pytest.mark.parametrize("path", [SUBMIT_PATH, SUBMIT_PATH.rstrip("/")])
async def test_both_spellings_of_the_submit_path(client: httpx.AsyncClient, path: str) -> None:
    response = await client.post(path, json=BODIES["emo-v1"])
    assert response.status_code == 200, response.text


async def test_task_path_with_trailing_slash(client: httpx.AsyncClient) -> None:
    task_id = await submit(client)
    response = await client.get(f"/api/v1/tasks/{task_id}/")
    assert response.status_code == 200
    assert response.json()["output"]["task_status"] == "PENDING"


@pytest.mark.parametrize(
    ("model", "change", "status", "code", "text"),
    [
        (
            "liveportrait",
            {"parameters": {"video_fps": 99}},
            400,
            "InvalidParamter.OutOfDefinition",
            "The type or value of parameters.video_fps is out of definition.",
        ),
        (
            "liveportrait",
            {"parameters": {"template_id": "wild"}},
            400,
            "InvalidParamter.OutOfDefinition",
            "The type or value of parameters.template_id is out of definition.",
        ),
        (
            "liveportrait",
            {"parameters": {"eye_move_freq": "high"}},
            400,
            "InvalidParamter.OutOfDefinition",
            "The type or value of parameters.eye_move_freq is out of definition.",
        ),
        ("emo-v1", {"parameters": {"style_level": "wild"}}, 400, "InvalidParameter", "The style_level is invalid."),
        (
            "emo-v1",
            {"input": {"audio_url": "https://example.com/a.mp3", "face_bbox": [1, 2, 3, 4], "ext_bbox": [1, 2, 3, 4]}},
            400,
            "InvalidURL",
            "Required URL is missing or invalid, please check the request URL.",
        ),
        (
            "emo-v1",
            {"input": {"image_url": "https://example.com/a.png", "audio_url": "https://example.com/a.mp3"}},
            400,
            "InvalidParameter",
            "The request is missing required parameters or in a wrong format, "
            "please check the parameters that you send.",
        ),
        (
            "videoretalk",
            {"input": {"audio_url": "https://example.com/a.mp3"}},
            400,
            "InvalidParameter",
            "Field required: input.video_url",
        ),
        (
            "videoretalk",
            {"input": {"video_url": "https://example.com/a.mp4"}},
            400,
            "InvalidParameter",
            "Field required: input.audio_url",
        ),
    ],
)
async def test_per_model_validation_messages(
    client: httpx.AsyncClient, model: str, change: dict[str, Any], status: int, code: str, text: str
) -> None:
    response = await client.post(SUBMIT_PATH, json={**BODIES[model], **change})
    assert_error(response, status, code, text)


async def test_missing_input_and_model(client: httpx.AsyncClient) -> None:
    response = await client.post(SUBMIT_PATH, json={"model": "liveportrait"})
    assert_error(response, 400, "BadRequest.EmptyInput", message("BadRequest.EmptyInput"))
    response = await client.post(SUBMIT_PATH, json={"input": BODIES["liveportrait"]["input"]})
    assert_error(response, 400, "BadRequest.EmptyModel", message("BadRequest.EmptyModel"))


async def test_unknown_model_is_404(client: httpx.AsyncClient) -> None:
    response = await client.post(SUBMIT_PATH, json={**BODIES["liveportrait"], "model": "wan2.1"})
    assert_error(response, 404, "ModelNotFound", message("ModelNotFound"))
    response = await client.post(
        DETECT_PATH,
        json={"model": "liveportrait", "input": {"image_url": "https://e.com/a.png"}},
        headers={"X-DashScope-Async": ""},
    )
    assert response.status_code in (403, 404)


@pytest.mark.parametrize(
    ("content", "content_type"),
    [
        (b"{not json", "application/json"),
        (b'{"model": "liveportrait", "input": {"image_url": "\xff\xfe"}}', "application/json"),
        (b"\xff\xfe\xfd", "application/json"),
        (b"model=liveportrait", "application/x-www-form-urlencoded"),
        (b"hello", "text/plain"),
        (b"", "application/json"),
        (b"[1, 2]", "application/json"),
        (b"null", "application/json"),
    ],
)
async def test_bad_bodies_are_400_never_500(client: httpx.AsyncClient, content: bytes, content_type: str) -> None:
    response = await client.post(SUBMIT_PATH, content=content, headers={"Content-Type": content_type})
    assert_error(response, 400, "InvalidParameter")


async def test_routing_errors_keep_the_shape(client: httpx.AsyncClient) -> None:
    assert_error(await client.get("/api/v1/nothing"), 404, "NotFound")
    response = await client.put("/api/v1/tasks")
    assert_error(response, 405, "UnsupportedOperation")
    assert "GET" in response.headers["allow"]


async def test_unexpected_exception_is_500_with_shape(mock: MockDashScope, client: httpx.AsyncClient) -> None:
    def boom(*args: Any, **kwargs: Any) -> None:
        raise RuntimeError("bug")

    mock.backend.check_query_rate = boom  # type: ignore[method-assign]
    assert_error(await client.get("/api/v1/tasks/x"), 500, "InternalError")


async def test_query_with_unknown_parameter_is_ignored_unless_strict(client: httpx.AsyncClient) -> None:
    assert (await client.get("/api/v1/tasks", params={"bogus": "1"})).status_code == 200  # x-leniency
    with mock_dashscope(strict_fields=True) as strict, strict.client(headers=strict.headers) as http:
        assert_error(http.get("/api/v1/tasks", params={"bogus": "1"}), 400, "InvalidParameter")


async def test_swagger_ui_and_specs_are_served(mock: MockDashScope) -> None:
    async with mock.async_client() as http:
        assert (await http.get("/ui/")).status_code == 200
        assert (await http.get("/openapi.json")).json()["info"]["title"].startswith("DashScope")
        assert (await http.get("/_mock/openapi.json")).json()["info"]["title"].endswith("control plane")
