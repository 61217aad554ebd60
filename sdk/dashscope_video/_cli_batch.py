"""``dashscope-video batch JOBS``: a manifest of jobs from the command line (see ``lib.batch`` and ``lib.manifest``)."""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
from dataclasses import asdict
from pathlib import Path
from typing import Any, TextIO

import httpx

from ._client import AsyncClient
from ._clock import Clock
from ._config import ENV_API_KEY, resolve_api_key
from ._errors import ConfigurationError
from ._retry import RetryPolicy
from .lib.batch import DEFAULT_CONCURRENCY, BatchProgress, BatchReport, JobResult, arun_batch, summary

__all__ = ["BatchDisplay", "add_batch_parser", "client_options", "job_state", "run_batch_command"]


def client_options(args: argparse.Namespace) -> dict[str, Any]:
    """The client's configuration from the options every command takes (both clients take the same). A missing key
    is reported here, in the command line's words: the client's own message names its ``api_key=`` argument."""
    if resolve_api_key(args.api_key) is None:
        raise ConfigurationError(f"no API key: pass --api-key KEY or set {ENV_API_KEY}")
    return {
        "api_key": args.api_key,
        "base_url": args.base_url,
        "region": args.region,
        "timeout": args.request_timeout,
        "retry": RetryPolicy(max_retries=max(args.max_retries, 0)),
    }


def add_batch_parser(sub: Any, common: argparse.ArgumentParser) -> None:
    batch = sub.add_parser(
        "batch",
        parents=[common],
        help="run a manifest of jobs (JSONL or CSV); rerun the same command to resume",
        description="Run every job of a manifest within the account's limits; a state file in --out makes a rerun "
        "resume (nothing submitted twice). Exit 0 when every job succeeded, 4 when some failed.",
    )
    batch.add_argument("jobs", type=Path, metavar="JOBS", help="the manifest: .jsonl (one JSON job per line) or .csv")
    batch.add_argument("--out", type=Path, metavar="DIR", help="outputs and the state file (default: JOBS-out/)")
    batch.add_argument(
        "--concurrency",
        type=int,
        default=DEFAULT_CONCURRENCY,
        metavar="N",
        help=f"jobs at a time (default {DEFAULT_CONCURRENCY}; per-model limits of the spec apply too)",
    )
    batch.add_argument("--retry-failed", action="store_true", help="submit again the jobs that failed before")


class BatchDisplay:
    """Counts rewritten in place on a terminal; one line per finished job otherwise."""

    def __init__(self, stream: TextIO, enabled: bool) -> None:
        self.stream = stream
        self.enabled = enabled
        self.tty = enabled and stream.isatty()

    def __call__(self, progress: BatchProgress) -> None:
        if not self.enabled:
            return
        if self.tty:
            eta = f", ETA {_duration(progress.eta_seconds)}" if progress.eta_seconds is not None else ""
            self.stream.write(
                f"\r[{_duration(progress.elapsed):>7}] {progress.done}/{progress.total} done, {progress.running} "
                f"running, {progress.queued} queued, {progress.failed} failed{eta}\033[K"
            )
        elif progress.changed is not None:
            job = progress.changed
            self.stream.write(
                f"[{_duration(progress.elapsed):>7}] line {job.line} {job.name} ({job.model}) {job_state(job)}  "
                f"({progress.done + progress.failed}/{progress.total})\n"
            )
        self.stream.flush()

    def done(self) -> None:
        if self.tty:
            self.stream.write("\n")
            self.stream.flush()


def job_state(job: JobResult) -> str:
    """The job's state and what is known of it — its output, its service's code and message, or its task id — and
    nothing that is not known (a job reported while in flight, e.g. on Ctrl-C, has no code yet)."""
    if job.state == "succeeded":
        details = [job.output]
    elif job.state in ("failed", "unknown"):
        details = [": ".join(part for part in (job.code, job.message) if part)]
    else:  # queued, submitting, submitted: the task, once there is one
        details = [job.task_id]
    return " ".join([job.state, *(detail for detail in details if detail)])


def _duration(seconds: float | None) -> str:
    if seconds is None:
        return "?"
    minutes, secs = divmod(round(seconds), 60)
    hours, minutes = divmod(minutes, 60)
    return f"{hours}h{minutes:02d}m" if hours else f"{minutes}m{secs:02d}s" if minutes else f"{secs}s"


def run_batch_command(
    args: argparse.Namespace, *, transport: httpx.AsyncBaseTransport | None, clock: Clock | None
) -> int:
    """Run ``batch``; the exit code is 0 when every job succeeded, 4 otherwise."""
    out = args.out if args.out is not None else args.jobs.with_name(args.jobs.stem + "-out")
    display = BatchDisplay(sys.stderr, enabled=not args.quiet)

    async def main() -> BatchReport:
        async with AsyncClient(**client_options(args), transport=transport, clock=clock) as client:
            return await arun_batch(
                client,
                args.jobs,
                out,
                concurrency=args.concurrency,
                retry_failed=args.retry_failed,
                on_progress=display,
            )

    try:
        report = asyncio.run(main())
    finally:
        display.done()
    if args.json:
        for result in report.results:
            print(json.dumps(asdict(result), ensure_ascii=False, sort_keys=True))
    for result in report.results:
        if result.state != "succeeded" and not args.quiet:
            print(f"line {result.line} {result.name}: {job_state(result)}", file=sys.stderr)
    print(f"batch: {summary(report.results)} (state: {report.state_file})", file=sys.stderr)
    return 0 if report.ok else 4
