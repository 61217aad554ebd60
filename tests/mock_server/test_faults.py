"""The faults module is the one home of fault kinds: the control spec's ``FaultRequest.kind`` enum and
``faults.BEHAVIOURS`` must name the same kinds, and each field the spec documents "For `<kind>`" belongs to that
kind's behaviour. A kind declared without a behaviour (stored, counted as fired, doing nothing) fails here."""

from __future__ import annotations

import copy
import json
import re
import socket
from collections.abc import Iterator, Mapping
from typing import Any

import httpx
import pytest

from dashscope_mock import MockDashScope, mock_dashscope
from dashscope_mock.faults import BEHAVIOURS, FaultBehaviour
from dashscope_openapi import load_control_spec
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
    control["components"]["schemas"]["FaultRequest"]["properties"]["kind"]["enum"].append("chunked_dribble")
    assert table_problems(control, BEHAVIOURS) == [
        "kind 'chunked_dribble' is in the control spec's FaultRequest.kind but has no behaviour in faults.py"
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
        sock.sendall(f"GET {path} HTTP/1.1\r\nHost: {host}\r\nAuthorization: Bearer sk-mock-test\r\n\r\n".encode())
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
