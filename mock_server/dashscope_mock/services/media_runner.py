"""Media work of submitted tasks, off the request path: one asyncio task per job, its outcome written to the task.

An exception inside media work is a bug of the mock (or of a model module), not a property of the input: it is
logged, kept in ``unexpected`` (the in-process test helper fails the test with it) and the task ends
``InternalError.Algo``, as the service reports its own failures.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable

from ..records import TaskRecord
from ..seam import Media, MediaFailure, MediaJob, MediaOutcome
from ..store import Store

__all__ = ["MediaRunner"]

logger = logging.getLogger("dashscope_mock.media")


class MediaRunner:
    def __init__(
        self, media: Media, store: Store, now: Callable[[], float], after_outcome: Callable[[TaskRecord], None]
    ) -> None:
        self.media = media
        self.store = store
        self.now = now
        self.after_outcome = after_outcome
        self.unexpected: list[BaseException] = []
        self._running: set[asyncio.Task[None]] = set()

    def start(self, record: TaskRecord, job: MediaJob) -> None:
        if getattr(self.media, "immediate", False):  # optional, see seam.Media
            # No I/O at all: run the coroutine to completion right here, so the outcome is known at submit.
            coroutine = self.media.prepare(job)
            try:
                coroutine.send(None)
            except StopIteration as done:
                self.record(record, done.value)
                return
            coroutine.close()
            raise RuntimeError(f"{type(self.media).__name__}.prepare suspended though it says it is immediate")
        task = asyncio.get_running_loop().create_task(self._run(record.task_id, job))
        self._running.add(task)
        task.add_done_callback(self._running.discard)

    async def _run(self, task_id: str, job: MediaJob) -> None:
        try:
            outcome = await self.media.prepare(job)
        except asyncio.CancelledError:
            raise
        except Exception as error:
            logger.exception("media work of task %s (%s) failed unexpectedly", task_id, job.model)
            self.unexpected.append(error)
            outcome = MediaOutcome.failed(_internal_failure(job.model))
        record = self.store.get_task(task_id)
        if record is not None:
            self.record(record, outcome)

    def record(self, record: TaskRecord, outcome: MediaOutcome) -> None:
        record.known_at = self.now()
        if outcome.failure is not None:
            failure = outcome.failure
            found = failure.entry_for(["task"])
            record.failure_code = failure.code
            record.failure_message = found.render(**failure.values)
        else:
            record.video_duration = outcome.video_duration
            record.video_ratio = outcome.video_ratio
            record.result_path = outcome.result_path
        self.store.save_task(record)
        self.after_outcome(record)

    async def drain(self) -> None:
        """Wait for the media work in flight (tests)."""
        while self._running:
            await asyncio.gather(*list(self._running), return_exceptions=True)

    def cancel_all(self) -> None:
        for task in list(self._running):
            task.cancel()
        self._running.clear()


def _internal_failure(model: str) -> MediaFailure:
    return MediaFailure("InternalError.Algo", model=model, detail="unexpected error in media work")
