"""The command line in-process against the fake (exit codes, output); the subprocess runs are in test_e2e_mock."""

from __future__ import annotations

import json
from pathlib import Path

import httpx
import pytest

from dashscope_video import cli

from .fakes import BASE, FakeDashScope, before_forwarding


def run(fake: FakeDashScope, *argv: str) -> int:
    return cli.main(["--api-key", "sk-test", "--base-url", BASE, *argv], transport=fake.transport(), clock=fake.clock)


def test_liveportrait_wait_and_download(
    fake: FakeDashScope, files: tuple[Path, Path, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    image, audio, _ = files
    out = tmp_path / "out.mp4"
    code = run(
        fake, "liveportrait", "--image", str(image), "--audio", str(audio), "--fps", "25", "--out", str(out), "--json"
    )
    captured = capsys.readouterr()
    assert code == cli.EXIT_OK, captured.err
    data = json.loads(captured.out)
    assert data["output"]["task_status"] == "SUCCEEDED" and data["downloaded_to"] == str(out)
    assert out.read_bytes() == fake.video
    assert "SUCCEEDED" in captured.err  # progress on stderr


def test_options_after_the_command(fake: FakeDashScope, capsys: pytest.CaptureFixture[str]) -> None:
    code = cli.main(
        ["status", "abc", "--api-key", "sk-test", "--base-url", BASE, "--json"],
        transport=fake.transport(),
        clock=fake.clock,
    )
    assert code == cli.EXIT_OK  # status reports; only wait turns UNKNOWN into exit 4
    assert json.loads(capsys.readouterr().out)["output"]["task_status"] == "UNKNOWN"


def test_exit_codes(fake: FakeDashScope, files: tuple[Path, Path, Path], tmp_path: Path) -> None:
    image, audio, video = files
    assert run(fake, "liveportrait", "--image", str(tmp_path / "nope.png"), "--audio", str(audio)) == cli.EXIT_USAGE
    assert run(fake, "liveportrait", "--image", str(image)) == cli.EXIT_USAGE  # argparse: --audio missing
    assert cli.main(["--api-key", "sk-bad", "--base-url", BASE, "status", "x"], transport=fake.transport()) == 3
    fake.next_failure = ("InvalidFile.FPS", "Invalid video FPS.")
    assert run(fake, "videoretalk", "--video", str(video), "--audio", str(audio), "--wait") == cli.EXIT_TASK
    fake.schedule = [(0, "PENDING")]
    assert run(fake, "emo", "--image", str(image), "--audio", str(audio), "--wait", "--timeout", "20") == 5
    fake.faults += [before_forwarding(httpx.ConnectError)] * 10
    assert run(fake, "status", "x") == cli.EXIT_NETWORK
    fake.faults.clear()
    fake.faults.append(lambda r: fake.error(400, "InvalidFile.NoHuman", "no human"))
    assert run(fake, "detect", "--model", "emo-detect-v1", "--image", "https://x.test/cat.png") == cli.EXIT_TASK
    assert run(fake, "detect", "--model", "liveportrait-detect", "--image", "https://x.test/face.png") == 0


def test_status_cancel_list(
    fake: FakeDashScope, files: tuple[Path, Path, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    image, audio, _ = files
    assert run(fake, "liveportrait", "--image", str(image), "--audio", str(audio)) == 0
    task_id = capsys.readouterr().out.split()[0]
    assert run(fake, "cancel", task_id) == 0
    assert run(fake, "cancel", task_id) == cli.EXIT_USAGE  # 400 UnsupportedOperation
    assert run(fake, "list", "--all", "--json") == 0
    out = capsys.readouterr().out.strip().splitlines()[-1]
    assert json.loads(out)["data"][0]["status"] == "CANCELED"
    assert run(fake, "wait", task_id) == cli.EXIT_TASK


def test_missing_key(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("DASHSCOPE_API_KEY", raising=False)
    assert cli.main(["status", "x"]) == cli.EXIT_AUTH
