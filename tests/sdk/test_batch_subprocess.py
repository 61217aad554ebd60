"""``dashscope-video batch`` as a real process: killed with SIGKILL mid-run, then run again to the end.

The mock runs in this process on a real port with a flowing clock (its fast profile); the batch is a subprocess.
The mock's journal is the witness: every job is submitted exactly once across both runs.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from dashscope_mock.plugins import ModelTiming, load_registry
from dashscope_mock.testing import MockDashScope, mock_dashscope

from .test_batch import twenty_jobs, write_jsonl


def quick_timings() -> dict[str, ModelTiming]:
    """Each model's statuses of the fast profile, 0.1 s each: a job takes one poll of the batch's (1 s), not three.
    videoretalk's one lane still makes the run last several seconds, so the kill lands mid-run."""
    registry = load_registry()
    return {
        model: ModelTiming(0.0, tuple((status, 0.1) for status in registry.video(model).timings["fast"].statuses))
        for model in ("liveportrait", "emo-v1", "videoretalk")
    }


@pytest.fixture
def served() -> Iterator[tuple[MockDashScope, str]]:
    with mock_dashscope(seed=5, frozen_clock=False, timings=quick_timings()) as mock, mock.serve() as base_url:
        yield mock, base_url


def batch_command(base_url: str, key: str, manifest: Path, out: Path, *extra: str) -> list[str]:
    return [sys.executable, "-m", "dashscope_video.cli", "--api-key", key, "--base-url", base_url, "batch",
            str(manifest), "--out", str(out), "--concurrency", "4", *extra]  # fmt: skip


def accepted_submits(mock: MockDashScope) -> int:
    return sum(1 for entry in mock.requests("createVideoSynthesis") if entry.status == 200)


def test_killed_mid_run_and_rerun_completes_every_job_with_no_task_submitted_twice(
    served: tuple[MockDashScope, str], tmp_path: Path
) -> None:
    mock, base_url = served
    manifest = write_jsonl(tmp_path / "jobs.jsonl", twenty_jobs())
    out = tmp_path / "out"
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    first = subprocess.Popen(
        batch_command(base_url, mock.key, manifest, out),
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    deadline = time.monotonic() + 120  # a safety net for a hung child, not a performance budget
    while accepted_submits(mock) < 6 and first.poll() is None and time.monotonic() < deadline:
        time.sleep(0.02)  # waiting for another process: there is no clock of ours to move
    assert first.poll() is None, f"the batch ended before it could be killed: {first.communicate()[1]!r}"
    first.kill()  # SIGKILL: no cleanup, no flush
    first.wait()
    submitted_before = accepted_submits(mock)
    assert 6 <= submitted_before < 20

    second = subprocess.run(
        [*batch_command(base_url, mock.key, manifest, out), "--json"],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert second.returncode == 0, second.stderr
    results = [json.loads(line) for line in second.stdout.splitlines()]
    assert [r["state"] for r in results] == ["succeeded"] * 20
    assert accepted_submits(mock) == 20  # every job once, across the kill
    task_ids = [r["task_id"] for r in results]
    assert len(set(task_ids)) == 20
    with mock.client() as http:
        held = {t["task_id"] for t in http.get("/_mock/tasks").json()["data"]}
    assert held == set(task_ids)  # no orphan task: nothing was submitted twice
    assert sorted(p.name for p in out.glob("*.mp4")) == sorted(f"j{n}.mp4" for n in range(20))


def test_a_bad_manifest_exits_2_naming_the_line(served: tuple[MockDashScope, str], tmp_path: Path) -> None:
    mock, base_url = served
    manifest = tmp_path / "jobs.jsonl"
    manifest.write_text('{"model": "liveportrait", "input": {"image_url": "https://x.test/a.png"}}\n')
    run = subprocess.run(
        batch_command(base_url, mock.key, manifest, tmp_path / "out"), capture_output=True, text=True, check=False
    )
    assert run.returncode == 2
    assert "line 1: input: 'audio_url' is a required property" in run.stderr
    assert mock.requests() == []
