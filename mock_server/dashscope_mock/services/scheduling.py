"""When a task starts: a model with a concurrency limit (``x-limits.concurrency``, e.g. videoretalk: one per key)
queues a task behind the open tasks of the same key; its ``start_at`` (``scheduled_time``) is when a slot frees.
Canceling a PENDING task, or an outcome that moves an end, re-plans the tasks that have not started yet."""

from __future__ import annotations

from collections.abc import Callable

from ..config import MockConfig
from ..domain.lifecycle import planned_end
from ..domain.records import TaskRecord
from ..plugins import ModelTiming
from ..store import Store, task_scope, update_task

__all__ = ["Scheduler"]


class Scheduler:
    def __init__(
        self, config: MockConfig, store: Store, timing: Callable[[str], ModelTiming], now: Callable[[], float]
    ) -> None:
        self.config = config
        self.store = store
        self.timing = timing
        self.now = now

    def slot_start(self, key: str, model: str, earliest: float, now: float) -> float:
        """When a task of ``key`` submitted ``now`` may start: ``earliest``, or when a slot frees."""
        limit = self.config.concurrency_for(model)
        if limit is None:
            return earliest
        statuses = self.timing(model).statuses
        ends: list[float] = []
        for other in self.store.queue(key, model):
            end = planned_end(other, statuses)
            if end <= now or (other.canceled_at is not None and other.canceled_at <= now):
                self.store.close_in_queue(other)
                continue
            ends.append(end)
        if len(ends) < limit:
            return earliest
        ends.sort()
        return max(earliest, ends[len(ends) - limit])

    def replan(self, key: str, model: str) -> None:
        """Recompute the start of the queued tasks that have not started yet."""
        limit = self.config.concurrency_for(model)
        if limit is None:
            return
        now = self.now()
        timing = self.timing(model)
        with self.store.transaction(task_scope(key, model)):
            ends: list[float] = []
            for record in self.store.queue(key, model):
                if record.canceled_at is not None:
                    continue
                if record.start_at > now:
                    base = record.submit_at + timing.pending
                    active = sorted(e for e in ends if e > now)
                    start = base if len(active) < limit else max(base, active[len(active) - limit], now)
                    if start != record.start_at:
                        record = update_task(self.store, record.task_id, _start_at(start)) or record
                ends.append(planned_end(record, timing.statuses))


def _start_at(start: float) -> Callable[[TaskRecord], bool]:
    def change(draft: TaskRecord) -> bool:
        if draft.start_at == start:
            return False
        draft.start_at = start
        return True

    return change
