"""One served mock per test module, and the SDK pointed at it the way a user points it at the service.

Each module defines a module-scoped ``served`` fixture (``with served_mock(...) as served: yield served``): the mock
runs under uvicorn on a loopback port with its virtual clock flowing with real time, so the SDK's own ``wait`` (which
sleeps 1, 1, 2, 2, 2, 4 ... seconds between polls) sees tasks move. Only ``KEY`` is a valid key of that mock.
The autouse ``sdk_at_mock`` fixture sets ``dashscope.base_http_api_url`` and ``dashscope.api_key`` for each test.

What the tests assert comes from the documentation (the model pages in ``shared/reference/seeds``, the error-code
page, the asynchronous-task page), not from the mock: the documented messages are spelt out below.
"""

from __future__ import annotations

import contextlib
import copy
from collections.abc import AsyncIterator, Iterator, Mapping
from dataclasses import dataclass
from typing import Any

import dashscope
import pytest
from dashscope.api_entities.aio_session import close_shared_aio_session

from dashscope_mock import SUBMIT_PATH, MockDashScope, mock_dashscope
from dashscope_mock.plugins import ModelTiming, timing
from dashscope_openapi import load_spec

KEY = "sk-official-sdk-contract"
WRONG_KEY = "sk-never-issued-by-this-mock"

# BaseApi / BaseAsyncApi build ``{base}/services/{task_group}/{task}/{function}``.
SUBMIT: dict[str, str] = {"task_group": "aigc", "task": "image2video", "function": "video-synthesis"}
DETECT: dict[str, str] = {"task_group": "aigc", "task": "image2video", "function": "face-detect"}
OSS_RESOLVE: dict[str, str] = {"X-DashScope-OssResourceResolve": "enable"}
VIDEO_MODELS = ("liveportrait", "emo-v1", "videoretalk")
DETECTORS = ("liveportrait-detect", "emo-detect-v1")

# Documented answers (error-code page, asynchronous-task page, recorded exchanges).
INVALID_API_KEY = ("InvalidApiKey", "Invalid API-key provided.")
SYNC_CALL_DENIED = ("AccessDenied", "current user api does not support synchronous calls")
ASYNC_CALL_DENIED = ("AccessDenied", "current user api does not support asynchronous calls")
NOT_PENDING = ("UnsupportedOperation", "Failed to cancel the task, please confirm if the task is in PENDING status.")
TERMINAL = frozenset({"SUCCEEDED", "FAILED", "CANCELED", "UNKNOWN"})
TIMESTAMP = r"^\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}\.\d{3}$"  # "2025-12-26 11:33:03.146"

# Shorter than the fast profile (0.5 s queued + 2-3 s working) so that a test's wait ends at the SDK's second poll.
QUICK: dict[str, ModelTiming] = {
    "liveportrait": timing(0.2, ("RUNNING", 0.3)),
    "emo-v1": timing(0.2, ("PRE-PROCESSING", 0.1), ("RUNNING", 0.2), ("POST-PROCESSING", 0.1)),
    "videoretalk": timing(0.2, ("RUNNING", 0.3)),
}

_SPEC_EXAMPLES = {"liveportrait": "liveportrait", "emo-v1": "emo_v1", "videoretalk": "videoretalk"}
_DETECT_EXAMPLES = {"liveportrait-detect": "liveportrait_detect", "emo-detect-v1": "emo_detect"}
_DETECT_PATH = "/api/v1/services/aigc/image2video/face-detect"


@dataclass(frozen=True)
class Served:
    """A mock served on loopback: ``url`` is ``http://127.0.0.1:<port>``, ``base`` what the SDK takes."""

    mock: MockDashScope
    url: str

    @property
    def base(self) -> str:
        return f"{self.url}/api/v1"

    def polls(self, task_id: str) -> int:
        """How many times the task was queried (``GET /api/v1/tasks/{id}``, with or without a trailing slash)."""
        return sum(1 for entry in self.mock.requests("getTask") if entry.path.rstrip("/").endswith(f"/{task_id}"))

    def hold_pending(self, model: str, marker: str, seconds: float) -> None:
        """Script the mock (its documented control surface): the next ``model`` task with ``marker`` in an input URL
        stays PENDING ``seconds`` longer (as behind a busy queue), so that a cancel or a poll finds it PENDING."""
        self.mock.scenario(model, url_contains=marker, extra_seconds={"PENDING": seconds})


@contextlib.contextmanager
def served_mock(**config: Any) -> Iterator[Served]:
    """A fresh mock (``MockConfig`` fields in ``config``) accepting only ``KEY``, served on a loopback port."""
    config.setdefault("frozen_clock", False)
    with mock_dashscope(keys=frozenset({KEY}), **config) as mock, mock.serve() as url:
        yield Served(mock, url)


@pytest.fixture(autouse=True)
def sdk_at_mock(served: Served, monkeypatch: pytest.MonkeyPatch) -> Served:
    """What a user does: ``dashscope.base_http_api_url = ...`` and ``dashscope.api_key = ...``."""
    monkeypatch.setattr(dashscope, "base_http_api_url", served.base)
    monkeypatch.setattr(dashscope, "api_key", KEY)
    monkeypatch.setenv("NO_PROXY", "127.0.0.1,localhost")  # requests/aiohttp honour proxy variables: never for loopback
    return served


@pytest.fixture
async def aio_session() -> AsyncIterator[None]:
    """The aiohttp twins share one ``ClientSession`` per event loop; close it before pytest closes the loop."""
    yield
    await close_shared_aio_session()


def submit_example(model: str) -> tuple[dict[str, Any], dict[str, Any]]:
    """``(input, parameters)`` of the model's request example in the spec (the official pages' examples)."""
    return _split(_example(SUBMIT_PATH, _SPEC_EXAMPLES[model]), model)


def detect_example(model: str) -> tuple[dict[str, Any], dict[str, Any]]:
    return _split(_example(_DETECT_PATH, _DETECT_EXAMPLES[model]), model)


def _example(path: str, name: str) -> Mapping[str, Any]:
    examples = load_spec()["paths"][path]["post"]["requestBody"]["content"]["application/json"]["examples"]
    value: Mapping[str, Any] = examples[name]["value"]
    return value


def _split(body: Mapping[str, Any], model: str) -> tuple[dict[str, Any], dict[str, Any]]:
    assert body["model"] == model
    return copy.deepcopy(dict(body["input"])), copy.deepcopy(dict(body.get("parameters", {})))


def result_url(model: str, output: Mapping[str, Any]) -> str:
    """The result link where the model's page puts it: ``output.results.video_url`` for liveportrait and emo-v1,
    ``output.video_url`` for videoretalk."""
    url = output["video_url"] if model == "videoretalk" else output["results"]["video_url"]
    assert isinstance(url, str)
    return url
