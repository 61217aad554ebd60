"""Which requests a fault selects (operation, model, task id, key, the ``X-Mock-Fault`` header, a window on the
virtual clock), how a ``latency`` fault draws its waits, and what is refused when a fault is made. Every store picks
by ``scripting.Fault.matches``: the selection is held here for memory, SQLite and Redis alike."""

from __future__ import annotations

import inspect
import json
import statistics
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import redis

from dashscope_mock import MockDashScope, mock_dashscope
from dashscope_mock.domain.records import TaskRecord
from dashscope_mock.domain.scripting import Fault, FaultFacts
from dashscope_mock.http.script_checks import ScriptError
from dashscope_mock.store import MemoryStore, Store, open_store

from .conftest import BODIES

LIVEPORTRAIT = BODIES["liveportrait"]
EMO = BODIES["emo-v1"]
SUBMIT = "/api/v1/services/aigc/image2video/video-synthesis/"


@pytest.fixture
def mock() -> Iterator[MockDashScope]:
    with mock_dashscope(seed=4) as instance:
        yield instance


def submit(http: httpx.Client, body: dict[str, Any]) -> str:
    answer = http.post(SUBMIT, json=body)
    assert answer.status_code == 200, answer.text
    return str(answer.json()["output"]["task_id"])


# ------------------------------------------------------------------------------------------ over HTTP, in process
def test_a_fault_selects_by_the_model_of_the_task_or_of_the_body(mock: MockDashScope) -> None:
    with mock.client(headers=mock.headers) as http:
        portrait, emo = submit(http, LIVEPORTRAIT), submit(http, EMO)
        queried = mock.fault("error", "getTask", model="emo-v1", status=503, times=None)
        assert http.get(f"/api/v1/tasks/{portrait}").status_code == 200
        assert http.get(f"/api/v1/tasks/{emo}").status_code == 503
        submitted = mock.fault("error", "createVideoSynthesis", model="liveportrait", status=500, times=None)
        assert http.post(SUBMIT, json=EMO).status_code == 200
        refused = http.post(SUBMIT, json=LIVEPORTRAIT)
        assert refused.status_code == 500
    mock.assert_fired(queried, times=1)
    mock.assert_fired(submitted, times=1)
    assert "fault #2 (error)" in (mock.requests("createVideoSynthesis")[-1].note or "")


def test_the_body_read_for_the_model_is_replayed_to_the_handler(mock: MockDashScope) -> None:
    mock.fault("latency", "createVideoSynthesis", model="emo-v1", latency_seconds=0.001)
    with mock.client(headers=mock.headers) as http:
        task_id = submit(http, LIVEPORTRAIT)  # not selected: its body still reaches the service whole
        assert http.get(f"/api/v1/tasks/{task_id}").json()["output"]["task_status"] == "PENDING"
        submit(http, EMO)
    assert mock.requests("createVideoSynthesis")[-1].note == "fault #1 (latency)"


def test_a_fault_selects_by_task_id(mock: MockDashScope) -> None:
    with mock.client(headers=mock.headers) as http:
        one, two = submit(http, LIVEPORTRAIT), submit(http, LIVEPORTRAIT)
        mock.fault("error", "getTask", task_id=two, status=503, times=None)
        assert http.get(f"/api/v1/tasks/{one}").status_code == 200
        assert http.get(f"/api/v1/tasks/{two}").status_code == 503


def test_a_fault_selects_by_key_and_never_shows_it_in_clear(mock: MockDashScope) -> None:
    other = "sk-another-caller-7777"
    fault = mock.fault("error", "getTask", key=other, status=503, times=None)
    assert other not in json.dumps(fault.as_record()) and fault.as_dict()["key"] == "sk-…7777"
    with mock.client(headers=mock.headers) as http:
        assert http.get("/api/v1/tasks/abc").status_code == 200
        assert http.get("/api/v1/tasks/abc", headers={"Authorization": f"Bearer {other}"}).status_code == 503
    with mock.client() as control:
        listed = control.get("/_mock/faults").json()["data"]
    assert listed[0]["key"] == "sk-…7777" and other not in json.dumps(listed)


def test_a_per_request_fault_fires_only_on_the_request_that_names_it(mock: MockDashScope) -> None:
    by_id = mock.fault("error", "getTask", per_request=True, status=503, times=None)
    by_name = mock.fault("gateway_html", "getTask", per_request=True, name="flaky-gw", times=None)
    with mock.client(headers=mock.headers) as http:
        assert http.get("/api/v1/tasks/abc").status_code == 200
        assert http.get("/api/v1/tasks/abc", headers=mock.fault_header(by_id)).status_code == 503
        assert http.get("/api/v1/tasks/abc").status_code == 200
        assert http.get("/api/v1/tasks/abc", headers=mock.fault_header("flaky-gw")).status_code == 502
        assert http.get("/api/v1/tasks/abc", headers={"X-Mock-Fault": "99"}).status_code == 200
    mock.assert_fired(by_id, times=1)
    mock.assert_fired(by_name, times=1)


def test_a_window_on_the_virtual_clock_is_a_flapping_query(mock: MockDashScope) -> None:
    now = mock.backend.now()
    mock.fault("error", "getTask", status=503, times=None, active_from=now + 2, active_until=now + 4)
    seen = []
    with mock.client(headers=mock.headers) as http:
        task_id = submit(http, LIVEPORTRAIT)
        for _ in range(6):
            answer = http.get(f"/api/v1/tasks/{task_id}")
            seen.append(answer.status_code)
            mock.advance(1)
    assert seen == [200, 200, 503, 503, 200, 200]


def test_a_uniform_latency_waits_within_its_bounds(mock: MockDashScope) -> None:
    fault = mock.fault(
        "latency",
        "getTask",
        latency_distribution="uniform",
        latency_min_seconds=0.001,
        latency_max_seconds=0.002,
        times=None,
        seed=3,
    )
    with mock.client(headers=mock.headers) as http:
        assert http.get("/api/v1/tasks/abc").status_code == 200
    mock.assert_fired(fault, times=1)


# ------------------------------------------------------------------------------------------ drawn latencies
def test_latency_draws_are_seeded_and_shaped() -> None:
    uniform = Fault(1, "latency", latency_distribution="uniform", latency_min_seconds=1, latency_max_seconds=3, seed=5)
    draws = [uniform.latency(n) for n in range(400)]
    assert draws == [
        Fault(
            2, "latency", latency_distribution="uniform", latency_min_seconds=1, latency_max_seconds=3, seed=5
        ).latency(n)
        for n in range(400)
    ]
    assert min(draws) >= 1 and max(draws) <= 3 and 1.8 < statistics.mean(draws) < 2.2
    lognormal = Fault(
        3, "latency", latency_distribution="lognormal", latency_median_seconds=2, latency_sigma=0.5, seed=9
    )
    waits = [lognormal.latency(n) for n in range(2000)]
    assert 1.8 < statistics.median(waits) < 2.2 and max(waits) <= 60
    assert Fault(4, "latency", latency_seconds=1.5).latency(7) == 1.5


# ------------------------------------------------------------------------------------------ refused when made
@pytest.mark.parametrize(
    ("fields", "named"),
    [
        ({"kind": "slow_loris"}, "fault.kind"),
        ({"kind": "drop", "operation": "getTasks"}, "fault.operation"),
        ({"kind": "drop", "colour": "red"}, "fault.colour"),
        ({"kind": "drop", "dribble_bytes": 4}, "fault.dribble_bytes"),
        ({"kind": "latency", "latency_seconds": 1, "latency_min_seconds": 1}, "fault.latency_min_seconds"),
        (
            {"kind": "latency", "latency_distribution": "uniform", "latency_min_seconds": 2, "latency_max_seconds": 1},
            "fault.latency_max_seconds",
        ),
        ({"kind": "latency", "latency_distribution": "lognormal"}, "fault.latency_median_seconds"),
        ({"kind": "wrong_type", "operation": "getTask", "field": "output.colour"}, "fault.field"),
        ({"kind": "wrong_type", "field": "output.task_status"}, "fault.operation"),
        ({"kind": "unknown_status", "operation": "getTask", "task_status": "RUNNING"}, "fault.task_status"),
        ({"kind": "status_regression", "operation": "listTasks"}, "fault.operation"),
        ({"kind": "result_link_error"}, "fault.operation"),
        ({"kind": "drop", "model": "wan2.1"}, "fault.model"),
        ({"kind": "drop", "active_from": 100, "active_until": 50}, "fault.active_until"),
        ({"kind": "drop", "per_request": True, "name": "12"}, "fault.name"),
    ],
)
def test_a_fault_that_cannot_fire_as_written_is_refused_naming_the_field(
    mock: MockDashScope, fields: dict[str, Any], named: str
) -> None:
    with mock.client() as control:
        answer = control.post("/_mock/faults", json=fields)
    assert answer.status_code == 400 and answer.json()["message"].startswith(named + ":"), answer.text
    kind = fields.pop("kind")
    if not set(fields) <= set(inspect.signature(mock.fault).parameters):  # Python refuses an unknown keyword itself
        return
    with pytest.raises(ScriptError) as refused:
        mock.fault(kind, **fields)
    assert str(refused.value).startswith(named + ":")


# ------------------------------------------------------------------------------------------ every store alike
@pytest.fixture(params=["memory", "sqlite", "redis"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Store]:
    if request.param == "memory":
        yield MemoryStore()
        return
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path / 'state.db'}"
    else:
        url = request.getfixturevalue("redis_url")
        redis.Redis.from_url(url).flushdb()
    opened = open_store(url)
    yield opened
    opened.close()


def picked(store: Store, facts: FaultFacts, operation: str = "getTask") -> list[int]:
    return [fault.id for fault in store.faults.pick("GET", "/api/v1/tasks/t-1", operation, facts)]


def test_every_store_selects_by_model_task_key_header_and_window(store: Store) -> None:
    by_model = store.faults.add(kind="error", model="emo-v1", times=None, status=503)
    assert picked(store, FaultFacts(model="liveportrait")) == []
    assert picked(store, FaultFacts(model="emo-v1")) == [by_model.id]
    store.faults.clear()
    store.faults.add(kind="error", task_id="t-2", times=None, status=503)
    assert picked(store, FaultFacts(task_id="t-1")) == [] and picked(store, FaultFacts(task_id="t-2")) == [1]
    store.faults.clear()
    stored = store.faults.add(kind="error", key="sk-selected-1234", times=None, status=503)
    assert "sk-selected-1234" not in json.dumps([f.as_record() for f in store.faults.list()])
    assert stored.key is not None and picked(store, FaultFacts(key="sk-other-12345678")) == []
    assert picked(store, FaultFacts(key="sk-selected-1234")) == [1]
    store.faults.clear()
    store.faults.add(kind="error", per_request=True, name="mine", times=None, status=503)
    assert picked(store, FaultFacts()) == [] and picked(store, FaultFacts(marks={"1"})) == [1]
    assert picked(store, FaultFacts(marks={"mine"})) == [1]
    store.faults.clear()
    store.faults.add(kind="error", active_from=10.0, active_until=20.0, times=None, status=503)
    assert [picked(store, FaultFacts(now=t)) for t in (9.9, 10.0, 19.9, 20.0)] == [[], [1], [1], []]
    assert picked(store, FaultFacts()) == [], "a window without an instant: never"


def test_the_model_is_read_only_when_a_fault_selects_by_it(store: Store) -> None:
    reads: list[str] = []

    def model_of() -> str:
        reads.append("read")
        return "emo-v1"

    store.faults.add(kind="error", times=None, status=503)
    assert picked(store, FaultFacts(model_of=model_of)) == [1] and reads == []
    store.faults.add(kind="drop", model="emo-v1", times=None)
    assert picked(store, FaultFacts(model_of=model_of)) == [1, 2] and reads == ["read"]


def test_a_task_record_names_the_model_of_its_routes() -> None:
    record = TaskRecord(
        task_id="t-1",
        key="sk-a",
        model="videoretalk",
        seq=1,
        submit_at=1.0,
        start_at=2.0,
        durations=(1.0,),
        inputs_json="{}",
        request_id="r",
    )
    with mock_dashscope() as mock:
        mock.backend.store.add_task(record)
        mock.fault("error", "getTask", model="videoretalk", status=503)
        with mock.client(headers=mock.headers) as http:
            assert http.get("/api/v1/tasks/t-1").status_code == 503
