"""The examples run as scripts against a threaded mock server with its media checks on: they upload real media
(a face photo, a voice, a talking clip), the mock decodes and checks it, and renders the MP4 they download."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

testing = pytest.importorskip("dashscope_mock.testing")
ModelTiming = pytest.importorskip("dashscope_mock.config").ModelTiming

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"


@pytest.mark.parametrize("name", ["liveportrait", "emo", "videoretalk"])
def test_example(name: str, tmp_path: Path) -> None:
    instant = ModelTiming(0.0, (("RUNNING", 0.0),))
    timings = {"liveportrait": instant, "emo-v1": instant, "videoretalk": instant}
    with (
        testing.mock_dashscope(seed=3, frozen_clock=False, timings=timings, media_checks=True) as mock,
        mock.serve() as url,
    ):
        env = {k: v for k, v in os.environ.items() if not k.startswith("DASHSCOPE_")}
        out = tmp_path / f"{name}.mp4"
        done = subprocess.run(
            [sys.executable, str(EXAMPLES / f"{name}.py"), "--base-url", url, "--out", str(out)],
            capture_output=True,
            text=True,
            env=env,
            timeout=120,
            check=False,
        )
    assert done.returncode == 0, done.stderr
    assert out.stat().st_size > 0
