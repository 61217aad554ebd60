"""``tasks.download`` takes what ``get``/``wait``/``cancel`` take: a task id or a handle, as well as a ``Task`` or a
result URL. An id is queried once — never waited on — and its result downloaded when it SUCCEEDED.

Each scenario runs with ``Client`` and ``AsyncClient`` against the in-process mock on its virtual clock.
"""

from __future__ import annotations

import inspect
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from dashscope_mock.testing import MockDashScope, mock_dashscope
from dashscope_video import AsyncClient, Client, errors

IMAGE, AUDIO = "https://example.com/face.png", "https://example.com/voice.mp3"
AnyClient = Client | AsyncClient


@pytest.fixture
def mock() -> Iterator[MockDashScope]:
    with mock_dashscope(seed=2) as instance:
        yield instance


@pytest.fixture(params=["sync", "async"])
def client(request: pytest.FixtureRequest, mock: MockDashScope) -> Iterator[AnyClient]:
    made: AnyClient
    if request.param == "sync":
        made = Client(mock.key, base_url=mock.base_url, transport=mock.transport(), sleep=mock.advance)
    else:
        made = AsyncClient(mock.key, base_url=mock.base_url, transport=mock.async_transport(), sleep=mock.advance)
    yield made
    if isinstance(made, Client):
        made.close()


async def resolve(value: Any) -> Any:
    """A sync method's value as is, an async one's awaited."""
    return await value if inspect.isawaitable(value) else value


async def submitted_task_id(client: AnyClient) -> str:
    handle = await resolve(client.video_synthesis.liveportrait(IMAGE, AUDIO))
    task_id: str = handle.task_id
    return task_id


async def test_a_succeeded_task_id_downloads_its_result(client: AnyClient, mock: MockDashScope, tmp_path: Path) -> None:
    task_id = await submitted_task_id(client)
    done = await resolve(client.tasks.wait(task_id))
    queries = len(mock.requests("getTask"))

    saved = await resolve(client.tasks.download(task_id, tmp_path / "by-id.mp4"))

    assert saved == tmp_path / "by-id.mp4" and saved.stat().st_size > 0
    assert len(mock.requests("getTask")) == queries + 1  # one query for the result link
    by_task = await resolve(client.tasks.download(done, tmp_path / "by-task.mp4"))
    assert saved.read_bytes() == by_task.read_bytes()


async def test_an_unfinished_task_id_says_to_wait_first_without_waiting(
    client: AnyClient, mock: MockDashScope, tmp_path: Path
) -> None:
    task_id = await submitted_task_id(client)
    clock_before = mock.backend.now()

    with pytest.raises(errors.TaskNotFinished) as caught:
        await resolve(client.tasks.download(task_id, tmp_path / "early.mp4"))

    assert caught.value.status == "PENDING" and caught.value.task_id == task_id
    assert f"task {task_id} is PENDING" in str(caught.value) and "tasks.wait" in str(caught.value)
    assert isinstance(caught.value, errors.TaskError)
    assert mock.backend.now() == clock_before  # no implicit wait: not one sleep
    assert len(mock.requests("getTask")) == 1
    assert list(tmp_path.iterdir()) == []


async def test_a_failed_task_id_raises_its_typed_failure(
    client: AnyClient, mock: MockDashScope, tmp_path: Path
) -> None:
    mock.scenario("liveportrait", "InvalidImage.NoHumanFace")
    task_id = await submitted_task_id(client)
    with pytest.raises(errors.TaskFailed):
        await resolve(client.tasks.wait(task_id))

    with pytest.raises(errors.InvalidImage) as caught:
        await resolve(client.tasks.download(task_id, tmp_path / "failed.mp4"))

    assert isinstance(caught.value, errors.TaskFailed)
    assert caught.value.code == "InvalidImage.NoHumanFace" and caught.value.task_id == task_id
    assert list(tmp_path.iterdir()) == []


async def test_a_handle_is_queried_like_an_id(client: AnyClient, mock: MockDashScope, tmp_path: Path) -> None:
    handle = await resolve(client.video_synthesis.liveportrait(IMAGE, AUDIO))
    with pytest.raises(errors.TaskNotFinished, match="PENDING"):
        await resolve(client.tasks.download(handle, tmp_path / "early.mp4"))
    await resolve(client.tasks.wait(handle))
    saved = await resolve(client.tasks.download(handle, tmp_path / "handle.mp4"))
    assert saved.stat().st_size > 0


async def test_a_url_of_another_scheme_is_refused_before_anything_is_sent(
    client: AnyClient, mock: MockDashScope, tmp_path: Path
) -> None:
    with pytest.raises(ValueError, match=r"http\(s\) result URL"):
        await resolve(client.tasks.download("oss://bucket/video.mp4", tmp_path / "x.mp4"))
    assert mock.requests() == []
