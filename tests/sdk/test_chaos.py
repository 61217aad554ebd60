"""The SDK against every fault kind of the mock (``POST /_mock/faults``), sync and async: each ends in a typed error
or a correct retry, never a hang past the wait's deadline and never a SUCCEEDED the service did not give with its
result. Time is the mock's virtual clock (``sleep=mock.advance``): the SDK's deadlines and backoffs run on it, so a
wait that would last an hour takes milliseconds; only ``latency`` and ``chunked_dribble`` take real time (a few
milliseconds here), as they do by nature. docs/CHAOS.md tabulates what is proven here."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from dashscope_mock import MockDashScope, mock_dashscope
from dashscope_video import AsyncClient, Client, errors

IMAGE, AUDIO = "https://e.com/a.png", "https://e.com/a.mp3"
DEADLINE = 120.0  # virtual seconds: liveportrait ends within a few


@pytest.fixture
def mock() -> Iterator[MockDashScope]:
    with mock_dashscope(seed=4) as instance:
        yield instance


@pytest.fixture
def client(mock: MockDashScope) -> Iterator[Client]:
    with Client(mock.key, base_url=mock.base_url, transport=mock.transport(), sleep=mock.advance) as sdk:
        yield sdk


@pytest.fixture
async def aclient(mock: MockDashScope) -> AsyncIterator[AsyncClient]:
    async with AsyncClient(
        mock.key, base_url=mock.base_url, transport=mock.async_transport(), sleep=mock.async_advance
    ) as sdk:
        yield sdk


def elapsed(mock: MockDashScope, since: float) -> float:
    return mock.backend.now() - since


# Faults on task queries the wait rides out: the answer it returns is the real SUCCEEDED, with its result.
RIDDEN_OUT: dict[str, Callable[[MockDashScope], dict[str, Any]]] = {
    "latency_uniform": lambda m: {
        "kind": "latency",
        "latency_distribution": "uniform",
        "latency_min_seconds": 0.001,
        "latency_max_seconds": 0.003,
        "seed": 1,
        "times": 3,
    },
    "latency_lognormal": lambda m: {
        "kind": "latency",
        "latency_distribution": "lognormal",
        "latency_median_seconds": 0.002,
        "latency_sigma": 0.3,
        "seed": 2,
        "times": 3,
    },
    "connection_reset": lambda m: {"kind": "connection_reset", "times": 2},
    "drop": lambda m: {"kind": "drop", "times": 2},
    "chunked_dribble": lambda m: {"kind": "chunked_dribble", "dribble_bytes": 8, "dribble_interval_ms": 0.5},
    "unknown_status": lambda m: {"kind": "unknown_status", "task_status": "QUEUED", "times": 4},
    "unknown_status_window": lambda m: {
        "kind": "unknown_status",
        "task_status": "QUEUED",
        "times": None,
        "active_until": m.backend.now() + 20,
    },
    "status_regression_window": lambda m: {
        "kind": "status_regression",
        "times": None,
        "active_until": m.backend.now() + 30,
    },
    "error_flapping_window": lambda m: {
        "kind": "error",
        "status": 503,
        "times": None,
        "active_from": m.backend.now() + 1,
        "active_until": m.backend.now() + 15,
    },
    "gateway_html": lambda m: {"kind": "gateway_html", "times": 2},
    "gateway_html_504": lambda m: {"kind": "gateway_html", "gateway_status": 504, "times": 2},
    "error_429": lambda m: {"kind": "error", "status": 429, "retry_after": 3, "times": 2},
    "error_500": lambda m: {"kind": "error", "status": 500, "times": 2},
    "truncated_body": lambda m: {"kind": "truncated_body", "times": 2},
    "reset_mid_body": lambda m: {"kind": "reset_mid_body", "times": 2},
}


def arm(mock: MockDashScope, fields: dict[str, Any]) -> Any:
    kind = fields.pop("kind")
    return mock.fault(kind, "getTask", **fields)


@pytest.mark.parametrize("name", sorted(RIDDEN_OUT))
def test_the_wait_rides_out_the_fault_and_returns_the_real_success(
    mock: MockDashScope, client: Client, name: str
) -> None:
    handle = client.video_synthesis.liveportrait(IMAGE, AUDIO)
    fault = arm(mock, RIDDEN_OUT[name](mock))
    done = client.tasks.wait(handle, timeout=DEADLINE)
    assert done.status == "SUCCEEDED" and done.result.video_url.startswith(mock.base_url)
    mock.assert_fired(fault)
    assert mock.backend.store.get_task(handle.task_id) is not None


@pytest.mark.parametrize("name", sorted(RIDDEN_OUT))
async def test_the_async_wait_rides_out_the_fault_and_returns_the_real_success(
    mock: MockDashScope, aclient: AsyncClient, name: str
) -> None:
    handle = await aclient.video_synthesis.liveportrait(IMAGE, AUDIO)
    fault = arm(mock, RIDDEN_OUT[name](mock))
    done = await aclient.tasks.wait(handle, timeout=DEADLINE)
    assert done.status == "SUCCEEDED" and done.result.video_url.startswith(mock.base_url)
    mock.assert_fired(fault)


# Faults on task queries that never end (times: null): the wait stops at its deadline, or at once with a typed error.
ENDLESS: dict[str, tuple[dict[str, Any], type[Exception]]] = {
    "unknown_status": ({"kind": "unknown_status", "task_status": "QUEUED"}, errors.WaitTimeout),
    "status_regression": ({"kind": "status_regression"}, errors.WaitTimeout),
    "error_503": ({"kind": "error", "status": 503}, errors.WaitTimeout),
    "connection_reset": ({"kind": "connection_reset"}, errors.WaitTimeout),
    "missing_result_url": ({"kind": "missing_result_url"}, errors.APIResponseValidationError),
    "wrong_type": ({"kind": "wrong_type", "field": "output.task_status"}, errors.APIResponseValidationError),
    "wrong_type_output": ({"kind": "wrong_type", "field": "output"}, errors.APIResponseValidationError),
    "malformed_json": ({"kind": "malformed_json"}, errors.APIResponseValidationError),
}


@pytest.mark.parametrize("name", sorted(ENDLESS))
def test_an_endless_fault_ends_the_wait_typed_by_its_deadline(mock: MockDashScope, client: Client, name: str) -> None:
    fields, raised = ENDLESS[name]
    handle = client.video_synthesis.liveportrait(IMAGE, AUDIO)
    arm(mock, {**fields, "times": None})
    started = mock.backend.now()
    with pytest.raises(raised) as failure:
        client.tasks.wait(handle, timeout=30)
    assert elapsed(mock, started) <= 30 + 1e-6, "never past the deadline"
    if isinstance(failure.value, errors.WaitTimeout):
        assert failure.value.last_status != "SUCCEEDED"


@pytest.mark.parametrize("name", sorted(ENDLESS))
async def test_an_endless_fault_ends_the_async_wait_typed_by_its_deadline(
    mock: MockDashScope, aclient: AsyncClient, name: str
) -> None:
    fields, raised = ENDLESS[name]
    handle = await aclient.video_synthesis.liveportrait(IMAGE, AUDIO)
    arm(mock, {**fields, "times": None})
    started = mock.backend.now()
    with pytest.raises(raised):
        await aclient.tasks.wait(handle, timeout=30)
    assert elapsed(mock, started) <= 30 + 1e-6


def test_succeeded_without_its_link_is_a_typed_error_not_a_success(mock: MockDashScope, client: Client) -> None:
    handle = client.video_synthesis.liveportrait(IMAGE, AUDIO)
    mock.fault("missing_result_url", "getTask", times=None)
    with pytest.raises(errors.APIResponseValidationError, match="SUCCEEDED without a result"):
        client.tasks.wait(handle, timeout=DEADLINE)
    task = client.tasks.get(handle)
    assert task.status == "SUCCEEDED" and task.result is None
    with pytest.raises(errors.DownloadError, match="without a result video"):
        client.tasks.download(task, "unused.mp4")


# ------------------------------------------------------------------------------------------- submits
@pytest.mark.parametrize("kind", ["connection_reset", "drop", "reset_mid_body", "truncated_body"])
def test_a_submit_whose_answer_is_lost_is_not_repeated(mock: MockDashScope, client: Client, kind: str) -> None:
    mock.fault(kind, "createVideoSynthesis")
    with pytest.raises(errors.APIConnectionError):
        client.video_synthesis.liveportrait(IMAGE, AUDIO)
    mock.assert_requested("createVideoSynthesis", times=1)  # it may have created a task: never a second one


async def test_an_async_submit_reset_before_its_answer_is_not_repeated(
    mock: MockDashScope, aclient: AsyncClient
) -> None:
    mock.fault("connection_reset", "createVideoSynthesis")
    with pytest.raises(errors.APIConnectionError):
        await aclient.video_synthesis.liveportrait(IMAGE, AUDIO)
    mock.assert_requested("createVideoSynthesis", times=1)


def test_a_submit_answer_with_a_wrong_type_is_a_typed_error(mock: MockDashScope, client: Client) -> None:
    mock.fault("wrong_type", "createVideoSynthesis", field="output.task_id")
    with pytest.raises(errors.APIResponseValidationError):
        client.video_synthesis.liveportrait(IMAGE, AUDIO)


def test_a_dribbled_submit_answer_is_read_whole(mock: MockDashScope, client: Client) -> None:
    mock.fault("chunked_dribble", "createVideoSynthesis", dribble_bytes=5, dribble_interval_ms=0.2)
    handle = client.video_synthesis.liveportrait(IMAGE, AUDIO)
    assert client.tasks.wait(handle, timeout=DEADLINE).status == "SUCCEEDED"


# ------------------------------------------------------------------------------------------- result downloads
@pytest.mark.parametrize(("status", "raised"), [(403, errors.ResultExpired), (404, errors.DownloadError)])
def test_a_result_link_that_fails_is_a_typed_error(
    mock: MockDashScope, client: Client, tmp_path: Path, status: int, raised: type[Exception]
) -> None:
    done = client.tasks.wait(client.video_synthesis.liveportrait(IMAGE, AUDIO), timeout=DEADLINE)
    mock.fault("result_link_error", "getResult", result_status=status)
    with pytest.raises(raised):
        client.tasks.download(done, tmp_path / "out.mp4")
    assert not (tmp_path / "out.mp4").exists()
    assert client.tasks.download(done, tmp_path / "out.mp4").stat().st_size > 0  # the link itself is fine


async def test_an_async_result_link_expiring_early_is_result_expired(
    mock: MockDashScope, aclient: AsyncClient, tmp_path: Path
) -> None:
    done = await aclient.tasks.wait(await aclient.video_synthesis.liveportrait(IMAGE, AUDIO), timeout=DEADLINE)
    mock.fault("result_link_error", "getResult")
    with pytest.raises(errors.ResultExpired):
        await aclient.tasks.download(done, tmp_path / "out.mp4")


@pytest.mark.parametrize("kind", ["connection_reset", "chunked_dribble"])
def test_a_download_rides_out_a_broken_or_slow_connection(
    mock: MockDashScope, client: Client, tmp_path: Path, kind: str
) -> None:
    done = client.tasks.wait(client.video_synthesis.liveportrait(IMAGE, AUDIO), timeout=DEADLINE)
    fields: dict[str, Any] = {"dribble_bytes": 4, "dribble_interval_ms": 0.1} if kind == "chunked_dribble" else {}
    mock.fault(kind, "getResult", **fields)
    assert client.tasks.download(done, tmp_path / "out.mp4").stat().st_size > 0


# ------------------------------------------------------------------------------------------- on a real socket
@pytest.mark.parametrize("kind", ["connection_reset", "chunked_dribble"])
def test_served_the_wait_rides_out_a_reset_and_a_dribble(mock: MockDashScope, kind: str) -> None:
    fields: dict[str, Any] = {"dribble_bytes": 16, "dribble_interval_ms": 0.5} if kind == "chunked_dribble" else {}
    with mock.serve() as base_url, Client(mock.key, base_url=base_url, sleep=mock.advance) as sdk:
        handle = sdk.video_synthesis.liveportrait(IMAGE, AUDIO)
        fault = mock.fault(kind, "getTask", times=2, **fields)
        assert sdk.tasks.wait(handle, timeout=DEADLINE).status == "SUCCEEDED"
    mock.assert_fired(fault, times=2)
