"""``dashscope-video`` run as a user runs it — a subprocess — against a real (threaded) mock server."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from dashscope_video import cli

from .test_e2e_mock import URL_AUDIO, URL_IMAGE, URL_VIDEO

testing = pytest.importorskip("dashscope_mock.testing")
ModelTiming = pytest.importorskip("dashscope_mock.config").ModelTiming

EXE = Path(sys.executable).with_name("dashscope-video")


@pytest.fixture(scope="module")
def served() -> Iterator[tuple[Any, str]]:
    instant = ModelTiming(0.0, (("RUNNING", 0.0),))
    timings = {"liveportrait": instant, "emo-v1": instant, "videoretalk": instant}
    with testing.mock_dashscope(seed=2, frozen_clock=False, timings=timings) as mock, mock.serve() as url:
        yield mock, url


def run(url: str, *argv: str, key: str = "sk-cli-test") -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("DASHSCOPE_")}
    env["DASHSCOPE_API_KEY"] = key
    return subprocess.run(
        [str(EXE), "--base-url", url, *argv], capture_output=True, text=True, env=env, timeout=60, check=False
    )


def test_liveportrait_wait_download_json(served: tuple[Any, str], tmp_path: Path) -> None:
    _, url = served
    out = tmp_path / "out.mp4"
    done = run(url, "liveportrait", "--image", URL_IMAGE, "--audio", URL_AUDIO, "--out", str(out), "--json")
    assert done.returncode == cli.EXIT_OK, done.stderr
    data = json.loads(done.stdout)
    assert data["output"]["task_status"] == "SUCCEEDED" and Path(data["downloaded_to"]) == out
    assert out.stat().st_size > 0
    assert "SUCCEEDED" in done.stderr  # the progress display


def test_other_commands(served: tuple[Any, str]) -> None:
    _, url = served
    submitted = run(url, "videoretalk", "--video", URL_VIDEO, "--audio", URL_AUDIO, "--video-extension")
    assert submitted.returncode == 0, submitted.stderr
    task_id = submitted.stdout.split()[0]
    status = run(url, "status", task_id, "--json")
    assert json.loads(status.stdout)["output"]["task_id"] == task_id
    assert run(url, "wait", task_id).returncode == 0
    assert task_id in run(url, "list", "--all").stdout
    assert run(url, "cancel", task_id).returncode == cli.EXIT_USAGE  # 400: not PENDING any more
    detect = run(url, "detect", "--model", "emo-detect-v1", "--image", URL_IMAGE, "--json")
    assert detect.returncode == 0 and json.loads(detect.stdout)["passed"] is True
    emo = run(url, "emo", "--image", URL_IMAGE, "--audio", URL_AUDIO, "--wait")
    assert emo.returncode == 0 and "SUCCEEDED" in emo.stdout


def test_exit_codes(served: tuple[Any, str], tmp_path: Path) -> None:
    mock, url = served
    # 2: bad input / usage
    assert run(url, "liveportrait", "--image", str(tmp_path / "none.png"), "--audio", URL_AUDIO).returncode == 2
    assert run(url, "liveportrait", "--image", URL_IMAGE).returncode == 2
    assert run(url, "liveportrait", "--image", URL_IMAGE, "--audio", URL_AUDIO, "--video-fps", "99").returncode == 2
    # 3: authentication
    denied = run(url, "status", "x", key="not-a-key")
    assert denied.returncode == cli.EXIT_AUTH and "InvalidApiKey" in denied.stderr
    # 4: the task failed (the catalogue code is reported), or is unknown
    mock.scenario("liveportrait", "InvalidImage.NoHumanFace")
    failed = run(url, "liveportrait", "--image", URL_IMAGE, "--audio", URL_AUDIO, "--wait", "--json")
    assert failed.returncode == cli.EXIT_TASK and json.loads(failed.stdout)["code"] == "InvalidImage.NoHumanFace"
    assert run(url, "wait", "00000000-0000-4000-8000-000000000000").returncode == cli.EXIT_TASK
    # 5: the deadline
    mock.scenario("liveportrait", extra_seconds={"RUNNING": 3600})
    late = run(url, "liveportrait", "--image", URL_IMAGE, "--audio", URL_AUDIO, "--wait", "--timeout", "0.2")
    assert late.returncode == cli.EXIT_TIMEOUT, late.stderr
    # 6: network trouble (nothing listens there)
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        closed = f"http://127.0.0.1:{sock.getsockname()[1]}"
    down = run(closed, "status", "x", "--request-timeout", "2", "--max-retries", "0")
    assert down.returncode == cli.EXIT_NETWORK and "APIConnectionError" in down.stderr


def test_local_files(served: tuple[Any, str], tmp_path: Path) -> None:
    _, url = served
    image, audio = tmp_path / "face.png", tmp_path / "voice.mp3"
    image.write_bytes(b"image")
    audio.write_bytes(b"audio")
    done = run(url, "liveportrait", "--image", str(image), "--audio", str(audio), "--out", str(tmp_path / "o.mp4"))
    assert done.returncode == 0, done.stderr
