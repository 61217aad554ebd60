"""Where the mock's state lives: ``memory`` (default), a SQLite file (``sqlite:///path.db``: survives restarts,
shared by the workers of one host) or Redis (``redis://host:port/db``: shared by every replica on every host).

Every store keeps the same things (``base.Store``): tasks and uploads, the work queue with its leases, scenarios,
faults, the request journal, the per-key rate windows and the virtual clock's offset.

May import: ``domain`` only.
"""

from __future__ import annotations

from .base import FaultKeeper, JournalKeeper, RateWindows, ScenarioKeeper, Store, WorkItem, WorkQueue, update_task
from .memory import MemoryStore
from .sqlite import SqliteStore

__all__ = [
    "FaultKeeper",
    "JournalKeeper",
    "MemoryStore",
    "RateWindows",
    "ScenarioKeeper",
    "SqliteStore",
    "Store",
    "WorkItem",
    "WorkQueue",
    "open_store",
    "update_task",
]


def open_store(state: str) -> Store:
    """``memory``, ``sqlite:///relative/or/absolute/path.db`` (``sqlite:////abs`` also works) or
    ``redis://host:port/db`` (``rediss://`` for TLS)."""
    if state in ("", "memory"):
        return MemoryStore()
    if state.startswith("sqlite:///"):
        return SqliteStore(state[len("sqlite:///") :])
    if state.startswith(("redis://", "rediss://", "unix://")):
        from .redis import RedisStore

        return RedisStore(state)
    raise ValueError(f"unknown state {state!r}: use 'memory', 'sqlite:///path.db' or 'redis://host:port/db'")
