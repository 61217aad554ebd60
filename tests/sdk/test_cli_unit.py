"""The command line in-process against the fake (exit codes, output, parameter flags); the subprocess runs are in
test_cli_subprocess."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import attrs
import httpx
import pytest

from dashscope_video import EmoParameters, LivePortraitParameters, VideoRetalkParameters, cli

from .fakes import BASE, FakeDashScope, before_forwarding

SUBMIT_PATH = "/api/v1/services/aigc/image2video/video-synthesis/"


def run(fake: FakeDashScope, *argv: str) -> int:
    return cli.main(["--api-key", "sk-test", "--base-url", BASE, *argv], transport=fake.transport(), clock=fake.clock)


def submitted_parameters(fake: FakeDashScope) -> dict[str, Any] | None:
    """The ``parameters`` of the last submit the fake received (``None`` when the body had none)."""
    body = json.loads(fake.requests("POST", SUBMIT_PATH)[-1].body)
    parameters: dict[str, Any] | None = body.get("parameters")
    return parameters


def test_liveportrait_wait_and_download(
    fake: FakeDashScope, files: tuple[Path, Path, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    image, audio, _ = files
    out = tmp_path / "out.mp4"
    inputs = ["--image", str(image), "--audio", str(audio)]
    code = run(fake, "liveportrait", *inputs, "--video-fps", "25", "--out", str(out), "--json")
    captured = capsys.readouterr()
    assert code == cli.EXIT_OK, captured.err
    data = json.loads(captured.out)
    assert data["output"]["task_status"] == "SUCCEEDED" and data["downloaded_to"] == str(out)
    assert out.read_bytes() == fake.video
    assert "SUCCEEDED" in captured.err  # progress on stderr
    assert submitted_parameters(fake) == {"video_fps": 25}


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


# ---------------------------------------------------------------------------------------------- parameter flags
# Each command, what it needs besides parameter flags, and a non-default example value for every parameter field.
COMMANDS: dict[str, tuple[type[Any], list[str], dict[str, Any]]] = {
    "liveportrait": (
        LivePortraitParameters,
        ["--image", "https://x.test/face.png", "--audio", "https://x.test/voice.mp3"],
        {
            "template_id": "calm",
            "eye_move_freq": 0.2,
            "video_fps": 30,
            "mouth_move_strength": 1.5,
            "paste_back": False,
            "head_move_strength": 0.0,
        },
    ),
    "emo": (
        EmoParameters,
        ["--image", "https://x.test/face.png", "--audio", "https://x.test/voice.mp3"],
        {"style_level": "active"},
    ),
    "videoretalk": (
        VideoRetalkParameters,
        ["--video", "https://x.test/talk.mp4", "--audio", "https://x.test/voice.mp3"],
        {"video_extension": True, "query_face_threshold": 150},
    ),
}


def field_names(cls: type[Any]) -> list[str]:
    return [f.name for f in attrs.fields(cls) if f.name != "additional_properties"]


def flag(name: str) -> str:
    return "--" + name.replace("_", "-")


def flags_for(values: dict[str, Any]) -> list[str]:
    """Command-line flags setting ``values`` (a bool is ``--x`` / ``--no-x``)."""
    argv: list[str] = []
    for name, value in values.items():
        if isinstance(value, bool):
            argv.append(flag(name) if value else "--no-" + flag(name)[2:])
        else:
            argv += [flag(name), str(value)]
    return argv


@pytest.mark.parametrize("command", sorted(COMMANDS))
def test_help_lists_a_flag_for_every_parameter_field(command: str, capsys: pytest.CaptureFixture[str]) -> None:
    cls, _, examples = COMMANDS[command]
    names = field_names(cls)
    assert names and sorted(examples) == sorted(names), "COMMANDS needs an example value for every field"
    assert cli.main([command, "--help"]) == cli.EXIT_OK
    option_lines = [line for line in capsys.readouterr().out.splitlines() if line.lstrip().startswith("-")]
    listed = {word for line in option_lines for word in line.replace(",", " ").split() if word.startswith("--")}
    missing = [flag(name) for name in names if flag(name) not in listed]
    assert not missing, f"dashscope-video {command} --help lacks {missing}"
    negations = ["--no-" + flag(name)[2:] for name in names if isinstance(examples[name], bool)]
    assert all(negation in listed for negation in negations), negations


@pytest.mark.parametrize(
    ("command", "name"), [(command, name) for command in sorted(COMMANDS) for name in field_names(COMMANDS[command][0])]
)
def test_a_given_parameter_flag_alone_reaches_the_request_body(
    fake: FakeDashScope, command: str, name: str, capsys: pytest.CaptureFixture[str]
) -> None:
    _, inputs, examples = COMMANDS[command]
    value = examples[name]
    assert run(fake, command, *inputs, *flags_for({name: value})) == cli.EXIT_OK, capsys.readouterr().err
    assert submitted_parameters(fake) == {name: value}  # the unset fields are absent: the service's defaults apply


@pytest.mark.parametrize("command", sorted(COMMANDS))
def test_parameter_flags_together_and_none(
    fake: FakeDashScope, command: str, capsys: pytest.CaptureFixture[str]
) -> None:
    _, inputs, examples = COMMANDS[command]
    assert run(fake, command, *inputs, *flags_for(examples)) == cli.EXIT_OK, capsys.readouterr().err
    assert submitted_parameters(fake) == examples
    assert run(fake, command, *inputs) == cli.EXIT_OK, capsys.readouterr().err
    assert submitted_parameters(fake) is None  # no flag: no parameters object at all


def test_old_and_bad_parameter_flags(fake: FakeDashScope, capsys: pytest.CaptureFixture[str]) -> None:
    _, inputs, _ = COMMANDS["liveportrait"]
    assert run(fake, "liveportrait", *inputs, "--no-paste-back") == cli.EXIT_OK  # still accepted
    assert submitted_parameters(fake) == {"paste_back": False}
    assert run(fake, "liveportrait", *inputs, "--fps", "25") == cli.EXIT_USAGE  # renamed to --video-fps
    assert run(fake, "liveportrait", *inputs, "--template-id", "sleepy") == cli.EXIT_USAGE  # not a choice
    assert run(fake, "liveportrait", *inputs, "--video-fps", "fast") == cli.EXIT_USAGE  # not an int
    assert run(fake, "videoretalk", *COMMANDS["videoretalk"][1], "--extend") == cli.EXIT_USAGE  # now --video-extension
    assert len(fake.requests("POST", SUBMIT_PATH)) == 1  # none of the refused command lines submitted anything
