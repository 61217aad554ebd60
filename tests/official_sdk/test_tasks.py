"""``BaseAsyncApi`` / ``BaseApi`` (requests) against a served mock: submit, fetch, wait, call, cancel and list for the
three video models, both face detectors, and the documented errors.

Media checks are off in this module: the bodies are the spec's copies of the official request examples (whose URLs,
such as ``http://xxx/1.jpg``, cannot be downloaded); ``test_uploads`` runs real media with the checks on.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Callable, Iterator
from datetime import datetime, timedelta
from http import HTTPStatus
from typing import Any

import dashscope
import pytest
from dashscope import VideoSynthesis
from dashscope.api_entities.api_request_factory import _build_api_request
from dashscope.api_entities.dashscope_response import DashScopeAPIResponse
from dashscope.client.base_api import BaseApi, BaseAsyncApi

from tests.services import free_port

from .conftest import (
    ASYNC_CALL_DENIED,
    DETECT,
    INVALID_API_KEY,
    KEY,
    NOT_PENDING,
    QUICK,
    SUBMIT,
    SYNC_CALL_DENIED,
    TIMESTAMP,
    VIDEO_MODELS,
    WRONG_KEY,
    Served,
    detect_example,
    result_url,
    served_mock,
    submit_example,
)


@pytest.fixture(scope="module")
def served() -> Iterator[Served]:
    with served_mock(media_checks=False, timings=QUICK) as instance:
        yield instance


def submit(model: str, marker: str = "", **kwargs: Any) -> DashScopeAPIResponse:
    """``BaseAsyncApi.async_call`` with the model's documented example; ``marker`` is put into the first input URL
    (to script that one task), ``kwargs`` go to the call (``api_key=``, ``base_address=`` ...)."""
    inputs, parameters = submit_example(model)
    if marker:
        first = next(iter(inputs))
        inputs[first] = f"https://example.com/{marker}/{inputs[first].rsplit('/', 1)[-1]}"
    response = BaseAsyncApi.async_call(model=model, input=inputs, **SUBMIT, **parameters, **kwargs)
    assert response.status_code == HTTPStatus.OK, response
    return response


def assert_error(response: DashScopeAPIResponse, status: int, documented: tuple[str, str]) -> None:
    """An error as the SDK reports it: ``status_code``, ``code``, ``message`` and a ``request_id``."""
    assert response.status_code == status, response
    assert (response.code, response.message) == documented
    assert response.request_id
    assert response.output is None


# ---------------------------------------------------------------------------------------------------- submit & wait


@pytest.mark.parametrize("model", VIDEO_MODELS)
def test_async_call_submits_the_documented_example_as_a_pending_task(model: str) -> None:
    response = submit(model)
    assert response.output["task_status"] == "PENDING"
    assert re.fullmatch(r"[0-9a-f-]{36}", response.output["task_id"])
    assert response.request_id
    assert not response.code


@pytest.mark.parametrize("model", VIDEO_MODELS)
def test_wait_returns_the_succeeded_task_with_the_result_where_the_model_page_puts_it(model: str) -> None:
    task = submit(model)
    done = BaseAsyncApi.wait(task)
    assert done.status_code == HTTPStatus.OK
    output = done.output
    assert output["task_id"] == task.output["task_id"]
    assert output["task_status"] == "SUCCEEDED"
    assert result_url(model, output).startswith("http")
    if model == "videoretalk":
        assert "results" not in output  # videoretalk's link sits directly under output
    else:
        assert "video_url" not in output
    for field in ("submit_time", "scheduled_time", "end_time"):
        assert re.fullmatch(TIMESTAMP, output[field])
    assert output["submit_time"] <= output["scheduled_time"] <= output["end_time"]
    assert done.usage["video_duration"] > 0
    assert done.usage["video_ratio"] in ({"1:1", "3:4"} if model == "emo-v1" else {"standard"})
    assert done.request_id


def test_wait_keeps_polling_while_the_task_is_pending(served: Served) -> None:
    marker = uuid.uuid4().hex
    served.hold_pending("liveportrait", marker, 1.0)
    task = submit("liveportrait", marker)
    done = BaseAsyncApi.wait(task)
    assert done.output["task_status"] == "SUCCEEDED"
    assert (
        served.polls(task.output["task_id"]) >= 2
    )  # the first poll (at once) saw PENDING; wait slept and polled again


def test_fetch_returns_the_pending_task_with_its_submit_time(served: Served) -> None:
    marker = uuid.uuid4().hex
    served.hold_pending("emo-v1", marker, 60)
    task = submit("emo-v1", marker)
    fetched = BaseAsyncApi.fetch(task)
    assert fetched.status_code == HTTPStatus.OK
    assert fetched.output["task_id"] == task.output["task_id"]
    assert fetched.output["task_status"] == "PENDING"
    assert re.fullmatch(TIMESTAMP, fetched.output["submit_time"])
    assert "end_time" not in fetched.output
    assert BaseAsyncApi.fetch(task.output["task_id"]).output["task_status"] == "PENDING"  # by id as well
    assert BaseAsyncApi.cancel(task).status_code == HTTPStatus.OK  # leave nothing queued behind


def test_call_submits_and_waits_in_one_call() -> None:
    inputs, parameters = submit_example("videoretalk")
    done = BaseAsyncApi.call(model="videoretalk", input=inputs, **SUBMIT, **parameters)
    assert done.status_code == HTTPStatus.OK
    assert done.output["task_status"] == "SUCCEEDED"
    assert result_url("videoretalk", done.output).startswith("http")


@pytest.mark.parametrize("model", VIDEO_MODELS)
def test_video_synthesis_wrapper_with_extra_input_submits_a_task_that_succeeds(served: Served, model: str) -> None:
    """The SDK's ``VideoSynthesis`` has no portrait-model wrapper: users pass ``task="image2video"`` and the model's
    inputs as ``extra_input``; it adds ``prompt``, ``extend_prompt`` and ``function`` to ``input`` (ignored, as by the
    service), and its ``wait`` polls the same task API."""
    inputs, parameters = submit_example(model)
    task = VideoSynthesis.async_call(model=model, task="image2video", extra_input=inputs, **parameters)
    assert task.status_code == HTTPStatus.OK, task
    assert task.output.task_status == "PENDING"
    submitted = served.mock.requests("createVideoSynthesis")[-1]
    assert submitted.path == "/api/v1/services/aigc/image2video/video-synthesis"
    done = VideoSynthesis.wait(task)
    assert done.status_code == HTTPStatus.OK
    assert done.output.task_status == "SUCCEEDED"
    assert result_url(model, done.output).startswith("http")


# ---------------------------------------------------------------------------------------------------------- cancel


def test_cancel_of_a_pending_task_cancels_it(served: Served) -> None:
    marker = uuid.uuid4().hex
    served.hold_pending("videoretalk", marker, 60)
    task = submit("videoretalk", marker)
    canceled = BaseAsyncApi.cancel(task)
    assert canceled.status_code == HTTPStatus.OK
    assert canceled.request_id
    assert not canceled.code
    fetched = BaseAsyncApi.fetch(task)
    assert fetched.output["task_status"] == "CANCELED"
    assert re.fullmatch(TIMESTAMP, fetched.output["end_time"])
    assert BaseAsyncApi.wait(task).output["task_status"] == "CANCELED"  # terminal: wait returns it


def test_cancel_of_a_finished_task_is_unsupported_operation() -> None:
    task = submit("liveportrait")
    assert BaseAsyncApi.wait(task).output["task_status"] == "SUCCEEDED"
    assert_error(BaseAsyncApi.cancel(task), HTTPStatus.BAD_REQUEST, NOT_PENDING)
    assert_error(BaseAsyncApi.cancel(task.output["task_id"]), HTTPStatus.BAD_REQUEST, NOT_PENDING)


# ------------------------------------------------------------------------------------------------------------ list


def test_list_finds_a_task_by_model_and_status(served: Served) -> None:
    marker = uuid.uuid4().hex
    served.hold_pending("emo-v1", marker, 60)
    task_id = submit("emo-v1", marker).output["task_id"]
    assert BaseAsyncApi.cancel(task_id).status_code == HTTPStatus.OK
    listed = BaseAsyncApi.list(model_name="emo-v1", status="CANCELED", page_size=100)
    assert listed.status_code == HTTPStatus.OK
    assert listed.request_id
    page = listed.output  # the flat page (no ``output`` wrapper on the wire); the SDK hands the whole body over
    assert {"total", "total_page", "page_no", "page_size", "data"} <= set(page)
    assert "request_id" not in page
    assert page["page_no"] == 1 and page["page_size"] == 100
    assert all(item["model_name"] == "emo-v1" and item["status"] == "CANCELED" for item in page["data"])
    mine = [item for item in page["data"] if item["task_id"] == task_id]
    assert len(mine) == 1
    assert isinstance(mine[0]["gmt_create"], int)  # epoch milliseconds
    succeeded = BaseAsyncApi.list(model_name="emo-v1", status="SUCCEEDED", page_size=100).output["data"]
    assert task_id not in {item["task_id"] for item in succeeded}
    assert all(item["status"] == "SUCCEEDED" for item in succeeded)


def test_list_pages_through_the_tasks() -> None:
    ids = {submit("liveportrait").output["task_id"] for _ in range(3)}
    first = BaseAsyncApi.list(model_name="liveportrait", page_size=1)
    total = first.output["total"]
    assert total >= 3
    assert first.output["total_page"] == total
    seen = set()
    for page_no in range(1, total + 1):
        page = BaseAsyncApi.list(model_name="liveportrait", page_size=1, page_no=page_no).output
        assert page["page_no"] == page_no
        assert len(page["data"]) == 1
        seen.add(page["data"][0]["task_id"])
    assert ids <= seen
    assert len(seen) == total


def test_list_filters_by_the_submit_time_window() -> None:
    task_id = submit("videoretalk").output["task_id"]
    submitted = datetime.strptime(BaseAsyncApi.fetch(task_id).output["submit_time"][:19], "%Y-%m-%d %H:%M:%S")

    def listed(start: datetime, end: datetime) -> set[str]:
        response = BaseAsyncApi.list(
            start_time=start.strftime("%Y%m%d%H%M%S"), end_time=end.strftime("%Y%m%d%H%M%S"), page_size=100
        )
        assert response.status_code == HTTPStatus.OK
        return {item["task_id"] for item in response.output["data"]}

    assert task_id in listed(submitted, submitted + timedelta(seconds=2))
    assert task_id not in listed(submitted - timedelta(hours=2), submitted - timedelta(hours=1))


# ----------------------------------------------------------------------------------------------------- face-detect


def test_the_pinned_sdk_sends_empty_parameters_to_face_detect() -> None:
    """The premise of the next tests, checked on the SDK's own request builder (what ``BaseApi.call`` serialises)."""
    inputs, _ = detect_example("liveportrait-detect")
    request = _build_api_request(
        model="liveportrait-detect",
        input=inputs,
        api_key=KEY,
        task_group="aigc",
        task="image2video",
        function="face-detect",
    )
    assert request.url.endswith("/services/aigc/image2video/face-detect")
    assert request.data.to_request_object() == {"model": "liveportrait-detect", "input": inputs, "parameters": {}}


def test_liveportrait_detect_passes_with_the_empty_parameters_the_sdk_always_sends() -> None:
    """``BaseApi.call`` sends ``"parameters": {}`` on every call; liveportrait-detect documents no parameters and
    the service accepts the SDK's body."""
    inputs, parameters = detect_example("liveportrait-detect")
    assert parameters == {}
    response = BaseApi.call(model="liveportrait-detect", input=inputs, **DETECT)
    assert response.status_code == HTTPStatus.OK, response
    assert response.output["pass"] is True  # ``pass``, not ``check_pass``
    assert "check_pass" not in response.output
    assert response.request_id


@pytest.mark.parametrize(("ratio", "aspect"), [("1:1", 1.0), ("3:4", 0.75)])
def test_emo_detect_returns_the_boxes_for_emo_v1(ratio: str, aspect: float) -> None:
    inputs, _ = detect_example("emo-detect-v1")
    response = BaseApi.call(model="emo-detect-v1", input=inputs, ratio=ratio, **DETECT)
    assert response.status_code == HTTPStatus.OK, response
    output = response.output
    assert output["check_pass"] is True
    assert len(output["face_bbox"]) == 4 and all(isinstance(v, int) for v in output["face_bbox"])
    x1, y1, x2, y2 = output["ext_bbox"]
    assert (x2 - x1) / (y2 - y1) == pytest.approx(aspect, rel=0.02)
    assert response.usage == {"image_count": 1}
    assert response.request_id


def test_emo_detect_without_ratio_uses_the_documented_default_1_1() -> None:
    inputs, _ = detect_example("emo-detect-v1")
    response = BaseApi.call(model="emo-detect-v1", input=inputs, **DETECT)  # the SDK sends "parameters": {}
    assert response.status_code == HTTPStatus.OK, response
    x1, y1, x2, y2 = response.output["ext_bbox"]
    assert (x2 - x1) == pytest.approx(y2 - y1, rel=0.02)


# ---------------------------------------------------------------------------------------------------------- errors


WRONG_KEY_CALLS: dict[str, Callable[[], DashScopeAPIResponse]] = {
    "async_call": lambda: BaseAsyncApi.async_call(
        model="liveportrait", input=submit_example("liveportrait")[0], api_key=WRONG_KEY, **SUBMIT
    ),
    "fetch": lambda: BaseAsyncApi.fetch(str(uuid.uuid4()), api_key=WRONG_KEY),
    "wait": lambda: BaseAsyncApi.wait(str(uuid.uuid4()), api_key=WRONG_KEY),
    "cancel": lambda: BaseAsyncApi.cancel(str(uuid.uuid4()), api_key=WRONG_KEY),
    "list": lambda: BaseAsyncApi.list(api_key=WRONG_KEY),
    "face-detect": lambda: BaseApi.call(
        model="emo-detect-v1", input=detect_example("emo-detect-v1")[0], api_key=WRONG_KEY, **DETECT
    ),
}


@pytest.mark.parametrize("call", WRONG_KEY_CALLS)
def test_a_key_the_service_does_not_know_is_invalid_api_key(call: str) -> None:
    assert_error(WRONG_KEY_CALLS[call](), HTTPStatus.UNAUTHORIZED, INVALID_API_KEY)


def test_the_global_api_key_is_what_authenticates(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(dashscope, "api_key", WRONG_KEY)
    assert_error(BaseAsyncApi.fetch(str(uuid.uuid4())), HTTPStatus.UNAUTHORIZED, INVALID_API_KEY)


def test_submit_without_the_async_header_is_access_denied() -> None:
    """``BaseApi.call`` is synchronous (no ``X-DashScope-Async``): the video models accept asynchronous calls only."""
    inputs, parameters = submit_example("emo-v1")
    response = BaseApi.call(model="emo-v1", input=inputs, **SUBMIT, **parameters)
    assert_error(response, HTTPStatus.FORBIDDEN, SYNC_CALL_DENIED)


def test_face_detect_with_the_async_header_is_access_denied() -> None:
    """``BaseAsyncApi.async_call`` sends ``X-DashScope-Async: enable``: face-detect is synchronous only."""
    inputs, _ = detect_example("liveportrait-detect")
    response = BaseAsyncApi.async_call(model="liveportrait-detect", input=inputs, **DETECT)
    assert_error(response, HTTPStatus.FORBIDDEN, ASYNC_CALL_DENIED)


def test_an_unknown_task_id_reads_unknown(served: Served) -> None:
    task_id = str(uuid.uuid4())
    fetched = BaseAsyncApi.fetch(task_id)
    assert fetched.status_code == HTTPStatus.OK  # not 404
    assert fetched.output == {"task_id": task_id, "task_status": "UNKNOWN"}
    assert fetched.request_id
    waited = BaseAsyncApi.wait(task_id)  # UNKNOWN is terminal: one poll, no sleeping
    assert waited.output["task_status"] == "UNKNOWN"
    assert served.polls(task_id) == 2


# ------------------------------------------------------------------------------------------- per-call arguments


def test_per_call_api_key_and_base_address_reach_the_service(served: Served, monkeypatch: pytest.MonkeyPatch) -> None:
    """With the globals pointing elsewhere (a closed port, a wrong key), every call that takes ``api_key=`` and
    ``base_address=`` still reaches the mock and authenticates."""
    monkeypatch.setattr(dashscope, "base_http_api_url", f"http://127.0.0.1:{free_port()}/api/v1")
    monkeypatch.setattr(dashscope, "api_key", WRONG_KEY)
    where: dict[str, Any] = {"api_key": KEY, "base_address": served.base}
    marker = uuid.uuid4().hex
    served.hold_pending("liveportrait", marker, 60)
    pending = submit("liveportrait", marker, **where)
    assert BaseAsyncApi.fetch(pending, **where).output["task_status"] == "PENDING"
    assert BaseAsyncApi.cancel(pending, **where).status_code == HTTPStatus.OK
    assert BaseAsyncApi.wait(pending, **where).output["task_status"] == "CANCELED"
    listed = BaseAsyncApi.list(model_name="liveportrait", status="CANCELED", page_size=100, **where)
    assert pending.output["task_id"] in {item["task_id"] for item in listed.output["data"]}
    inputs, _ = detect_example("liveportrait-detect")
    detected = BaseApi.call(model="liveportrait-detect", input=inputs, **DETECT, **where)
    assert detected.status_code == HTTPStatus.OK, detected
    assert detected.output["pass"] is True
