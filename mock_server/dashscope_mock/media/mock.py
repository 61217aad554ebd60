"""The adapter between :class:`MediaPipeline` and the mock's media protocol (``dashscope_mock.pipeline``).

``create_pipeline(config)`` is what ``--media-checks on`` loads. ``prepare(job)`` downloads and checks the inputs,
then renders the result MP4 into ``job.results_dir`` in a pool of render threads (one per CPU; the task stays
RUNNING meanwhile) and
answers a ``MediaOutcome``; ``detect`` answers the face-detect body or raises the mock's ``ApiError`` for a failed
request. ``file://`` URLs in a job are the mock's own resolved uploads, so they are read from disk; a client cannot
send one (the spec's URL pattern admits only http(s) and oss).
"""

from __future__ import annotations

import asyncio
import os
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from ..errors import catalogue_error
from ..pipeline import MediaJob, MediaOutcome
from .errors import MediaFailure
from .pipeline import MediaPipeline

__all__ = ["MockMedia", "create_pipeline"]


class MockMedia:
    """Implements ``dashscope_mock.pipeline.MediaPipeline`` with real downloads, checks and renders."""

    def __init__(self, pipeline: MediaPipeline | None = None, *, render_workers: int | None = None) -> None:
        self.pipeline = pipeline or MediaPipeline()
        # Renders are CPU-bound: a burst of tasks queues here instead of starting dozens of encoders at once.
        workers = render_workers or max(1, os.cpu_count() or 1)
        self._renders = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="dashscope-mock-render")

    async def prepare(self, job: MediaJob) -> MediaOutcome:
        body = {"model": job.model, "input": dict(job.input), "parameters": dict(job.parameters)}
        prepared = await self.pipeline.prepare(job.model, body, oss_resolve=job.oss_resolve, local_files=True)
        if isinstance(prepared, MediaFailure):
            return MediaOutcome.failed(prepared.code, reason=prepared.reason, **prepared.values)
        try:
            out_path = Path(job.results_dir) / f"{job.task_id}.mp4"
            await asyncio.get_running_loop().run_in_executor(self._renders, prepared.render, out_path)
        finally:
            prepared.close()
        return MediaOutcome.succeeded(
            video_duration=prepared.video_duration, video_ratio=prepared.video_ratio, result_path=str(out_path)
        )

    async def detect(self, model: str, image_url: str, ratio: str | None, *, oss_resolve: bool) -> dict[str, Any]:
        answer = await self.pipeline.detect(model, image_url, ratio, oss_resolve=oss_resolve, local_files=True)
        if isinstance(answer, MediaFailure):
            raise catalogue_error(
                answer.code, model=model, reason=answer.reason, stages=["detect", "any"], **answer.values
            )
        return answer


def create_pipeline(config: Any = None) -> MockMedia:
    """The media pipeline for a mock built from ``config`` (a ``MockConfig``; ``download_timeout_seconds`` and
    ``media_work_dir`` are read when it has them)."""
    timeout = getattr(config, "download_timeout_seconds", None)
    work_dir = getattr(config, "media_work_dir", None)
    return MockMedia(MediaPipeline(download_timeout=timeout, work_root=Path(work_dir) if work_dir else None))
