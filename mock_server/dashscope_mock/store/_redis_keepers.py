"""The keepers of the Redis store (``store.redis``; its docstring lists their keys): the request journal, the rate
windows, the work queue, scenarios, faults and uploads, and the reader of its task indexes."""

from __future__ import annotations

import dataclasses
import itertools
import json
import math
import time
import uuid
from collections.abc import Callable, Iterable, Sequence
from typing import Any, cast

import redis

from dashscope_openapi import load_control_spec

from ..domain.records import TaskRecord, UploadRecord
from ..domain.scripting import JOURNAL_MAX, NO_FACTS, Fault, FaultFacts, JournalEntry, Operation, Scenario
from . import _redis_scripts as lua
from ._redis_client import (
    EarlyHit,
    GuardedRedis,
    HotScript,
    Writes,
    current_owner,
    prefetched,
    take_early_hit,
    unlink_matching,
    untaken_hit,
)
from .base import RateHit, WorkItem

__all__ = [
    "RedisFaults",
    "RedisJournal",
    "RedisRates",
    "RedisScenarios",
    "RedisUploads",
    "RedisWork",
    "load_index",
]

CHUNK = 1000  # ids per pipeline when reading many

_ENTRY_FIELDS = tuple(field.name for field in dataclasses.fields(JournalEntry) if field.name != "seq")


class RedisJournal:
    """The request journal (as ``memory_keepers.Journal``): a list of JSON entries, numbered and trimmed by one
    script."""

    def __init__(self, client: GuardedRedis, prefix: str) -> None:
        self._client = client
        self._seq, self._list = prefix + "journal:seq", prefix + "journal"
        self.script = HotScript(client, lua.RECORD_JOURNAL)
        self._after = client.register_script(lua.JOURNAL_AFTER)

    def record(self, **fields: Any) -> JournalEntry:
        """One entry; in the same round trip, the request's early rate hit that its handler never took is taken back
        (``RedisRates.early``)."""
        entry, keys, args = self.command(**fields)
        return dataclasses.replace(entry, seq=int(self.script(keys, args)))

    def command(self, **fields: Any) -> tuple[JournalEntry, list[str], list[str]]:
        """The entry of ``fields`` (its seq not yet known) and ``RECORD_JOURNAL``'s keys and arguments (the sync and
        async clients send it)."""
        entry = JournalEntry(seq=0, **fields)
        data = {name: getattr(entry, name) for name in _ENTRY_FIELDS}  # the script puts the seq first
        keys, args = [self._seq, self._list], [json.dumps(data, separators=(",", ":")), str(JOURNAL_MAX)]
        untaken = untaken_hit()
        if untaken is not None:
            keys.append(untaken.window)
            args.append(untaken.member)
        return entry, keys, args

    def entries(
        self,
        *,
        operation: str | None = None,
        key: str | None = None,
        path_contains: str | None = None,
        after_seq: int = 0,
    ) -> list[JournalEntry]:
        if after_seq > 0:  # the newest few only: the script reads the list's tail
            texts = cast(list[str], self._after([self._seq, self._list], [after_seq]))
        else:
            texts = cast(list[str], self._client.lrange(self._list, 0, -1))
        items = (JournalEntry(**json.loads(text)) for text in texts)
        return [item for item in items if item.seq > after_seq and item.wanted(operation, key, path_contains)]

    def last_seq(self) -> int:
        return int(cast(str, self._client.get(self._seq) or 0))

    def __len__(self) -> int:
        return int(self._client.llen(self._list))

    def clear(self) -> None:
        self._client.delete(self._list, self._seq)


RATE_KEY_IDLE_MS = int(float(load_control_spec()["x-redis"]["rate_key_idle_seconds"]) * 1000)


class RedisRates:
    """Sliding windows of event times per key, a sorted set each, checked and counted by one script."""

    def __init__(self, client: redis.Redis, prefix: str) -> None:
        self._client = client
        self._prefix = prefix + "rate:"
        self._hit = client.register_script(lua.HIT_RATE)
        self._token = uuid.uuid4().hex[:12]  # members must be unique across processes, even at one `now`
        self._counter = itertools.count()

    def _member(self, now: float) -> str:
        return f"{now!r}:{self._token}:{next(self._counter)}"

    @staticmethod
    def hit_args(now: float, limit: float, window: float, member: str) -> list[str]:
        """``HIT_RATE``'s arguments."""
        # The TTL (real time) only sweeps idle keys: the window is virtual time, which may stand still (a frozen
        # clock) while real seconds pass, so a short TTL would forget hits the window still holds.
        ttl_ms = max(max(1, math.ceil(window * 1000)) * 2 + 1000, RATE_KEY_IDLE_MS)
        return [repr(now - window), repr(limit), repr(now), member, str(ttl_ms)]

    def early(self, rate: RateHit) -> EarlyHit | None:
        """The early hit of ``rate`` (``RedisStore.clock_offset`` makes it); ``None`` outside a request's asyncio task
        (nothing would take it)."""
        owner = current_owner()
        if owner is None:
            return None
        return EarlyHit(owner, self._prefix + rate.key, rate.limit, rate.window, self._member(rate.now), False)

    def hit(self, key: str, now: float, limit: float, window: float) -> bool:
        early = take_early_hit(self._prefix + key, limit, window)
        if early is not None:  # made by the request's first round trip, at its `now`
            return early
        return bool(self._hit([self._prefix + key], self.hit_args(now, limit, window, self._member(now))))

    def clear(self) -> None:
        unlink_matching(self._client, self._prefix + "*")


def _counted(fields: dict[str, str], *counters: str) -> list[tuple[int, dict[str, Any], str, dict[str, int]]]:
    """Split a scenarios/faults hash into (id, record, JSON as stored, counters) by id."""
    texts: dict[int, str] = {}
    counts: dict[int, dict[str, int]] = {}
    for name, value in fields.items():
        kind, _, ident = name.partition(":")
        if kind == "j":
            texts[int(ident)] = value
        elif kind in counters:
            counts.setdefault(int(ident), {})[kind] = int(value)
    return [(i, json.loads(text), text, counts.get(i, {})) for i, text in sorted(texts.items())]


class RedisWork:
    """The work queue (``base.WorkQueue``; same rules as ``memory.MemoryWork``) in Redis, one script per step."""

    def __init__(self, client: redis.Redis, prefix: str) -> None:
        self._client = client
        self.items, self.ready, self.active = prefix + "work:items", prefix + "work:ready", prefix + "work:active"
        self.claimed, self.owners = prefix + "work:claimed", prefix + "work:owner"
        self.waiting_prefix = prefix + "work:waiting:"
        self._claim = client.register_script(lua.CLAIM)
        self._renew = client.register_script(lua.RENEW)
        self._finish = client.register_script(lua.FINISH)

    def enqueue_keys(self, work: WorkItem) -> list[str]:
        """The keys ``ADD_TASK`` needs to queue ``work`` with its task."""
        return [self.items, self.active, self.ready, self.waiting_prefix + work.lane]

    def claim(self, owner: str, now: float, lease_seconds: float) -> str | None:
        keys = [self.claimed, self.owners, self.ready, self.items]
        found = self._claim(keys, [owner, repr(now), repr(now + lease_seconds)])
        return None if found is None else str(found)

    def renew(self, owner: str, task_ids: Sequence[str], now: float, lease_seconds: float) -> None:
        if task_ids:
            self._renew([self.claimed, self.owners], [owner, repr(now + lease_seconds), *task_ids])

    def finish(self, task_id: str, client: redis.Redis | None = None) -> None:
        """``client``: a pipeline to queue the step on (``delete_tasks``)."""
        keys = [self.items, self.claimed, self.owners, self.active, self.ready]
        self._finish(keys, [task_id, self.waiting_prefix], client=client)

    def __len__(self) -> int:
        return int(self._client.hlen(self.items))


class RedisScenarios:
    """Scenarios (``store.memory_keepers.Scenarios``): matched in Python, a use taken by a script (``used < times``)."""

    def __init__(self, client: redis.Redis, prefix: str) -> None:
        self._client = client
        self._hash, self._ids = prefix + "scenarios", prefix + "scenarios:ids"
        self._add = client.register_script(lua.ADD_ITEM)
        self._take = client.register_script(lua.TAKE_SCENARIO)

    def _load(self) -> list[tuple[Scenario, str]]:
        fields = cast(dict[str, str], self._client.hgetall(self._hash))
        return [
            (Scenario.from_record({**data, "id": i, "used": counts.get("u", 0)}), text)
            for i, data, text, counts in _counted(fields, "u")
        ]

    def add(self, **fields: Any) -> Scenario:
        scenario = Scenario(id=0, **fields)
        data = {k: v for k, v in scenario.as_record().items() if k not in ("id", "used")}
        scenario.id = int(self._add([self._hash, self._ids], [json.dumps(data, separators=(",", ":"))]))
        return scenario

    def take(self, model: str, operation: Operation, urls: Iterable[str] = ()) -> Scenario | None:
        """Consume one use of the first live scenario matching the request."""
        texts = [u for u in urls if isinstance(u, str)]
        candidates = [(s, text) for s, text in self._load() if s.matches(model, operation, texts)]
        if not candidates:
            return None
        args = [str(v) for s, text in candidates for v in (s.id, text, s.times)]
        taken = self._take([self._hash], args)
        if taken is None:
            return None  # other processes used the candidates up meanwhile
        ident, used = int(taken[0]), int(taken[1])
        scenario = next(s for s, _ in candidates if s.id == ident)
        scenario.used = used
        return scenario

    def list(self) -> list[Scenario]:
        return [s for s, _ in self._load()]

    def remove(self, scenario_id: int) -> bool:
        return _remove(self._client, self._hash, scenario_id, "u")

    def clear(self) -> None:
        self._client.delete(self._hash, self._ids)


class RedisFaults:
    """Faults (``store.memory_keepers.Faults``): matched and drawn in Python, counted by a script in one round trip (one
    HGETALL when no fault is set)."""

    def __init__(self, client: redis.Redis, prefix: str) -> None:
        self._client = client
        self._hash, self._ids = prefix + "faults", prefix + "faults:ids"
        self.name = self._hash
        self._add = client.register_script(lua.ADD_ITEM)
        self._pick = client.register_script(lua.PICK_FAULTS)
        self._fire = client.register_script(lua.FIRE_FAULT)
        self.writes = Writes()  # the store's, shared

    def _load(self) -> list[tuple[Fault, str]]:
        fields = cast(dict[str, str], self._client.hgetall(self._hash))
        return [
            (Fault.from_record({**data, "id": i, "matched": counts.get("m", 0), "fired": counts.get("f", 0)}), text)
            for i, data, text, counts in _counted(fields, "m", "f")
        ]

    def add(self, **fields: Any) -> Fault:
        fault = Fault(id=0, **fields)
        data = {k: v for k, v in fault.as_record().items() if k not in ("id", "matched", "fired")}
        self.writes.bump()
        fault.id = int(self._add([self._hash, self._ids], [json.dumps(data, separators=(",", ":"))]))
        return fault

    def pick(self, method: str, path: str, operation: str | None, facts: FaultFacts = NO_FACTS) -> list[Fault]:
        """The faults firing for this request (at most one of each kind); none without a round trip when the
        request's first one saw no fault set."""
        early = prefetched(self.writes.count)
        if early is not None and early.faults == 0:
            return []
        candidates = [(f, text) for f, text in self._load() if f.matches(method, path, operation, facts)]
        chosen: dict[str, Fault] = {}
        while candidates:
            args: list[str] = []
            for fault, text in candidates:
                # The draw for the index this process expects; the script says when another process took it.
                fires = "1" if fault.draw(fault.matched) else "0"
                args += [str(fault.id), text, fault.kind, _times(fault), str(fault.matched), fires]
            reply = self._pick([self._hash], args)
            fired = reply[0]
            for ident, count in zip(fired[::2], fired[1::2], strict=True):
                fault = next(f for f, _ in candidates if f.id == int(ident))
                fault.matched, fault.fired = fault.matched + 1, int(count)
                chosen[fault.kind] = fault
            if len(reply) == 1:
                break
            at = next(n for n, (f, _) in enumerate(candidates) if f.id == int(reply[1]))
            fault, text = candidates[at]
            fault.matched = int(reply[2]) + 1
            if fault.draw(int(reply[2])):
                count = self._fire([self._hash], [str(fault.id), text, _times(fault)])
                if count is not None:
                    fault.fired = int(count)
                    chosen[fault.kind] = fault
            candidates = [(f, t) for f, t in candidates[at + 1 :] if f.kind not in chosen]
        return list(chosen.values())

    def list(self) -> list[Fault]:
        return [f for f, _ in self._load()]

    def remove(self, fault_id: int) -> bool:
        self.writes.bump()
        return _remove(self._client, self._hash, fault_id, "m", "f")

    def clear(self) -> None:
        self.writes.bump()
        self._client.delete(self._hash, self._ids)


def _times(fault: Fault) -> str:
    return "" if fault.times is None else str(fault.times)


def _remove(client: redis.Redis, name: str, ident: int, *counters: str) -> bool:
    """Delete an item of a scenarios/faults hash with its counters (one MULTI/EXEC); whether it existed. The scripts
    that count a use compare the stored JSON first, so a removed item is never counted again; ids come from INCR,
    so its id is not handed out again."""
    pipe = client.pipeline(transaction=True)
    pipe.hdel(name, f"j:{ident}")
    pipe.hdel(name, *(f"{counter}:{ident}" for counter in counters))
    return bool(pipe.execute()[0])


class RedisUploads:
    """Uploads: ``upload:<url>`` an UploadRecord JSON expiring after the upload retention; ``uploads`` the urls by
    expiry time."""

    def __init__(self, client: redis.Redis, prefix: str, ttl: int) -> None:
        self._client, self._prefix, self._ttl = client, prefix + "upload:", ttl
        self._index = prefix + "uploads"

    def add(self, record: UploadRecord) -> None:
        pipe = self._client.pipeline(transaction=True)
        pipe.set(self._prefix + record.url, record.to_json(), ex=self._ttl)
        pipe.zadd(self._index, {record.url: time.time() + self._ttl})
        pipe.expire(self._index, self._ttl)
        pipe.execute()

    def get(self, url: str) -> UploadRecord | None:
        text = self._client.get(self._prefix + url)
        return None if text is None else UploadRecord.from_json(cast(str, text))

    def all(self) -> list[UploadRecord]:
        pipe = self._client.pipeline(transaction=False)
        pipe.zremrangebyscore(self._index, "-inf", time.time())
        pipe.zrange(self._index, 0, -1)
        urls: list[str] = pipe.execute()[1]
        if not urls:
            return []
        texts = cast(list[str | None], self._client.mget([self._prefix + url for url in urls]))
        return [UploadRecord.from_json(text) for text in texts if text is not None]


def load_index(client: redis.Redis, index: str, task_key: Callable[[str], str], start: int = 0) -> list[TaskRecord]:
    """The tasks of a sorted-set index in order (from rank ``start``), dropping ids whose task is gone (expired or
    deleted)."""
    ids = cast(list[str], client.zrange(index, start, -1))
    records: list[TaskRecord] = []
    gone: list[str] = []
    for at in range(0, len(ids), CHUNK):
        chunk = ids[at : at + CHUNK]
        pipe = client.pipeline(transaction=False)
        for task_id in chunk:
            pipe.hget(task_key(task_id), "d")
        for task_id, text in zip(chunk, pipe.execute(), strict=True):
            if text is None:
                gone.append(task_id)
            else:
                records.append(TaskRecord.from_json(text))
    if gone:
        client.zrem(index, *gone)
    return records
