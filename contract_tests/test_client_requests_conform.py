"""Client conformance (b): every request the generated client sends validates against the spec (openapi-core).

Bodies and query strings are drawn from the spec by schemathesis, turned into the generated models, checked to
round-trip, and sent through a transport that judges each request with openapi-core.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import httpx
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from dashscope_video_client import AuthenticatedClient
from dashscope_video_client.api.face_detect import detect_face
from dashscope_video_client.api.tasks import list_tasks
from dashscope_video_client.api.video_synthesis import create_video_synthesis
from dashscope_video_client.models import (
    EmoDetectRequest,
    EmoRequest,
    LivePortraitDetectRequest,
    LivePortraitRequest,
    VideoRetalkRequest,
)

from ._spec import schema_strategy, validate_request

REQUEST_CLASSES: dict[str, Callable[[dict[str, Any]], Any]] = {
    "liveportrait": LivePortraitRequest.from_dict,
    "emo-v1": EmoRequest.from_dict,
    "videoretalk": VideoRetalkRequest.from_dict,
    "emo-detect-v1": EmoDetectRequest.from_dict,
    "liveportrait-detect": LivePortraitDetectRequest.from_dict,
}
SETTINGS = settings(max_examples=60, deadline=None, derandomize=True, suppress_health_check=list(HealthCheck))


def _judging_client(sent: list[httpx.Request], answer: dict[str, Any]) -> AuthenticatedClient:
    def handler(request: httpx.Request) -> httpx.Response:
        validate_request(request)
        sent.append(request)
        return httpx.Response(200, json=answer)

    return AuthenticatedClient(
        base_url="https://dashscope.aliyuncs.com",
        token="sk-contract",
        httpx_args={"transport": httpx.MockTransport(handler)},
    )


SUBMITTED = {"output": {"task_id": "t", "task_status": "PENDING"}, "request_id": "r"}


@SETTINGS
@given(schema_strategy("VideoSynthesisRequest", client=True))  # what this toolkit sends: no unknown keys
def test_every_submit_body_round_trips_and_is_sent_as_the_spec_says(body: dict[str, Any]) -> None:
    model = REQUEST_CLASSES[body["model"]](body)
    assert model.to_dict() == body
    sent: list[httpx.Request] = []
    create_video_synthesis.sync_detailed(
        client=_judging_client(sent, SUBMITTED), body=model, x_dash_scope_async="enable"
    )
    assert len(sent) == 1


@SETTINGS
@given(schema_strategy("FaceDetectRequest", client=True))
def test_every_detect_body_round_trips_and_is_sent_as_the_spec_says(body: dict[str, Any]) -> None:
    model = REQUEST_CLASSES[body["model"]](body)
    assert model.to_dict() == body
    sent: list[httpx.Request] = []
    detect_face.sync_detailed(client=_judging_client(sent, {"output": {"pass": True}, "request_id": "r"}), body=model)
    assert len(sent) == 1


LISTED = {"request_id": "r", "total": 0, "total_page": 0, "page_no": 1, "page_size": 10, "data": []}


@SETTINGS
@given(
    st.fixed_dictionaries(
        {},
        optional={
            "status": st.sampled_from(["PENDING", "RUNNING", "SUCCEEDED", "FAILED", "CANCELED"]),
            "page_no": st.integers(min_value=1, max_value=10**6),
            "page_size": st.integers(min_value=1, max_value=10**3),
            "model_name": st.text(min_size=1, max_size=20),
            "start_time": st.from_regex(r"\A[0-9]{14}\Z"),
        },
    )
)
def test_every_list_query_is_sent_as_the_spec_says(query: dict[str, Any]) -> None:
    sent: list[httpx.Request] = []
    list_tasks.sync_detailed(client=_judging_client(sent, LISTED), **query)
    assert len(sent) == 1


def test_the_judge_rejects_a_request_without_the_async_header() -> None:
    """The oracle can fail: a submit without X-DashScope-Async is not what the spec allows."""
    request = httpx.Request(
        "POST",
        "https://dashscope.aliyuncs.com/api/v1/services/aigc/image2video/video-synthesis/",
        headers={"Authorization": "Bearer sk-x", "Content-Type": "application/json"},
        json={"model": "liveportrait", "input": {"image_url": "https://a/a.png", "audio_url": "https://a/a.wav"}},
    )
    try:
        validate_request(request)
    except Exception as error:  # openapi-core raises a family of errors; any of them is a verdict
        assert "X-DashScope-Async" in repr(error) or "header" in repr(error).lower()
    else:  # pragma: no cover - the point of the test
        raise AssertionError("openapi-core accepted a submit without X-DashScope-Async")
