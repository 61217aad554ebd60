"""Scenarios (every catalogue code reachable), faults, the journal, reset, seeds and the rate limit."""

from __future__ import annotations

import itertools

import httpx
import pytest

from dashscope_mock import SUBMIT_PATH, ConnectionDropped, MockDashScope
from dashscope_openapi import CatalogueEntry, error_catalogue, limits

from .conftest import BODIES, DETECT_PATH, assert_error, assert_oss_error, status, submit, task

VALUES = {"url": "https://example.com/face.png", "parameter": "parameters.video_fps", "limit": "15"}


def model_for(entry: CatalogueEntry) -> str:
    if "*" not in entry.models:
        return entry.models[0]
    return "emo-detect-v1" if entry.stage == "detect" else "liveportrait"


def _id(entry: CatalogueEntry) -> str:
    return f"{entry.code}-{entry.reason or ''}-{'_'.join(entry.models)}"


@pytest.mark.parametrize("entry", error_catalogue().entries, ids=_id)
async def test_every_catalogue_code_is_reachable(mock: MockDashScope, entry: CatalogueEntry) -> None:
    model = model_for(entry)
    async with mock.async_client() as http:
        scenario = await http.post(
            "/_mock/scenarios",
            json={"model": model, "code": entry.code, "reason": entry.reason, "times": 1, "values": VALUES}
            if entry.reason
            else {"model": model, "code": entry.code, "times": 1, "values": VALUES},
        )
        assert scenario.status_code == 201, scenario.text
        expected = entry.render(**VALUES)
        auth = {"Authorization": f"Bearer {mock.key}"}
        detector = model in ("emo-detect-v1", "liveportrait-detect")
        if entry.stage == "cancel":
            submitted = await http.post(SUBMIT_PATH, json=BODIES[model], headers=mock.headers)
            task_id = submitted.json()["output"]["task_id"]
            response = await http.post(f"/api/v1/tasks/{task_id}/cancel", headers=auth)
            assert_error(response, entry.status, entry.code, expected)
        elif entry.stage == "upload":
            policy = (
                await http.get("/api/v1/uploads", params={"action": "getPolicy", "model": model}, headers=auth)
            ).json()["data"]
            response = await http.post("/_mock/oss", data=_form(policy), files={"file": ("a.png", b"x")})
            assert_oss_error(response, entry.status, entry.code, expected)  # the upload host is OSS: XML
        elif detector:
            body = {"model": model, "input": {"image_url": VALUES["url"]}}
            if model == "emo-detect-v1":
                body["parameters"] = {"ratio": "1:1"}
            response = await http.post(DETECT_PATH, json=body, headers=auth)
            if entry.stage in ("detect", "task") and entry.family in ("InvalidFile", "InvalidImage"):
                assert response.status_code == 200
                output = response.json()["output"]
                assert output["check_pass"] is False
                assert (output["code"], output["message"]) == (entry.code, expected)
                assert response.json()["usage"] == {"image_count": 1}
            else:
                assert_error(response, entry.status, entry.code, expected)
        else:
            body = {**BODIES[model], "input": {**BODIES[model]["input"]}}
            response = await http.post(SUBMIT_PATH, json=body, headers=mock.headers)
            if entry.stage == "task":
                assert response.status_code == 200
                task_id = response.json()["output"]["task_id"]
                mock.advance(30)
                output = (await http.get(f"/api/v1/tasks/{task_id}", headers=auth)).json()["output"]
                assert output["task_status"] == "FAILED"
                assert (output["code"], output["message"]) == (entry.code, expected)
            else:
                body_ = assert_error(response, entry.status, entry.code, expected)
                assert body_["message"] == expected
                if entry.status in (429, 503):
                    assert int(response.headers["retry-after"]) >= 0


def _form(policy: dict[str, str], name: str = "a.png") -> dict[str, str]:
    return {
        "OSSAccessKeyId": policy["oss_access_key_id"],
        "Signature": policy["signature"],
        "policy": policy["policy"],
        "key": f"{policy['upload_dir']}/{name}",
        "x-oss-object-acl": policy["x_oss_object_acl"],
        "x-oss-forbid-overwrite": policy["x_oss_forbid_overwrite"],
        "success_action_status": "200",
    }


async def test_scenario_fails_the_next_n_tasks_only(mock: MockDashScope, client: httpx.AsyncClient) -> None:
    mock.scenario("liveportrait", "InvalidImage.NoHumanFace", times=2)
    ids = [await submit(client) for _ in range(3)]
    mock.advance(1.0)
    assert [await status(client, t) for t in ids] == ["RUNNING"] * 3  # failures surface while working
    mock.advance(5.0)
    assert [await status(client, t) for t in ids] == ["FAILED", "FAILED", "SUCCEEDED"]
    failed = (await task(client, ids[0]))["output"]
    assert failed["message"] == "No human face detected."
    assert "end_time" in failed and "usage" not in (await task(client, ids[0]))


async def test_scenario_url_filter_and_extra_time(mock: MockDashScope, client: httpx.AsyncClient) -> None:
    mock.scenario("liveportrait", "InvalidFile.AudioLengthError", url_contains="long-audio")
    mock.scenario("liveportrait", extra_seconds={"PENDING": 100, "RUNNING": 50})
    plain = await submit(client)  # takes the extra-time scenario, not the URL-filtered one
    long = await submit(client, input={"image_url": "https://e.com/a.png", "audio_url": "https://e.com/long-audio.mp3"})
    mock.advance(10)
    assert await status(client, long) == "FAILED"
    assert await status(client, plain) == "PENDING"
    mock.advance(100)
    assert await status(client, plain) == "RUNNING"
    mock.advance(60)
    assert await status(client, plain) == "SUCCEEDED"


async def test_scenario_control_errors(mock: MockDashScope) -> None:
    async with mock.async_client() as http:
        assert (await http.post("/_mock/scenarios", json={"model": "nope", "code": "InternalError"})).status_code == 404
        assert (await http.post("/_mock/scenarios", json={"model": "liveportrait", "code": "Nope"})).status_code == 404
        assert (await http.post("/_mock/scenarios", json={"model": "liveportrait"})).status_code == 400
        listed = (await http.get("/_mock/scenarios")).json()["data"]
        assert listed == []
        await http.post("/_mock/scenarios", json={"model": "liveportrait", "code": "InternalError.Algo"})
        assert (await http.get("/_mock/scenarios")).json()["data"][0]["remaining"] == 1
        assert (await http.delete("/_mock/scenarios")).status_code == 200
        assert (await http.get("/_mock/scenarios")).json()["data"] == []


async def test_error_fault_with_retry_after_by_count(mock: MockDashScope, client: httpx.AsyncClient) -> None:
    async with mock.async_client() as control:
        created = await control.post(
            "/_mock/faults", json={"kind": "error", "operation": "getTask", "status": 429, "retry_after": 3, "times": 2}
        )
        assert created.status_code == 201
    for _ in range(2):
        response = await client.get("/api/v1/tasks/x")
        assert_error(response, 429, "Throttling.RateQuota")
        assert response.headers["retry-after"] == "3"
    assert (await client.get("/api/v1/tasks/x")).status_code == 200


@pytest.mark.parametrize(("status_code", "code"), [(500, "InternalError"), (503, "ModelUnavailable")])
async def test_5xx_faults(mock: MockDashScope, client: httpx.AsyncClient, status_code: int, code: str) -> None:
    mock.fault("error", "createVideoSynthesis", status=status_code)
    response = await client.post(SUBMIT_PATH, json=BODIES["liveportrait"])
    assert_error(response, status_code, code)
    assert (await client.post(SUBMIT_PATH, json=BODIES["liveportrait"])).status_code == 200


async def test_probability_faults_are_seeded(dashscope_mock_factory: object) -> None:
    outcomes = []
    for _ in range(2):
        mock = dashscope_mock_factory()  # type: ignore[operator]
        mock.fault("error", "getTask", status=500, times=None, probability=0.5, seed=42)
        async with mock.async_client(headers=mock.headers) as http:
            outcomes.append([(await http.get("/api/v1/tasks/x")).status_code for _ in range(16)])
    assert outcomes[0] == outcomes[1]
    assert set(outcomes[0]) == {200, 500}


async def test_latency_fault(mock: MockDashScope, client: httpx.AsyncClient) -> None:
    mock.fault("latency", "getTask", latency_seconds=0.05)
    await client.get("/api/v1/tasks/x")
    assert mock.requests("getTask")[0].duration_ms >= 50


async def test_dropped_connection_in_process_and_served(mock: MockDashScope) -> None:
    mock.fault("drop", "getTask", times=2)
    async with mock.async_client(headers=mock.headers) as http:
        with pytest.raises(httpx.RemoteProtocolError):
            await http.get("/api/v1/tasks/x")
    with mock.serve() as base_url, httpx.Client(base_url=base_url, headers=mock.headers) as http_sync:
        with pytest.raises((httpx.RemoteProtocolError, httpx.ReadError)):
            http_sync.get("/api/v1/tasks/x")
        assert http_sync.get("/api/v1/tasks/x").status_code == 200
    assert [e.status for e in mock.requests("getTask")] == [0, 0, 200]
    assert issubclass(ConnectionDropped, httpx.RemoteProtocolError)


async def test_journal_records_polls_on_the_mock_clock(mock: MockDashScope, client: httpx.AsyncClient) -> None:
    task_id = await submit(client)
    for _ in range(3):
        await task(client, task_id)
        mock.advance(2)
    async with mock.async_client() as control:
        journal = (await control.get("/_mock/requests", params={"operation": "getTask"})).json()["data"]
        assert len(journal) == 3
        assert [round(b["time"] - a["time"], 3) for a, b in itertools.pairwise(journal)] == [2.0, 2.0]
        entry = journal[0]
        assert (entry["method"], entry["path"], entry["key"], entry["status"]) == (
            "GET",
            f"/api/v1/tasks/{task_id}",
            "sk-…test",  # masked: the journal never shows a key (mock.key is sk-mock-test)
            200,
        )
        everything = (await control.get("/_mock/requests")).json()["data"]
        assert [e["operation"] for e in everything] == ["createVideoSynthesis", "getTask", "getTask", "getTask"]
        assert not any(e["path"].startswith("/_mock/requests") for e in everything)
        await control.delete("/_mock/requests")
        assert (await control.get("/_mock/requests")).json()["data"] == []


async def test_reset_forgets_everything(mock: MockDashScope, client: httpx.AsyncClient) -> None:
    task_id = await submit(client)
    mock.scenario("liveportrait", "InternalError.Algo")
    mock.fault("error", "getTask", status=500)
    mock.advance(1000)
    async with mock.async_client() as control:
        assert (await control.post("/_mock/reset")).json() == {"status": "ok"}
        clock = (await control.get("/_mock/clock")).json()
        assert clock["offset_seconds"] == 0
        assert (await control.get("/_mock/tasks")).json()["data"] == []
        assert (await control.get("/_mock/faults")).json()["data"] == []
        assert (await control.get("/_mock/scenarios")).json()["data"] == []
    assert (await task(client, task_id))["output"]["task_status"] == "UNKNOWN"
    assert len(mock.journal) == 1


async def test_clock_control(mock: MockDashScope) -> None:
    async with mock.async_client() as control:
        before = (await control.get("/_mock/clock")).json()
        after = (await control.post("/_mock/clock/advance", json={"seconds": 90})).json()
        assert after["now"] - before["now"] == pytest.approx(90)
        assert after["frozen"] is True
        assert (await control.post("/_mock/clock/advance", json={"seconds": -1})).status_code == 400


async def test_seed_makes_ids_reproducible(dashscope_mock_factory: object) -> None:
    runs = []
    for _ in range(2):
        mock = dashscope_mock_factory(seed=7)  # type: ignore[operator]
        async with mock.async_client(headers=mock.headers) as http:
            response = await http.post(SUBMIT_PATH, json=BODIES["liveportrait"])
            runs.append((response.json()["output"]["task_id"], response.json()["request_id"]))
    assert runs[0] == runs[1]
    other = dashscope_mock_factory(seed=8)  # type: ignore[operator]
    async with other.async_client(headers=other.headers) as http:
        response = await http.post(SUBMIT_PATH, json=BODIES["liveportrait"])
    assert response.json()["output"]["task_id"] != runs[0][0]


async def test_task_queries_are_rate_limited_per_key(mock: MockDashScope, client: httpx.AsyncClient) -> None:
    qps = int(limits()["task_query_qps_per_account"])
    for _ in range(qps):
        assert (await client.get("/api/v1/tasks/x")).status_code == 200
    throttled = await client.get("/api/v1/tasks/x")
    assert_error(throttled, 429, "Throttling.RateQuota")
    assert throttled.headers["retry-after"] == "1"
    async with mock.async_client(headers={"Authorization": "Bearer sk-another"}) as other:
        assert (await other.get("/api/v1/tasks/x")).status_code == 200
    mock.advance(1.0)
    assert (await client.get("/api/v1/tasks/x")).status_code == 200


@pytest.mark.dashscope_mock(rate_limit=False)
async def test_rate_limit_can_be_off(client: httpx.AsyncClient) -> None:
    for _ in range(50):
        assert (await client.get("/api/v1/tasks/x")).status_code == 200
