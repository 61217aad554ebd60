"""Batch generation: run a manifest of jobs within the account's limits, resumable after a crash.

``arun_batch(client, manifest, out)`` (asyncio) and ``run_batch(manifest, out, **client_options)`` (blocking) run every
job of a manifest (``lib.manifest``): upload its local files, run emo-detect-v1 for an emo-v1 job without boxes,
submit, wait, and download ``<out>/<name>.mp4``. Every step is recorded in ``<out>/.dashscope-batch.sqlite``
(``lib.batch_state``) before the next one starts, so running the same manifest again skips what is done, waits for
what is in flight and downloads what finished, and never submits a job that has a task id.

Limits: at most ``concurrency`` jobs at a time; a model with a per-key limit in the spec's ``x-limits.concurrency``
(videoretalk: 1) never has more tasks in flight than that; task queries share the SDK's account-wide rate limiter.
Submits go one at a time (each recorded before and after), which is what makes a crash recoverable: a job left
``submitting`` had at most one submit in flight, and on resume the account's task list tells whether it landed (the
one task newer than the job's recorded baseline that no job owns: adopted) or not (submitted again). A 429 is
retried with backoff; an answer that may hide an accepted submit (5xx, a broken connection) is settled the same way.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, cast

from dashscope_openapi import limits

from .._client import AsyncClient
from .._errors import (
    APIConnectionError,
    APIStatusError,
    DashScopeError,
    DownloadError,
    RateLimitError,
    TaskCanceled,
    TaskFailed,
    TaskNotFound,
    WaitTimeout,
)
from ..types import EmoRatio
from .batch_state import BatchState, JobRecord, JobState
from .manifest import BatchJob, read_manifest

__all__ = ["BatchProgress", "BatchReport", "JobResult", "arun_batch", "run_batch", "summary"]

DEFAULT_CONCURRENCY = 4
SUBMIT_THROTTLE_RETRIES = 8


@dataclass(frozen=True)
class JobResult:
    """How one job ended (or stands): ``state`` ``succeeded`` with ``output``, or ``failed``/``unknown`` with the
    service's ``code`` and ``message``."""

    line: int
    name: str
    model: str
    state: JobState
    task_id: str | None
    output: str | None
    code: str | None
    message: str | None

    @classmethod
    def _of(cls, record: JobRecord) -> JobResult:
        return cls(
            record.line, record.name, record.model, record.state, record.task_id, record.output, record.code,
            record.message,
        )  # fmt: skip


@dataclass(frozen=True)
class BatchProgress:
    """Counts after every change, for a progress display; ``eta_seconds`` from the pace of the jobs finished in this
    run (``None`` until one has)."""

    total: int
    done: int
    failed: int
    running: int
    queued: int
    elapsed: float
    eta_seconds: float | None
    changed: JobResult | None = None


@dataclass(frozen=True)
class BatchReport:
    """Every job of the manifest as it ended (or stands), in manifest order, and where the state file is."""

    results: list[JobResult]
    state_file: Path

    @property
    def ok(self) -> bool:
        return all(result.state == "succeeded" for result in self.results)

    def count(self, state: JobState) -> int:
        return sum(1 for result in self.results if result.state == state)


def run_batch(
    manifest: str | Path,
    out: str | Path,
    *,
    concurrency: int = DEFAULT_CONCURRENCY,
    retry_failed: bool = False,
    on_progress: Callable[[BatchProgress], object] | None = None,
    **client_options: Any,
) -> BatchReport:
    """``arun_batch`` with its own ``AsyncClient(**client_options)`` (``api_key``, ``base_url``, ...), blocking."""

    async def main() -> BatchReport:
        async with AsyncClient(**client_options) as client:
            return await arun_batch(
                client, manifest, out, concurrency=concurrency, retry_failed=retry_failed, on_progress=on_progress
            )

    return asyncio.run(main())


async def arun_batch(
    client: AsyncClient,
    manifest: str | Path,
    out: str | Path,
    *,
    concurrency: int = DEFAULT_CONCURRENCY,
    retry_failed: bool = False,
    on_progress: Callable[[BatchProgress], object] | None = None,
) -> BatchReport:
    """Run (or resume) every job of ``manifest``, writing ``<out>/<name>.mp4``. ``ManifestError`` before anything is
    sent when a line is wrong; ``retry_failed`` submits again the jobs that failed in an earlier run."""
    if concurrency < 1:
        raise ValueError("concurrency must be at least 1")
    jobs = read_manifest(manifest)
    folder = Path(out)
    state = BatchState(folder)
    try:
        runner = _Runner(client, state, folder, jobs, concurrency, on_progress)
        await runner.run(retry_failed)
        return BatchReport([JobResult._of(state.get(job.key)) for job in jobs], state.path)
    finally:
        state.close()


class _Runner:
    def __init__(
        self,
        client: AsyncClient,
        state: BatchState,
        folder: Path,
        jobs: list[BatchJob],
        concurrency: int,
        on_progress: Callable[[BatchProgress], object] | None,
    ) -> None:
        self.client = client
        self.state = state
        self.folder = folder
        self.jobs = jobs
        self.slots = asyncio.Semaphore(concurrency)
        per_key: dict[str, int | None] = dict(limits()["concurrency"])
        self.lanes = {model: asyncio.Semaphore(limit) for model, limit in per_key.items() if limit}
        self.submit_lock = asyncio.Lock()
        self.on_progress = on_progress
        self.started = time.monotonic()
        self.finished_here = 0
        self.running: set[str] = set()

    async def run(self, retry_failed: bool) -> None:
        records = [self.state.add(job.key, job.line, job.name, job.model) for job in self.jobs]
        for record in records:
            if retry_failed and record.state in ("failed", "unknown"):
                self.state.update(record.key, state="queued", task_id=None, code=None, message=None, baseline=None)
        for record in list(self.state.records()):
            if record.state == "submitting":  # a crash between the submit and its answer: settle it first
                await self._settle(record, record.baseline or "")
        baseline = await self._newest_task()
        self._report(None)
        # Tasks in flight first (they hold their lanes), then the queue in manifest order.
        order = sorted(self.jobs, key=lambda job: (self.state.get(job.key).state != "submitted", job.line))
        await asyncio.gather(*(self._job(job, baseline) for job in order))

    async def _job(self, job: BatchJob, baseline: str) -> None:
        record = self.state.get(job.key)
        if record.state in ("succeeded", "failed", "unknown"):
            return
        # The model's lane first (its per-key limit, held to the end of the task), then one of the batch's slots:
        # a job waiting for its model's lane does not keep a slot from a job of another model.
        async with self.lanes.get(job.model) or contextlib.nullcontext(), self.slots:
            self.running.add(job.key)
            try:
                await self._advance(job, baseline)
            except (DashScopeError, OSError) as exc:  # the service, the network or a file said no: this job alone
                self._fail(job, getattr(exc, "code", None) or type(exc).__name__, str(exc))
            finally:
                self.running.discard(job.key)
                self._report(JobResult._of(self.state.get(job.key)))

    async def _advance(self, job: BatchJob, baseline: str) -> None:
        record = self.state.get(job.key)
        if record.state == "queued":
            record = await self._submit(job, record, baseline)
        if record.state == "submitted" and record.task_id:
            await self._finish(job, record.task_id)

    # ------------------------------------------------------------------------------------------------- steps
    async def _prepare(self, job: BatchJob, record: JobRecord) -> tuple[dict[str, str], dict[str, list[int]]]:
        media = dict(record.media)
        for field, value in job.media.items():
            if field not in media:
                media[field] = (await self.client.uploads.upload(value, job.model)) if "://" not in value else value
                self.state.update(job.key, media=media)
        boxes = dict(record.boxes or {})
        if job.needs_detection and not boxes:
            ratio = cast(EmoRatio, job.ratio or "1:1")  # the manifest checked it against the spec
            verdict = await self.client.face_detect.emo(job.media["image_url"], ratio)
            if not verdict.passed or verdict.face_bbox is None or verdict.ext_bbox is None:
                raise _JobFailed(verdict.code or "DetectionRejected", verdict.message or "emo-detect-v1 rejected it")
            boxes = {"face_bbox": list(verdict.face_bbox), "ext_bbox": list(verdict.ext_bbox)}
            self.state.update(job.key, boxes=boxes)
        return media, boxes

    async def _submit(self, job: BatchJob, record: JobRecord, baseline: str) -> JobRecord:
        try:
            media, boxes = await self._prepare(job, record)
        except _JobFailed as failed:
            self._fail(job, failed.code, failed.message)
            return self.state.get(job.key)
        inputs = {**job.inputs, **media, **boxes}
        for attempt in range(SUBMIT_THROTTLE_RETRIES + 1):
            async with self.submit_lock:
                self.state.begin_submit(job.key, baseline)
                try:
                    handle = await self.client.video_synthesis.create(job.model, inputs, job.parameters)
                except RateLimitError:  # refused, not accepted: nothing was created
                    self.state.update(job.key, state="queued")
                    if attempt == SUBMIT_THROTTLE_RETRIES:
                        raise
                except (APIConnectionError, APIStatusError) as exc:
                    if isinstance(exc, APIStatusError) and exc.status < 500:
                        self.state.update(job.key, state="failed", code=exc.code, message=exc.message)
                        return self.state.get(job.key)
                    settled = await self._settle(self.state.get(job.key), baseline)  # it may have landed
                    if settled.state != "queued":
                        return settled
                else:
                    return self.state.update(job.key, state="submitted", task_id=handle.task_id)
            await self.client.clock.async_sleep(self.client.retry.delay(attempt, None, self.client.rng))
        raise AssertionError("unreachable")  # pragma: no cover

    async def _finish(self, job: BatchJob, task_id: str) -> None:
        try:
            task = await self.client.tasks.wait(task_id)
        except TaskFailed as failed:
            self._fail(job, failed.code or "TaskFailed", failed.message)
            return
        except (TaskCanceled, TaskNotFound, WaitTimeout) as ended:
            self._fail(job, type(ended).__name__, str(ended))
            return
        target = self.folder / f"{job.name}.mp4"
        try:
            await self.client.tasks.download(task, target)
        except DownloadError as exc:
            self._fail(job, type(exc).__name__, str(exc))
            return
        self.state.update(job.key, state="succeeded", output=str(target))
        self.finished_here += 1

    async def _settle(self, record: JobRecord, baseline: str) -> JobRecord:
        """A submit whose answer was lost: adopt the one task it created, or queue the job again if it created none."""
        owned = self.state.task_ids()
        candidates: list[str] = []
        async for item in self.client.tasks.iter(model_name=record.model, page_size=50):
            if item.task_id == baseline:
                break
            if item.task_id not in owned:
                candidates.append(item.task_id)
        if len(candidates) == 1:
            return self.state.update(record.key, state="submitted", task_id=candidates[0])
        if not candidates:
            return self.state.update(record.key, state="queued")
        return self.state.update(
            record.key,
            state="unknown",
            message=f"its submit may have landed: {len(candidates)} tasks of {record.model} appeared that no job "
            "owns; not submitted again (see `dashscope-video list`; --retry-failed submits it anyway)",
        )

    async def _newest_task(self) -> str:
        page = await self.client.tasks.list(page_size=1)
        return page.data[0].task_id if page.data else ""

    # ------------------------------------------------------------------------------------------------ reporting
    def _fail(self, job: BatchJob, code: str | None, message: str) -> None:
        self.state.update(job.key, state="failed", code=code, message=message)

    def _report(self, changed: JobResult | None) -> None:
        if self.on_progress is None:
            return
        records = [self.state.get(job.key) for job in self.jobs]
        done = sum(1 for r in records if r.state == "succeeded")
        failed = sum(1 for r in records if r.state in ("failed", "unknown"))
        elapsed = time.monotonic() - self.started
        left = len(records) - done - failed
        eta = elapsed / self.finished_here * left if self.finished_here else None
        running = len(self.running)
        self.on_progress(BatchProgress(len(records), done, failed, running, left - running, elapsed, eta, changed))


class _JobFailed(Exception):
    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


def summary(results: Iterable[JobResult]) -> str:
    """``12 succeeded, 1 failed`` for the end of a run."""
    counts: dict[str, int] = {}
    for result in results:
        counts[result.state] = counts.get(result.state, 0) + 1
    return ", ".join(f"{n} {state}" for state, n in sorted(counts.items())) or "no jobs"
