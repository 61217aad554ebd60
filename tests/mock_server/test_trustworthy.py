"""A test author's mistakes fail the test that made them (issue 22): scripting checked when it is made (Python and
REST alike), verification with near misses, media-on waits on the virtual clock, and no warning of the mock's own
dependencies under ``-W error``."""

from __future__ import annotations

import socket
import subprocess
import sys
import textwrap
import time
from pathlib import Path
from typing import Any

import httpx
import pytest

from dashscope_mock import MockDashScope, mock_dashscope
from dashscope_mock.testing import ScriptError
from dashscope_openapi import load_control_spec
from dashscope_video import AsyncClient, Client, LivePortraitResult

from ..media import factory
from ..test_readme_snippets import HELPERS, run_users_tests

ROOT = Path(__file__).parents[2]
FACE = ROOT / "tests" / "fixtures" / "face_grace_hopper.jpg"
KINDS = load_control_spec()["components"]["schemas"]["FaultRequest"]["properties"]["kind"]["enum"]
KIND_TYPO_REFUSED = "fault.kind: 'eror' is not accepted; allowed: " + ", ".join(map(repr, KINDS))


# ------------------------------------------------------------------------------------------- scripting checks
@pytest.mark.parametrize(
    ("args", "fields", "field", "value"),
    [
        (("eror", "getTask"), {"status": 429}, "kind", "eror"),
        (("error", "get_task"), {"status": 429}, "operation", "get_task"),
        (("error", "getTask"), {"status": 418}, "status", 418),
        (("error", "getTask"), {"method": "POST"}, "method", "POST"),
        (("error", "resetMock"), {}, "operation", "resetMock"),
        (("error", "getTask"), {"latency_seconds": 2}, "latency_seconds", 2),
        (("latency", "getTask"), {}, "latency_seconds", None),
        (("drop", "getTask"), {"probability": 0}, "probability", 0),
    ],
)
def test_a_fault_that_cannot_fire_is_refused_naming_the_field(
    mock: MockDashScope, args: tuple[str, str], fields: dict[str, Any], field: str, value: Any
) -> None:
    with pytest.raises(ScriptError) as refused:
        mock.fault(*args, **fields)
    assert (refused.value.field, refused.value.value) == (field, value)
    assert f"fault.{field}: {value!r}" in str(refused.value)
    assert mock.faults.list() == []  # nothing stored that cannot fire


def test_the_control_plane_refuses_the_same_faults_naming_field_value_and_allowed(mock: MockDashScope) -> None:
    with mock.client() as http:
        kind = http.post("/_mock/faults", json={"kind": "eror", "status": 429})
        operation = http.post("/_mock/faults", json={"kind": "error", "operation": "get_task"})
        unknown = http.post("/_mock/faults", json={"kind": "error", "stauts": 429})
    assert kind.status_code == operation.status_code == unknown.status_code == 400
    assert kind.json()["message"] == KIND_TYPO_REFUSED
    assert "fault.operation: 'get_task'" in operation.json()["message"] and "'getTask'" in operation.json()["message"]
    assert "fault.stauts: 429" in unknown.json()["message"] and "'status'" in unknown.json()["message"]
    assert mock.faults.list() == []


@pytest.mark.parametrize(
    ("args", "fields", "field"),
    [
        (("liveportrat", "InvalidImage.NoHumanFace"), {}, "model"),
        (("liveportrait", "InvalidImage.NoHumanFce"), {}, "code"),
        (("liveportrait",), {"extra_seconds": {"RUNING": 5}}, "extra_seconds.RUNING"),
        (("liveportrait", "InvalidImage.NoHumanFace"), {"operation": "sbmit"}, "operation"),
    ],
)
def test_a_scenario_that_cannot_fire_is_refused_naming_the_field(
    mock: MockDashScope, args: tuple[str, ...], fields: dict[str, Any], field: str
) -> None:
    with pytest.raises(ScriptError) as refused:
        mock.scenario(*args, **fields)
    assert refused.value.field == field
    assert mock.scenarios.list() == []


# ---------------------------------------------------------------------------------------------- verification
def test_assert_fired_and_assert_requested_show_the_near_misses(mock: MockDashScope) -> None:
    fault = mock.fault("error", "getTask", status=429)
    with pytest.raises(AssertionError, match=r"fault #1 \(error on getTask\) fired 0 time\(s\)"):
        mock.assert_fired(fault)
    with mock.client(headers=mock.headers) as http:
        http.get("/api/v1/tasks/abc")
        http.get("/api/v1/tasks/abc")
        http.get("/api/v1/nothing-here")
    assert mock.assert_fired(fault, times=1) == 1
    assert len(mock.assert_requested("getTask", times=2)) == 2
    assert len(mock.assert_requested("getTask", status=429, times=1)) == 1
    with pytest.raises(AssertionError) as missed:
        mock.assert_requested("createVideoSynthesis")
    assert "createVideoSynthesis was requested 0 time(s)" in str(missed.value)
    assert "GET /api/v1/tasks/abc -> 429 [getTask] (fault #1 (error))" in str(missed.value)  # the journal names it
    assert [entry.path for entry in mock.unmatched()] == ["/api/v1/nothing-here"]


def test_a_scenario_is_verified_as_it_is_used(mock: MockDashScope) -> None:
    scenario = mock.scenario("liveportrait", "InvalidImage.NoHumanFace")
    with pytest.raises(AssertionError, match="fired 0 time"):
        mock.assert_fired(scenario)
    with Client(mock.key, base_url=mock.base_url, transport=mock.transport(), sleep=mock.advance) as client:
        client.video_synthesis.liveportrait("https://e.com/a.png", "https://e.com/a.mp3")
    assert mock.assert_fired(scenario, times=1) == 1


# ------------------------------------------------------------------------------- media checks, virtual clock
@pytest.fixture
def face_and_voice(tmp_path: Path) -> tuple[Path, Path]:
    voice = tmp_path / "voice.wav"
    voice.write_bytes(factory.wav_bytes(2.0))
    return FACE, voice


def test_media_on_waits_on_the_virtual_clock_sync(face_and_voice: tuple[Path, Path]) -> None:
    image, voice = face_and_voice
    with mock_dashscope(media_checks=True) as mock:
        client = Client(mock.key, base_url=mock.base_url, transport=mock.transport(), sleep=mock.advance)
        with client:
            handle = client.video_synthesis.liveportrait(image, voice)
            task = client.tasks.wait(handle)
        assert isinstance(task.result, LivePortraitResult) and task.result.video_url


async def test_media_on_waits_on_the_virtual_clock_async(face_and_voice: tuple[Path, Path]) -> None:
    image, voice = face_and_voice
    with mock_dashscope(media_checks=True) as mock:
        client = AsyncClient(
            mock.key, base_url=mock.base_url, transport=mock.async_transport(), sleep=mock.async_advance
        )
        async with client:
            handle = await client.video_synthesis.liveportrait(image, voice)
            task = await client.tasks.wait(handle)
        assert isinstance(task.result, LivePortraitResult) and task.result.video_url


# ------------------------------------------------------------------------------------- a user's suite, -W error
USER_SUITE = """
from pathlib import Path

import pytest

from dashscope_mock import mock_dashscope
from dashscope_video import Client, errors


def client_of(mock):
    return Client(mock.key, base_url=mock.base_url, transport=mock.transport(), sleep=mock.advance)


def test_a_scripted_failure_is_a_typed_error(dashscope_mock):
    scenario = dashscope_mock.scenario("liveportrait", "InvalidImage.NoHumanFace")
    with client_of(dashscope_mock) as client:
        handle = client.video_synthesis.liveportrait("https://e.com/a.png", "https://e.com/a.mp3")
        with pytest.raises(errors.TaskFailed):
            client.tasks.wait(handle)
    dashscope_mock.assert_fired(scenario, times=1)


def test_the_client_survives_a_429(dashscope_mock):
    fault = dashscope_mock.fault({kind!r}, "getTask", status=429, retry_after=1)
    with client_of(dashscope_mock) as client:
        handle = client.video_synthesis.liveportrait("https://e.com/a.png", "https://e.com/a.mp3")
        assert client.tasks.wait(handle).status == "SUCCEEDED"
    dashscope_mock.assert_fired(fault, times=1)
    dashscope_mock.assert_requested("getTask", status=429, times=1)


def test_media_checks_on_the_virtual_clock(tmp_path):
    with mock_dashscope(media_checks=True) as mock, client_of(mock) as client:
        task = client.tasks.wait(client.video_synthesis.liveportrait(Path({face!r}), make_a_wav(tmp_path)))
        assert task.result.video_url
"""


def run_user_suite(folder: Path, kind: str) -> subprocess.CompletedProcess[str]:
    (folder / "test_user.py").write_text(HELPERS + textwrap.dedent(USER_SUITE.format(kind=kind, face=str(FACE))))
    return run_users_tests(folder, "test_user.py")


def test_a_users_suite_under_w_error_passes(tmp_path: Path) -> None:
    done = run_user_suite(tmp_path, "error")
    assert done.returncode == 0, done.stdout + done.stderr
    assert "3 passed" in done.stdout and "warning" not in done.stdout.lower()


def test_a_typo_in_a_users_fault_fails_their_test_naming_it(tmp_path: Path) -> None:
    done = run_user_suite(tmp_path, "eror")
    assert done.returncode == 1
    assert KIND_TYPO_REFUSED in done.stdout


def test_the_served_mock_starts_without_a_warning() -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    command = [str(Path(sys.executable).with_name("dashscope-mock")), "serve", "--port", str(port)]
    process = subprocess.Popen([*command, "--media-checks", "off"], stderr=subprocess.PIPE, text=True)
    try:
        with httpx.Client(timeout=1) as http:
            for _ in range(300):  # until it answers: a bound on a hung start, not a timing
                try:
                    http.get(f"http://127.0.0.1:{port}/_mock/clock")
                    break
                except httpx.HTTPError:
                    if process.poll() is not None:
                        break
                    time.sleep(0.1)
    finally:
        process.terminate()
        _, stderr = process.communicate(timeout=30)
    assert "Warning" not in stderr, stderr
