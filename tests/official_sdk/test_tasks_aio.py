"""The aiohttp twins, ``BaseAsyncAioApi`` (submit, fetch, wait, call, cancel, list) and ``BaseAioApi`` (face-detect),
against a served mock; media checks off, the spec's copies of the official request examples as bodies."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from http import HTTPStatus

import pytest
from dashscope.api_entities.dashscope_response import DashScopeAPIResponse
from dashscope.client.base_api import BaseAioApi, BaseAsyncAioApi

from .conftest import (
    ASYNC_CALL_DENIED,
    DETECT,
    INVALID_API_KEY,
    NOT_PENDING,
    QUICK,
    SUBMIT,
    SYNC_CALL_DENIED,
    VIDEO_MODELS,
    WRONG_KEY,
    Served,
    detect_example,
    result_url,
    served_mock,
    submit_example,
)

pytestmark = pytest.mark.usefixtures("aio_session")


@pytest.fixture(scope="module")
def served() -> Iterator[Served]:
    with served_mock(media_checks=False, timings=QUICK) as instance:
        yield instance


async def submit(model: str, marker: str = "") -> DashScopeAPIResponse:
    inputs, parameters = submit_example(model)
    if marker:
        first = next(iter(inputs))
        inputs[first] = f"https://example.com/{marker}/{inputs[first].rsplit('/', 1)[-1]}"
    response = await BaseAsyncAioApi.async_call(model=model, input=inputs, **SUBMIT, **parameters)
    assert response.status_code == HTTPStatus.OK, response
    return response


def assert_error(response: DashScopeAPIResponse, status: int, documented: tuple[str, str]) -> None:
    assert response.status_code == status, response
    assert (response.code, response.message) == documented
    assert response.request_id


@pytest.mark.parametrize("model", VIDEO_MODELS)
async def test_async_call_then_wait_ends_succeeded_with_the_documented_result(model: str) -> None:
    task = await submit(model)
    assert task.output["task_status"] == "PENDING"
    assert task.request_id
    done = await BaseAsyncAioApi.wait(task)
    assert done.status_code == HTTPStatus.OK
    assert done.output["task_id"] == task.output["task_id"]
    assert done.output["task_status"] == "SUCCEEDED"
    assert result_url(model, done.output).startswith("http")
    assert done.usage["video_duration"] > 0


async def test_wait_keeps_polling_while_the_task_is_pending(served: Served) -> None:
    marker = uuid.uuid4().hex
    served.hold_pending("emo-v1", marker, 1.0)
    task = await submit("emo-v1", marker)
    done = await BaseAsyncAioApi.wait(task)
    assert done.output["task_status"] == "SUCCEEDED"
    assert served.polls(task.output["task_id"]) >= 2


async def test_call_submits_and_waits_in_one_call() -> None:
    inputs, _ = submit_example("liveportrait")
    done = await BaseAsyncAioApi.call(model="liveportrait", input=inputs, **SUBMIT)
    assert done.status_code == HTTPStatus.OK
    assert done.output["task_status"] == "SUCCEEDED"
    assert result_url("liveportrait", done.output).startswith("http")


async def test_call_with_parameters_submits_and_waits_in_one_call() -> None:
    inputs, parameters = submit_example("liveportrait")
    assert parameters
    done = await BaseAsyncAioApi.call(model="liveportrait", input=inputs, **SUBMIT, **parameters)
    assert done.status_code == HTTPStatus.OK, done
    assert done.output["task_status"] == "SUCCEEDED"
    assert result_url("liveportrait", done.output).startswith("http")


async def test_fetch_and_cancel_of_a_pending_task(served: Served) -> None:
    marker = uuid.uuid4().hex
    served.hold_pending("videoretalk", marker, 60)
    task = await submit("videoretalk", marker)
    fetched = await BaseAsyncAioApi.fetch(task)
    assert fetched.status_code == HTTPStatus.OK
    assert fetched.output["task_status"] == "PENDING"
    canceled = await BaseAsyncAioApi.cancel(task)
    assert canceled.status_code == HTTPStatus.OK
    assert canceled.request_id
    assert (await BaseAsyncAioApi.fetch(task.output["task_id"])).output["task_status"] == "CANCELED"
    assert (await BaseAsyncAioApi.wait(task)).output["task_status"] == "CANCELED"


async def test_cancel_of_a_finished_task_is_unsupported_operation() -> None:
    task = await submit("videoretalk")
    assert (await BaseAsyncAioApi.wait(task)).output["task_status"] == "SUCCEEDED"
    assert_error(await BaseAsyncAioApi.cancel(task), HTTPStatus.BAD_REQUEST, NOT_PENDING)


async def test_list_finds_the_submitted_task() -> None:
    task_id = (await submit("emo-v1")).output["task_id"]
    listed = await BaseAsyncAioApi.list(model_name="emo-v1", page_size=100)
    assert listed.status_code == HTTPStatus.OK
    assert listed.request_id
    assert "request_id" not in listed.output
    assert listed.output["page_no"] == 1 and listed.output["page_size"] == 100
    assert task_id in {item["task_id"] for item in listed.output["data"]}
    assert all(item["model_name"] == "emo-v1" for item in listed.output["data"])


async def test_liveportrait_detect_passes_with_the_empty_parameters_the_sdk_always_sends() -> None:
    inputs, _ = detect_example("liveportrait-detect")
    response = await BaseAioApi.call(model="liveportrait-detect", input=inputs, **DETECT)
    assert response.status_code == HTTPStatus.OK, response
    assert response.output["pass"] is True
    assert response.request_id


@pytest.mark.parametrize("parameters", [{"ratio": "1:1"}, {"ratio": "3:4"}, {}], ids=["1:1", "3:4", "default"])
async def test_emo_detect_returns_the_boxes_for_emo_v1(parameters: dict[str, str]) -> None:
    inputs, _ = detect_example("emo-detect-v1")
    response = await BaseAioApi.call(model="emo-detect-v1", input=inputs, **DETECT, **parameters)
    assert response.status_code == HTTPStatus.OK, response
    assert response.output["check_pass"] is True
    x1, y1, x2, y2 = response.output["ext_bbox"]
    aspect = 0.75 if parameters.get("ratio") == "3:4" else 1.0
    assert (x2 - x1) / (y2 - y1) == pytest.approx(aspect, rel=0.02)
    assert response.usage == {"image_count": 1}


async def test_a_key_the_service_does_not_know_is_invalid_api_key() -> None:
    inputs, parameters = submit_example("emo-v1")
    unknown = str(uuid.uuid4())
    for response in (
        await BaseAsyncAioApi.async_call(model="emo-v1", input=inputs, api_key=WRONG_KEY, **SUBMIT, **parameters),
        await BaseAsyncAioApi.fetch(unknown, api_key=WRONG_KEY),
        await BaseAsyncAioApi.wait(unknown, api_key=WRONG_KEY),
        await BaseAsyncAioApi.cancel(unknown, api_key=WRONG_KEY),
        await BaseAsyncAioApi.list(api_key=WRONG_KEY),
        await BaseAioApi.call(
            model="liveportrait-detect", input=detect_example("liveportrait-detect")[0], api_key=WRONG_KEY, **DETECT
        ),
    ):
        assert_error(response, HTTPStatus.UNAUTHORIZED, INVALID_API_KEY)


async def test_submit_without_the_async_header_is_access_denied() -> None:
    inputs, parameters = submit_example("videoretalk")
    response = await BaseAioApi.call(model="videoretalk", input=inputs, **SUBMIT, **parameters)
    assert_error(response, HTTPStatus.FORBIDDEN, SYNC_CALL_DENIED)


async def test_face_detect_with_the_async_header_is_access_denied() -> None:
    inputs, parameters = detect_example("emo-detect-v1")
    response = await BaseAsyncAioApi.async_call(model="emo-detect-v1", input=inputs, **DETECT, **parameters)
    assert_error(response, HTTPStatus.FORBIDDEN, ASYNC_CALL_DENIED)


async def test_an_unknown_task_id_reads_unknown() -> None:
    task_id = str(uuid.uuid4())
    fetched = await BaseAsyncAioApi.fetch(task_id)
    assert fetched.status_code == HTTPStatus.OK
    assert fetched.output == {"task_id": task_id, "task_status": "UNKNOWN"}
    assert (await BaseAsyncAioApi.wait(task_id)).output["task_status"] == "UNKNOWN"
