"""The change feed behind ``GET /_mock/events`` (``events`` sends it as server-sent events, ``views.sse_frame`` frames
each one): per connection, what its client was last told, and at each poll the differences with the state.

It reads only what the control plane's listings read, from the state store (``x-dashboard`` bounds it): the clock,
the newest ``max_tasks`` tasks, the journal after the last entry sent, the scenarios and the faults. So it sees
alike what this worker, another worker or another replica on a shared store did. Events, as
``(name, data)``: ``clock``, ``task``, ``tasks-removed``, ``request``, ``scenarios``, ``faults`` and ``reset``
(the state's ``generation`` changed, or the journal lost the last entry sent: everything is sent again after it).
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from dashscope_openapi import load_control_spec

from ..backend import Backend
from ..domain.lifecycle import Snapshot
from ..domain.records import TaskRecord
from ..domain.scripting import JournalEntry
from . import views

__all__ = ["ChangeFeed", "Event", "clock_body", "dashboard_settings", "task_item"]

Event = tuple[str, dict[str, Any]]


def dashboard_settings() -> Mapping[str, Any]:
    """``x-dashboard`` of the control spec: the feed's tick, keep-alive and bounds, the page's files."""
    settings: Mapping[str, Any] = load_control_spec()["x-dashboard"]
    return settings


def clock_body(backend: Backend) -> dict[str, Any]:
    """``GET /_mock/clock``."""
    now = backend.now()
    clock = backend.clock
    offset = float(getattr(clock, "offset", 0.0))
    zone = datetime.fromtimestamp(now, backend.tz).strftime("%z")  # +0800
    utc_offset = f"{zone[:3]}:{zone[3:]}"
    return views.clock_view(now, backend.format_time(now), offset, bool(getattr(clock, "frozen", False)), utc_offset)


def task_item(backend: Backend, base_url: str, record: TaskRecord, snap: Snapshot, expired: bool) -> dict[str, Any]:
    """One task of ``GET /_mock/tasks``, with its signed result link once it succeeded."""
    return views.control_task(
        record,
        snap,
        expired=expired,
        format_time=backend.format_time,
        result_url=backend.results.result_url(base_url, record, snap),
    )


class ChangeFeed:
    """What changed since the last ``poll`` (at the first: the whole current state)."""

    def __init__(
        self, backend: Backend, base_url: str, *, max_tasks: int | None = None, max_requests: int | None = None
    ) -> None:
        settings = dashboard_settings()
        self.backend = backend
        self.base_url = base_url
        self.max_tasks = int(settings["max_tasks"] if max_tasks is None else max_tasks)
        self.max_requests = int(settings["max_requests"] if max_requests is None else max_requests)
        self._generation: str | None = None
        self._forget()

    def _forget(self) -> None:
        """As if the client had been told nothing."""
        self._clock: dict[str, Any] | None = None
        self._scenarios: dict[str, Any] | None = None
        self._faults: dict[str, Any] | None = None
        self._tasks: dict[str, tuple[tuple[int, Snapshot, bool], dict[str, Any]]] = {}  # what each item was made of
        self._last_entry: JournalEntry | None = None

    def poll(self) -> list[Event]:
        backend = self.backend
        backend.sync_clock()  # a shared store: the clock another worker moved
        events: list[Event] = []
        generation = backend.store.generation()
        entries = self._new_entries()
        if (self._generation is not None and generation != self._generation) or entries is None:
            removed = [task_id for task_id in self._tasks if backend.store.get_task(task_id) is None]
            if removed:
                events.append(("tasks-removed", {"task_ids": removed}))
            events.append(("reset", {}))
            self._forget()
            entries = self._new_entries()
        self._generation = generation
        clock = clock_body(backend)
        if clock != self._clock:
            events.append(("clock", clock))
            self._clock = clock
        scenarios = views.data_view(backend.scenarios.list())
        if scenarios != self._scenarios:
            events.append(("scenarios", scenarios))
            self._scenarios = scenarios
        faults = views.data_view(backend.faults.list())
        if faults != self._faults:
            events.append(("faults", faults))
            self._faults = faults
        events += self._task_events()
        events += [("request", entry.as_dict()) for entry in entries or ()]
        return events

    def _new_entries(self) -> list[JournalEntry] | None:
        """The journal entries after the last one sent (at first the latest ``max_requests``), oldest first;
        ``None`` when that last entry is gone (the journal was emptied since)."""
        journal = self.backend.journal
        last = self._last_entry
        if last is None:
            fresh = journal.entries(after_seq=max(journal.last_seq() - self.max_requests, 0))
            fresh = fresh[max(len(fresh) - self.max_requests, 0) :]
        else:
            fresh = journal.entries(after_seq=last.seq - 1)  # the last one sent comes first: still there?
            if not fresh or fresh[0] != last:
                return None
            fresh = fresh[1:]
        if fresh:
            self._last_entry = fresh[-1]
        return fresh

    def _task_events(self) -> list[Event]:
        """``task`` for each followed task that is new or changed (newest first), ``tasks-removed`` for those gone;
        a task pushed out of the newest ``max_tasks`` by newer ones is no longer followed, without an event."""
        backend = self.backend
        followed: dict[str, tuple[tuple[int, Snapshot, bool], dict[str, Any]]] = {}
        changed: list[Event] = []
        for record, snap, expired in backend.tasks.recent(self.max_tasks):
            made_of = (record.version, snap, expired)
            before = self._tasks.get(record.task_id)
            if before is not None and before[0] == made_of:
                followed[record.task_id] = before
                continue
            item = task_item(backend, self.base_url, record, snap, expired)
            followed[record.task_id] = (made_of, item)
            if before is None or before[1] != item:
                changed.append(("task", item))
        gone = [task_id for task_id in self._tasks if task_id not in followed]
        removed = [task_id for task_id in gone if backend.store.get_task(task_id) is None]
        self._tasks = followed
        return ([("tasks-removed", {"task_ids": removed})] if removed else []) + changed
