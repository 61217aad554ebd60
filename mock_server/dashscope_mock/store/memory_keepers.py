"""The in-memory keepers of what a test scripts (scenarios, faults) and of the request journal: the memory store's
(``store.memory``). The records and their matching rules are the domain's (``domain.scripting``); SQLite and Redis
keep the same records as JSON."""

from __future__ import annotations

import itertools
import threading
from collections import deque
from collections.abc import Callable, Iterable
from typing import Any, Generic, Protocol, TypeVar

from ..domain.scripting import JOURNAL_MAX, NO_FACTS, Fault, FaultFacts, JournalEntry, Operation, Scenario

__all__ = ["Faults", "Journal", "Scenarios"]


class _Numbered(Protocol):
    id: int


T = TypeVar("T", bound=_Numbered)


class _Keeper(Generic[T]):
    """Records numbered from 1 in the order they were added; ``clear`` starts the numbers again."""

    def __init__(self, make: Callable[..., T]) -> None:
        self._make = make
        self._lock = threading.Lock()
        self._items: list[T] = []
        self._ids = itertools.count(1)

    def add(self, **fields: Any) -> T:
        with self._lock:
            item = self._make(id=next(self._ids), **fields)
            self._items.append(item)
            return item

    def list(self) -> list[T]:
        with self._lock:
            return list(self._items)

    def remove(self, item_id: int) -> bool:
        with self._lock:
            kept = [item for item in self._items if item.id != item_id]
            found = len(kept) != len(self._items)
            self._items = kept
            return found

    def clear(self) -> None:
        with self._lock:
            self._items.clear()
            self._ids = itertools.count(1)


class Scenarios(_Keeper[Scenario]):
    def __init__(self) -> None:
        super().__init__(Scenario)

    def take(self, model: str, operation: Operation, urls: Iterable[str] = ()) -> Scenario | None:
        """Consume one use of the first live scenario matching the request."""
        texts = [u for u in urls if isinstance(u, str)]
        with self._lock:
            for scenario in self._items:
                if scenario.matches(model, operation, texts):
                    scenario.used += 1
                    return scenario
        return None


class Faults(_Keeper[Fault]):
    def __init__(self) -> None:
        super().__init__(Fault)

    def pick(self, method: str, path: str, operation: str | None, facts: FaultFacts = NO_FACTS) -> list[Fault]:
        """The faults firing for this request (at most one of each kind)."""
        chosen: dict[str, Fault] = {}
        with self._lock:
            for fault in self._items:
                if fault.kind in chosen or not fault.matches(method, path, operation, facts):
                    continue
                fault.matched += 1
                if not fault.draw(fault.matched - 1):
                    continue
                fault.fired += 1
                chosen[fault.kind] = fault
        return list(chosen.values())


class Journal:
    """The requests the mock received (public API, result downloads and OSS uploads; not the control plane)."""

    def __init__(self, maxlen: int = JOURNAL_MAX) -> None:
        self._items: deque[JournalEntry] = deque(maxlen=maxlen)
        self._seq = itertools.count(1)
        self._lock = threading.Lock()

    def record(self, **fields: Any) -> JournalEntry:
        with self._lock:
            item = JournalEntry(seq=next(self._seq), **fields)
            self._items.append(item)
            return item

    def entries(
        self,
        *,
        operation: str | None = None,
        key: str | None = None,
        path_contains: str | None = None,
        after_seq: int = 0,
    ) -> list[JournalEntry]:
        with self._lock:
            if after_seq > 0:  # the newest few, read from the end (seqs grow along the deque)
                items = list(itertools.takewhile(lambda item: item.seq > after_seq, reversed(self._items)))
                items.reverse()
            else:
                items = list(self._items)
        return [item for item in items if item.wanted(operation, key, path_contains)]

    def last_seq(self) -> int:
        with self._lock:
            return self._items[-1].seq if self._items else 0

    def __len__(self) -> int:
        return len(self._items)

    def clear(self) -> None:
        with self._lock:
            self._items.clear()
            self._seq = itertools.count(1)
