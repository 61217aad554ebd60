"""Where one task's media work runs, once a worker of the pool (``services.work_pool``) has claimed it.

- ``InlineRunner``: on the mock's own event loop (in-process tests, custom ``Media`` objects).
- ``ProcessRunner``: in a pool of child processes at a lower CPU priority (``dashscope-mock serve`` with media checks
  on), so that decoding, face analysis and rendering never compete with the API for the server's core: a burst of
  submits costs the API only the records, and face-detect (its own lane, on the server) never waits behind task work.

Both answer a ``RecordedOutcome``. An exception inside media work is a bug of the mock (or of a model module), not a
property of the input: it is logged, kept in ``unexpected`` (the in-process test helper fails the test with it) and
the task ends ``InternalError.Algo``, as the service reports its own failures.
"""

from __future__ import annotations

import asyncio
import logging
import multiprocessing
import os
import threading
import time
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from typing import Protocol

from ..seam import Media, MediaJob, RecordedOutcome

__all__ = ["InlineRunner", "ProcessRunner", "Runner"]

logger = logging.getLogger("dashscope_mock.media")

CHILD_NICENESS = 10  # the API first: media work gets the CPU the API leaves


class Runner(Protocol):
    unexpected: list[str]

    def immediate(self, job: MediaJob) -> RecordedOutcome | None:
        """The outcome right away when the media never does I/O (media checks off), else ``None``."""
        ...

    async def run(self, job: MediaJob) -> RecordedOutcome: ...

    def close(self) -> None: ...


def _unexpected(job: MediaJob, error: BaseException) -> RecordedOutcome:
    logger.error("media work of task %s (%s) failed unexpectedly", job.task_id, job.model, exc_info=error)
    return RecordedOutcome.internal_error(job.model, f"{type(error).__name__}: {error}")


class InlineRunner:
    def __init__(self, media: Media) -> None:
        self.media = media
        self.unexpected: list[str] = []

    def immediate(self, job: MediaJob) -> RecordedOutcome | None:
        if not getattr(self.media, "immediate", False):  # optional, see seam.Media
            return None
        coroutine = self.media.prepare(job)
        try:
            coroutine.send(None)
        except StopIteration as done:
            return RecordedOutcome.of(done.value)
        coroutine.close()
        raise RuntimeError(f"{type(self.media).__name__}.prepare suspended though it says it is immediate")

    async def run(self, job: MediaJob) -> RecordedOutcome:
        try:
            return RecordedOutcome.of(await self.media.prepare(job))
        except asyncio.CancelledError:
            raise
        except Exception as error:
            recorded = _unexpected(job, error)
            self.unexpected.append(str(recorded.unexpected))
            return recorded

    def close(self) -> None:
        return None  # the media belongs to the backend (face-detect uses it too)


# ---------------------------------------------------------------------------------------------------- child side
_child_media: Media | None = None


def _watch_parent(parent: int) -> None:
    """A child outlives a parent killed with SIGKILL unless it looks: leave when the parent is gone."""
    while os.getppid() == parent:
        time.sleep(1.0)
    os._exit(0)


def _child_init(model_modules: tuple[str, ...], parent: int, fetch_private: bool, allow_fetch: tuple[str, ...]) -> None:
    global _child_media
    os.nice(CHILD_NICENESS)
    threading.Thread(target=_watch_parent, args=(parent,), name="parent-watch", daemon=True).start()
    from ..media import real_media
    from ..plugins import load_registry

    _child_media = real_media(load_registry(model_modules), fetch_private, allow_fetch)


def _child_run(job: MediaJob) -> RecordedOutcome:
    assert _child_media is not None, "the pool's initializer sets it"
    try:
        return RecordedOutcome.of(asyncio.run(_child_media.prepare(job)))
    except Exception as error:
        return _unexpected(job, error)


class ProcessRunner:
    """``workers`` child processes (spawned on first use), each working on one task at a time."""

    def __init__(
        self, workers: int, model_modules: tuple[str, ...], fetch_private: bool, allow_fetch: tuple[str, ...]
    ) -> None:
        self.workers = workers
        self.model_modules = model_modules
        self.fetch_policy = (fetch_private, allow_fetch)  # the children build their fetcher from it
        self.unexpected: list[str] = []
        self._pool: ProcessPoolExecutor | None = None

    def _executor(self) -> ProcessPoolExecutor:
        if self._pool is None:
            self._pool = ProcessPoolExecutor(
                self.workers,
                mp_context=multiprocessing.get_context("spawn"),
                initializer=_child_init,
                initargs=(self.model_modules, os.getpid(), *self.fetch_policy),
            )
        return self._pool

    def immediate(self, job: MediaJob) -> RecordedOutcome | None:
        return None

    async def run(self, job: MediaJob) -> RecordedOutcome:
        pool = self._executor()
        try:
            recorded = await asyncio.get_running_loop().run_in_executor(pool, _child_run, job)
        except BrokenProcessPool as error:  # a child died (a decoder crashed, the OOM killer): a new pool
            if self._pool is pool:
                self._pool = None
                pool.shutdown(wait=False, cancel_futures=True)
            recorded = _unexpected(job, error)
        if recorded.unexpected is not None:
            self.unexpected.append(recorded.unexpected)
        return recorded

    def close(self) -> None:
        if self._pool is not None:
            self._pool.shutdown(wait=False, cancel_futures=True)
            self._pool = None
