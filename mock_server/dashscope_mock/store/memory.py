"""The in-memory store (default; ``make mock`` and the pytest fixture): O(1) task lookups, one process."""

from __future__ import annotations

import contextlib
import itertools
import secrets
import threading
from collections import deque
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass

from ..domain.records import TaskRecord, UploadRecord
from .base import AwaitsInline, RateHit, WorkItem
from .memory_keepers import Faults, Journal, Scenarios

__all__ = ["MemoryRates", "MemoryStore", "MemoryWork"]


@dataclass(slots=True)
class _Item:
    lane: str
    limit: int
    waiting: bool
    owner: str | None = None
    lease_until: float = 0.0


class MemoryWork:
    """The work queue in memory: a FIFO of ready items, and per lane a FIFO of items waiting for a free slot."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._items: dict[str, _Item] = {}
        self._ready: deque[str] = deque()  # may hold finished ids: skipped when claimed
        self._waiting: dict[str, deque[str]] = {}
        self._active: dict[str, int] = {}
        self._claimed: dict[str, _Item] = {}

    def enqueue(self, task_id: str, work: WorkItem) -> None:
        with self._lock:
            lane = work.lane
            waiting = bool(lane) and self._active.get(lane, 0) >= work.limit
            self._items[task_id] = _Item(lane, work.limit, waiting)
            if waiting:
                self._waiting.setdefault(lane, deque()).append(task_id)
                return
            if lane:
                self._active[lane] = self._active.get(lane, 0) + 1
            self._ready.append(task_id)

    def claim(self, owner: str, now: float, lease_seconds: float) -> str | None:
        with self._lock:
            for task_id, held in self._claimed.items():
                if held.lease_until <= now:
                    held.owner, held.lease_until = owner, now + lease_seconds
                    return task_id
            while self._ready:
                task_id = self._ready.popleft()
                item = self._items.get(task_id)
                if item is None or item.waiting or item.owner is not None:
                    continue
                item.owner, item.lease_until = owner, now + lease_seconds
                self._claimed[task_id] = item
                return task_id
        return None

    def renew(self, owner: str, task_ids: Sequence[str], now: float, lease_seconds: float) -> None:
        with self._lock:
            for task_id in task_ids:
                item = self._claimed.get(task_id)
                if item is not None and item.owner == owner:
                    item.lease_until = now + lease_seconds

    def finish(self, task_id: str) -> None:
        with self._lock:
            item = self._items.pop(task_id, None)
            if item is None:
                return
            self._claimed.pop(task_id, None)
            if item.waiting or not item.lane:
                return  # a waiting item held no slot; its id is skipped when the lane's queue reaches it
            self._active[item.lane] -= 1
            queue = self._waiting.get(item.lane)
            while queue:
                next_id = queue.popleft()
                following = self._items.get(next_id)
                if following is not None and following.waiting:
                    following.waiting = False
                    self._active[item.lane] += 1
                    self._ready.append(next_id)
                    break
            if not self._active[item.lane]:
                del self._active[item.lane]
            if queue is not None and not queue:
                del self._waiting[item.lane]

    def __len__(self) -> int:
        return len(self._items)

    def clear(self) -> None:
        with self._lock:
            self._items.clear()
            self._ready.clear()
            self._waiting.clear()
            self._active.clear()
            self._claimed.clear()


class MemoryRates:
    """Sliding windows of event times per key."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._windows: dict[str, deque[float]] = {}

    SWEEP_AT = 4096  # windows kept before the idle ones are dropped: any key and model name opens one

    def hit(self, key: str, now: float, limit: float, window: float) -> bool:
        with self._lock:
            if len(self._windows) >= self.SWEEP_AT and key not in self._windows:
                idle = [name for name, times in self._windows.items() if not times or times[-1] <= now - window]
                for name in idle:
                    del self._windows[name]
            times = self._windows.setdefault(key, deque())
            while times and times[0] <= now - window:
                times.popleft()
            if len(times) >= limit:
                return False
            times.append(now)
            return True

    def clear(self) -> None:
        with self._lock:
            self._windows.clear()


class MemoryStore(AwaitsInline):
    """``secret``: the signing secret to start with (default: random), for side-by-side comparisons in tests."""

    files_dir = None  # a temporary folder of the mock's own (a shared one: --upload-dir)
    shared = False

    def __init__(self, secret: str | None = None) -> None:
        self._lock = threading.RLock()
        self._tasks: dict[str, TaskRecord] = {}
        self._by_key: dict[str, list[str]] = {}
        self._queues: dict[tuple[str, str], list[str]] = {}
        self._uploads: dict[str, UploadRecord] = {}
        self._seq = 0
        self._offset = 0.0
        self._keys: dict[str, str] = {}
        self.scenarios = Scenarios()
        self.faults = Faults()
        self.journal = Journal()
        self.rates = MemoryRates()
        self.work = MemoryWork()
        self._secret = secret or secrets.token_hex(32)
        self._generation = secrets.token_hex(8)

    @contextlib.contextmanager
    def transaction(self, scope: str = "") -> Iterator[None]:
        with self._lock:  # one lock for every scope: memory calls never wait
            yield

    def next_seq(self) -> int:
        with self._lock:
            self._seq += 1
            return self._seq

    def add_task(self, record: TaskRecord, work: WorkItem | None = None) -> None:
        with self._lock:
            # Intern the key so that 100,000 tasks of one key share one string.
            record.key = self._keys.setdefault(record.key, record.key)
            self._tasks[record.task_id] = record
            self._by_key.setdefault(record.key, []).append(record.task_id)
            self._queues.setdefault((record.key, record.model), []).append(record.task_id)
            if work is not None:
                self.work.enqueue(record.task_id, work)

    def replace_task(self, record: TaskRecord) -> bool:
        with self._lock:
            stored = self._tasks.get(record.task_id)
            if stored is None or stored.version != record.version or stored is record:
                return False
            record.version += 1
            record.key = stored.key
            self._tasks[record.task_id] = record
            return True

    def get_task(self, task_id: str) -> TaskRecord | None:
        return self._tasks.get(task_id)

    def tasks_of(self, key: str) -> list[TaskRecord]:
        return [self._tasks[i] for i in self._by_key.get(key, ()) if i in self._tasks]

    def all_tasks(self) -> Iterable[TaskRecord]:
        return list(self._tasks.values())

    def recent_tasks(self, limit: int) -> list[TaskRecord]:
        with self._lock:  # tasks are added in seq order
            return list(itertools.islice(reversed(self._tasks.values()), max(limit, 0)))

    def queue(self, key: str, model: str) -> list[TaskRecord]:
        return [self._tasks[i] for i in self._queues.get((key, model), ()) if i in self._tasks]

    def close_in_queue(self, record: TaskRecord) -> None:
        with self._lock:
            ids = self._queues.get((record.key, record.model))
            if ids is not None and record.task_id in ids:
                ids.remove(record.task_id)

    def delete_tasks(self, task_ids: Iterable[str]) -> None:
        gone = set(task_ids)
        with self._lock:
            for task_id in gone:
                self._tasks.pop(task_id, None)
                self.work.finish(task_id)
            for key, ids in list(self._by_key.items()):
                self._by_key[key] = [i for i in ids if i not in gone]
            for slot, ids in list(self._queues.items()):
                self._queues[slot] = [i for i in ids if i not in gone]

    def add_upload(self, record: UploadRecord) -> None:
        self._uploads[record.url] = record

    def get_upload(self, url: str) -> UploadRecord | None:
        return self._uploads.get(url)

    def all_uploads(self) -> list[UploadRecord]:
        return list(self._uploads.values())

    def clock_offset(self, task_id: str | None = None, rate: RateHit | None = None) -> float:
        return self._offset

    def advance_clock(self, seconds: float) -> float:
        with self._lock:
            self._offset += seconds
            return self._offset

    def secret(self) -> str:
        return self._secret

    def generation(self) -> str:
        return self._generation

    def clear(self) -> None:
        with self._lock:
            self._secret = secrets.token_hex(32)
            self._generation = secrets.token_hex(8)
            self._tasks.clear()
            self._by_key.clear()
            self._queues.clear()
            self._uploads.clear()
            self._keys.clear()
            self._seq = 0
            self._offset = 0.0
            self.scenarios.clear()
            self.faults.clear()
            self.journal.clear()
            self.rates.clear()
            self.work.clear()

    def close(self) -> None:
        return None
