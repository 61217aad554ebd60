"""videoretalk's ``parameters.query_face_threshold`` (an integer, 120-200): a documented parameter of the
spec, validated like the others by the mock (the catalogue's videoretalk ``InvalidParameter``), and a field and a flag
of the SDK, derived from the generated classes."""

from __future__ import annotations

import contextlib
import io
import json
from typing import Any

import attrs
import httpx
import pytest

from dashscope_mock import SUBMIT_PATH, mock_dashscope
from dashscope_openapi import error_catalogue, load_spec
from dashscope_video import VideoRetalkParameters, cli

from .conftest import BODIES, assert_error


def submit(strict: bool, parameters: dict[str, Any]) -> tuple[httpx.Response, str | None]:
    """The answer to a videoretalk submit with ``parameters`` and the note of its journal entry."""
    with mock_dashscope(strict_fields=strict) as mock, mock.client(headers=mock.headers) as http:
        answer = http.post(SUBMIT_PATH, json={**BODIES["videoretalk"], "parameters": parameters})
        return answer, mock.requests("createVideoSynthesis")[-1].note


def test_the_spec_documents_it() -> None:
    schema = load_spec()["components"]["schemas"]["VideoRetalkParameters"]["properties"]["query_face_threshold"]
    assert (schema["type"], schema["minimum"], schema["maximum"]) == ("integer", 120, 200)
    assert "default" not in schema  # from third-party copies of the reference: never sent unless given
    assert schema["x-source"]["page"].startswith("https://")


@pytest.mark.parametrize("strict", [False, True])
@pytest.mark.parametrize("value", [120, 170, 200])
def test_accepted_in_range_as_a_documented_field(strict: bool, value: int) -> None:
    answer, note = submit(strict, {"query_face_threshold": value, "video_extension": False})
    assert answer.status_code == 200, answer.text
    assert note is None  # documented: not "undocumented fields ignored"


@pytest.mark.parametrize("value", [119, 201, 0, -170, 10**6, "170", 170.5, True, None, [170]])
def test_refused_out_of_range_or_of_another_type(value: object) -> None:
    found = error_catalogue().for_request_error("videoretalk", "invalid", "parameters.query_face_threshold")
    assert found.code == "InvalidParameter"  # as for video_extension: the common entry (videoretalk names none)
    answer, _ = submit(False, {"query_face_threshold": value})
    assert_error(answer, 400, found.code, found.message)


def test_the_sdk_parameters_class_has_it() -> None:
    fields = {field.name: field for field in attrs.fields(VideoRetalkParameters)}
    assert "query_face_threshold" in fields
    assert "query_face_threshold" not in VideoRetalkParameters().to_dict()  # sent only when given
    assert VideoRetalkParameters.from_dict({"query_face_threshold": 150}).to_dict() == {"query_face_threshold": 150}


def test_the_cli_has_a_flag_for_it() -> None:
    help_text = io.StringIO()
    with contextlib.redirect_stdout(help_text), contextlib.suppress(SystemExit):
        cli.main(["videoretalk", "--help"])
    assert "--query-face-threshold INT" in " ".join(help_text.getvalue().split())
    sent: list[dict[str, Any]] = []

    def answer(request: httpx.Request) -> httpx.Response:
        sent.append(json.loads(request.content))
        return httpx.Response(200, json={"request_id": "r", "output": {"task_id": "t", "task_status": "PENDING"}})

    argv = ["--api-key", "sk-test", "--base-url", "https://dashscope.test", "videoretalk", "--query-face-threshold"]
    argv += ["150", "--video", "https://x.test/talk.mp4", "--audio", "https://x.test/voice.mp3"]
    with contextlib.redirect_stdout(io.StringIO()):
        assert cli.main(argv, transport=httpx.MockTransport(answer)) == cli.EXIT_OK
    assert sent[0]["parameters"] == {"query_face_threshold": 150}
