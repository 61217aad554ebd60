"""The official ``dashscope`` SDK (``BaseAsyncApi.async_call`` / ``wait``, requests underneath) against every fault
kind of the mock: what it does, measured. docs/CHAOS.md's "official SDK" column is these tests' expectations.

How: one served mock (uvicorn on loopback, a frozen virtual clock) accepting ``KEY``; ``dashscope.client.base_api``'s
``time`` is replaced by the mock's clock (``sleep`` advances it, ``time`` reads it), so ``wait``'s pauses and its
``wait_timeout`` run on virtual time and a wait that never ends is cut by ``wait_timeout`` in milliseconds. Each
test arms one fault on the task queries (or the submit), then records what the caller gets: the answer ``wait``
returns (status, task status, whether it carries the result link), or the exception it raises.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from dashscope.client import base_api
from dashscope.client.base_api import BaseAsyncApi

from .conftest import KEY, SUBMIT, Served, served_mock, submit_example

WAIT_TIMEOUT = 60  # virtual seconds; liveportrait ends within a few


@pytest.fixture(scope="module")
def served() -> Iterator[Served]:
    with served_mock(media_checks=False, frozen_clock=True) as instance:
        yield instance


class VirtualTime:
    """What ``base_api`` uses of ``time``, on the mock's clock."""

    def __init__(self, served: Served) -> None:
        self.mock = served.mock

    def sleep(self, seconds: float) -> None:
        self.mock.advance(seconds)

    def time(self) -> float:
        return self.mock.backend.now()


@pytest.fixture(autouse=True)
def virtual_time(served: Served, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.setattr(base_api, "time", VirtualTime(served))
    served.mock.backend.faults.clear()
    yield
    served.mock.backend.faults.clear()


@dataclass(frozen=True)
class Outcome:
    """What a caller of ``wait`` got: ``raised`` (an exception's class name), or the answer's HTTP status, code,
    task status and whether the result link is there."""

    raised: str | None = None
    status_code: int | None = None
    code: str | None = None
    task_status: Any = None
    has_url: bool = False


def outcome_of(call: Any) -> Outcome:
    try:
        response = call()
    except Exception as error:  # what the official SDK lets out is the measurement
        return Outcome(raised=type(error).__name__)
    output: dict[str, Any] = response.output if isinstance(response.output, dict) else {}
    results: dict[str, Any] = output["results"] if isinstance(output.get("results"), dict) else {}
    return Outcome(
        status_code=int(response.status_code),
        code=response.code or None,
        task_status=output.get("task_status"),
        has_url=bool(output.get("video_url") or results.get("video_url")),
    )


def submit() -> Any:
    inputs, parameters = submit_example("liveportrait")
    response = BaseAsyncApi.async_call(model="liveportrait", input=inputs, api_key=KEY, **SUBMIT, **parameters)
    assert response.status_code == 200, response
    return response


def wait(task: Any) -> Outcome:
    return outcome_of(lambda: BaseAsyncApi.wait(task, api_key=KEY, wait_timeout=WAIT_TIMEOUT))


SUCCESS = Outcome(status_code=200, task_status="SUCCEEDED", has_url=True)
GAVE_UP = Outcome(status_code=408, code="WaitTaskTimeout")

# kind (and fields) on the task queries, a few times (``times``) -> what ``wait`` gave.
A_FEW_TIMES: dict[str, tuple[dict[str, Any], Outcome]] = {
    "latency": ({"kind": "latency", "latency_seconds": 0.002}, SUCCESS),
    "latency_uniform": (
        {
            "kind": "latency",
            "latency_distribution": "uniform",
            "latency_min_seconds": 0.001,
            "latency_max_seconds": 0.003,
        },
        SUCCESS,
    ),
    "error_503": ({"kind": "error", "status": 503}, SUCCESS),
    "error_429": ({"kind": "error", "status": 429}, Outcome(status_code=429, code="Throttling.RateQuota")),
    "error_500": ({"kind": "error", "status": 500}, Outcome(status_code=500, code="InternalError")),
    "gateway_html_502": ({"kind": "gateway_html"}, Outcome(status_code=502, code="Unknown")),
    "gateway_html_504": ({"kind": "gateway_html", "gateway_status": 504}, SUCCESS),
    "malformed_json": ({"kind": "malformed_json"}, Outcome(raised="JSONDecodeError")),
    "drop": ({"kind": "drop"}, Outcome(raised="ConnectionError")),
    "connection_reset": ({"kind": "connection_reset"}, Outcome(raised="ConnectionError")),
    "truncated_body": ({"kind": "truncated_body"}, Outcome(raised="ChunkedEncodingError")),
    "reset_mid_body": ({"kind": "reset_mid_body"}, Outcome(raised="ChunkedEncodingError")),
    "chunked_dribble": ({"kind": "chunked_dribble", "dribble_bytes": 8, "dribble_interval_ms": 0.5}, SUCCESS),
    "wrong_type": ({"kind": "wrong_type", "field": "output.task_status"}, SUCCESS),
    "unknown_status": ({"kind": "unknown_status", "task_status": "QUEUED"}, SUCCESS),
    "status_regression": ({"kind": "status_regression"}, SUCCESS),
    "missing_result_url": (
        {"kind": "missing_result_url"},
        Outcome(status_code=200, task_status="SUCCEEDED", has_url=False),
    ),
}

# The same kinds on every query (``times: null``): a wait that can only end by its ``wait_timeout``, or not.
ALWAYS: dict[str, tuple[dict[str, Any], Outcome]] = {
    "error_503": ({"kind": "error", "status": 503}, GAVE_UP),
    "unknown_status": ({"kind": "unknown_status", "task_status": "QUEUED"}, GAVE_UP),
    "status_regression": ({"kind": "status_regression"}, GAVE_UP),
    "wrong_type": ({"kind": "wrong_type", "field": "output.task_status"}, GAVE_UP),
    "wrong_type_output": ({"kind": "wrong_type", "field": "output"}, Outcome(raised="TypeError")),
    "missing_result_url": (
        {"kind": "missing_result_url"},
        Outcome(status_code=200, task_status="SUCCEEDED", has_url=False),
    ),
}


def arm(served: Served, fields: dict[str, Any], operation: str = "getTask", **extra: Any) -> None:
    body = dict(fields)
    kind = body.pop("kind")
    served.mock.fault(kind, operation, **body, **extra)


@pytest.mark.parametrize("name", sorted(A_FEW_TIMES))
def test_what_wait_gives_after_a_fault_on_two_queries(served: Served, name: str) -> None:
    fields, measured = A_FEW_TIMES[name]
    task = submit()
    served.mock.advance(10)  # the task SUCCEEDED: a fault that lets the answer through shows it at once
    arm(served, fields, times=2)
    assert wait(task) == measured


@pytest.mark.parametrize("name", sorted(ALWAYS))
def test_what_wait_gives_when_every_query_is_faulted(served: Served, name: str) -> None:
    fields, measured = ALWAYS[name]
    task = submit()
    arm(served, fields, times=None)
    started = served.mock.backend.now()
    assert wait(task) == measured
    assert served.mock.backend.now() - started <= WAIT_TIMEOUT + 6  # its last pause (up to 5 s) may overshoot


@pytest.mark.parametrize("kind", ["connection_reset", "drop"])
def test_a_submit_whose_connection_breaks_before_the_answer_is_sent_again(served: Served, kind: str) -> None:
    before = len(served.mock.requests("createVideoSynthesis"))
    arm(served, {"kind": kind}, "createVideoSynthesis")
    assert outcome_of(submit) == Outcome(status_code=200, task_status="PENDING")
    # requests (urllib3) repeats the POST on its own: against the service, where the first may have created a task
    # already, that is a second, billed task.
    assert len(served.mock.requests("createVideoSynthesis")) == before + 2


@pytest.mark.parametrize(
    ("kind", "raised"),
    [
        ("reset_mid_body", "ChunkedEncodingError"),
        ("truncated_body", "ChunkedEncodingError"),
        ("malformed_json", "JSONDecodeError"),
    ],
)
def test_a_submit_whose_answer_is_broken_raises_and_is_not_repeated(served: Served, kind: str, raised: str) -> None:
    before = len(served.mock.requests("createVideoSynthesis"))
    arm(served, {"kind": kind}, "createVideoSynthesis")
    assert outcome_of(submit) == Outcome(raised=raised)
    assert len(served.mock.requests("createVideoSynthesis")) == before + 1


def test_a_submit_answer_with_a_wrong_type_is_returned_as_it_came(served: Served) -> None:
    arm(served, {"kind": "wrong_type", "field": "output.task_id"}, "createVideoSynthesis")
    response = submit()
    assert response.output["task_id"] == 0  # handed on: the wait that follows asks for task "0"
