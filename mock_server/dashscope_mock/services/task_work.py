"""The worker side of a task: what the work pool (``work_pool``) calls for each item it claims.

``claimed`` marks the task taken (it is PENDING until then: queued); ``work`` runs its media work (``media_runner``)
and records the outcome in one compare-and-set. An outcome that arrives after the task ended (timed out, canceled,
or recorded by another worker whose lease had run out) is dropped and noted in the journal: a terminal status is
final.
"""

from __future__ import annotations

from collections.abc import Callable

from ..domain.records import TaskRecord
from ..seam import MediaJob, RecordedOutcome
from ..store import JournalKeeper, Store, update_task
from .media_runner import Runner
from .scheduling import Scheduler
from .tasks import TERMINAL, TaskService, apply_outcome

__all__ = ["TaskWork"]


class TaskWork:
    def __init__(
        self,
        *,
        tasks: TaskService,
        store: Store,
        runner: Runner,
        scheduler: Scheduler,
        journal: JournalKeeper,
        format_time: Callable[[float], str],
    ) -> None:
        self.tasks = tasks
        self.store = store
        self.runner = runner
        self.scheduler = scheduler
        self.journal = journal
        self.format_time = format_time

    def claimed(self, task_id: str) -> None:
        """A worker took the task's work: from now on (or its planned start) it is RUNNING."""
        update_task(self.store, task_id, self._mark_claimed)

    def _mark_claimed(self, draft: TaskRecord) -> bool:
        if draft.claimed_at is not None:
            return False  # a second claim (the first worker died): the task keeps its first start
        draft.claimed_at = self.tasks.now()
        return True

    async def work(self, task_id: str) -> None:
        """Run a claimed task's media work and record the outcome (unless the task ended meanwhile). State calls run
        where they cannot block the event loop (``Store.call``)."""
        job = await self.store.call(self._job, task_id)
        if job is None:
            return
        outcome = await self.runner.run(job)
        await self.store.call(self.complete, task_id, outcome)

    def _job(self, task_id: str) -> MediaJob | None:
        record = self.store.get_task(task_id)
        if record is None or record.known_at is not None or self.tasks.snapshot(record).status in TERMINAL:
            return None  # canceled while queued, timed out, deleted, or already worked by a worker that died late
        return self.tasks.job(record)

    def complete(self, task_id: str, outcome: RecordedOutcome) -> TaskRecord | None:
        """Record a media outcome in one compare-and-set; dropped (and journaled) when the task already ended."""
        now = self.tasks.now()
        ended = "the task is gone"

        def change(draft: TaskRecord) -> bool:
            nonlocal ended
            status = self.tasks.snapshot(draft, now).status
            if draft.known_at is not None or status in TERMINAL:
                ended = f"the task had already ended {status}" if status in TERMINAL else "an outcome was recorded"
                return False
            apply_outcome(draft, outcome, now)
            return True

        written = update_task(self.store, task_id, change)
        if written is None:
            self._note(task_id, f"media result dropped: {ended}", now)
            return None
        if outcome.note is not None:
            self._note(task_id, outcome.note, now)
        if self.tasks.config.concurrency_for(written.model) is not None:
            self.scheduler.replan(written.key, written.model)
        return written

    def _note(self, task_id: str, note: str, now: float) -> None:
        """A journal entry for what the engine did that no request shows."""
        record = self.store.get_task(task_id)
        self.journal.record(
            method="-",
            path=f"/api/v1/tasks/{task_id}",
            query="",
            operation=None,
            key=record.key if record is not None else None,
            status=0,
            time=now,
            time_text=self.format_time(now),
            request_id=None,
            duration_ms=0.0,
            note=note,
            task_id=task_id,
        )
