"""The drift report's comparison with the mock: each recorded request replayed on a fresh in-process mock (frozen
clock, media checks off, the report's profile), and what the mock answers set beside what the service answered.

A task recording: its recorded outcome scripted (a FAILED end whose code the catalogue has for the model becomes
``mock.scenario(model, code)``; a code the catalogue lacks is already a critical spec finding), its body submitted
(inputs the mock cannot fetch or that were hashed become ``https://example.com/<hash12>``), the mock's clock moved
to each recorded offset (at most ``MAX_POLLS`` polls) and then on in small steps to the mock's end. Compared: the
submit's HTTP status and ``code``, the order and set of the documented statuses (the recorded ones, in order, must
be statuses the mock goes through, in the same order; a status the recording skipped between two polls is not a
difference; statuses the spec does not know are left to the spec check), and the end's status.

A single exchange: its HTTP status and ``code``. Not compared: a 5xx (transient), a 429 (it depends on the
traffic around it), a query or cancel of a task the mock cannot know (one the service answered 200 for), postObject
and result downloads (not the mock's). A recorded 401 is replayed with a key the mock refuses, any other keyed
request with one it accepts. Messages are compared with the catalogue by the spec check only (the mock's messages
carry its own inputs).

Every finding here is a ``warning`` and names the point it concerns (``submit``, ``statuses``, ``end``,
``answer``); the report drops it when the spec check already found something about the same point.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import httpx

from dashscope_openapi import error_catalogue, load_spec, task_statuses, terminal_statuses

from ..http.script_checks import ScriptError
from ..plugins import ModelTiming, Profile, load_registry
from ..testing import MockDashScope, mock_dashscope
from .conformance import Finding, spec_line
from .recording import Recording

__all__ = ["MAX_POLLS", "PLACEHOLDER_HOST", "MockFinding", "compare_with_mock", "model_timing", "placeholder_body"]

MAX_POLLS = 1_000  # recorded polls replayed per task (and steps taken after them to the mock's end)
PLACEHOLDER_HOST = "https://example.com/"
REPLAY_KEY = "sk-drift-replay"
REFUSED_KEY = "sk-drift-refused"
NOT_COMPARED = frozenset({"postObject"})


@dataclass(frozen=True)
class MockFinding:
    point: str  # submit, statuses, end, answer
    finding: Finding


def model_timing(model: str, profile: Profile) -> ModelTiming | None:
    """The model's timing in ``profile`` (``None``: not a video model of the mock)."""
    registry = load_registry()
    if model not in registry.videos:
        return None
    return registry.video(model).timings.get(profile)


def _placeholder(value: str) -> str:
    """An input the mock can take: a hashed or uploaded (``oss://``) input as ``https://example.com/<hash12>``."""
    if value.startswith("sha256:"):
        return PLACEHOLDER_HOST + value.removeprefix("sha256:")[:12]
    if value.startswith("oss://"):
        return PLACEHOLDER_HOST + hashlib.sha256(value.encode()).hexdigest()[:12]
    return value


def placeholder_body(body: Any) -> Any:
    """A recorded body with its ``input`` URLs made usable (see ``_placeholder``)."""
    if not isinstance(body, dict) or not isinstance(body.get("input"), dict):
        return body
    inputs = {k: _placeholder(v) if isinstance(v, str) else v for k, v in body["input"].items()}
    return {**body, "input": inputs}


def _code(status: int, body: Any) -> str | None:
    code = body.get("code") if isinstance(body, dict) and status >= 400 else None
    return code if isinstance(code, str) else None


def _task_status(body: Any) -> str | None:
    output = body.get("output") if isinstance(body, dict) else None
    status = output.get("task_status") if isinstance(output, dict) else None
    return status if isinstance(status, str) else None


def _operation_pointer(operation: str) -> str:
    for path, item in load_spec()["paths"].items():
        for method, found in item.items():
            if isinstance(found, dict) and found.get("operationId") == operation:
                return f"/paths/{path.replace('~', '~0').replace('/', '~1')}/{method}"
    return ""


def _answer_line(operation: str, status: int, code: str | None, model: str | None) -> str:
    """The spec line of what the service answered: its catalogue entry, else the operation's answers."""
    if code is not None:
        catalogue = error_catalogue()
        entries = [e for e in catalogue.entries_for(code) if e.applies_to(model)] or list(catalogue.entries_for(code))
        if entries:
            return spec_line(f"/x-error-catalogue/errors/{catalogue.entries.index(entries[0])}")
    return spec_line(f"{_operation_pointer(operation)}/responses/{status}")


def _headers(recording: Recording) -> dict[str, str]:
    request: Mapping[str, Any] = recording.data.get("request", {})
    recorded: Mapping[str, str] = request.get("headers", {})
    headers = {k: v for k, v in recorded.items() if k not in ("authorization", "content-type", "content-length")}
    if "authorization" in recorded:
        refused = recording.data.get("response", {}).get("status") == 401
        headers["authorization"] = f"Bearer {REFUSED_KEY if refused else REPLAY_KEY}"
    return headers


def _send(client: httpx.Client, recording: Recording) -> httpx.Response:
    request: Mapping[str, Any] = recording.data["request"]
    url = request["path"] + (f"?{request['query']}" if request.get("query") else "")
    body = placeholder_body(request.get("body"))
    return client.request(str(request["method"]), url, headers=_headers(recording), json=body)


def _differs(
    point: str, operation: str, recorded: tuple[int, str | None], mocked: tuple[int, str | None], model: str | None
) -> list[MockFinding]:
    if recorded == mocked:
        return []
    what = "status" if recorded[0] != mocked[0] else "code"
    message = (
        f"the service answered HTTP {recorded[0]}{f' {recorded[1]}' if recorded[1] else ''}; "
        f"the mock answers HTTP {mocked[0]}{f' {mocked[1]}' if mocked[1] else ''}"
    )
    where = f"{operation} {'status' if what == 'status' else 'code'}"
    line = _answer_line(operation, recorded[0], recorded[1], model)
    return [MockFinding(point, Finding("warning", what, message, where, line))]


def _script(mock: MockDashScope, model: str, code: str, message: Any) -> None:
    """Script the recorded failure (the catalogue entry whose message it carried, else the code's first)."""
    entries = [e for e in error_catalogue().entries_for(code) if e.applies_to(model)]
    chosen = next((e for e in entries if e.message == message), entries[0] if entries else None)
    if chosen is None:
        return
    try:
        mock.scenario(model, code, reason=chosen.reason)
    except ScriptError:
        return  # not scriptable for this model: the comparison shows the difference


def compare_with_mock(recording: Recording, profile: Profile) -> list[MockFinding]:
    """What the mock answers otherwise than the recorded service (see the module docstring)."""
    operation = recording.operation
    if operation in NOT_COMPARED or not _operation_pointer(operation):
        return []
    with (
        mock_dashscope(
            frozen_clock=True, media_checks=False, keys=frozenset({REPLAY_KEY}), rate_limit=False, profile=profile
        ) as mock,
        mock.client() as client,
    ):
        if recording.kind == "task":
            return _compare_task(mock, client, recording, profile)
        return _compare_exchange(mock, client, recording)


def _compare_exchange(mock: MockDashScope, client: httpx.Client, recording: Recording) -> list[MockFinding]:
    operation = recording.operation
    response: Mapping[str, Any] = recording.data.get("response", {})
    status, body = int(response.get("status", 0)), response.get("body")
    if status >= 500 or status == 429 or "content_type" in response:
        return []  # transient (a 5xx, a throttle), or not the service's JSON (the spec check names it)
    if operation in ("getTask", "cancelTask") and status < 400 and _task_status(body) != "UNKNOWN":
        return []  # a task the mock cannot know
    request_body = recording.request_body
    model = request_body.get("model") if isinstance(request_body, dict) else None
    code = _code(status, body)
    if operation == "detectFace" and isinstance(model, str) and code is not None:
        entries = [e for e in error_catalogue().entries_for(code) if e.applies_to(model)]
        if any(e.stage in ("detect", "task") for e in entries):
            _script(mock, model, code, body.get("message") if isinstance(body, dict) else None)
    answer = _send(client, recording)
    mocked = _parsed(answer)
    model_name = model if isinstance(model, str) else None
    return _differs(
        "answer", operation, (status, code), (answer.status_code, _code(answer.status_code, mocked)), model_name
    )


def _parsed(answer: httpx.Response) -> Any:
    try:
        return answer.json()
    except ValueError:
        return None


def _documented(statuses: list[str]) -> list[str]:
    """The distinct documented statuses, in order (repeats and statuses the spec does not know dropped)."""
    known = set(task_statuses())
    sequence: list[str] = []
    for status in statuses:
        if status in known and (not sequence or sequence[-1] != status):
            sequence.append(status)
    return sequence


def _is_subsequence(short: list[str], long: list[str]) -> bool:
    rest = iter(long)
    return all(item in rest for item in short)


def _compare_task(
    mock: MockDashScope, client: httpx.Client, recording: Recording, profile: Profile
) -> list[MockFinding]:
    body = recording.request_body
    model = body.get("model") if isinstance(body, dict) else None
    response: Mapping[str, Any] = recording.data.get("response", {})
    if not isinstance(model, str) or model_timing(model, profile) is None:
        return []  # not a model the mock has: the spec check says so
    end = recording.end
    end_body = end.get("body") if end is not None else None
    if end is not None and end.get("task_status") == "FAILED" and isinstance(end_body, dict):
        output = end_body.get("output", {})
        code = output.get("code") if isinstance(output, dict) else None
        if isinstance(code, str) and error_catalogue().entries_for(code):
            _script(mock, model, code, output.get("message"))
    submitted = _send(client, recording)
    submit_body = _parsed(submitted)
    recorded = (int(response.get("status", 0)), _code(int(response.get("status", 0)), response.get("body")))
    mocked = (submitted.status_code, _code(submitted.status_code, submit_body))
    found = _differs("submit", "createVideoSynthesis", recorded, mocked, model)
    task_id = (submit_body.get("output") or {}).get("task_id") if isinstance(submit_body, dict) else None
    if found or recorded[0] != 200 or not isinstance(task_id, str):
        return found
    seen = [_task_status(submit_body) or ""]
    recorded_statuses = [_task_status(response.get("body")) or ""]
    headers = {"authorization": f"Bearer {REPLAY_KEY}"}
    at = 0.0
    for poll in recording.polls[:MAX_POLLS]:
        offset = float(poll["offset_seconds"])
        mock.advance(max(offset - at, 0.0))
        at = max(at, offset)
        seen.append(_task_status(_parsed(client.get(f"/api/v1/tasks/{task_id}", headers=headers))) or "")
        if isinstance(poll.get("task_status"), str):
            recorded_statuses.append(str(poll["task_status"]))
    timing = model_timing(model, profile)
    assert timing is not None
    step = max(min([timing.pending, *(seconds for _, seconds in timing.phases)]) / 2, 0.05)
    for _ in range(MAX_POLLS):
        if seen[-1] in terminal_statuses():
            break
        mock.advance(step)
        seen.append(_task_status(_parsed(client.get(f"/api/v1/tasks/{task_id}", headers=headers))) or "")
    return found + _sequence_findings(recorded_statuses, seen, end)


def _sequence_findings(recorded: list[str], seen: list[str], end: Mapping[str, Any] | None) -> list[MockFinding]:
    found: list[MockFinding] = []
    ours, theirs = _documented(recorded), _documented(seen)
    line = spec_line("/components/schemas/TaskStatus")
    working = [s for s in ours if s not in terminal_statuses()]  # the end is compared below
    if not _is_subsequence(working, [s for s in theirs if s not in terminal_statuses()]):
        message = f"the service went {' → '.join(ours)}; the mock goes {' → '.join(theirs)}"
        found.append(
            MockFinding("statuses", Finding("warning", "task_status", message, "getTask output.task_status", line))
        )
    ended = end.get("task_status") if end is not None else None
    mock_end = theirs[-1] if theirs and theirs[-1] in terminal_statuses() else None
    if isinstance(ended, str) and ended in task_statuses() and ended != mock_end:
        message = f"the task ended {ended}; the mock ends it {mock_end or 'never (within the polls replayed)'}"
        found.append(MockFinding("end", Finding("warning", "task_status", message, "getTask output.task_status", line)))
    return found
