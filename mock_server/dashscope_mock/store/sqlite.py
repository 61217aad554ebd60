"""The SQLite store (``sqlite:///path.db``): one file in WAL mode, kept across restarts and shared by every process
of one host (uvicorn workers, media workers). It keeps all the state the memory store keeps: tasks and uploads, the
work queue with its leases, scenarios, faults, the journal, the rate windows and the virtual clock's offset.

Every read-then-write runs inside ``BEGIN IMMEDIATE`` (one writer across processes; the others wait up to 30 s),
and a thread lock guards the process's one connection. Scenarios and faults are rows of JSON (``as_record``), so
``take`` and ``pick`` decide and count under that write lock, whichever worker the request reached.
"""

from __future__ import annotations

import contextlib
import dataclasses
import json
import secrets
import sqlite3
import threading
from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path
from typing import Any

from ..domain.records import TaskRecord, UploadRecord
from ..domain.scripting import JOURNAL_MAX, NO_FACTS, Fault, FaultFacts, JournalEntry, Operation, Scenario
from .base import AwaitsInline, FaultKeeper, JournalKeeper, RateHit, RateWindows, ScenarioKeeper, WorkItem, WorkQueue

__all__ = ["SqliteStore"]

_TRIM_EVERY = 1_000  # journal inserts between two trims of the entries beyond JOURNAL_MAX

_SCHEMA = """
CREATE TABLE IF NOT EXISTS tasks (
    task_id TEXT PRIMARY KEY,
    key TEXT NOT NULL,
    model TEXT NOT NULL,
    seq INTEGER NOT NULL,
    queue_open INTEGER NOT NULL DEFAULT 1,
    version INTEGER NOT NULL DEFAULT 0,
    data TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS tasks_key ON tasks (key, seq);
CREATE INDEX IF NOT EXISTS tasks_seq ON tasks (seq);
CREATE INDEX IF NOT EXISTS tasks_queue ON tasks (key, model, queue_open, seq);
CREATE TABLE IF NOT EXISTS uploads (url TEXT PRIMARY KEY, data TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS meta (name TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS work (
    task_id TEXT PRIMARY KEY,
    seq INTEGER NOT NULL,
    lane TEXT NOT NULL,
    lane_limit INTEGER NOT NULL,
    state TEXT NOT NULL,
    owner TEXT,
    lease_until REAL NOT NULL DEFAULT 0
);
CREATE UNIQUE INDEX IF NOT EXISTS work_order ON work (seq);
CREATE INDEX IF NOT EXISTS work_state ON work (state, seq);
CREATE INDEX IF NOT EXISTS work_lane ON work (lane, state, seq);
CREATE TABLE IF NOT EXISTS scenarios (id INTEGER PRIMARY KEY, data TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS faults (id INTEGER PRIMARY KEY, data TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS journal (
    seq INTEGER PRIMARY KEY,
    operation TEXT,
    key TEXT,
    path TEXT NOT NULL,
    data TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS rates (key TEXT NOT NULL, at REAL NOT NULL);
CREATE INDEX IF NOT EXISTS rates_key ON rates (key, at);
"""


class _Db:
    """The process's one connection, the thread lock around it and the re-entrant write transaction."""

    def __init__(self, path: Path) -> None:
        self.lock = threading.RLock()
        self._depth = 0
        self.conn = sqlite3.connect(str(path), isolation_level=None, check_same_thread=False, timeout=30)
        self.conn.execute("PRAGMA journal_mode=WAL")
        self.conn.execute("PRAGMA synchronous=NORMAL")
        # One transaction, so that processes starting together do not race on the schema.
        self.conn.executescript(f"BEGIN IMMEDIATE;{_SCHEMA}COMMIT;")
        with self.transaction():  # files written before tasks had a version
            columns = {row[1] for row in self.rows("PRAGMA table_info(tasks)")}
            if "version" not in columns:
                self.conn.execute("ALTER TABLE tasks ADD COLUMN version INTEGER NOT NULL DEFAULT 0")

    @contextlib.contextmanager
    def transaction(self) -> Iterator[None]:
        with self.lock:
            outer = self._depth == 0
            if outer:
                self.conn.execute("BEGIN IMMEDIATE")
            self._depth += 1
            try:
                yield
            except BaseException:
                self._depth -= 1
                if outer:
                    self.conn.execute("ROLLBACK")
                raise
            self._depth -= 1
            if outer:
                self.conn.execute("COMMIT")

    def run(self, sql: str, params: Sequence[Any] = ()) -> sqlite3.Cursor:
        with self.lock:
            return self.conn.execute(sql, params)

    def rows(self, sql: str, params: Sequence[Any] = ()) -> list[Any]:
        with self.lock:
            return self.conn.execute(sql, params).fetchall()

    def row(self, sql: str, params: Sequence[Any] = ()) -> Any:
        """The first row, or ``None``."""
        with self.lock:
            return self.conn.execute(sql, params).fetchone()

    def value(self, sql: str, params: Sequence[Any] = ()) -> Any:
        """The first column of the first row (a query that always answers one row: ``COUNT``, ``MAX``)."""
        return self.row(sql, params)[0]

    def records(self, table: str) -> list[dict[str, Any]]:
        return [json.loads(data) for (data,) in self.rows(f"SELECT data FROM {table} ORDER BY id")]

    def put(self, table: str, record_id: int, record: dict[str, Any]) -> None:
        self.run(f"INSERT OR REPLACE INTO {table} (id, data) VALUES (?, ?)", (record_id, json.dumps(record)))

    def _last_id(self, table: str) -> int:
        """The highest id handed out since ``table`` was cleared: a removed row's id is not handed out again."""
        noted = self.row("SELECT value FROM meta WHERE name = ?", (f"{table}:last_id",))
        return max(int(self.value(f"SELECT COALESCE(MAX(id), 0) FROM {table}")), int(noted[0]) if noted else 0)

    def next_id(self, table: str) -> int:
        """The id after the highest handed out (1 once the table was cleared, as the in-memory counters restart)."""
        return self._last_id(table) + 1

    def remove(self, table: str, record_id: int) -> bool:
        with self.transaction():
            self.run("INSERT OR REPLACE INTO meta VALUES (?, ?)", (f"{table}:last_id", str(self._last_id(table))))
            return self.run(f"DELETE FROM {table} WHERE id = ?", (record_id,)).rowcount == 1

    def clear(self, table: str) -> None:
        with self.transaction():
            self.run(f"DELETE FROM {table}")
            self.run("DELETE FROM meta WHERE name = ?", (f"{table}:last_id",))

    def close(self) -> None:
        with self.lock:
            self.conn.close()


class _SqliteScenarios:
    def __init__(self, db: _Db) -> None:
        self._db = db

    def add(self, **fields: Any) -> Scenario:
        with self._db.transaction():
            scenario = Scenario(id=self._db.next_id("scenarios"), **fields)
            self._db.put("scenarios", scenario.id, scenario.as_record())
        return scenario

    def take(self, model: str, operation: Operation, urls: Iterable[str] = ()) -> Scenario | None:
        """Consume one use of the first live scenario matching the request."""
        texts = [u for u in urls if isinstance(u, str)]
        # Every submit asks: no write lock unless one may match (a use, once gone, never comes back).
        if not any(s.matches(model, operation, texts) for s in self.list()):
            return None
        with self._db.transaction():
            for scenario in self.list():
                if scenario.matches(model, operation, texts):
                    scenario.used += 1
                    self._db.put("scenarios", scenario.id, scenario.as_record())
                    return scenario
        return None

    def remove(self, scenario_id: int) -> bool:
        return self._db.remove("scenarios", scenario_id)

    def clear(self) -> None:
        self._db.clear("scenarios")

    def list(self) -> list[Scenario]:
        return [Scenario.from_record(data) for data in self._db.records("scenarios")]


class _SqliteFaults:
    def __init__(self, db: _Db) -> None:
        self._db = db

    def add(self, **fields: Any) -> Fault:
        with self._db.transaction():
            fault = Fault(id=self._db.next_id("faults"), **fields)
            self._db.put("faults", fault.id, fault.as_record())
        return fault

    def pick(self, method: str, path: str, operation: str | None, facts: FaultFacts = NO_FACTS) -> list[Fault]:
        """The faults firing for this request (at most one of each kind)."""
        # Every request asks: one SELECT, and the write lock only when a fault may fire (a spent one stays spent).
        if not any(f.matches(method, path, operation, facts) for f in self.list()):
            return []
        chosen: dict[str, Fault] = {}
        with self._db.transaction():
            for fault in self.list():
                if fault.kind in chosen or not fault.matches(method, path, operation, facts):
                    continue
                fault.matched += 1
                if fault.draw(fault.matched - 1):
                    fault.fired += 1
                    chosen[fault.kind] = fault
                self._db.put("faults", fault.id, fault.as_record())
        return [*chosen.values()]

    def remove(self, fault_id: int) -> bool:
        return self._db.remove("faults", fault_id)

    def clear(self) -> None:
        self._db.clear("faults")

    def list(self) -> list[Fault]:
        return [Fault.from_record(data) for data in self._db.records("faults")]


class _SqliteJournal:
    """Entries by ``seq`` (the rowid: one more than the highest, 1 again once cleared). The last ``JOURNAL_MAX``
    seqs are kept; older rows are deleted every ``_TRIM_EVERY`` inserts and never read in between."""

    _KEPT = "seq > (SELECT COALESCE(MAX(seq), 0) FROM journal) - ?"

    def __init__(self, db: _Db) -> None:
        self._db = db

    def record(self, **fields: Any) -> JournalEntry:
        entry = JournalEntry(seq=0, **fields)
        data = {k: v for k, v in dataclasses.asdict(entry).items() if k != "seq"}
        with self._db.lock:
            cursor = self._db.run(
                "INSERT INTO journal (operation, key, path, data) VALUES (?, ?, ?, ?)",
                (entry.operation, entry.key, entry.path, json.dumps(data)),
            )
            seq = cursor.lastrowid
            assert seq is not None
            if seq % _TRIM_EVERY == 0:
                self._db.run("DELETE FROM journal WHERE seq <= ?", (seq - JOURNAL_MAX,))
        return dataclasses.replace(entry, seq=seq)

    def entries(
        self,
        *,
        operation: str | None = None,
        key: str | None = None,
        path_contains: str | None = None,
        after_seq: int = 0,
    ) -> list[JournalEntry]:
        where: list[str] = [self._KEPT, "seq > ?"]
        params: list[Any] = [JOURNAL_MAX, after_seq]
        if operation is not None:
            where.append("operation = ?")
            params.append(operation)
        if key is not None:
            where.append("key = ?")
            params.append(key)
        if path_contains is not None:
            where.append("instr(path, ?) > 0")  # case-sensitive, as ``in`` (LIKE is not)
            params.append(path_contains)
        rows = self._db.rows(f"SELECT seq, data FROM journal WHERE {' AND '.join(where)} ORDER BY seq", params)
        return [JournalEntry(seq=seq, **json.loads(data)) for seq, data in rows]

    def last_seq(self) -> int:
        return int(self._db.value("SELECT COALESCE(MAX(seq), 0) FROM journal"))

    def __len__(self) -> int:
        return int(self._db.value(f"SELECT COUNT(*) FROM journal WHERE {self._KEPT}", (JOURNAL_MAX,)))

    def clear(self) -> None:
        self._db.run("DELETE FROM journal")


class _SqliteRates:
    """A sliding-window log: one row per counted event."""

    def __init__(self, db: _Db) -> None:
        self._db = db
        self._hits = 0

    def hit(self, key: str, now: float, limit: float, window: float) -> bool:
        with self._db.transaction():
            self._db.run("DELETE FROM rates WHERE key = ? AND at <= ?", (key, now - window))
            self._hits += 1
            if self._hits % _TRIM_EVERY == 0:  # every key opens a window: an hour-old row is in none of them
                self._db.run("DELETE FROM rates WHERE at <= ?", (now - 3600,))
            if self._db.value("SELECT COUNT(*) FROM rates WHERE key = ?", (key,)) >= limit:
                return False
            self._db.run("INSERT INTO rates (key, at) VALUES (?, ?)", (key, now))
            return True

    def clear(self) -> None:
        self._db.run("DELETE FROM rates")


class _SqliteWork:
    """The work queue as rows in state ``waiting`` (for a slot of its lane), ``ready`` or ``claimed`` (under a
    lease). ``seq`` is the order of becoming ready: a promoted item goes to the back, as in the memory queue."""

    _NEXT_SEQ = "(SELECT COALESCE(MAX(seq), 0) + 1 FROM work)"

    def __init__(self, db: _Db) -> None:
        self._db = db

    def enqueue(self, task_id: str, work: WorkItem) -> None:
        with self._db.transaction():
            waiting = bool(work.lane) and (
                self._db.value("SELECT COUNT(*) FROM work WHERE lane = ? AND state != 'waiting'", (work.lane,))
                >= work.limit
            )
            self._db.run(
                f"INSERT INTO work (task_id, seq, lane, lane_limit, state) VALUES (?, {self._NEXT_SEQ}, ?, ?, ?)",
                (task_id, work.lane, work.limit, "waiting" if waiting else "ready"),
            )

    def _next(self, now: float) -> str | None:
        row = self._db.row(
            "SELECT task_id FROM work WHERE state = 'claimed' AND lease_until <= ? ORDER BY seq LIMIT 1", (now,)
        ) or self._db.row("SELECT task_id FROM work WHERE state = 'ready' ORDER BY seq LIMIT 1")
        return None if row is None else str(row[0])

    def claim(self, owner: str, now: float, lease_seconds: float) -> str | None:
        if self._next(now) is None:
            return None  # workers poll: no write lock while there is nothing to do
        with self._db.transaction():
            task_id = self._next(now)
            if task_id is not None:
                self._db.run(
                    "UPDATE work SET state = 'claimed', owner = ?, lease_until = ? WHERE task_id = ?",
                    (owner, now + lease_seconds, task_id),
                )
            return task_id

    def renew(self, owner: str, task_ids: Sequence[str], now: float, lease_seconds: float) -> None:
        with self._db.transaction():
            for task_id in task_ids:
                self._db.run(
                    "UPDATE work SET lease_until = ? WHERE task_id = ? AND owner = ? AND state = 'claimed'",
                    (now + lease_seconds, task_id, owner),
                )

    def finish(self, task_id: str) -> None:
        with self._db.transaction():
            row = self._db.row("SELECT lane, state FROM work WHERE task_id = ?", (task_id,))
            if row is None:
                return
            self._db.run("DELETE FROM work WHERE task_id = ?", (task_id,))
            lane, state = row
            if not lane or state == "waiting":
                return  # it held no slot of a lane
            self._db.run(
                f"UPDATE work SET state = 'ready', seq = {self._NEXT_SEQ} WHERE task_id = "
                "(SELECT task_id FROM work WHERE lane = ? AND state = 'waiting' ORDER BY seq LIMIT 1)",
                (lane,),
            )

    def __len__(self) -> int:
        return int(self._db.value("SELECT COUNT(*) FROM work"))

    def clear(self) -> None:
        self._db.run("DELETE FROM work")


class SqliteStore(AwaitsInline):
    """All the state in one SQLite file (WAL mode; read-then-write inside ``BEGIN IMMEDIATE``)."""

    shared = True

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self.files_dir: Path | None = self.path.with_name(self.path.name + ".files")  # uploads and results beside it
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._db = _Db(self.path)
        self._work = _SqliteWork(self._db)
        # Typed as the protocols: ``Store``'s attributes are settable, so mypy wants these exact types.
        self.scenarios: ScenarioKeeper = _SqliteScenarios(self._db)
        self.faults: FaultKeeper = _SqliteFaults(self._db)
        self.journal: JournalKeeper = _SqliteJournal(self._db)
        self.rates: RateWindows = _SqliteRates(self._db)
        self.work: WorkQueue = self._work

    def transaction(self, scope: str = "") -> contextlib.AbstractContextManager[None]:
        return self._db.transaction()  # SQLite writes one at a time: every scope

    def _meta(self, name: str, default: str) -> str:
        row = self._db.row("SELECT value FROM meta WHERE name = ?", (name,))
        return str(row[0]) if row else default

    def _set_meta(self, name: str, value: str) -> None:
        self._db.run("INSERT OR REPLACE INTO meta (name, value) VALUES (?, ?)", (name, value))

    def next_seq(self) -> int:
        with self._db.transaction():
            value = int(self._meta("seq", "0")) + 1
            self._set_meta("seq", str(value))
            return value

    def add_task(self, record: TaskRecord, work: WorkItem | None = None) -> None:
        with self._db.transaction():  # the task and its work, or neither
            self._db.run(
                "INSERT INTO tasks (task_id, key, model, seq, version, data) VALUES (?, ?, ?, ?, ?, ?)",
                (record.task_id, record.key, record.model, record.seq, record.version, record.to_json()),
            )
            if work is not None:
                self._work.enqueue(record.task_id, work)

    def replace_task(self, record: TaskRecord) -> bool:
        written = dataclasses.replace(record, version=record.version + 1)
        cursor = self._db.run(
            "UPDATE tasks SET data = ?, version = version + 1 WHERE task_id = ? AND version = ?",
            (written.to_json(), record.task_id, record.version),
        )
        if cursor.rowcount != 1:
            return False
        record.version = written.version
        return True

    def get_task(self, task_id: str) -> TaskRecord | None:
        row = self._db.row("SELECT data FROM tasks WHERE task_id = ?", (task_id,))
        return TaskRecord.from_json(row[0]) if row else None

    def _tasks(self, sql: str, params: Sequence[Any] = ()) -> list[TaskRecord]:
        return [TaskRecord.from_json(data) for (data,) in self._db.rows(sql, params)]

    def tasks_of(self, key: str) -> list[TaskRecord]:
        return self._tasks("SELECT data FROM tasks WHERE key = ? ORDER BY seq", (key,))

    def all_tasks(self) -> Iterable[TaskRecord]:
        return self._tasks("SELECT data FROM tasks ORDER BY seq")

    def recent_tasks(self, limit: int) -> list[TaskRecord]:
        return self._tasks("SELECT data FROM tasks ORDER BY seq DESC LIMIT ?", (max(limit, 0),))

    def queue(self, key: str, model: str) -> list[TaskRecord]:
        return self._tasks(
            "SELECT data FROM tasks WHERE key = ? AND model = ? AND queue_open = 1 ORDER BY seq", (key, model)
        )

    def close_in_queue(self, record: TaskRecord) -> None:
        self._db.run("UPDATE tasks SET queue_open = 0 WHERE task_id = ?", (record.task_id,))

    def delete_tasks(self, task_ids: Iterable[str]) -> None:
        with self._db.transaction():
            for task_id in task_ids:
                self._db.run("DELETE FROM tasks WHERE task_id = ?", (task_id,))
                self.work.finish(task_id)

    def add_upload(self, record: UploadRecord) -> None:
        self._db.run("INSERT OR REPLACE INTO uploads (url, data) VALUES (?, ?)", (record.url, record.to_json()))

    def get_upload(self, url: str) -> UploadRecord | None:
        row = self._db.row("SELECT data FROM uploads WHERE url = ?", (url,))
        return UploadRecord.from_json(row[0]) if row else None

    def all_uploads(self) -> list[UploadRecord]:
        return [UploadRecord.from_json(data) for (data,) in self._db.rows("SELECT data FROM uploads")]

    def clock_offset(self, task_id: str | None = None, rate: RateHit | None = None) -> float:
        return float(self._meta("clock_offset", "0"))

    def secret(self) -> str:
        with self._db.transaction():
            value = self._meta("secret", "")
            if not value:
                value = secrets.token_hex(32)
                self._set_meta("secret", value)
            return value

    def generation(self) -> str:
        value = self._meta("generation", "")
        if value:
            return value
        with self._db.transaction():  # the first process to ask makes it
            value = self._meta("generation", "") or secrets.token_hex(8)
            self._set_meta("generation", value)
            return value

    def advance_clock(self, seconds: float) -> float:
        with self._db.transaction():
            offset = float(self._meta("clock_offset", "0")) + seconds
            self._set_meta("clock_offset", repr(offset))
            return offset

    def clear(self) -> None:
        with self._db.transaction():
            for table in ("tasks", "uploads", "meta"):
                self._db.run(f"DELETE FROM {table}")
            self.scenarios.clear()
            self.faults.clear()
            self.journal.clear()
            self.rates.clear()
            self._work.clear()

    def close(self) -> None:
        self._db.close()
