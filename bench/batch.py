"""Benchmark 10: a batch of jobs (``dashscope-video batch`` / ``run_batch``) against the same jobs one by one.

The mock is served as ``make mock`` serves it (fast profile, a flowing clock, its 20 queries/s limit on) with media
checks off, in a subprocess. The same ``JOBS`` liveportrait jobs (one portrait and one voice line each, URLs) run
twice on a fresh mock each: as one batch with ``CONCURRENCY`` jobs at a time, and one by one (submit, ``tasks.wait``,
download, then the next). Both use the same ``PollPolicy``. The figure is the ratio of the two wall times; the mock's
task list shows the most tasks the batch had in flight at once.
"""

from __future__ import annotations

import json
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx

from dashscope_video import Client, PollPolicy, run_batch

from ._servers import BIN, free_port, running

JOBS = 200
CONCURRENCY = 16
KEY = "sk-bench-batch"
POLL = PollPolicy(initial_interval=0.5, max_interval=2.0)


def _jobs(count: int) -> list[dict[str, Any]]:
    return [
        {
            "model": "liveportrait",
            "input": {"image_url": f"https://example.com/slide{n}.png", "audio_url": f"https://example.com/v{n}.mp3"},
            "name": f"slide-{n:03d}",
        }
        for n in range(count)
    ]


def _peak_in_flight(base: str) -> int:
    tasks = httpx.get(base + "/_mock/tasks").json()["data"]
    spans = [(t["submit_at"], t.get("end_at", float("inf"))) for t in tasks]
    return max((sum(1 for s, e in spans if s <= start < e) for start, _ in spans), default=0)


def _served(run: Callable[[str, Path], None]) -> tuple[float, int]:
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    command = [str(BIN / "dashscope-mock"), "serve", "--host", "127.0.0.1", "--port", str(port)]
    command += ["--media-checks", "off", "--log-level", "warning"]
    with running(command, ready_url=base + "/_mock/clock"), tempfile.TemporaryDirectory() as folder:
        started = time.perf_counter()
        run(base, Path(folder))
        elapsed = time.perf_counter() - started
        return elapsed, _peak_in_flight(base)


def measure(*, jobs: int = JOBS, concurrency: int = CONCURRENCY, log: Callable[[str], None] = print) -> dict[str, Any]:
    manifest_jobs = _jobs(jobs)

    def batch(base: str, folder: Path) -> None:
        manifest = folder / "jobs.jsonl"
        manifest.write_text("".join(json.dumps(job) + "\n" for job in manifest_jobs))
        report = run_batch(manifest, folder / "out", concurrency=concurrency, api_key=KEY, base_url=base, poll=POLL)
        if not report.ok:
            raise RuntimeError(f"the batch did not succeed: {report.results}")

    def one_by_one(base: str, folder: Path) -> None:
        with Client(KEY, base_url=base, poll=POLL) as client:
            for job in manifest_jobs:
                handle = client.video_synthesis.liveportrait(job["input"]["image_url"], job["input"]["audio_url"])
                client.tasks.download(client.tasks.wait(handle), folder / f"{job['name']}.mp4")

    batch_s, batch_peak = _served(batch)
    log(f"  batch of {jobs} jobs, concurrency {concurrency}: {batch_s:.1f} s (at most {batch_peak} tasks in flight)")
    single_s, single_peak = _served(one_by_one)
    log(f"  the same {jobs} jobs one by one: {single_s:.1f} s; ratio {single_s / batch_s:.1f}x")
    return {
        "jobs": jobs,
        "concurrency": concurrency,
        "poll": {"initial_interval": POLL.initial_interval, "max_interval": POLL.max_interval},
        "batch_s": batch_s,
        "batch_peak_in_flight": batch_peak,
        "one_by_one_s": single_s,
        "one_by_one_peak_in_flight": single_peak,
        "speedup": single_s / batch_s,
    }


def render(data: dict[str, Any], out: list[str]) -> None:
    out += [
        "## 10. Batch",
        "",
        "Reproduce: `.venv/bin/python -m bench --only batch`. The mock as `make mock` serves it (fast profile: "
        "liveportrait ends 2.5 s after its submit; 20 task queries/s per key), media checks off; the same "
        f"{data['jobs']} liveportrait jobs as one `dashscope-video batch` run and one by one (submit, wait, download), "
        f"both polling with `PollPolicy(initial_interval={data['poll']['initial_interval']:g}, "
        f"max_interval={data['poll']['max_interval']:g})`, each on a fresh mock.",
        "",
        "| run | wall time | most tasks in flight |",
        "|---|---:|---:|",
        f"| batch, `--concurrency {data['concurrency']}` | {data['batch_s']:.1f} s | {data['batch_peak_in_flight']} |",
        f"| one by one | {data['one_by_one_s']:.1f} s | {data['one_by_one_peak_in_flight']} |",
        "",
        f"The batch takes {1 / data['speedup']:.3f} of the time: **{data['speedup']:.1f}x** faster, never more than "
        f"{data['concurrency']} tasks in flight, its polls paced under the account's query limit.",
        "",
    ]
