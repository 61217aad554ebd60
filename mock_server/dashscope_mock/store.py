"""Where tasks and uploads live: in memory (default, O(1) lookups) or in SQLite (``sqlite:///path.db``: survives
restarts and is shared by several uvicorn workers; status is still derived lazily from the stored timestamps).

Only tasks, uploads and the virtual clock's offset are shared through SQLite. Scenarios, faults, the journal and
the rate-limit windows stay per process (with several workers, script one worker or use one worker in tests).
"""

from __future__ import annotations

import contextlib
import sqlite3
import threading
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Protocol

from .records import TaskRecord, UploadRecord

__all__ = ["MemoryStore", "SqliteStore", "Store", "open_store"]


class Store(Protocol):
    def transaction(self) -> contextlib.AbstractContextManager[None]: ...
    def next_seq(self) -> int: ...
    def add_task(self, record: TaskRecord) -> None: ...
    def save_task(self, record: TaskRecord) -> None: ...
    def get_task(self, task_id: str) -> TaskRecord | None: ...
    def tasks_of(self, key: str) -> list[TaskRecord]: ...
    def all_tasks(self) -> Iterable[TaskRecord]: ...
    def queue(self, key: str, model: str) -> list[TaskRecord]: ...
    def close_in_queue(self, record: TaskRecord) -> None: ...
    def delete_tasks(self, task_ids: Iterable[str]) -> None: ...
    def add_upload(self, record: UploadRecord) -> None: ...
    def get_upload(self, url: str) -> UploadRecord | None: ...
    def all_uploads(self) -> list[UploadRecord]: ...
    def clock_offset(self) -> float: ...
    def set_clock_offset(self, offset: float) -> None: ...
    def clear(self) -> None: ...
    def close(self) -> None: ...


class MemoryStore:
    def __init__(self) -> None:
        self._lock = threading.RLock()
        self._tasks: dict[str, TaskRecord] = {}
        self._by_key: dict[str, list[str]] = {}
        self._queues: dict[tuple[str, str], list[str]] = {}
        self._uploads: dict[str, UploadRecord] = {}
        self._seq = 0
        self._offset = 0.0
        self._keys: dict[str, str] = {}

    @contextlib.contextmanager
    def transaction(self) -> Iterator[None]:
        with self._lock:
            yield

    def next_seq(self) -> int:
        self._seq += 1
        return self._seq

    def add_task(self, record: TaskRecord) -> None:
        # Intern the key so that 100,000 tasks of one key share one string.
        record.key = self._keys.setdefault(record.key, record.key)
        self._tasks[record.task_id] = record
        self._by_key.setdefault(record.key, []).append(record.task_id)
        self._queues.setdefault((record.key, record.model), []).append(record.task_id)

    def save_task(self, record: TaskRecord) -> None:
        self._tasks[record.task_id] = record

    def get_task(self, task_id: str) -> TaskRecord | None:
        return self._tasks.get(task_id)

    def tasks_of(self, key: str) -> list[TaskRecord]:
        return [self._tasks[i] for i in self._by_key.get(key, ()) if i in self._tasks]

    def all_tasks(self) -> Iterable[TaskRecord]:
        return list(self._tasks.values())

    def queue(self, key: str, model: str) -> list[TaskRecord]:
        return [self._tasks[i] for i in self._queues.get((key, model), ()) if i in self._tasks]

    def close_in_queue(self, record: TaskRecord) -> None:
        ids = self._queues.get((record.key, record.model))
        if ids is not None and record.task_id in ids:
            ids.remove(record.task_id)

    def delete_tasks(self, task_ids: Iterable[str]) -> None:
        gone = set(task_ids)
        for task_id in gone:
            self._tasks.pop(task_id, None)
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

    def clock_offset(self) -> float:
        return self._offset

    def set_clock_offset(self, offset: float) -> None:
        self._offset = offset

    def clear(self) -> None:
        self._tasks.clear()
        self._by_key.clear()
        self._queues.clear()
        self._uploads.clear()
        self._keys.clear()
        self._seq = 0
        self._offset = 0.0

    def close(self) -> None:
        return None


_SCHEMA = """
CREATE TABLE IF NOT EXISTS tasks (
    task_id TEXT PRIMARY KEY,
    key TEXT NOT NULL,
    model TEXT NOT NULL,
    seq INTEGER NOT NULL,
    queue_open INTEGER NOT NULL DEFAULT 1,
    data TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS tasks_key ON tasks (key, seq);
CREATE INDEX IF NOT EXISTS tasks_queue ON tasks (key, model, queue_open, seq);
CREATE TABLE IF NOT EXISTS uploads (url TEXT PRIMARY KEY, data TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS meta (name TEXT PRIMARY KEY, value TEXT NOT NULL);
"""


class SqliteStore:
    """Tasks and uploads in one SQLite file (WAL mode; writes inside ``BEGIN IMMEDIATE``)."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._lock = threading.RLock()
        self._depth = 0
        self._db = sqlite3.connect(str(self.path), isolation_level=None, check_same_thread=False, timeout=30)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=NORMAL")
        self._db.executescript(_SCHEMA)

    @contextlib.contextmanager
    def transaction(self) -> Iterator[None]:
        with self._lock:
            outer = self._depth == 0
            if outer:
                self._db.execute("BEGIN IMMEDIATE")
            self._depth += 1
            try:
                yield
            except BaseException:
                self._depth -= 1
                if outer:
                    self._db.execute("ROLLBACK")
                raise
            self._depth -= 1
            if outer:
                self._db.execute("COMMIT")

    def _meta(self, name: str, default: str) -> str:
        row = self._db.execute("SELECT value FROM meta WHERE name = ?", (name,)).fetchone()
        return str(row[0]) if row else default

    def _set_meta(self, name: str, value: str) -> None:
        self._db.execute("INSERT OR REPLACE INTO meta (name, value) VALUES (?, ?)", (name, value))

    def next_seq(self) -> int:
        with self.transaction():
            value = int(self._meta("seq", "0")) + 1
            self._set_meta("seq", str(value))
            return value

    def add_task(self, record: TaskRecord) -> None:
        with self._lock:
            self._db.execute(
                "INSERT INTO tasks (task_id, key, model, seq, data) VALUES (?, ?, ?, ?, ?)",
                (record.task_id, record.key, record.model, record.seq, record.to_json()),
            )

    def save_task(self, record: TaskRecord) -> None:
        with self._lock:
            self._db.execute("UPDATE tasks SET data = ? WHERE task_id = ?", (record.to_json(), record.task_id))

    def get_task(self, task_id: str) -> TaskRecord | None:
        with self._lock:
            row = self._db.execute("SELECT data FROM tasks WHERE task_id = ?", (task_id,)).fetchone()
        return TaskRecord.from_json(row[0]) if row else None

    def tasks_of(self, key: str) -> list[TaskRecord]:
        with self._lock:
            rows = self._db.execute("SELECT data FROM tasks WHERE key = ? ORDER BY seq", (key,)).fetchall()
        return [TaskRecord.from_json(row[0]) for row in rows]

    def all_tasks(self) -> Iterable[TaskRecord]:
        with self._lock:
            rows = self._db.execute("SELECT data FROM tasks ORDER BY seq").fetchall()
        return [TaskRecord.from_json(row[0]) for row in rows]

    def queue(self, key: str, model: str) -> list[TaskRecord]:
        with self._lock:
            rows = self._db.execute(
                "SELECT data FROM tasks WHERE key = ? AND model = ? AND queue_open = 1 ORDER BY seq", (key, model)
            ).fetchall()
        return [TaskRecord.from_json(row[0]) for row in rows]

    def close_in_queue(self, record: TaskRecord) -> None:
        with self._lock:
            self._db.execute("UPDATE tasks SET queue_open = 0 WHERE task_id = ?", (record.task_id,))

    def delete_tasks(self, task_ids: Iterable[str]) -> None:
        with self._lock:
            self._db.executemany("DELETE FROM tasks WHERE task_id = ?", [(i,) for i in task_ids])

    def add_upload(self, record: UploadRecord) -> None:
        with self._lock:
            self._db.execute("INSERT OR REPLACE INTO uploads (url, data) VALUES (?, ?)", (record.url, record.to_json()))

    def get_upload(self, url: str) -> UploadRecord | None:
        with self._lock:
            row = self._db.execute("SELECT data FROM uploads WHERE url = ?", (url,)).fetchone()
        return UploadRecord.from_json(row[0]) if row else None

    def all_uploads(self) -> list[UploadRecord]:
        with self._lock:
            rows = self._db.execute("SELECT data FROM uploads").fetchall()
        return [UploadRecord.from_json(row[0]) for row in rows]

    def clock_offset(self) -> float:
        with self._lock:
            return float(self._meta("clock_offset", "0"))

    def set_clock_offset(self, offset: float) -> None:
        with self._lock:
            self._set_meta("clock_offset", repr(offset))

    def clear(self) -> None:
        with self.transaction():
            self._db.execute("DELETE FROM tasks")
            self._db.execute("DELETE FROM uploads")
            self._db.execute("DELETE FROM meta")

    def close(self) -> None:
        with self._lock:
            self._db.close()


def open_store(state: str) -> Store:
    """``memory`` or ``sqlite:///relative/or/absolute/path.db`` (``sqlite:////abs`` also works)."""
    if state in ("", "memory"):
        return MemoryStore()
    if state.startswith("sqlite:///"):
        return SqliteStore(state[len("sqlite:///") :])
    raise ValueError(f"unknown state {state!r}: use 'memory' or 'sqlite:///path.db'")
