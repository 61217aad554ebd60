"""Live mode: a free subset against the real service, through the validating proxy, checked against the spec and
diffed with the mock.

Runs only with ``make contract-live`` (``DASHSCOPE_LIVE=1``) and a ``DASHSCOPE_API_KEY``; otherwise every test is
reported as SKIPPED with the reason — never as passed. Each request costs nothing: none creates a task. The proxy
records every exchange into ``$DASHSCOPE_LIVE_ARTIFACTS/recordings`` (default ``out/live``) and the drift report is
written beside them when the module ends.
"""

from __future__ import annotations

import os
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from dashscope_mock.http.serving import serve_in_thread
from dashscope_mock.realservice.proxy import VIOLATIONS_HEADER, Proxy
from dashscope_mock.realservice.recording import Recorder

from ._spec import validate_response

pytestmark = pytest.mark.live

SUBMIT = "/api/v1/services/aigc/image2video/video-synthesis/"
SERVICE = "https://dashscope.aliyuncs.com"  # the spec's server the proxied requests are judged as sent to
BODY = {
    "model": "liveportrait",
    "input": {
        "image_url": "https://help-static-aliyun-doc.aliyuncs.com/file-manage-files/zh-CN/20250911/ynhjrg/p874909.png",
        "audio_url": "https://help-static-aliyun-doc.aliyuncs.com/file-manage-files/zh-CN/20251226/fwnqyq/liveportrait_boy.mp3",
    },
}


@pytest.fixture(scope="module")
def live() -> Iterator[httpx.Client]:
    if os.environ.get("DASHSCOPE_LIVE") != "1":
        pytest.skip("live contract tests run only with `make contract-live` (DASHSCOPE_LIVE=1): skipped, not passed")
    key = os.environ.get("DASHSCOPE_API_KEY")
    if not key:
        pytest.skip("DASHSCOPE_API_KEY is not set: the live contract tests were skipped, NOT passed")
    upstream = os.environ.get("DASHSCOPE_BASE_URL", "https://dashscope.aliyuncs.com")
    artifacts = Path(os.environ.get("DASHSCOPE_LIVE_ARTIFACTS", "out/live"))
    recordings = artifacts / "recordings"
    proxy = Proxy(upstream, recorder=Recorder(recordings, upstream=upstream, inputs="hashed"), violations_header=True)
    with (
        serve_in_thread(proxy, lifespan="on") as url,
        httpx.Client(base_url=url, headers={"Authorization": f"Bearer {key}"}, timeout=30) as client,
    ):
        yield client
    from dashscope_mock.realservice.drift import run

    report = artifacts / "drift-report"
    run(
        recordings,
        profile="realistic",
        fail_on="never",
        markdown_path=report.with_suffix(".md"),
        json_path=report.with_suffix(".json"),
        stream=None,
    )


@pytest.fixture(scope="module")
def mock() -> Iterator[httpx.Client]:
    from dashscope_mock import mock_dashscope

    with mock_dashscope() as service, service.client(headers={"Authorization": "Bearer sk-live-diff"}) as client:
        yield client


def _shape(response: httpx.Response) -> dict[str, Any]:
    """What must agree between the service and the mock: status, body keys, code, status of the task."""
    body = response.json()
    output = body.get("output", {}) if isinstance(body, dict) else {}
    return {
        "status": response.status_code,
        "keys": sorted(body),
        "code": body.get("code"),
        "task_status": output.get("task_status"),
        "request_id_header": response.headers.get("x-request-id") == body.get("request_id"),
    }


def _both(live: httpx.Client, mock: httpx.Client, method: str, url: str, **kwargs: Any) -> tuple[Any, Any]:
    real = live.request(method, url, **kwargs)
    validate_response(real, SERVICE)
    assert VIOLATIONS_HEADER.lower() not in real.headers, real.headers.get(VIOLATIONS_HEADER)
    simulated = mock.request(method, url, **kwargs)
    return _shape(real), _shape(simulated)


def test_querying_a_nonexistent_task(live: httpx.Client, mock: httpx.Client) -> None:
    real, simulated = _both(live, mock, "GET", f"/api/v1/tasks/{uuid.uuid4()}")
    assert real["task_status"] == "UNKNOWN"
    assert real == simulated


def test_a_submit_with_an_invalid_parameter_is_rejected_before_a_task_exists(
    live: httpx.Client, mock: httpx.Client
) -> None:
    body = {**BODY, "parameters": {"video_fps": 31}}
    real, simulated = _both(live, mock, "POST", SUBMIT, json=body, headers={"X-DashScope-Async": "enable"})
    assert real["status"] == 400
    assert real == simulated


def test_a_submit_without_the_async_header(live: httpx.Client, mock: httpx.Client) -> None:
    real, simulated = _both(live, mock, "POST", SUBMIT, json=BODY)
    assert real["status"] == 403
    assert real == simulated


def test_a_billed_task_is_recorded_to_its_end(live: httpx.Client) -> None:
    """One real liveportrait task (billed per second of video), polled to its end through the proxy, so the
    recordings hold a whole timeline. Only with ``ALLOW_BILLABLE=1``."""
    if os.environ.get("ALLOW_BILLABLE") != "1":
        pytest.skip("a billed task runs only with ALLOW_BILLABLE=1: skipped, not passed")
    submitted = live.post(SUBMIT, json=BODY, headers={"X-DashScope-Async": "enable"})
    validate_response(submitted, SERVICE)
    task_id = submitted.json()["output"]["task_id"]
    deadline = time.monotonic() + 900  # the real service, real time: there is no virtual clock to move
    status = "PENDING"
    while status not in ("SUCCEEDED", "FAILED", "CANCELED", "UNKNOWN") and time.monotonic() < deadline:
        time.sleep(5)
        answer = live.get(f"/api/v1/tasks/{task_id}")
        validate_response(answer, SERVICE)
        assert VIOLATIONS_HEADER.lower() not in answer.headers, answer.headers.get(VIOLATIONS_HEADER)
        status = answer.json()["output"]["task_status"]
    assert status in ("SUCCEEDED", "FAILED"), f"the task did not end within 15 minutes ({status})"
