"""Replay: record against the stand-in through the proxy, replay with the mock (``mock_dashscope(replay=DIR)``, as
``serve --replay DIR``): this SDK and the official ``dashscope`` SDK see the same statuses at the same (virtual)
offsets and the same outcome as they saw through the proxy."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import dashscope
import pytest
from dashscope.client.base_api import BaseAsyncApi

from dashscope_mock import mock_dashscope
from dashscope_mock.realservice.recording import RecordingError
from dashscope_mock.realservice.replay import Replays
from dashscope_video import Client

from .conftest import KEY, LIVEPORTRAIT, proxied
from .standin import SUBMIT

OFFSETS = (0.0, 0.6, 1.5, 3.5)  # PENDING, QUEUED (planted), RUNNING, the end
NOFACE = {**LIVEPORTRAIT, "input": {**LIVEPORTRAIT["input"], "image_url": "https://example.com/noface.png"}}
OFFICIAL = {"task_group": "aigc", "task": "image2video", "function": "video-synthesis"}

Seen = list[tuple[str, str | None, str | None]]  # (status, failure code, failure message) per poll


def _ours(base_url: str, body: dict[str, Any], advance: Callable[[float], object]) -> Seen:
    seen: Seen = []
    with Client(api_key=KEY, base_url=base_url) as client:
        handle = client.video_synthesis.create(body["model"], body["input"], body["parameters"])
        at = 0.0
        for offset in OFFSETS:
            advance(offset - at)
            at = offset
            task = client.tasks.get(handle)
            failure = task.failure
            seen.append((task.status, failure.code if failure else None, failure.message if failure else None))
    return seen


def _official(base_url: str, body: dict[str, Any], advance: Callable[[float], object]) -> Seen:
    dashscope.base_http_api_url = f"{base_url}/api/v1"
    submitted = BaseAsyncApi.async_call(
        model=body["model"], input=body["input"], api_key=KEY, **OFFICIAL, **body["parameters"]
    )
    assert submitted.status_code == 200, submitted
    seen: Seen = []
    at = 0.0
    for offset in OFFSETS:
        advance(offset - at)
        at = offset
        answer = BaseAsyncApi.fetch(submitted, api_key=KEY)
        output = answer.output
        seen.append((output["task_status"], output.get("code"), output.get("message")))
    return seen


@pytest.fixture(autouse=True)
def _official_sdk_at_loopback(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.setenv("NO_PROXY", "127.0.0.1,localhost")
    monkeypatch.setattr(dashscope, "base_http_api_url", dashscope.base_http_api_url)
    yield


def test_both_sdks_see_the_recorded_statuses_at_the_recorded_offsets_and_the_same_outcome(tmp_path: Path) -> None:
    runs = [(_ours, LIVEPORTRAIT), (_official, LIVEPORTRAIT), (_ours, NOFACE), (_official, NOFACE)]
    with proxied(tmp_path, drift=frozenset({"queued"})) as loop:
        recorded = [run(loop.url, body, loop.clock.advance) for run, body in runs]
    assert recorded[0] == recorded[1] and recorded[2] == recorded[3]  # the two SDKs saw one service
    assert [status for status, _, _ in recorded[0]] == ["PENDING", "QUEUED", "RUNNING", "SUCCEEDED"]
    assert recorded[2][-1] == ("FAILED", "InvalidImage.NoHumanFace", "No human face detected.")

    with mock_dashscope(replay=str(tmp_path), frozen_clock=True, media_checks=False) as mock, mock.serve() as url:
        replayed = [run(url, body, mock.advance) for run, body in runs]
        notes = [entry.note for entry in mock.journal.entries(operation="createVideoSynthesis")]
    assert replayed == recorded
    assert all(note is not None and note.startswith("replayed from ") for note in notes)


def test_repeats_of_one_request_replay_their_recorded_outcomes_in_order(tmp_path: Path) -> None:
    with proxied(tmp_path) as loop, loop.client() as client:
        for drift in (frozenset(), frozenset({"new_code"})):
            loop.standin.drift = drift
            task_id = client.post(SUBMIT, json=NOFACE).json()["output"]["task_id"]
            loop.clock.advance(5)
            client.get(f"/api/v1/tasks/{task_id}")
    with mock_dashscope(replay=str(tmp_path), frozen_clock=True, media_checks=False) as mock, mock.client() as client:
        codes = []
        for _ in range(3):
            task_id = client.post(SUBMIT, json=NOFACE, headers=mock.headers).json()["output"]["task_id"]
            mock.advance(5)
            codes.append(client.get(f"/api/v1/tasks/{task_id}", headers=mock.headers).json()["output"]["code"])
    # the chain, then its last link again
    assert codes == ["InvalidImage.NoHumanFace", "InvalidImage.FaceUnseen", "InvalidImage.FaceUnseen"]


def test_an_unmatched_submit_is_simulated_or_refused_when_strict(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    with proxied(tmp_path) as loop, loop.client() as client:
        client.post(SUBMIT, json=LIVEPORTRAIT)
    other = {**LIVEPORTRAIT, "parameters": {"template_id": "calm"}}
    with mock_dashscope(replay=str(tmp_path), media_checks=False) as mock, mock.client() as client:
        answer = client.post(SUBMIT, json=other, headers=mock.headers)
        assert answer.status_code == 200  # the normal simulation
        assert mock.journal.entries(operation="createVideoSynthesis")[0].note is None
    with mock_dashscope(replay=str(tmp_path), replay_strict=True, media_checks=False) as mock, mock.client() as client:
        refused = client.post(SUBMIT, json=other, headers=mock.headers)
        matched = client.post(SUBMIT, json=LIVEPORTRAIT, headers=mock.headers)
    assert refused.status_code == 400
    assert refused.json()["code"] == "Mock.ReplayUnmatched"
    assert "replay is strict" in refused.json()["message"]
    assert f"replay: no recording in {tmp_path} matches a liveportrait submit" in caplog.text
    assert matched.status_code == 200


def test_a_recorded_refusal_replays_as_the_same_error(tmp_path: Path) -> None:
    unreachable = {**LIVEPORTRAIT, "input": {**LIVEPORTRAIT["input"], "image_url": "https://unreachable.example/a.png"}}
    with proxied(tmp_path) as loop, loop.client() as client:
        recorded = client.post(SUBMIT, json=unreachable)
    assert recorded.status_code == 400
    [recording] = [json.loads(p.read_text()) for p in tmp_path.glob("*.json")]
    assert recording["kind"] == "exchange"  # no task: one request and its answer
    with mock_dashscope(replay=str(tmp_path), media_checks=False) as mock, mock.client() as client:
        replayed = client.post(SUBMIT, json=unreachable, headers=mock.headers)
        simulated = client.post(SUBMIT, json=LIVEPORTRAIT, headers=mock.headers)  # nothing recorded: simulated
    assert replayed.status_code == 400
    assert {k: replayed.json()[k] for k in ("code", "message")} == {k: recorded.json()[k] for k in ("code", "message")}
    assert replayed.headers["x-request-id"] == replayed.json()["request_id"]
    assert simulated.status_code == 200


def test_a_bad_recording_is_refused_at_start_naming_the_file_and_field(tmp_path: Path) -> None:
    with proxied(tmp_path) as loop, loop.client() as client:
        client.post(SUBMIT, json=LIVEPORTRAIT)
    [path] = tmp_path.glob("*.json")
    data = json.loads(path.read_text())
    data["polls"] = [{"offset_seconds": -1, "status": 200}]
    path.write_text(json.dumps(data))
    bad = rf"{path.name}: polls.0.offset_seconds: -1 is less than the minimum"
    with pytest.raises(RecordingError, match=bad), mock_dashscope(replay=str(tmp_path)):
        pass
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(RecordingError, match="no task recording to replay"):
        Replays.from_dir(empty)
