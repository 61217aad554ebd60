"""Where the mock's state lives: ``memory`` (default), a SQLite file (``sqlite:///path.db``: survives restarts,
shared by the workers of one host) or Redis (``redis://host:port/db``: shared by every replica on every host).

Every store keeps the same things (``base.Store``): tasks and uploads, the work queue with its leases, scenarios,
faults, the request journal, the per-key rate windows and the virtual clock's offset.

May import: ``domain`` only.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass

from .base import (
    FaultKeeper,
    JournalKeeper,
    RateWindows,
    ScenarioKeeper,
    Store,
    WorkItem,
    WorkQueue,
    task_scope,
    update_task,
)
from .memory import MemoryStore
from .sqlite import SqliteStore

__all__ = [
    "STORES",
    "FaultKeeper",
    "JournalKeeper",
    "MemoryStore",
    "RateWindows",
    "ScenarioKeeper",
    "SqliteStore",
    "Store",
    "StoreKind",
    "WorkItem",
    "WorkQueue",
    "open_store",
    "task_scope",
    "update_task",
]


@dataclass(frozen=True)
class StoreKind:
    """One kind of store: the ``--state`` URL prefixes it answers to and how to open one."""

    prefixes: tuple[str, ...]
    open: Callable[[str], Store]
    shown: str  # the form ``--state`` takes, for messages


def _open_redis(state: str) -> Store:
    from .redis import RedisStore  # the redis client is imported only for a Redis state

    return RedisStore(state)


# Every store the mock has: ``open_store`` reads it, and the store contract test holds each one to the same behaviour
# (tests/mock_server/test_stores.py fails naming a store it does not know how to open).
STORES: Mapping[str, StoreKind] = {
    "memory": StoreKind(("memory",), lambda state: MemoryStore(), "memory"),
    "sqlite": StoreKind(("sqlite:///",), lambda state: SqliteStore(state[len("sqlite:///") :]), "sqlite:///path.db"),
    "redis": StoreKind(("redis://", "rediss://", "unix://"), _open_redis, "redis://host:port/db"),
}


def open_store(state: str) -> Store:
    """``memory``, ``sqlite:///relative/or/absolute/path.db`` (``sqlite:////abs`` also works) or
    ``redis://host:port/db`` (``rediss://`` for TLS)."""
    for kind in STORES.values():
        if (state == "" and "memory" in kind.prefixes) or any(state.startswith(p) for p in kind.prefixes):
            return kind.open(state)
    forms = ", ".join(repr(kind.shown) for kind in STORES.values())
    raise ValueError(f"unknown state {state!r}: use one of {forms}")
