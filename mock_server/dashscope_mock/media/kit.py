"""What model modules use for their media work (``MediaKit``), and the seam's real implementation (``RealMedia``).

Downloads run on the event loop (async, bounded); probing, face detection and rendering run in threads, so the mock
keeps serving other requests meanwhile. Nothing here raises for bad media but ``MediaFailure``, which names a
catalogue code.

Checks run in a pool of their own (:data:`CHECK_WORKERS` threads per process): a decode waiting for the memory budget
(``budget.py``) waits there, never in the event loop's default executor, which downloads need for name lookups and
file copies. A render holds its ``render_cost`` from the same budget while it runs.

Work folders are named after the process that made them (``services.workdirs``), so the folders of a process that
died (a media child killed mid-work) are found and removed. A result is rendered in the work folder and moved to its
place only once complete: a render that crashes, or a process that dies while rendering, leaves no partial MP4 where
results go.
"""

from __future__ import annotations

import asyncio
import logging
import os
import shutil
import threading
import weakref
from collections.abc import Awaitable, Callable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

from dashscope_openapi import load_spec

from ..domain.errors import catalogue_error
from ..plugins import ModelRegistry
from ..seam import Box, DetectJob, DetectOutcome, MediaFailure, MediaJob, MediaOutcome
from ..store.workdirs import make_workdir
from .budget import media_budget
from .checks import max_render_seconds
from .errors import failure, input_limits
from .faces import preload
from .fetch import Fetcher, OssResolver
from .probe import AudioInfo
from .render import PORTRAIT_MAX_SIDE, RGB, VIDEO_MAX_SIDE, portrait_render_cost, render_portrait

__all__ = ["MediaKit", "Prepared", "RealMedia", "failed_request", "param", "portrait_result", "scale_box"]

logger = logging.getLogger("dashscope_mock.media")

_T = TypeVar("_T")

MATCH_FRAMES = 5
"""How many frames, spread over the video, are searched for videoretalk's reference face."""

CHECK_WORKERS = 2 * (os.cpu_count() or 1) + 2
"""Threads running checks (decodes, face analysis) at once in a process; more wait their turn in the queue."""
_check_pool_lock = threading.Lock()
_check_pools: list[ThreadPoolExecutor] = []


def _check_pool() -> ThreadPoolExecutor:
    """The process's check pool, made on first use (by whichever event loop gets there first)."""
    with _check_pool_lock:
        if not _check_pools:
            _check_pools.append(ThreadPoolExecutor(CHECK_WORKERS, thread_name_prefix="dashscope-mock-check"))
        return _check_pools[0]


@dataclass
class Prepared:
    """A task whose inputs passed every check: what ``usage`` reports and how to make the result.

    ``render(out_path)`` is synchronous and CPU-bound (seconds at most for short inputs): run it in a thread or process
    pool; it holds ``render_cost`` bytes (its estimated peak) of the process's memory budget while it runs, waiting
    for them if need be. The downloaded inputs stay in ``workdir`` until :meth:`close` (or garbage collection).
    """

    model: str
    video_duration: float
    video_ratio: str
    workdir: Path
    _render: Callable[[Path], None] = field(repr=False)
    details: dict[str, Any] = field(default_factory=dict)
    render_cost: int = 0

    def __post_init__(self) -> None:
        self._finalizer = weakref.finalize(self, shutil.rmtree, self.workdir, True)

    def render(self, out_path: Path) -> Path:
        """Write the result MP4 (H.264 + AAC, ``video_duration`` long) to ``out_path``; returns ``out_path``.

        It is rendered in the work folder and moved to ``out_path`` once complete: ``out_path`` never holds a part.
        """
        out_path = Path(out_path)
        out_path.parent.mkdir(parents=True, exist_ok=True)
        partial = self.workdir / f"partial-{out_path.name}"
        try:
            with media_budget().reserve(self.render_cost):
                self._render(partial)
            _publish(partial, out_path)
        finally:
            partial.unlink(missing_ok=True)
        return out_path

    def close(self) -> None:
        """Delete the downloaded inputs (idempotent)."""
        self._finalizer()


def _publish(partial: Path, out_path: Path) -> None:
    """Move a complete file into place at once (a rename; across file systems, a copy beside it renamed)."""
    try:
        os.replace(partial, out_path)
    except OSError:
        beside = out_path.with_name(f".{out_path.name}.{os.getpid()}.partial")
        try:
            shutil.copyfile(partial, beside)
            os.replace(beside, out_path)
        finally:
            beside.unlink(missing_ok=True)


def portrait_result(
    model: str,
    workdir: Path,
    *,
    frame: RGB,
    face: Box | None,
    audio: AudioInfo,
    audio_path: Path,
    fps: float,
    ratio: str,
    details: dict[str, Any],
    mouth_strength: float = 1.0,
) -> Prepared:
    """A portrait model's prepared result (liveportrait, emo-v1): ``frame`` animated to ``audio``, as long as the
    audio but never past the model's longest documented input, with its render's memory cost."""
    longest = max_render_seconds(model)
    duration = min(round(audio.duration, 2), longest)
    width, height = frame.shape[1], frame.shape[0]

    def render(out_path: Path) -> None:
        render_portrait(
            out_path,
            frame=frame,
            face=face,
            audio_path=audio_path,
            duration=duration,
            fps=fps,
            max_seconds=longest,
            mouth_strength=mouth_strength,
        )

    cost = portrait_render_cost(width, height, duration, audio.sample_rate, audio.channels)
    return Prepared(model, duration, ratio, workdir, render, details, render_cost=cost)


def param(parameters: Mapping[str, Any], schema: str, name: str) -> Any:
    """A parameter as sent, or the spec's default for it."""
    value = parameters.get(name)
    if value is not None:
        return value
    return load_spec()["components"]["schemas"][schema]["properties"][name].get("default")


def scale_box(box: Box, scale_x: float, scale_y: float, width: int, height: int) -> Box:
    x1, y1, x2, y2 = box
    return (
        max(0, min(width - 1, round(x1 * scale_x))),
        max(0, min(height - 1, round(y1 * scale_y))),
        max(1, min(width, round(x2 * scale_x))),
        max(1, min(height, round(y2 * scale_y))),
    )


class MediaKit:
    """Fetches and checks inputs for the model modules.

    ``download_timeout`` (seconds) defaults to ``x-limits.download_timeout_seconds``; ``work_root`` holds one work
    folder per call, named after this process (``services.workdirs``; default: the system's temp dir).
    ``resolve_oss`` reads ``oss://`` URLs (when a job has ``oss_resolve``); ``local_files`` lets ``file://`` URLs the
    mock itself wrote through (see ``fetch``).
    """

    def __init__(
        self,
        *,
        fetcher: Fetcher | None = None,
        download_timeout: float | None = None,
        work_root: Path | None = None,
        resolve_oss: OssResolver | None = None,
        local_files: bool = False,
        portrait_max_side: int = PORTRAIT_MAX_SIDE,
        video_max_side: int = VIDEO_MAX_SIDE,
        match_frames: int = MATCH_FRAMES,
    ) -> None:
        self.fetcher = fetcher or Fetcher(timeout=download_timeout)
        self.work_root = work_root
        if work_root is not None:
            Path(work_root).mkdir(parents=True, exist_ok=True)
        self.resolve_oss = resolve_oss
        self.local_files = local_files
        self.portrait_max_side = portrait_max_side
        self.video_max_side = video_max_side
        self.match_frames = match_frames

    def workdir(self, model: str) -> Path:
        return make_workdir(self.work_root, model)

    async def fetch_all(
        self, model: str, workdir: Path, wanted: Sequence[tuple[str, object]], *, oss_resolve: bool
    ) -> dict[str, Path]:
        """Download the inputs concurrently; the first failing input in ``wanted``'s order is reported (and the
        downloads after it are cancelled)."""

        async def one(name: str, url: object) -> Path:
            if not isinstance(url, str) or not url:
                raise failure(model, name, "download", detail="no URL")
            fetched = await self.fetcher.fetch(
                url,
                workdir / name,
                model=model,
                input=name,
                oss_resolve=oss_resolve,
                resolve_oss=self.resolve_oss,
                local_files=self.local_files,
            )
            return fetched.path

        tasks = [asyncio.ensure_future(one(name, url)) for name, url in wanted]
        paths: dict[str, Path] = {}
        try:
            for (name, url), task in zip(wanted, tasks, strict=True):
                try:
                    paths[name] = await task
                except MediaFailure:
                    raise
                except Exception as error:
                    detail = f"{type(error).__name__}: {error}"
                    raise failure(model, name, "download", url=str(url), detail=detail) from error
        finally:
            for task in tasks:  # an earlier input failed: the later ones no longer matter
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
        return paths

    async def check(self, model: str, input: str, url: str, check: Callable[[], _T]) -> _T:
        """Run a check in the check pool; an unexpected error while reading a file is that input's ``open``
        failure."""
        try:
            return await asyncio.get_running_loop().run_in_executor(_check_pool(), check)
        except MediaFailure:
            raise
        except Exception as error:
            raise failure(model, input, "open", url=url, detail=f"{type(error).__name__}: {error}") from error

    async def prepare(self, job: MediaJob, work: Callable[[MediaKit, MediaJob, Path], Awaitable[Prepared]]) -> Prepared:
        """Run a model's preparation in a fresh work folder, removed when it fails."""
        workdir = self.workdir(job.model)
        try:
            return await work(self, job, workdir)
        except BaseException:
            shutil.rmtree(workdir, ignore_errors=True)
            raise

    async def detect(
        self, job: DetectJob, work: Callable[[MediaKit, DetectJob, Path], Awaitable[DetectOutcome]]
    ) -> DetectOutcome:
        """Run a detector's work in a fresh work folder, always removed."""
        workdir = self.workdir(job.model)
        try:
            return await work(self, job, workdir)
        finally:
            shutil.rmtree(workdir, ignore_errors=True)


def failed_request(error: MediaFailure) -> bool:
    """Whether a detector's failure fails the request (its ``download`` code: HTTP error, not billed) rather than the
    check (200, ``pass``/``check_pass`` false)."""
    download: str | None = input_limits(error.model, "image").get("errors", {}).get("download")
    return error.code == download


class RealMedia:
    """The seam with media checks on: real downloads, checks and renders, per model module.

    Renders are CPU-bound: a burst of tasks queues in a pool of one render thread per CPU instead of starting dozens
    of encoders at once; the task stays RUNNING meanwhile.
    """

    immediate = False

    def __init__(self, registry: ModelRegistry, kit: MediaKit | None = None, *, render_workers: int | None = None):
        self.registry = registry
        self.kit = kit or MediaKit(local_files=True)
        self._render_workers = render_workers or max(1, os.cpu_count() or 1)
        self._renders: ThreadPoolExecutor | None = None
        preload()  # the face models take ~2 s to load: not on the first request's time

    def _pool(self) -> ThreadPoolExecutor:
        if self._renders is None:
            self._renders = ThreadPoolExecutor(self._render_workers, thread_name_prefix="dashscope-mock-render")
        return self._renders

    async def prepare(self, job: MediaJob) -> MediaOutcome:
        try:
            prepared = await self.kit.prepare(job, self.registry.video(job.model).prepare)
        except MediaFailure as error:
            return MediaOutcome.failed(error)
        try:
            out_path = Path(job.results_dir) / f"{job.task_id}.mp4"
            await asyncio.get_running_loop().run_in_executor(self._pool(), prepared.render, out_path)
        finally:
            prepared.close()
        return MediaOutcome.succeeded(
            video_duration=prepared.video_duration, video_ratio=prepared.video_ratio, result_path=str(out_path)
        )

    async def detect(self, job: DetectJob) -> DetectOutcome:
        """A failure with the detector's ``download`` code is a failed request (``ApiError``); any other is a failed
        check."""
        try:
            return await self.kit.detect(job, self.registry.detector(job.model).detect)
        except MediaFailure as error:
            if failed_request(error):
                raise catalogue_error(
                    error.code, model=job.model, reason=error.reason, stages=["detect", "any"], **error.values
                ) from error
            return DetectOutcome.failed(error)

    def close(self) -> None:
        if self._renders is not None:
            self._renders.shutdown(wait=False, cancel_futures=True)
            self._renders = None
