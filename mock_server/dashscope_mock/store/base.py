"""What a store keeps, as protocols: tasks and uploads, the work queue, scenarios, faults, the journal, the per-key
rate windows and the virtual clock's offset. One state for every worker and every host that opens the same store.

Records a store hands out are read-only: a change is made on a copy and written back with ``replace_task``, a
compare-and-set on ``TaskRecord.version`` (``update_task`` is that loop, written once for every store).
"""

from __future__ import annotations

import contextlib
import dataclasses
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol, TypeVar

from ..domain.records import TaskRecord, UploadRecord
from ..domain.scripting import NO_FACTS, Fault, FaultFacts, JournalEntry, Operation, Scenario

__all__ = [
    "AwaitsInline",
    "FaultKeeper",
    "JournalKeeper",
    "RateHit",
    "RateWindows",
    "ScenarioKeeper",
    "Store",
    "WorkItem",
    "WorkQueue",
    "task_scope",
    "update_task",
]

T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class WorkItem:
    """A task's media work, queued with the task. Items of one ``lane`` (a key's tasks of a model with a
    concurrency limit) run at most ``limit`` at a time; the others of the lane wait, in submit order."""

    lane: str = ""
    limit: int = 0


@dataclass(frozen=True, slots=True)
class RateHit:
    """A task query's rate hit (``RateWindows.hit``) that a store may make in the request's first round trip
    (``Store.clock_offset``): ``now`` was read with the clock offset ``offset``, and holds only while the store's offset
    still is that. The handler's own hit then takes the result (Redis: ``_redis_client.EarlyHit``)."""

    key: str
    now: float
    limit: float
    window: float
    offset: float


class WorkQueue(Protocol):
    """The queue of media work. A claim is held under a lease (wall-clock seconds, as processes die in real time):
    a claim whose lease ran out (its worker died) is handed out again."""

    def claim(self, owner: str, now: float, lease_seconds: float) -> str | None:
        """The task id of the next item to work on (an expired claim first, then the oldest ready item), claimed
        by ``owner`` until ``now + lease_seconds``; ``None`` when nothing is ready."""
        ...

    def renew(self, owner: str, task_ids: Sequence[str], now: float, lease_seconds: float) -> None:
        """Extend the leases ``owner`` still holds on ``task_ids``."""
        ...

    def finish(self, task_id: str) -> None:
        """Forget the item (worked, canceled or deleted) and let the next waiting item of its lane in."""
        ...

    def __len__(self) -> int:
        """Items not finished: waiting, ready or claimed."""
        ...


class ScenarioKeeper(Protocol):
    def add(self, **fields: Any) -> Scenario: ...
    def take(self, model: str, operation: Operation, urls: Iterable[str] = ()) -> Scenario | None: ...
    def list(self) -> list[Scenario]: ...
    def remove(self, scenario_id: int) -> bool:
        """Forget one scenario (its id is not handed out again until ``clear``); whether it existed."""
        ...

    def clear(self) -> None: ...


class FaultKeeper(Protocol):
    def add(self, **fields: Any) -> Fault: ...
    def pick(self, method: str, path: str, operation: str | None, facts: FaultFacts = NO_FACTS) -> list[Fault]:
        """The faults firing for this request (at most one of each kind), selected by ``Fault.matches``."""
        ...

    def list(self) -> list[Fault]: ...
    def remove(self, fault_id: int) -> bool:
        """Forget one fault (its id is not handed out again until ``clear``); whether it existed."""
        ...

    def clear(self) -> None: ...


class JournalKeeper(Protocol):
    def record(self, **fields: Any) -> JournalEntry: ...
    def entries(
        self,
        *,
        operation: str | None = None,
        key: str | None = None,
        path_contains: str | None = None,
        after_seq: int = 0,
    ) -> list[JournalEntry]:
        """The kept entries matching the filters, oldest first; ``after_seq``: only those with a greater ``seq``."""
        ...

    def last_seq(self) -> int:
        """The ``seq`` of the newest entry (0 when none was recorded since the last ``clear``)."""
        ...

    def __len__(self) -> int: ...
    def clear(self) -> None: ...


class RateWindows(Protocol):
    def hit(self, key: str, now: float, limit: float, window: float) -> bool:
        """Count one event of ``key`` at ``now`` unless ``limit`` events fell in the last ``window`` seconds;
        whether it was counted."""
        ...

    def clear(self) -> None: ...


class Store(Protocol):
    @property
    def shared(self) -> bool:
        """Other processes may change it: re-read the clock offset per request, renew leases."""
        ...

    @property
    def remote(self) -> bool:
        """Its calls wait on a network (Redis): made off the event loop (``call``), never blocking it."""
        ...

    @property
    def files_dir(self) -> Path | None:
        """Where uploads and results live beside this state when no ``--upload-dir`` says (a SQLite file's
        ``<file>.files``); ``None``: a temporary folder of the mock's own."""
        ...

    @property
    def scenarios(self) -> ScenarioKeeper: ...
    @property
    def faults(self) -> FaultKeeper: ...
    @property
    def journal(self) -> JournalKeeper: ...
    @property
    def rates(self) -> RateWindows: ...
    @property
    def work(self) -> WorkQueue: ...

    def transaction(self, scope: str = "") -> contextlib.AbstractContextManager[None]:
        """Hold off other holders of ``scope`` (a key's tasks of a model: ``task_scope``) in every process."""
        ...

    def next_seq(self) -> int: ...
    def add_task(self, record: TaskRecord, work: WorkItem | None = None) -> None: ...
    def replace_task(self, record: TaskRecord) -> bool:
        """Write ``record`` if the stored version still is ``record.version`` (then both grow by one)."""
        ...

    def get_task(self, task_id: str) -> TaskRecord | None: ...
    def tasks_of(self, key: str) -> list[TaskRecord]: ...
    def all_tasks(self) -> Iterable[TaskRecord]: ...
    def recent_tasks(self, limit: int) -> list[TaskRecord]:
        """The ``limit`` newest tasks (by ``seq``), newest first."""
        ...

    def queue(self, key: str, model: str) -> list[TaskRecord]: ...
    def close_in_queue(self, record: TaskRecord) -> None: ...
    def delete_tasks(self, task_ids: Iterable[str]) -> None: ...
    def add_upload(self, record: UploadRecord) -> None: ...
    def get_upload(self, url: str) -> UploadRecord | None: ...
    def all_uploads(self) -> list[UploadRecord]: ...
    def clock_offset(self, task_id: str | None = None, rate: RateHit | None = None) -> float:
        """The shared clock offset, read first by every request of a shared store; ``task_id``: the task the request
        queries, which a store may read in the same round trip (Redis) and answer ``get_task`` from for the request;
        ``rate``: the query's rate hit, which such a store may make in that round trip too (others ignore it)."""
        ...

    async def begin_request(self, task_id: str | None = None, rate: RateHit | None = None) -> float:
        """``clock_offset`` as a request's first state read, awaited: a store on the network (Redis) never blocks the
        event loop for it."""
        ...

    async def record_request(self, **fields: Any) -> None:
        """``journal.record`` of a request's entry, awaited (as ``begin_request``)."""
        ...

    def answers_query(self, task_id: str) -> bool:
        """Whether the request's first round trip (``begin_request``) read all a query of ``task_id`` needs (its task,
        the secret, its rate hit): then its handler makes no state call and runs inline."""
        ...

    def knows_no_faults(self) -> bool:
        """Whether the request's first round trip saw that no fault is set (then none is picked, without a call)."""
        ...

    async def call(self, work: Callable[..., T], *args: Any) -> T:
        """``work(*args)``, synchronous work on this state, where it cannot block the event loop: inline for a store
        whose calls never wait on a network, on a worker thread of the store's for one that does (Redis). It sees the
        request's context and what the request's first round trip read."""
        ...

    def advance_clock(self, seconds: float) -> float:
        """Add ``seconds`` to the shared clock offset; the new offset."""
        ...

    def secret(self) -> str:
        """A random secret shared by every process of this state (it signs upload policies and result links); made
        on first use, and anew after ``clear``. Never derived from ``--seed``."""
        ...

    def generation(self) -> str:
        """A random id of the state, made on first use and anew after ``clear``: a reader that sees it change knows
        that everything it read before is gone."""
        ...

    def clear(self) -> None: ...
    def close(self) -> None: ...


def task_scope(key: str, model: str) -> str:
    """The ``transaction`` scope of a key's tasks of a model: what a submit's start is planned against (its lane)."""
    return f"{key}/{model}"


class AwaitsInline:
    """The awaited calls of ``Store`` for a store whose calls never wait on a network (memory, a local SQLite file):
    made inline."""

    journal: JournalKeeper
    remote = False

    def clock_offset(self, task_id: str | None = None, rate: RateHit | None = None) -> float:
        raise NotImplementedError

    async def begin_request(self, task_id: str | None = None, rate: RateHit | None = None) -> float:
        return self.clock_offset(task_id, rate)

    async def record_request(self, **fields: Any) -> None:
        self.journal.record(**fields)

    async def call(self, work: Callable[..., T], *args: Any) -> T:
        return work(*args)

    def answers_query(self, task_id: str) -> bool:
        return True

    def knows_no_faults(self) -> bool:
        return False


def update_task(store: Store, task_id: str, change: Callable[[TaskRecord], bool]) -> TaskRecord | None:
    """Apply ``change`` to a copy of the stored task and compare-and-set it, again on a conflict. ``change`` answers
    whether to write (``False``: nothing to do). The record as written, or ``None`` (no such task, or no change)."""
    while True:
        stored = store.get_task(task_id)
        if stored is None:
            return None
        draft = dataclasses.replace(stored)
        if not change(draft):
            return None
        if store.replace_task(draft):
            return draft
