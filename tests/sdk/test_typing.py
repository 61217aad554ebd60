"""What a type checker sees in a user's code: ``mypy --strict`` on small scripts that use the SDK.

A result's ``video_url`` is a ``str`` for each model (the handle carries the model's result type through ``get`` and
``wait``), the status is the spec's literal, and a wrong parameter name or value is rejected before anything runs.
"""

from __future__ import annotations

import os
import re
import textwrap
from pathlib import Path

from mypy import api as mypy_api

ROOT = Path(__file__).resolve().parents[2]

USER_SCRIPT = """
from typing import assert_type

from dashscope_video import (
    AsyncClient, Client, EmoParameters, EmoResult, LivePortraitParameters, LivePortraitResult, SucceededTask, Task,
    TaskStatus, VideoResult, VideoRetalkParameters, VideoRetalkResult,
)


def sync_user(client: Client) -> None:
    job = client.video_synthesis.liveportrait("face.png", "voice.mp3", parameters=LivePortraitParameters(video_fps=30))
    lp = client.tasks.wait(job)
    assert_type(lp, SucceededTask[LivePortraitResult])
    assert_type(lp.result.video_url, str)
    emo = client.tasks.wait(client.video_synthesis.emo("f.png", "v.mp3", parameters=EmoParameters(style_level="calm")))
    assert_type(emo.result, EmoResult)
    assert_type(emo.result.video_url, str)
    extend = VideoRetalkParameters(video_extension=True)
    vr_job = client.video_synthesis.videoretalk("t.mp4", "v.wav", parameters=extend)
    vr = client.tasks.wait(vr_job)
    assert_type(vr.result, VideoRetalkResult)
    assert_type(vr.result.video_url, str)
    seen = client.tasks.get(job)
    assert_type(seen, Task[LivePortraitResult])
    assert_type(seen.status, TaskStatus)
    if seen.result is not None:
        assert_type(seen.result.video_url, str)
    by_id = client.tasks.get("a-task-id")
    assert_type(by_id, Task[VideoResult])
    assert_type(client.tasks.wait("a-task-id").result.video_url, str)
    for row in client.tasks.iter(status="SUCCEEDED"):
        assert_type(row.status, TaskStatus)


async def async_user(client: AsyncClient) -> None:
    job = await client.video_synthesis.liveportrait("face.png", "voice.mp3")
    done = await client.tasks.wait(job)
    assert_type(done.result, LivePortraitResult)
    assert_type(done.result.video_url, str)
    async for row in client.tasks.iter():
        assert_type(row.task_id, str)
"""

MISTAKES = """
from dashscope_video import Client, EmoParameters, LivePortraitParameters


def mistakes(client: Client) -> None:
    LivePortraitParameters(video_fpss=30)  # line 6: no such parameter
    client.video_synthesis.liveportrait("f.png", "v.mp3", parameter=None)  # line 7: no such keyword
    client.video_synthesis.emo("f.png", "v.mp3", parameters=LivePortraitParameters())  # line 8: another model's
    LivePortraitParameters(template_id="wild")  # line 9: not one of the spec's values
    EmoParameters(style_level="calm").video_fps  # line 10: not an emo-v1 parameter
    client.tasks.list(stauts="FAILED")  # line 11: no such filter
"""


def _mypy(tmp_path: Path, source: str) -> tuple[str, int]:
    script = tmp_path / "user_script.py"
    script.write_text(textwrap.dedent(source), encoding="utf-8")
    # The SDK is read from the checkout (as the user's own code would be), so its one untyped dependency needs the
    # setting an installed package would not: jsonschema ships no type information.
    config = tmp_path / "mypy.ini"
    config.write_text("[mypy]\n\n[mypy-jsonschema.*]\nignore_missing_imports = True\n", encoding="utf-8")
    env_path = os.pathsep.join(str(ROOT / part) for part in ("generated", "sdk"))
    previous = os.environ.get("MYPYPATH")
    os.environ["MYPYPATH"] = env_path
    try:
        stdout, stderr, status = mypy_api.run(
            [
                "--strict",
                "--config-file",
                str(config),
                "--cache-dir",
                str(ROOT / ".mypy_cache" / "user_scripts"),
                "--no-error-summary",
                str(script),
            ]
        )
    finally:
        if previous is None:
            os.environ.pop("MYPYPATH", None)
        else:
            os.environ["MYPYPATH"] = previous
    return stdout + stderr, status


def test_a_users_script_sees_each_models_result_typed(tmp_path: Path) -> None:
    output, status = _mypy(tmp_path, USER_SCRIPT)
    assert status == 0, output


def test_wrong_parameters_are_rejected_at_type_check_time(tmp_path: Path) -> None:
    output, status = _mypy(tmp_path, MISTAKES)
    assert status == 1, output
    lines = {int(m.group(1)) for m in re.finditer(r"user_script\.py:(\d+): error", output)}
    assert lines == {6, 7, 8, 9, 10, 11}, output
    assert 'Unexpected keyword argument "video_fpss"' in output
    assert 'Unexpected keyword argument "parameter"' in output
