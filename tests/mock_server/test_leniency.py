"""Lenient where the service is (``x-leniency`` in the spec), strict where the documents are, strict everywhere with
``--strict-fields``: undocumented keys in ``input``/``parameters`` are accepted, ignored and named in the journal."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from dashscope_mock import SUBMIT_PATH, MockDashScope, mock_dashscope

from .conftest import BODIES, DETECT_PATH, assert_error

WITH_EXTRAS = {
    "liveportrait": {
        **BODIES["liveportrait"],
        "input": {**BODIES["liveportrait"]["input"], "prompt": "", "function": "x"},
        "parameters": {"video_fps": 24, "templat_id": "calm"},  # a typo stays visible in the journal
    },
    "emo-v1": {**BODIES["emo-v1"], "parameters": {"style_level": "calm", "extend_prompt": True}},
    "videoretalk": {**BODIES["videoretalk"], "parameters": {"video_extension": False, "seed": 3}},
}
IGNORED = {
    "liveportrait": "input.prompt, input.function, parameters.templat_id",
    "emo-v1": "parameters.extend_prompt",
    "videoretalk": "parameters.seed",
}


def _post(mock: MockDashScope, path: str, body: dict[str, Any], headers: dict[str, str]) -> httpx.Response:
    with mock.client(headers=headers) as http:
        return http.post(path, json=body)


@pytest.mark.parametrize("model", sorted(WITH_EXTRAS))
def test_undocumented_keys_are_ignored_and_journaled(model: str) -> None:
    with mock_dashscope() as mock:
        answer = _post(mock, SUBMIT_PATH, WITH_EXTRAS[model], mock.headers)
        assert answer.status_code == 200, answer.text
        entry = mock.requests("createVideoSynthesis")[-1]
        assert entry.note == f"undocumented fields ignored: {IGNORED[model]}"
        mock.advance(60)
        task_id = answer.json()["output"]["task_id"]
        with mock.client(headers=mock.headers) as http:
            assert http.get(f"/api/v1/tasks/{task_id}").json()["output"]["task_status"] == "SUCCEEDED"


@pytest.mark.parametrize(
    ("model", "code"),
    [("liveportrait", "InvalidParamter.OutOfDefinition"), ("emo-v1", "InvalidParameter"), ("videoretalk", None)],
)
def test_strict_fields_refuses_them_as_the_schema_says(model: str, code: str | None) -> None:
    with mock_dashscope(strict_fields=True) as mock:
        answer = _post(mock, SUBMIT_PATH, WITH_EXTRAS[model], mock.headers)
        assert answer.status_code == 400, answer.text
        if code is not None:
            assert answer.json()["code"] == code
        assert not list(mock.backend.store.all_tasks())


def test_documented_fields_keep_their_checks() -> None:
    with mock_dashscope() as mock:
        body = {**BODIES["liveportrait"], "parameters": {"video_fps": 100, "extra": 1}}
        assert_error(_post(mock, SUBMIT_PATH, body, mock.headers), 400, "InvalidParamter.OutOfDefinition")
        missing = {"model": "liveportrait", "input": {"image_url": "https://e.com/a.png", "prompt": "x"}}
        assert _post(mock, SUBMIT_PATH, missing, mock.headers).status_code == 400
        top_level = {**BODIES["liveportrait"], "prompt": "x"}  # only input/parameters are lenient
        assert _post(mock, SUBMIT_PATH, top_level, mock.headers).status_code == 400


@pytest.mark.parametrize("strict", [False, True])
def test_face_detect_takes_the_empty_parameters_the_official_sdk_sends(strict: bool) -> None:
    with mock_dashscope(strict_fields=strict) as mock:
        sync = {"Authorization": mock.headers["Authorization"]}
        body = {"model": "liveportrait-detect", "input": {"image_url": "https://e.com/a.png"}, "parameters": {}}
        answer = _post(mock, DETECT_PATH, body, sync)
        assert answer.status_code == 200 and answer.json()["output"] == {"pass": True}
        emo = {"model": "emo-detect-v1", "input": {"image_url": "https://e.com/a.png"}, "parameters": {}}
        answer = _post(mock, DETECT_PATH, emo, sync)
        assert answer.status_code == 200, answer.text
        x1, y1, x2, y2 = answer.json()["output"]["ext_bbox"]
        assert x2 - x1 == y2 - y1, "ratio defaults to the documented 1:1"
        unknown = {**body, "parameters": {"ratio": "1:1"}}
        assert _post(mock, DETECT_PATH, unknown, sync).status_code == (400 if strict else 200)


@pytest.mark.parametrize("strict", [False, True])
def test_task_queries_ignore_undocumented_query_parameters(strict: bool) -> None:
    """The official SDK's aiohttp ``call`` polls with the call's parameters in the query string."""
    with mock_dashscope(strict_fields=strict) as mock, mock.client(headers=mock.headers) as http:
        task_id = http.post(SUBMIT_PATH, json=BODIES["liveportrait"]).json()["output"]["task_id"]
        polled = http.get(f"/api/v1/tasks/{task_id}/", params={"template_id": "normal", "video_fps": 30})
        if strict:
            assert_error(polled, 400, "InvalidParameter")
            return
        assert polled.status_code == 200 and polled.json()["output"]["task_id"] == task_id
        entry = mock.requests("getTask")[-1]
        assert entry.note == "undocumented query parameters ignored: template_id, video_fps"
        assert http.get("/api/v1/tasks", params={"foo": 1}).status_code == 200
