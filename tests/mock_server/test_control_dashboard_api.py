"""The control-plane routes the dashboard uses (issue 12): task times and failures in the listing, one task with its
request and timeline, removing one scenario or fault, the catalogue, the journal after a seq, and the page's files.
The timeline's rules are tested on records (``lifecycle.timeline``) and through the route, on the virtual clock."""

from __future__ import annotations

import re
from typing import Any

import httpx
import pytest

from dashscope_mock import MockDashScope
from dashscope_mock.domain.lifecycle import derive, timeline
from dashscope_mock.domain.records import TaskRecord
from dashscope_openapi import error_catalogue, load_control_spec, load_spec

from .conftest import BODIES, assert_error, submit, task

TIME = re.compile(r"^\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}\.\d{3}$")
LIVEPORTRAIT = ("RUNNING",)
EMO = ("PRE-PROCESSING", "RUNNING", "POST-PROCESSING")
TIMEOUT = 3 * 3600.0


def _record(durations: tuple[float, ...], **fields: Any) -> TaskRecord:
    """Submitted at 100, its slot free at 101, claimed and its outcome known at submit (unless ``fields`` say)."""
    values: dict[str, Any] = {"start_at": 101.0, "claimed_at": 100.0, "known_at": 100.0, **fields}
    return TaskRecord(
        task_id="t", key="sk-a", model="m", seq=1, submit_at=100.0, durations=durations, inputs_json="{}", **values
    )


def _consistent(record: TaskRecord, statuses: tuple[str, ...], until: float) -> None:
    """At every instant (a fine grid), the timeline's last entry so far is what ``derive`` says."""
    points = timeline(record, statuses, until, TIMEOUT)
    at = record.submit_at
    while at <= until:
        reached = [status for status, began in points if began <= at]
        assert reached[-1] == derive(record, statuses, at, TIMEOUT).status, (at, points)
        at += 0.125


# --- the rules, on records ------------------------------------------------------------------------------------------


def test_timeline_of_a_success_lists_only_what_was_reached() -> None:
    record = _record((2.0,))
    assert timeline(record, LIVEPORTRAIT, 100.5, TIMEOUT) == [("PENDING", 100.0)]
    assert timeline(record, LIVEPORTRAIT, 102.0, TIMEOUT) == [("PENDING", 100.0), ("RUNNING", 101.0)]
    done = timeline(record, LIVEPORTRAIT, 500.0, TIMEOUT)
    assert done == [("PENDING", 100.0), ("RUNNING", 101.0), ("SUCCEEDED", 103.0)]
    assert done[-1][1] == derive(record, LIVEPORTRAIT, 500.0, TIMEOUT).end_at
    _consistent(record, LIVEPORTRAIT, 106.0)


def test_timeline_of_a_failure_ends_at_the_gate_or_when_the_outcome_was_known() -> None:
    failed = _record((2.0,), failure_code="InvalidImage.NoHumanFace", failure_message="No human face detected.")
    assert timeline(failed, LIVEPORTRAIT, 500.0, TIMEOUT) == [("PENDING", 100.0), ("RUNNING", 101.0), ("FAILED", 103.0)]
    late = _record((2.0,), known_at=110.0, failure_code="InvalidImage.NoHumanFace", failure_message="x")
    assert timeline(late, LIVEPORTRAIT, 109.0, TIMEOUT) == [("PENDING", 100.0), ("RUNNING", 101.0)]
    assert timeline(late, LIVEPORTRAIT, 500.0, TIMEOUT)[-1] == ("FAILED", 110.0)
    _consistent(late, LIVEPORTRAIT, 112.0)


def test_timeline_of_a_cancel_while_pending() -> None:
    canceled = _record((2.0,), canceled_at=100.5, claimed_at=None, known_at=None)
    assert timeline(canceled, LIVEPORTRAIT, 100.4, TIMEOUT) == [("PENDING", 100.0)]
    assert timeline(canceled, LIVEPORTRAIT, 500.0, TIMEOUT) == [("PENDING", 100.0), ("CANCELED", 100.5)]
    _consistent(canceled, LIVEPORTRAIT, 104.0)


def test_timeline_walks_emo_v1s_three_phases() -> None:
    record = _record((0.5, 1.5, 0.5))
    assert timeline(record, EMO, 102.0, TIMEOUT) == [("PENDING", 100.0), ("PRE-PROCESSING", 101.0), ("RUNNING", 101.5)]
    assert timeline(record, EMO, 500.0, TIMEOUT) == [
        ("PENDING", 100.0),
        ("PRE-PROCESSING", 101.0),
        ("RUNNING", 101.5),
        ("POST-PROCESSING", 103.0),
        ("SUCCEEDED", 103.5),
    ]
    _consistent(record, EMO, 105.0)
    slow = _record((0.5, 1.5, 0.5), known_at=108.0)  # the outcome came late: POST-PROCESSING starts then
    assert timeline(slow, EMO, 500.0, TIMEOUT)[-2:] == [("POST-PROCESSING", 108.0), ("SUCCEEDED", 108.5)]
    _consistent(slow, EMO, 110.0)


def test_timeline_of_a_task_whose_outcome_never_came_times_out() -> None:
    record = _record((2.0,), known_at=None)
    assert timeline(record, LIVEPORTRAIT, 101.0 + TIMEOUT, TIMEOUT)[-1] == ("FAILED", 101.0 + TIMEOUT)
    assert timeline(record, LIVEPORTRAIT, 100.0 + TIMEOUT, TIMEOUT)[-1] == ("RUNNING", 101.0)


def test_a_task_queued_for_a_worker_stays_pending_and_a_task_with_no_wait_starts_at_submit() -> None:
    queued = _record((2.0,), claimed_at=None, known_at=None)
    assert timeline(queued, LIVEPORTRAIT, 500.0, TIMEOUT) == [("PENDING", 100.0)]
    claimed_late = _record((2.0,), claimed_at=104.0, known_at=104.5)
    assert timeline(claimed_late, LIVEPORTRAIT, 500.0, TIMEOUT) == [
        ("PENDING", 100.0),
        ("RUNNING", 104.0),
        ("SUCCEEDED", 106.0),
    ]
    at_once = _record((2.0,), start_at=100.0)
    assert timeline(at_once, LIVEPORTRAIT, 100.0, TIMEOUT) == [("PENDING", 100.0), ("RUNNING", 100.0)]


# --- through the routes ---------------------------------------------------------------------------------------------


async def _detail(client: httpx.AsyncClient, task_id: str) -> dict[str, Any]:
    response = await client.get(f"/_mock/tasks/{task_id}")
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def _listed(body: dict[str, Any], task_id: str) -> dict[str, Any]:
    return next(item for item in body["data"] if item["task_id"] == task_id)


async def test_listed_tasks_show_the_times_getTask_prints(mock: MockDashScope, client: httpx.AsyncClient) -> None:
    task_id = await submit(client)
    pending = _listed((await client.get("/_mock/tasks")).json(), task_id)
    assert TIME.match(pending["submit_time"]) and "scheduled_time" not in pending and "end_time" not in pending
    mock.advance(1.0)
    running = _listed((await client.get("/_mock/tasks")).json(), task_id)
    public = (await task(client, task_id))["output"]
    assert running["scheduled_time"] == public["scheduled_time"] and "end_time" not in running
    mock.advance(10.0)
    done = _listed((await client.get("/_mock/tasks")).json(), task_id)
    public = (await task(client, task_id))["output"]
    assert (done["status"], done["scheduled_time"], done["end_time"]) == (
        "SUCCEEDED",
        public["scheduled_time"],
        public["end_time"],
    )
    assert "code" not in done and "message" not in done


async def test_a_scripted_failure_shows_its_code_and_message_once_failed(
    mock: MockDashScope, client: httpx.AsyncClient
) -> None:
    mock.scenario("liveportrait", "InvalidImage.NoHumanFace")
    task_id = await submit(client)
    mock.advance(1.0)
    running = _listed((await client.get("/_mock/tasks")).json(), task_id)
    assert running["status"] == "RUNNING" and "code" not in running, "the outcome is not told before it happens"
    mock.advance(10.0)
    failed = _listed((await client.get("/_mock/tasks")).json(), task_id)
    public = (await task(client, task_id))["output"]
    assert (failed["status"], failed["code"], failed["message"]) == ("FAILED", public["code"], public["message"])
    assert public["code"] == "InvalidImage.NoHumanFace"
    detail = await _detail(client, task_id)
    assert [p["status"] for p in detail["timeline"]] == ["PENDING", "RUNNING", "FAILED"]
    assert (detail["code"], detail["message"]) == (public["code"], public["message"])
    assert "result_url" not in detail and "video_duration" not in detail


async def test_one_task_with_its_request_timeline_and_playable_result(
    mock: MockDashScope, client: httpx.AsyncClient
) -> None:
    task_id = await submit(client)
    first = await _detail(client, task_id)
    assert [p["status"] for p in first["timeline"]] == ["PENDING"]
    assert first["request"] == {"input": BODIES["liveportrait"]["input"], "parameters": {"video_fps": 24}}
    mock.advance(10.0)
    detail = await _detail(client, task_id)
    public = await task(client, task_id)
    output = public["output"]
    assert [(p["status"], p["time"]) for p in detail["timeline"]] == [
        ("PENDING", output["submit_time"]),
        ("RUNNING", output["scheduled_time"]),
        ("SUCCEEDED", output["end_time"]),
    ]
    assert all(TIME.match(p["time"]) for p in detail["timeline"])
    assert [p["at"] for p in detail["timeline"]] == sorted(p["at"] for p in detail["timeline"])
    assert (detail["video_duration"], detail["video_ratio"]) == (
        public["usage"]["video_duration"],
        public["usage"]["video_ratio"],
    )
    listed = _listed((await client.get("/_mock/tasks")).json(), task_id)
    assert {k: v for k, v in detail.items() if k in listed} == listed, "the listing's fields, the same values"
    video = await client.get(detail["result_url"], headers={"Authorization": ""})
    assert video.status_code == 200 and video.headers["content-type"] == "video/mp4"


async def test_the_timeline_of_a_canceled_and_of_an_emo_v1_task(mock: MockDashScope, client: httpx.AsyncClient) -> None:
    canceled = await submit(client)
    assert (await client.post(f"/api/v1/tasks/{canceled}/cancel")).status_code == 200
    emo = await submit(client, "emo-v1")
    mock.advance(1.6)  # emo-v1 (fast): PENDING 0.5 s, PRE-PROCESSING 0.5 s, RUNNING 1.5 s, POST-PROCESSING 0.5 s
    midway = await _detail(client, emo)
    assert [p["status"] for p in midway["timeline"]] == ["PENDING", "PRE-PROCESSING", "RUNNING"]
    mock.advance(10.0)
    statuses = [p["status"] for p in (await _detail(client, emo))["timeline"]]
    assert statuses == ["PENDING", "PRE-PROCESSING", "RUNNING", "POST-PROCESSING", "SUCCEEDED"]
    stopped = await _detail(client, canceled)
    assert [p["status"] for p in stopped["timeline"]] == ["PENDING", "CANCELED"]
    assert stopped["timeline"][-1]["at"] == stopped["end_at"]


async def test_an_unknown_task_is_not_found(client: httpx.AsyncClient) -> None:
    assert_error(await client.get("/_mock/tasks/no-such-task"), 404, "NotFound")


async def test_one_scenario_and_one_fault_are_removed(mock: MockDashScope, client: httpx.AsyncClient) -> None:
    scripted = await client.post("/_mock/scenarios", json={"model": "liveportrait", "code": "InvalidImage.NoHumanFace"})
    other = await client.post("/_mock/scenarios", json={"model": "emo-v1", "extra_seconds": {"RUNNING": 5}})
    removed = await client.delete(f"/_mock/scenarios/{scripted.json()['id']}")
    assert (removed.status_code, removed.json()) == (200, {"status": "ok"})
    assert [s["id"] for s in (await client.get("/_mock/scenarios")).json()["data"]] == [other.json()["id"]]
    assert_error(await client.delete(f"/_mock/scenarios/{scripted.json()['id']}"), 404, "NotFound")
    task_id = await submit(client)
    mock.advance(10.0)
    assert (await task(client, task_id))["output"]["task_status"] == "SUCCEEDED", "the removed scenario is not used"

    fault = await client.post("/_mock/faults", json={"kind": "error", "operation": "getTask", "status": 503})
    assert (await client.delete(f"/_mock/faults/{fault.json()['id']}")).json() == {"status": "ok"}
    assert (await client.get("/_mock/faults")).json()["data"] == []
    assert (await client.get(f"/api/v1/tasks/{task_id}")).status_code == 200, "the removed fault does not fire"
    assert_error(await client.delete("/_mock/faults/7"), 404, "NotFound")


async def test_the_catalogue_is_the_specs(client: httpx.AsyncClient) -> None:
    body = (await client.get("/_mock/catalogue")).json()
    assert body["models"] == [{"name": name, "kind": facts["kind"]} for name, facts in load_spec()["x-models"].items()]
    entries = error_catalogue().entries
    assert len(body["codes"]) == len(entries)
    for item, found in zip(body["codes"], entries, strict=True):
        assert (item["code"], item["status"], item["stage"], item["message"]) == (
            found.code,
            found.status,
            found.stage,
            found.message,
        )
        assert item["models"] == list(found.models) and item.get("reason") == found.reason
    offered = next(i for i in body["codes"] if "liveportrait" in i["models"] and i["stage"] == "task")
    armed = await client.post("/_mock/scenarios", json={"model": "liveportrait", "code": offered["code"]})
    assert armed.status_code == 201, "what the catalogue offers, a scenario accepts"


async def test_the_journal_after_a_seq(client: httpx.AsyncClient) -> None:
    ids = [await submit(client) for _ in range(3)]
    await client.get(f"/api/v1/tasks/{ids[0]}")
    everything = (await client.get("/_mock/requests")).json()["data"]
    assert [e["seq"] for e in everything] == [1, 2, 3, 4]
    after = (await client.get("/_mock/requests", params={"after_seq": 2})).json()["data"]
    assert after == everything[2:]
    only = (await client.get("/_mock/requests", params={"after_seq": 1, "operation": "getTask"})).json()["data"]
    assert [e["seq"] for e in only] == [4]
    assert (await client.get("/_mock/requests", params={"after_seq": 4})).json()["data"] == []
    assert_error(await client.get("/_mock/requests", params={"after_seq": -1}), 400, "InvalidParameter")


# --- the page's files -----------------------------------------------------------------------------------------------


async def test_the_page_is_served_as_html_not_cached(client: httpx.AsyncClient) -> None:
    page = await client.get("/_mock/dashboard")
    assert page.status_code == 200
    assert page.headers["content-type"].startswith("text/html")
    assert page.headers["cache-control"] == "no-cache"
    assert "<html" in page.text.lower()
    assert (await client.get("/_mock/dashboard/")).text == page.text, "with or without the trailing slash"


@pytest.mark.parametrize(("name", "media_type"), sorted(load_control_spec()["x-dashboard"]["assets"].items()))
async def test_each_listed_asset_is_served_with_its_media_type(
    client: httpx.AsyncClient, name: str, media_type: str
) -> None:
    answer = await client.get(f"/_mock/dashboard/{name}")
    assert answer.status_code == 200
    assert answer.headers["content-type"].split(";")[0] == media_type
    assert answer.headers["cache-control"] == "no-cache"
    assert answer.content, "the package ships it"


@pytest.mark.parametrize(
    "path",
    [
        "/_mock/dashboard/guard.py",
        "/_mock/dashboard/..%2Fguard.py",
        "/_mock/dashboard/..%2F..%2Fdashscope_openapi%2Fopenapi%2Fmock-control.yaml",
        "/_mock/dashboard/%2e%2e",
        "/_mock/dashboard/index.html%00.js",
        "/_mock/dashboard/app.js.map",
        "/_mock/dashboard/APP.JS",
    ],
)
async def test_any_other_name_is_not_found(client: httpx.AsyncClient, path: str) -> None:
    assert_error(await client.get(path), 404, "NotFound")
