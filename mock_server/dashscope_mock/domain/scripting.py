"""What a test scripts through the control plane: scenarios (outcomes of the next tasks), faults (transport-level
trouble on any route) and the journal of requests received.

The dataclasses and their matching rules live here, once; where they are kept is the store's business
(``store``: ``store.memory_keepers`` keeps them in memory; SQLite and Redis keep the same records as JSON, so that
every worker and every host sees one set). ``as_record``/``from_record`` are that JSON.
"""

from __future__ import annotations

import math
import random
from collections.abc import Callable, Iterable, Mapping
from dataclasses import asdict, dataclass, field
from typing import Any, Literal

from dashscope_openapi import CatalogueEntry, error_catalogue

from .errors import ApiError, retry_headers
from .keys import account, account_hash, masked

__all__ = [
    "FAULT_HEADER",
    "JOURNAL_MAX",
    "NO_FACTS",
    "Fault",
    "FaultFacts",
    "JournalEntry",
    "Operation",
    "Scenario",
    "fault_marks",
]

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


FaultKind = Literal[
    "latency",
    "error",
    "drop",
    "malformed_json",
    "gateway_html",
    "truncated_body",
    "reset_mid_body",
    "connection_reset",
    "chunked_dribble",
    "wrong_type",
    "unknown_status",
    "missing_result_url",
    "result_link_error",
    "status_regression",
]
FAULT_HEADER = "X-Mock-Fault"  # a ``per_request`` fault fires only on requests naming it here (its id or name)
LATENCY_MAX_SECONDS = 60.0  # a drawn latency is cut there (as ``latency_seconds`` is bounded)


class FaultFacts:
    """What a fault may select a request by, besides its method, path and operation: the instant (the virtual
    clock), the task id of its path, the caller's key (compared by ``keys.account_hash``, never kept), the values of
    its ``X-Mock-Fault`` header, and the model, found lazily (``model_of``: a task record, a query or a body) as
    only a fault selecting by model needs it."""

    __slots__ = ("_key", "_key_hash", "_model", "_model_of", "marks", "now", "task_id")

    def __init__(
        self,
        *,
        now: float | None = None,
        task_id: str | None = None,
        key: str | None = None,
        marks: Iterable[str] = (),
        model: str | None = None,
        model_of: Callable[[], str | None] | None = None,
    ) -> None:
        self.now, self.task_id, self._key = now, task_id, key
        self.marks = frozenset(marks)
        self._key_hash: str | None = None
        self._model, self._model_of = model, model_of

    @property
    def model(self) -> str | None:
        if self._model_of is not None:
            self._model, self._model_of = self._model_of(), None
        return self._model

    @property
    def key_hash(self) -> str | None:
        if self._key_hash is None and self._key is not None:
            self._key_hash = account_hash(self._key)
        return self._key_hash


NO_FACTS = FaultFacts()


def is_account(text: str) -> bool:
    """Whether ``text`` is an account (``keys.account``: the masked key and its hash), not a key in clear."""
    masked_part, separator, digest = text.rpartition("#")
    return bool(separator and masked_part) and account_hash(text) == digest


def fault_marks(header: str | None) -> frozenset[str]:
    """The fault ids or names an ``X-Mock-Fault`` header names (comma-separated)."""
    if not header:
        return frozenset()
    return frozenset(part.strip() for part in header.split(",") if part.strip())


@dataclass
class Fault:
    """Trouble on matching requests; ``faults.BEHAVIOURS`` says what each ``kind`` does, the control spec's
    ``FaultRequest`` documents the kinds and their fields.

    A fault matches by ``operation`` (an operationId of either spec, or ``*``), ``method``, ``path_contains``,
    ``model``, ``task_id``, ``key`` (kept as its account, ``keys.account``: never in clear), inside the window
    ``active_from`` <= now < ``active_until`` (virtual clock, epoch seconds) and, when ``per_request``, only on a
    request whose ``X-Mock-Fault`` header names its id or ``name``. It fires on the next ``times`` matches
    (``None``: always), each with ``probability``: the draw for the n-th match depends on ``seed`` and n only, so
    every worker of a shared store draws the same sequence (and the same latencies).
    """

    id: int
    kind: FaultKind
    operation: str = "*"
    method: str | None = None
    path_contains: str | None = None
    model: str | None = None
    task_id: str | None = None
    key: str | None = None
    per_request: bool = False
    name: str | None = None
    active_from: float | None = None
    active_until: float | None = None
    times: int | None = 1
    probability: float = 1.0
    status: int | None = None
    code: str | None = None
    retry_after: int | None = None
    latency_seconds: float = 0.0
    latency_distribution: str | None = None
    latency_min_seconds: float | None = None
    latency_max_seconds: float | None = None
    latency_median_seconds: float | None = None
    latency_sigma: float | None = None
    gateway_status: int | None = None
    dribble_bytes: int | None = None
    dribble_interval_ms: float | None = None
    field: str | None = None
    task_status: str | None = None
    result_status: int | None = None
    seed: int | None = None
    fired: int = 0
    matched: int = 0  # matches so far, fired or not (the probability draw's index)

    def __post_init__(self) -> None:
        if self.key is not None and not is_account(self.key):  # a key given in clear is kept as its account
            self.key = account(self.key)

    def draw(self, index: int) -> bool:
        """Whether the ``index``-th match fires (always when ``probability`` is 1)."""
        if self.probability >= 1.0:
            return True
        rng = random.Random(f"{self.seed}:{index}") if self.seed is not None else random.Random()
        return rng.random() < self.probability

    def latency(self, index: int) -> float:
        """The seconds a ``latency`` fault waits on its ``index``-th match: ``latency_seconds`` (``fixed``), or a
        draw of ``latency_distribution`` (``uniform`` between min and max, ``lognormal`` around its median) that
        depends on ``seed`` and ``index`` only; at most ``LATENCY_MAX_SECONDS``."""
        distribution = self.latency_distribution or "fixed"
        if distribution == "fixed":
            return self.latency_seconds
        rng = random.Random(f"{self.seed}:latency:{index}") if self.seed is not None else random.Random()
        if distribution == "uniform":
            low, high = self.latency_min_seconds or 0.0, self.latency_max_seconds or 0.0
            value = rng.uniform(low, high)
        else:
            sigma = 0.5 if self.latency_sigma is None else self.latency_sigma
            value = (self.latency_median_seconds or 0.0) * math.exp(sigma * rng.gauss(0.0, 1.0))
        return min(max(value, 0.0), LATENCY_MAX_SECONDS)

    def matches(self, method: str, path: str, operation: str | None, facts: FaultFacts = NO_FACTS) -> bool:
        """Whether this fault (with firings left) selects the request; the one matching rule of every store."""
        if self.times is not None and self.fired >= self.times:
            return False
        if self.operation != "*" and self.operation != operation:
            return False
        if self.method is not None and self.method.upper() != method.upper():
            return False
        if self.path_contains is not None and self.path_contains not in path:
            return False
        if self.per_request and str(self.id) not in facts.marks and (self.name is None or self.name not in facts.marks):
            return False
        if self.active_from is not None or self.active_until is not None:
            now = facts.now
            if now is None or (self.active_from is not None and now < self.active_from):
                return False
            if self.active_until is not None and now >= self.active_until:
                return False
        if self.task_id is not None and facts.task_id != self.task_id:
            return False
        if self.key is not None and facts.key_hash != account_hash(self.key):
            return False
        return self.model is None or facts.model == self.model

    def as_dict(self) -> dict[str, Any]:
        data = {k: v for k, v in asdict(self).items() if k != "matched" and v is not None}
        if self.key is not None:
            data["key"] = masked(self.key)
        data["remaining"] = None if self.times is None else max(self.times - self.fired, 0)
        return data

    def as_record(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_record(cls, data: Mapping[str, Any]) -> Fault:
        return cls(**data)


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
