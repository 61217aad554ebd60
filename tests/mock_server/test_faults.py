"""The faults module is the one home of fault kinds: the control spec's ``FaultRequest.kind`` enum and
``faults.BEHAVIOURS`` must name the same kinds, and each field the spec documents "For `<kind>`" belongs to that
kind's behaviour. A kind declared without a behaviour (stored, counted as fired, doing nothing) fails here."""

from __future__ import annotations

import copy
import functools
import json
import re
import socket
from collections.abc import Iterator, Mapping
from typing import Any

import httpx
import pytest

from dashscope_mock import MockDashScope, mock_dashscope
from dashscope_mock.http import script_checks
from dashscope_mock.http.faults import BEHAVIOURS, KIND_OPERATIONS, FaultBehaviour, response_fields
from dashscope_openapi import load_control_spec, load_spec
from dashscope_video import AsyncClient, Client, errors


def table_problems(control: Mapping[str, Any], behaviours: Mapping[str, FaultBehaviour]) -> list[str]:
    request = control["components"]["schemas"]["FaultRequest"]["properties"]
    problems = []
    declared = set(request["kind"]["enum"])
    for kind in sorted(declared - behaviours.keys()):
        problems.append(f"kind {kind!r} is in the control spec's FaultRequest.kind but has no behaviour in faults.py")
    for kind in sorted(behaviours.keys() - declared):
        problems.append(f"kind {kind!r} has a behaviour in faults.py but the control spec does not declare it")
    for name, schema in request.items():
        owner = re.match(r"For `([a-z_]+)`", str(schema.get("description", "")))
        if owner and name not in behaviours.get(owner[1], FaultBehaviour((), _never)).fields:
            problems.append(f"FaultRequest.{name} is documented for {owner[1]!r}, which does not use it")
    for kind, behaviour in behaviours.items():
        for name in behaviour.fields:
            if name not in request:
                problems.append(f"kind {kind!r} uses {name!r}, not a FaultRequest field")
    return problems


async def _never(*_: Any) -> bool:
    return False


def test_the_spec_and_the_table_name_the_same_kinds_and_fields() -> None:
    assert table_problems(load_control_spec(), BEHAVIOURS) == []


def test_a_kind_declared_without_a_behaviour_is_named() -> None:
    control = copy.deepcopy(dict(load_control_spec()))
    control["components"]["schemas"]["FaultRequest"]["properties"]["kind"]["enum"].append("slow_loris")
    assert table_problems(control, BEHAVIOURS) == [
        "kind 'slow_loris' is in the control spec's FaultRequest.kind but has no behaviour in faults.py"
    ]


def test_a_behaviour_the_spec_does_not_declare_is_named() -> None:
    behaviours = {**BEHAVIOURS, "empty_answer": FaultBehaviour((), _never)}
    assert table_problems(load_control_spec(), behaviours) == [
        "kind 'empty_answer' has a behaviour in faults.py but the control spec does not declare it"
    ]


@pytest.mark.parametrize("field", ["status", "code", "retry_after"])
def test_a_field_documented_for_a_kind_that_does_not_use_it_is_named(field: str) -> None:
    behaviours = {**BEHAVIOURS, "error": FaultBehaviour((), BEHAVIOURS["error"].run)}
    problems = table_problems(load_control_spec(), behaviours)
    assert f"FaultRequest.{field} is documented for 'error', which does not use it" in problems


def test_one_branch_per_kind_allows_its_own_fields_and_refuses_the_others() -> None:
    request = load_control_spec()["components"]["schemas"]["FaultRequest"]
    branches = {branch["title"]: branch for branch in request["oneOf"]}
    assert list(branches) == list(BEHAVIOURS)
    for kind, branch in branches.items():
        assert branch["properties"]["kind"] == {"enum": [kind]}
        refused = {name for name, schema in branch["properties"].items() if schema == {"not": {}}}
        others = {name for other, b in BEHAVIOURS.items() if other != kind for name in b.fields}
        assert refused == others, kind
        if kind in KIND_OPERATIONS:
            assert branch["properties"]["operation"] == {"enum": [KIND_OPERATIONS[kind]]}
            assert "operation" in branch["required"]


def test_the_selectors_enums_are_what_a_fault_can_reach() -> None:
    request = load_control_spec()["components"]["schemas"]["FaultRequest"]
    assert sorted(request["properties"]["operation"]["enum"]) == sorted(["*", *script_checks._operation_methods()])
    assert sorted(request["properties"]["model"]["enum"]) == sorted(load_spec()["x-models"])
    wrong_type = next(b for b in request["oneOf"] if b["title"] == "wrong_type")
    json_answers = sorted(o for o in script_checks._operation_methods() if response_fields(o))
    assert sorted(wrong_type["properties"]["operation"]["enum"]) == json_answers


# ------------------------------------------------------------------------------------------- broken answers
@pytest.fixture
def mock() -> Iterator[MockDashScope]:
    with mock_dashscope(seed=4) as instance:
        yield instance


def submitted(mock: MockDashScope, client: Client) -> str:
    return client.video_synthesis.liveportrait("https://e.com/a.png", "https://e.com/a.mp3").task_id


def sdk(mock: MockDashScope) -> Client:
    return Client(mock.key, base_url=mock.base_url, transport=mock.transport(), sleep=mock.advance)


def test_malformed_json_is_a_200_json_answer_cut_mid_object(mock: MockDashScope) -> None:
    fault = mock.fault("malformed_json", "getTask")
    with mock.client(headers=mock.headers) as http:
        answer = http.get("/api/v1/tasks/abc")
    assert answer.status_code == 200 and answer.headers["content-type"] == "application/json"
    with pytest.raises(json.JSONDecodeError):
        json.loads(answer.content)
    mock.assert_fired(fault, times=1)


@pytest.mark.parametrize(("gateway_status", "reason"), [(None, "502 Bad Gateway"), (504, "504 Gateway Time-out")])
def test_gateway_html_is_a_gateways_page(mock: MockDashScope, gateway_status: int | None, reason: str) -> None:
    mock.fault("gateway_html", "getTask", gateway_status=gateway_status)
    with mock.client(headers=mock.headers) as http:
        answer = http.get("/api/v1/tasks/abc")
    assert answer.status_code == int(reason[:3]) and answer.headers["content-type"] == "text/html"
    assert f"<title>{reason}</title>" in answer.text


def test_the_sdk_gets_a_typed_error_for_malformed_json_never_a_status(mock: MockDashScope) -> None:
    with sdk(mock) as client:
        task_id = submitted(mock, client)
        mock.fault("malformed_json", "getTask")
        with pytest.raises(errors.APIResponseValidationError):
            client.tasks.get(task_id)
        assert client.tasks.get(task_id).status in {"PENDING", "RUNNING", "SUCCEEDED"}  # the next answer is whole


def test_the_sdk_retries_a_gateway_page_and_the_wait_goes_on(mock: MockDashScope) -> None:
    with sdk(mock) as client:
        handle = client.video_synthesis.liveportrait("https://e.com/a.png", "https://e.com/a.mp3")
        mock.fault("gateway_html", "getTask", times=2)
        assert client.tasks.wait(handle).status == "SUCCEEDED"
    mock.assert_requested("getTask", status=502, times=2)


async def test_the_async_sdk_retries_a_gateway_page_and_the_wait_goes_on(mock: MockDashScope) -> None:
    async with AsyncClient(
        mock.key, base_url=mock.base_url, transport=mock.async_transport(), sleep=mock.async_advance
    ) as client:
        handle = await client.video_synthesis.liveportrait("https://e.com/a.png", "https://e.com/a.mp3")
        mock.fault("gateway_html", "getTask", times=2, gateway_status=504)
        assert (await client.tasks.wait(handle)).status == "SUCCEEDED"
    mock.assert_requested("getTask", status=504, times=2)


async def test_the_async_sdk_gets_a_typed_error_for_malformed_json(mock: MockDashScope) -> None:
    async with AsyncClient(
        mock.key, base_url=mock.base_url, transport=mock.async_transport(), sleep=mock.async_advance
    ) as client:
        handle = await client.video_synthesis.liveportrait("https://e.com/a.png", "https://e.com/a.mp3")
        mock.fault("malformed_json", "getTask")
        with pytest.raises(errors.APIResponseValidationError):
            await client.tasks.wait(handle)


# ------------------------------------------------------------------------------------ below HTTP (a real socket)
def raw_get(base_url: str, path: str) -> tuple[bytes, BaseException | None]:
    """What a client reads of ``GET path`` until the server closes or resets the connection."""
    host, port = base_url.removeprefix("http://").rsplit(":", 1)
    received, failure = b"", None
    with socket.create_connection((host, int(port)), timeout=10) as sock:
        head = f"GET {path} HTTP/1.1\r\nHost: {host}\r\nAuthorization: Bearer sk-mock-test\r\n"
        sock.sendall(f"{head}Connection: close\r\n\r\n".encode())
        try:
            while chunk := sock.recv(65536):
                received += chunk
        except OSError as error:
            failure = error
    return received, failure


def test_truncated_body_promises_more_than_it_sends(mock: MockDashScope) -> None:
    mock.fault("truncated_body", "getTask")
    with mock.serve() as base_url:
        received, failure = raw_get(base_url, "/api/v1/tasks/abc")
    head, _, body = received.partition(b"\r\n\r\n")
    promised = int(re.search(rb"content-length: (\d+)", head)[1])  # type: ignore[index]
    assert head.startswith(b"HTTP/1.1 200") and failure is None
    assert 0 < len(body) < promised


def test_reset_mid_body_resets_after_part_of_the_body(mock: MockDashScope) -> None:
    mock.fault("reset_mid_body", "getTask")
    with mock.serve() as base_url:
        received, failure = raw_get(base_url, "/api/v1/tasks/abc")
    assert isinstance(failure, ConnectionResetError), (failure, received[:60])  # a reset, not an orderly close
    assert not received or received.startswith(b"HTTP/1.1 200")  # whatever arrived before it: part of a 200


@pytest.mark.parametrize("kind", ["truncated_body", "reset_mid_body", "drop"])
def test_the_sdk_retries_a_broken_connection_on_a_query_and_the_wait_goes_on(mock: MockDashScope, kind: str) -> None:
    with mock.serve() as base_url, Client(mock.key, base_url=base_url, sleep=mock.advance) as client:
        handle = client.video_synthesis.liveportrait("https://e.com/a.png", "https://e.com/a.mp3")
        fault = mock.fault(kind, "getTask")
        assert client.tasks.wait(handle).status == "SUCCEEDED"
    mock.assert_fired(fault, times=1)


@pytest.mark.parametrize(
    ("kind", "raised"), [("truncated_body", "RemoteProtocolError"), ("reset_mid_body", "ReadError")]
)
async def test_in_process_they_raise_what_httpx_raises(mock: MockDashScope, kind: str, raised: str) -> None:
    mock.fault(kind, "getTask")
    async with mock.async_client(headers=mock.headers) as http:
        with pytest.raises(getattr(httpx, raised)):
            await http.get("/api/v1/tasks/abc")


def test_connection_reset_resets_before_a_byte_is_written(mock: MockDashScope) -> None:
    fault = mock.fault("connection_reset", "getTask")
    with mock.serve() as base_url:
        received, failure = raw_get(base_url, "/api/v1/tasks/abc")
        after, _ = raw_get(base_url, "/api/v1/tasks/abc")
    assert received == b"" and isinstance(failure, ConnectionResetError)
    assert after.startswith(b"HTTP/1.1 200")
    mock.assert_fired(fault, times=1)
    assert mock.requests("getTask")[0].status == 0 and mock.requests("getTask")[0].note == "fault #1 (connection_reset)"


def test_drop_is_the_empty_answer_an_orderly_close_without_a_byte(mock: MockDashScope) -> None:
    mock.fault("drop", "getTask")
    with mock.serve() as base_url:
        received, failure = raw_get(base_url, "/api/v1/tasks/abc")
    assert received == b"" and failure is None


async def test_in_process_a_reset_before_the_answer_is_httpxs_read_error(mock: MockDashScope) -> None:
    mock.fault("connection_reset", "getTask")
    async with mock.async_client(headers=mock.headers) as http:
        with pytest.raises(httpx.ReadError, match="Connection reset by peer"):
            await http.get("/api/v1/tasks/abc")


def dechunk(body: bytes) -> tuple[bytes, int]:
    """A chunked body's content and its number of chunks (the last, empty one not counted)."""
    content, chunks = b"", 0
    while True:
        size_line, _, body = body.partition(b"\r\n")
        size = int(size_line, 16)
        if size == 0:
            return content, chunks
        content, body, chunks = content + body[:size], body[size + 2 :], chunks + 1


def test_chunked_dribble_sends_the_whole_answer_a_few_bytes_at_a_time(mock: MockDashScope) -> None:
    fault = mock.fault("chunked_dribble", "getTask", dribble_bytes=10, dribble_interval_ms=1)
    with mock.serve() as base_url:
        received, failure = raw_get(base_url, "/api/v1/tasks/abc")
    head, _, body = received.partition(b"\r\n\r\n")
    assert failure is None and head.startswith(b"HTTP/1.1 200") and b"transfer-encoding: chunked" in head.lower()
    assert b"content-length" not in head.lower()
    content, chunks = dechunk(body)
    answer = json.loads(content)
    assert answer["output"] == {"task_id": "abc", "task_status": "UNKNOWN"}, "the correct answer, slowly"
    assert chunks == -(-len(content) // 10)
    mock.assert_fired(fault, times=1)


async def test_in_process_a_dribble_is_several_body_messages(mock: MockDashScope) -> None:
    mock.fault("chunked_dribble", "getTask", dribble_bytes=7, dribble_interval_ms=0)
    messages: list[dict[str, Any]] = []

    async def receive() -> dict[str, Any]:
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message: dict[str, Any]) -> None:
        messages.append(message)

    headers = [(b"host", b"dashscope.mock"), (b"authorization", f"Bearer {mock.key}".encode())]
    scope = {
        "type": "http",
        "method": "GET",
        "path": "/api/v1/tasks/abc",
        "raw_path": b"/api/v1/tasks/abc",
        "query_string": b"",
        "headers": headers,
        "http_version": "1.1",
        "scheme": "http",
        "server": ("dashscope.mock", 80),
        "client": ("127.0.0.1", 1),
        "root_path": "",
    }
    await mock.app(scope, receive, send)
    bodies = [m for m in messages if m["type"] == "http.response.body"]
    assert len(bodies) > 5 and all(m["more_body"] for m in bodies[:-1]) and not bodies[-1]["more_body"]
    assert json.loads(b"".join(m["body"] for m in bodies))["output"]["task_status"] == "UNKNOWN"


# ------------------------------------------------------------------------------ answers rewritten (around send)
def task_answer(mock: MockDashScope, http: httpx.Client, task_id: str) -> dict[str, Any]:
    answer = http.get(f"/api/v1/tasks/{task_id}")
    assert answer.status_code == 200 and answer.headers["content-type"] == "application/json"
    assert int(answer.headers["content-length"]) == len(answer.content)
    result: dict[str, Any] = answer.json()
    return result


@pytest.mark.parametrize(("field", "value"), [("output.task_status", 0), ("output", []), ("request_id", 0)])
def test_wrong_type_gives_one_field_a_value_of_another_json_type(mock: MockDashScope, field: str, value: Any) -> None:
    with mock.client(headers=mock.headers) as http, sdk(mock) as client:
        task_id = submitted(mock, client)
        fault = mock.fault("wrong_type", "getTask", field=field)
        answer = task_answer(mock, http, task_id)
        assert functools.reduce(lambda inner, name: inner[name], field.split("."), answer) == value
        assert task_answer(mock, http, task_id)["output"]["task_status"] == "PENDING"
    mock.assert_fired(fault, times=1)


def test_wrong_type_on_a_submit_answer(mock: MockDashScope) -> None:
    mock.fault("wrong_type", "createVideoSynthesis", field="output.task_id")
    with mock.client(headers=mock.headers) as http:
        answer = http.post(
            "/api/v1/services/aigc/image2video/video-synthesis/",
            json={
                "model": "liveportrait",
                "input": {"image_url": "https://e.com/a.png", "audio_url": "https://e.com/a.mp3"},
            },
        )
    assert answer.status_code == 200 and answer.json()["output"]["task_id"] == 0


def test_unknown_status_is_shown_for_its_polls_then_the_task_as_it_is(mock: MockDashScope) -> None:
    with mock.client(headers=mock.headers) as http, sdk(mock) as client:
        task_id = submitted(mock, client)
        mock.advance(600)  # the task SUCCEEDED: the fault shows it still going, without end or result
        mock.fault("unknown_status", "getTask", task_status="QUEUED", times=2)
        shown = [task_answer(mock, http, task_id) for _ in range(3)]
    assert [a["output"]["task_status"] for a in shown] == ["QUEUED", "QUEUED", "SUCCEEDED"]
    assert "end_time" not in shown[0]["output"] and "results" not in shown[0]["output"] and "usage" not in shown[0]


def test_unknown_status_for_a_window_of_the_virtual_clock(mock: MockDashScope) -> None:
    with mock.client(headers=mock.headers) as http, sdk(mock) as client:
        task_id = submitted(mock, client)
        now = mock.backend.now()
        mock.fault("unknown_status", "getTask", task_status="QUEUED", times=None, active_until=now + 1)
        first = task_answer(mock, http, task_id)["output"]["task_status"]
        mock.advance(1)
        second = task_answer(mock, http, task_id)["output"]["task_status"]
    assert (first, second) == ("QUEUED", "RUNNING")


def test_status_regression_shows_running_after_succeeded_and_nothing_else(mock: MockDashScope) -> None:
    with mock.client(headers=mock.headers) as http, sdk(mock) as client:
        task_id = submitted(mock, client)
        fault = mock.fault("status_regression", "getTask", times=None)
        assert task_answer(mock, http, task_id)["output"]["task_status"] == "PENDING", "only SUCCEEDED goes back"
        mock.advance(600)
        regressed = task_answer(mock, http, task_id)
        mock.faults.remove(fault.id)
        assert task_answer(mock, http, task_id)["output"]["task_status"] == "SUCCEEDED"
    assert regressed["output"]["task_status"] == "RUNNING" and "results" not in regressed["output"]


@pytest.mark.parametrize(("model", "where"), [("liveportrait", "results"), ("videoretalk", "video_url")])
def test_missing_result_url_is_succeeded_without_its_link(mock: MockDashScope, model: str, where: str) -> None:
    inputs = {"image_url": "https://e.com/a.png", "audio_url": "https://e.com/a.mp3"}
    if model == "videoretalk":
        inputs = {"video_url": "https://e.com/a.mp4", "audio_url": "https://e.com/a.mp3"}
    with mock.client(headers=mock.headers) as http:
        created = http.post(
            "/api/v1/services/aigc/image2video/video-synthesis/", json={"model": model, "input": inputs}
        )
        task_id = created.json()["output"]["task_id"]
        mock.fault("missing_result_url", "getTask", times=None)
        assert task_answer(mock, http, task_id)["output"]["task_status"] == "PENDING"
        mock.advance(600)
        answer = task_answer(mock, http, task_id)
    assert answer["output"]["task_status"] == "SUCCEEDED" and where not in answer["output"]
    assert "video_url" not in json.dumps(answer)


@pytest.mark.parametrize(
    ("result_status", "code", "message"),
    [(None, "AccessDenied", "Request has expired."), (404, "NoSuchKey", "The specified key does not exist.")],
)
def test_result_link_error_answers_osss_error_for_a_valid_link(
    mock: MockDashScope, result_status: int | None, code: str, message: str
) -> None:
    with mock.client(headers=mock.headers) as http, sdk(mock) as client:
        task_id = submitted(mock, client)
        mock.advance(600)
        url = task_answer(mock, http, task_id)["output"]["results"]["video_url"]
        mock.fault("result_link_error", "getResult", result_status=result_status)
        refused, served = http.get(url), http.get(url)
    assert refused.status_code == (result_status or 403) and refused.headers["content-type"] == "application/xml"
    assert f"<Code>{code}</Code>" in refused.text and f"<Message>{message}</Message>" in refused.text
    assert served.status_code == 200 and served.headers["content-type"] == "video/mp4"
