"""What a test scripts through the control plane: scenarios (outcomes of the next tasks), faults (transport-level
trouble on any route) and the journal of requests received.

The dataclasses and their matching rules live here, once; where they are kept is the store's business
(``store``: ``Scenarios``, ``Faults`` and ``Journal`` below are the in-memory keepers; SQLite and Redis keep the same
records as JSON, so that every worker and every host sees one set). ``as_record``/``from_record`` are that JSON.
"""

from __future__ import annotations

import itertools
import random
import threading
from collections import deque
from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass, field
from typing import Any, Literal

from dashscope_openapi import CatalogueEntry, error_catalogue

from .errors import ApiError, retry_headers
from .keys import masked

__all__ = ["Fault", "Faults", "Journal", "JournalEntry", "Scenario", "Scenarios"]

JOURNAL_MAX = 100_000  # entries kept (oldest dropped first), in every store

Operation = Literal["submit", "detect", "cancel", "upload"]


@dataclass
class Scenario:
    """The next ``times`` matching requests of ``model`` get ``entry`` (a catalogue error) and/or extra time.

    ``operation`` says where it applies: ``submit`` (the entry fails the submit when its stage is ``submit`` or
    ``any``, else the task ends FAILED with it), ``detect``, ``cancel`` or ``upload`` (the OSS form POST).
    """

    id: int
    model: str
    times: int
    operation: Operation
    entry: CatalogueEntry | None = None
    url_contains: str | None = None
    extra_seconds: Mapping[str, float] = field(default_factory=dict)
    values: Mapping[str, Any] = field(default_factory=dict)
    used: int = 0

    @property
    def remaining(self) -> int:
        return self.times - self.used

    def matches(self, model: str, operation: Operation, urls: Iterable[str]) -> bool:
        """Whether this scenario (with uses left) applies to a request of ``model``/``operation`` with ``urls``."""
        if self.remaining <= 0 or self.model != model or self.operation != operation:
            return False
        return self.url_contains is None or any(isinstance(u, str) and self.url_contains in u for u in urls)

    def as_record(self) -> dict[str, Any]:
        """JSON for a shared store; the catalogue entry by its index (every process reads the same spec)."""
        data = {k: v for k, v in asdict(self).items() if k != "entry"}
        data["entry"] = None if self.entry is None else error_catalogue().entries.index(self.entry)
        return data

    @classmethod
    def from_record(cls, data: Mapping[str, Any]) -> Scenario:
        fields = dict(data)
        index = fields.pop("entry", None)
        entry = None if index is None else error_catalogue().entries[int(index)]
        return cls(entry=entry, **fields)

    def error(self, retry_after_seconds: int, **defaults: object) -> ApiError:
        """The scripted error answer (``defaults`` fill the message where the scenario gave no ``values``)."""
        assert self.entry is not None
        values = {**defaults, **self.values}
        error = ApiError.from_entry(self.entry, **values)
        return error.with_headers(retry_headers(self.entry.status, retry_after_seconds))

    def as_dict(self) -> dict[str, Any]:
        data: dict[str, Any] = {
            "id": self.id,
            "model": self.model,
            "times": self.times,
            "remaining": self.remaining,
            "operation": self.operation,
            "extra_seconds": dict(self.extra_seconds),
        }
        if self.entry is not None:
            data.update(code=self.entry.code, status=self.entry.status, stage=self.entry.stage)
            if self.entry.reason:
                data["reason"] = self.entry.reason
        if self.url_contains is not None:
            data["url_contains"] = self.url_contains
        if self.values:
            data["values"] = dict(self.values)
        return data


class Scenarios:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._items: list[Scenario] = []
        self._ids = itertools.count(1)

    def add(self, **fields: Any) -> Scenario:
        with self._lock:
            scenario = Scenario(id=next(self._ids), **fields)
            self._items.append(scenario)
            return scenario

    def take(self, model: str, operation: Operation, urls: Iterable[str] = ()) -> Scenario | None:
        """Consume one use of the first live scenario matching the request."""
        texts = [u for u in urls if isinstance(u, str)]
        with self._lock:
            for scenario in self._items:
                if scenario.matches(model, operation, texts):
                    scenario.used += 1
                    return scenario
        return None

    def list(self) -> list[Scenario]:
        with self._lock:
            return list(self._items)

    def remove(self, scenario_id: int) -> bool:
        with self._lock:
            kept = [item for item in self._items if item.id != scenario_id]
            found = len(kept) != len(self._items)
            self._items = kept
            return found

    def clear(self) -> None:
        with self._lock:
            self._items.clear()
            self._ids = itertools.count(1)


FaultKind = Literal["latency", "error", "drop", "malformed_json", "gateway_html", "truncated_body", "reset_mid_body"]


@dataclass
class Fault:
    """Trouble on matching requests: ``latency`` (real seconds), ``error`` (an HTTP status with a catalogue
    error body and optional ``Retry-After``) or ``drop`` (the connection closes without an answer).

    A fault matches by ``operation`` (an operationId of either spec, or ``*``), ``method`` and ``path_contains``;
    it fires on the next ``times`` matches (``None``: always), each with ``probability``: the draw for the n-th
    match depends on ``seed`` and n only, so every worker of a shared store draws the same sequence.
    """

    id: int
    kind: FaultKind
    operation: str = "*"
    method: str | None = None
    path_contains: str | None = None
    times: int | None = 1
    probability: float = 1.0
    status: int | None = None
    code: str | None = None
    retry_after: int | None = None
    latency_seconds: float = 0.0
    gateway_status: int | None = None
    seed: int | None = None
    fired: int = 0
    matched: int = 0  # matches so far, fired or not (the probability draw's index)

    def draw(self, index: int) -> bool:
        """Whether the ``index``-th match fires (always when ``probability`` is 1)."""
        if self.probability >= 1.0:
            return True
        rng = random.Random(f"{self.seed}:{index}") if self.seed is not None else random.Random()
        return rng.random() < self.probability

    def matches(self, method: str, path: str, operation: str | None) -> bool:
        if self.times is not None and self.fired >= self.times:
            return False
        if self.operation != "*" and self.operation != operation:
            return False
        if self.method is not None and self.method.upper() != method.upper():
            return False
        return self.path_contains is None or self.path_contains in path

    def as_dict(self) -> dict[str, Any]:
        data = {k: v for k, v in asdict(self).items() if k != "matched" and v is not None}
        data["remaining"] = None if self.times is None else max(self.times - self.fired, 0)
        return data

    def as_record(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_record(cls, data: Mapping[str, Any]) -> Fault:
        return cls(**data)


class Faults:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._items: list[Fault] = []
        self._ids = itertools.count(1)

    def add(self, **fields: Any) -> Fault:
        with self._lock:
            fault = Fault(id=next(self._ids), **fields)
            self._items.append(fault)
            return fault

    def pick(self, method: str, path: str, operation: str | None) -> list[Fault]:
        """The faults firing for this request (at most one of each kind)."""
        chosen: dict[str, Fault] = {}
        with self._lock:
            for fault in self._items:
                if fault.kind in chosen or not fault.matches(method, path, operation):
                    continue
                fault.matched += 1
                if not fault.draw(fault.matched - 1):
                    continue
                fault.fired += 1
                chosen[fault.kind] = fault
        return list(chosen.values())

    def list(self) -> list[Fault]:
        with self._lock:
            return list(self._items)

    def remove(self, fault_id: int) -> bool:
        with self._lock:
            kept = [item for item in self._items if item.id != fault_id]
            found = len(kept) != len(self._items)
            self._items = kept
            return found

    def clear(self) -> None:
        with self._lock:
            self._items.clear()
            self._ids = itertools.count(1)


@dataclass(frozen=True, slots=True)
class JournalEntry:
    seq: int
    method: str
    path: str
    query: str
    operation: str | None
    key: str | None
    status: int
    time: float
    time_text: str
    request_id: str | None
    duration_ms: float
    note: str | None = None  # what the mock did besides answering (a late media result dropped, ...)
    task_id: str | None = None

    def as_dict(self) -> dict[str, Any]:
        data = {k: v for k, v in asdict(self).items() if v is not None}
        if self.key is not None:
            data["key"] = masked(self.key)
        return data

    def wanted(self, operation: str | None, key: str | None, path_contains: str | None) -> bool:
        return (
            (operation is None or self.operation == operation)
            and (key is None or self.key == key)
            and (path_contains is None or path_contains in self.path)
        )


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
