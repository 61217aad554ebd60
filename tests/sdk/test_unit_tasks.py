"""Typed task results, statuses, list/iter and parameters against the in-memory fake (``fakes.py``).

The fake shapes its task answers like the real service (written out in ``fakes.py``, not read from the spec), so these
tests check that the SDK reads each field where the spec's ``x-models.<model>.result`` says it is.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from typing import Any

import httpx
import pytest

from dashscope_openapi import load_spec
from dashscope_video import (
    AsyncClient,
    Client,
    EmoParameters,
    EmoResult,
    LivePortraitParameters,
    LivePortraitResult,
    SucceededTask,
    TaskHandle,
    TaskPage,
    TaskSummary,
    VideoResult,
    VideoRetalkParameters,
    VideoRetalkResult,
    errors,
)

from .fakes import BASE, USAGE, FakeDashScope

SUBMIT = "/api/v1/services/aigc/image2video/video-synthesis/"
IMAGE, AUDIO, VIDEO = "https://x.test/face.png", "https://x.test/voice.mp3", "https://x.test/clip.mp4"

Submit = Callable[[Client], TaskHandle[Any]]
SUBMITS: dict[str, Submit] = {
    "liveportrait": lambda c: c.video_synthesis.liveportrait(IMAGE, AUDIO),
    "emo-v1": lambda c: c.video_synthesis.emo(IMAGE, AUDIO, face_bbox=[1, 2, 3, 4], ext_bbox=[0, 0, 8, 8]),
    "videoretalk": lambda c: c.video_synthesis.videoretalk(VIDEO, AUDIO),
}
RESULT_TYPES: dict[str, type[VideoResult]] = {
    "liveportrait": LivePortraitResult,
    "emo-v1": EmoResult,
    "videoretalk": VideoRetalkResult,
}
URL_AT = {  # where the real service puts the result URL (the spec's examples)
    "liveportrait": ("output", "results", "video_url"),
    "emo-v1": ("output", "results", "video_url"),
    "videoretalk": ("output", "video_url"),
}


def at(data: Mapping[str, Any], path: tuple[str, ...]) -> Any:
    for name in path:
        data = data[name]
    return data


def result_url(task_id: str) -> str:
    return f"{BASE}/results/{task_id}.mp4"


# ---------------------------------------------------------------------------------------------- typed results
@pytest.mark.parametrize("model", list(SUBMITS))
def test_get_with_a_handle_types_the_result_for_its_model(fake: FakeDashScope, client: Client, model: str) -> None:
    result_type = RESULT_TYPES[model]
    handle = SUBMITS[model](client)
    assert handle.result_type is result_type and handle.model == model
    running = client.tasks.get(handle)
    assert running.result is None and not running.finished and not isinstance(running, SucceededTask)
    assert running.result_type is result_type and running.model == model
    fake.clock.t += 5  # the fake's schedule: SUCCEEDED 5 s after submit
    task = client.tasks.get(handle)
    assert isinstance(task, SucceededTask) and type(task.result) is result_type and task.finished
    assert task.result == result_type(
        video_url=result_url(handle.task_id),
        video_duration=USAGE[model]["video_duration"],
        video_ratio=USAGE[model]["video_ratio"],
    )
    # read from where the service put it: output.results.video_url, or output.video_url for videoretalk
    assert at(task.raw, URL_AT[model]) == task.result.video_url
    assert task.raw["usage"] == USAGE[model]
    assert task.failure is None and task.request_id == "r-get"
    assert task.submit_time == task.raw["output"]["submit_time"] and task.end_time == task.raw["output"]["end_time"]
    # a Task handed back keeps its result type; wait gives the same typed result
    assert client.tasks.get(task) == task
    done = client.tasks.wait(handle)
    assert type(done.result) is result_type and done.result == task.result


def test_result_paths_are_per_model(fake: FakeDashScope, client: Client) -> None:
    """videoretalk's URL sits under ``output``, not ``output.results``: read as a liveportrait answer, it has none."""
    handle = SUBMITS["videoretalk"](client)
    fake.clock.t += 5
    as_liveportrait = client.tasks.get(TaskHandle(handle.task_id, LivePortraitResult))
    assert as_liveportrait.status == "SUCCEEDED" and as_liveportrait.result is None
    assert client.tasks.get(handle).result is not None


@pytest.mark.parametrize("model", list(SUBMITS))
def test_get_with_a_bare_id_gives_a_video_result(fake: FakeDashScope, client: Client, model: str) -> None:
    task_id = SUBMITS[model](client).task_id
    fake.clock.t += 5
    task = client.tasks.get(task_id)
    assert task.result_type is VideoResult and task.model is None
    assert type(task.result) is VideoResult
    assert task.result == VideoResult(result_url(task_id), USAGE[model]["video_duration"], USAGE[model]["video_ratio"])
    done = client.tasks.wait(task_id)
    assert type(done.result) is VideoResult and done.result == task.result


def test_pending_task_has_no_result(fake: FakeDashScope, client: Client) -> None:
    task = client.tasks.get(SUBMITS["liveportrait"](client))
    assert (task.status, task.result, task.failure, task.end_time) == ("PENDING", None, None, None)
    assert task.submit_time is not None and not task.finished


def test_unknown_id_reads_unknown(fake: FakeDashScope, client: Client) -> None:
    task = client.tasks.get("no-such-task")
    assert task.status == "UNKNOWN" and task.finished and task.result is None
    assert dict(task.raw) == {"request_id": "r-get", "output": {"task_id": "no-such-task", "task_status": "UNKNOWN"}}


# ---------------------------------------------------------------------------------------------- statuses
def test_unknown_status_parses_is_not_finished_and_wait_polls_through_it(fake: FakeDashScope, client: Client) -> None:
    fake.schedule = [(0, "PENDING"), (1, "QUEUED_SOMEWHERE"), (6, "SUCCEEDED")]
    handle = SUBMITS["liveportrait"](client)
    fake.clock.t += 1
    task = client.tasks.get(handle)
    status: str = task.status  # typed as the spec's literal; at run time whatever the service sent
    assert status == "QUEUED_SOMEWHERE" and not task.finished
    assert task.result is None and task.failure is None
    assert [s.status for s in client.tasks.list().data] == ["QUEUED_SOMEWHERE"]
    statuses: list[str | None] = []
    done = client.tasks.wait(handle, on_progress=lambda p: statuses.append(p.status))
    assert done.status == "SUCCEEDED" and statuses[-1] == "SUCCEEDED"
    assert statuses[:-1] and set(statuses[:-1]) == {"QUEUED_SOMEWHERE"} and len(statuses[:-1]) >= 2


def test_succeeded_without_a_result_url(fake: FakeDashScope, client: Client) -> None:
    """``tasks.get`` reports it as it is; ``tasks.wait`` raises at once rather than waiting for a URL forever."""
    fake.without_result_url = True
    handle = SUBMITS["liveportrait"](client)
    succeeded_at = fake.clock.t + 5  # the fake's schedule
    with pytest.raises(errors.APIResponseValidationError) as caught:
        client.tasks.wait(handle)
    assert handle.task_id in str(caught.value) and caught.value.status == 200
    polls = [e.at for e in fake.requests("GET", "/api/v1/tasks/")]
    assert len([t for t in polls if t < succeeded_at]) >= 2  # polled through PENDING/RUNNING ...
    assert len([t for t in polls if t >= succeeded_at]) == 1  # ... and gave up at the first SUCCEEDED answer
    task = client.tasks.get(handle)
    assert task.status == "SUCCEEDED" and task.finished and task.result is None
    assert not isinstance(task, SucceededTask) and task.raw["usage"] == USAGE["liveportrait"]


# ---------------------------------------------------------------------------------------------- list and iter
def test_list_returns_a_task_page_of_summaries(fake: FakeDashScope, client: Client) -> None:
    handles = [SUBMITS[model](client) for model in SUBMITS]
    page = client.tasks.list(page_size=2)
    assert isinstance(page, TaskPage) and all(isinstance(item, TaskSummary) for item in page.data)
    assert (page.total, page.page_no, page.page_size, page.total_page, page.request_id) == (3, 1, 2, 2, "r")
    assert page.next_page_no == 2
    assert page.data == [
        TaskSummary(handles[0].task_id, "PENDING", "liveportrait"),
        TaskSummary(handles[1].task_id, "PENDING", "emo-v1"),
    ]
    assert page.data[0].raw == {"task_id": handles[0].task_id, "status": "PENDING", "model_name": "liveportrait"}
    last = client.tasks.list(page_no=2, page_size=2)
    assert [item.task_id for item in last.data] == [handles[2].task_id] and last.next_page_no is None
    assert [e.params for e in fake.requests("GET", "/api/v1/tasks")] == [
        {"page_no": "1", "page_size": "2"},
        {"page_no": "2", "page_size": "2"},
    ]


def test_list_sends_only_the_given_filters(fake: FakeDashScope, client: Client) -> None:
    client.tasks.list(status="RUNNING", model_name="emo-v1", start_time="20250101000000")
    (entry,) = fake.requests("GET", "/api/v1/tasks")
    assert entry.params == {
        "status": "RUNNING",
        "model_name": "emo-v1",
        "start_time": "20250101000000",
        "page_no": "1",
        "page_size": "10",
    }


def test_iter_walks_every_page(fake: FakeDashScope, client: Client) -> None:
    ids = [SUBMITS["liveportrait"](client).task_id for _ in range(5)]
    items = list(client.tasks.iter(model_name="liveportrait", page_size=2))
    assert all(isinstance(item, TaskSummary) for item in items) and [item.task_id for item in items] == ids
    pages = fake.requests("GET", "/api/v1/tasks")
    assert [e.params["page_no"] for e in pages] == ["1", "2", "3"]
    assert all(e.params["model_name"] == "liveportrait" and e.params["page_size"] == "2" for e in pages)


async def test_async_iter_walks_every_page(fake: FakeDashScope, aclient: AsyncClient) -> None:
    ids = [(await aclient.video_synthesis.liveportrait(IMAGE, AUDIO)).task_id for _ in range(5)]
    page = await aclient.tasks.list(page_size=2)
    assert isinstance(page, TaskPage) and page.total == 5 and page.total_page == 3
    items = [item async for item in aclient.tasks.iter(page_size=2)]
    assert all(isinstance(item, TaskSummary) for item in items) and [item.task_id for item in items] == ids
    assert [e.params["page_no"] for e in fake.requests("GET", "/api/v1/tasks")] == ["1", "1", "2", "3"]


def test_iter_of_no_tasks(fake: FakeDashScope, client: Client) -> None:
    assert list(client.tasks.iter()) == []
    assert len(fake.requests("GET", "/api/v1/tasks")) == 1


# ---------------------------------------------------------------------------------------------- parameters
def sent_parameters(fake: FakeDashScope) -> Any:
    return json.loads(fake.requests("POST", SUBMIT)[-1].body).get("parameters")


def spec_defaults(schema: str) -> dict[str, Any]:
    properties = load_spec()["components"]["schemas"][schema]["properties"]
    return {name: prop["default"] for name, prop in properties.items() if "default" in prop}


def test_parameters_from_dict_sends_only_the_given_fields(fake: FakeDashScope, client: Client) -> None:
    client.video_synthesis.liveportrait(IMAGE, AUDIO, parameters=LivePortraitParameters.from_dict({"video_fps": 25}))
    assert sent_parameters(fake) == {"video_fps": 25}


def test_parameters_constructor_also_sends_the_spec_defaults(fake: FakeDashScope, client: Client) -> None:
    """``LivePortraitParameters(video_fps=25)`` is the generated attrs constructor: every field it is not given takes
    the spec's default, and those are sent too (use ``from_dict`` to send only some fields)."""
    client.video_synthesis.liveportrait(IMAGE, AUDIO, parameters=LivePortraitParameters(video_fps=25))
    defaults = spec_defaults("LivePortraitParameters")
    assert len(defaults) > 1 and defaults["video_fps"] != 25
    assert sent_parameters(fake) == {**defaults, "video_fps": 25}


def test_no_parameters_sends_none(fake: FakeDashScope, client: Client) -> None:
    """Without ``parameters`` the body has no ``parameters`` object: the service applies its own defaults."""
    client.video_synthesis.liveportrait(IMAGE, AUDIO)
    client.video_synthesis.emo(IMAGE, AUDIO, face_bbox=[1, 2, 3, 4], ext_bbox=[0, 0, 8, 8])
    client.video_synthesis.videoretalk(VIDEO, AUDIO)
    assert [json.loads(e.body).get("parameters") for e in fake.requests("POST", SUBMIT)] == [None, None, None]


def test_emo_and_videoretalk_parameters(fake: FakeDashScope, client: Client) -> None:
    client.video_synthesis.emo(
        IMAGE, AUDIO, face_bbox=[1, 2, 3, 4], ext_bbox=[0, 0, 8, 8], parameters=EmoParameters(style_level="calm")
    )
    assert sent_parameters(fake) == {"style_level": "calm"}
    client.video_synthesis.videoretalk(
        VIDEO, AUDIO, ref_image=IMAGE, parameters=VideoRetalkParameters(video_extension=True)
    )
    body = json.loads(fake.requests("POST", SUBMIT)[-1].body)
    assert body["parameters"] == {"video_extension": True}
    assert body["input"] == {"video_url": VIDEO, "audio_url": AUDIO, "ref_image_url": IMAGE}


@pytest.mark.parametrize(
    "answer",
    [
        {"request_id": "r"},  # no output
        {"request_id": "r", "output": {"task_status": "RUNNING"}},  # no task id
        {"request_id": "r", "output": {"task_id": 7, "task_status": "RUNNING"}},  # not a string
        {"request_id": "r", "output": {"task_id": "t", "task_status": None}},
        {"request_id": "r", "output": {"task_id": "t", "task_status": "FAILED", "code": ["x"]}},
        {
            "request_id": "r",
            "output": {"task_id": "t", "task_status": "SUCCEEDED", "video_url": "http://v"},
            "usage": {"video_duration": "long"},
        },
        ["not", "an", "object"],
    ],
)
def test_a_task_answer_not_shaped_as_the_spec_says_is_a_validation_error(
    fake: FakeDashScope, client: Client, answer: Any
) -> None:
    fake.faults.append(lambda request: httpx.Response(200, json=answer))
    with pytest.raises(errors.APIResponseValidationError) as caught:
        client.tasks.get("t")
    assert caught.value.status == 200
