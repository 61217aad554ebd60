"""The batch's state file: one SQLite database next to the outputs, written before and after every step.

A job moves ``queued`` → ``submitting`` (written *before* the submit is sent) → ``submitted`` (its task id, written as
soon as the answer arrives) → ``succeeded`` (the video downloaded) or ``failed`` (the service's code and message).
``unknown`` is a job whose submit may have reached the service but whose task could not be told apart from others:
it is never resubmitted on its own. Every change is committed at once, so a process killed at any point leaves a file
the next run can trust: a job with a task id is never submitted again.
"""

from __future__ import annotations

import json
import sqlite3
import threading
import time
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

__all__ = ["STATE_FILE", "BatchState", "JobRecord", "JobState"]

STATE_FILE = ".dashscope-batch.sqlite"
JobState = Literal["queued", "submitting", "submitted", "succeeded", "failed", "unknown"]

_SCHEMA = """
CREATE TABLE IF NOT EXISTS jobs (
    key TEXT PRIMARY KEY,
    line INTEGER NOT NULL,
    name TEXT NOT NULL,
    model TEXT NOT NULL,
    state TEXT NOT NULL,
    media TEXT NOT NULL DEFAULT '{}',
    boxes TEXT,
    task_id TEXT UNIQUE,
    baseline TEXT,
    code TEXT,
    message TEXT,
    output TEXT,
    submits INTEGER NOT NULL DEFAULT 0,
    updated REAL NOT NULL
);
"""


@dataclass(frozen=True)
class JobRecord:
    key: str
    line: int
    name: str
    model: str
    state: JobState
    media: Mapping[str, str]
    boxes: Mapping[str, list[int]] | None
    task_id: str | None
    baseline: str | None
    """The newest task of the account when this job's submit was about to be sent (``""``: none): on resume, a task
    newer than it that no job owns may be this job's."""
    code: str | None
    message: str | None
    output: str | None
    submits: int


class BatchState:
    """The state file of one output folder (thread-safe; one writer process at a time)."""

    def __init__(self, folder: Path) -> None:
        folder.mkdir(parents=True, exist_ok=True)
        self.path = folder / STATE_FILE
        self._db = sqlite3.connect(self.path, check_same_thread=False, isolation_level=None)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=FULL")  # a record written before a submit must survive a crash
        self._db.executescript(_SCHEMA)
        self._lock = threading.Lock()

    def close(self) -> None:
        self._db.close()

    def add(self, key: str, line: int, name: str, model: str) -> JobRecord:
        """The job's record, created ``queued`` when the job is new (its line number and name kept up to date)."""
        with self._lock:
            self._db.execute(
                "INSERT INTO jobs (key, line, name, model, state, updated) VALUES (?, ?, ?, ?, 'queued', ?) "
                "ON CONFLICT(key) DO UPDATE SET line = excluded.line",
                (key, line, name, model, time.time()),
            )
        return self.get(key)

    def get(self, key: str) -> JobRecord:
        with self._lock:
            row = self._db.execute("SELECT * FROM jobs WHERE key = ?", (key,)).fetchone()
        return _record(row)

    def records(self) -> Iterator[JobRecord]:
        with self._lock:
            rows = self._db.execute("SELECT * FROM jobs ORDER BY line").fetchall()
        return (_record(row) for row in rows)

    def task_ids(self) -> set[str]:
        with self._lock:
            return {row[0] for row in self._db.execute("SELECT task_id FROM jobs WHERE task_id IS NOT NULL")}

    def update(self, key: str, **changes: Any) -> JobRecord:
        """Change fields of a job (``media``/``boxes`` as mappings); committed before this returns."""
        values = {k: json.dumps(v) if k in ("media", "boxes") and v is not None else v for k, v in changes.items()}
        values["updated"] = time.time()
        assignments = ", ".join(f"{name} = ?" for name in values)
        with self._lock:
            self._db.execute(f"UPDATE jobs SET {assignments} WHERE key = ?", (*values.values(), key))
        return self.get(key)

    def begin_submit(self, key: str, baseline: str) -> None:
        with self._lock:
            self._db.execute(
                "UPDATE jobs SET state = 'submitting', baseline = ?, submits = submits + 1, updated = ? WHERE key = ?",
                (baseline, time.time(), key),
            )


_COLUMNS = ("key", "line", "name", "model", "state", "media", "boxes", "task_id", "baseline", "code", "message",
            "output", "submits")  # fmt: skip


def _record(row: tuple[Any, ...]) -> JobRecord:
    data = dict(zip(_COLUMNS, row, strict=False))
    data["media"] = json.loads(data["media"] or "{}")
    data["boxes"] = json.loads(data["boxes"]) if data["boxes"] else None
    return JobRecord(**data)
