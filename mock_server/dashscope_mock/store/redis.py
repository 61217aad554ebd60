"""The Redis store (``redis://host:port/db``, ``rediss://`` for TLS, ``unix://``): one state for every worker of
every replica on every host that opens the same database. Every read-modify-write is one Lua script
(``_redis_scripts``) or a MULTI/EXEC pipeline; multi-step sequences of the task service hold ``transaction()``, a
Redis lock. Every call is bounded and guarded (``_redis_client``): a failed or slow Redis raises
``StateUnavailable`` (503), never hangs a request.

Every key starts with ``dashscope-mock:`` (``clear()`` deletes those and nothing else):

- ``task:<id>`` a hash {v: version, d: TaskRecord JSON}, expiring after task retention + result URL validity;
  ``tasks`` (all), ``key:<key>`` (a key's) and ``queue:<len>:<key>:<model>`` (open in the key's queue of a model)
  are sorted sets of task ids by seq; ids whose hash is gone are skipped and dropped when read. ``seq`` the counter.
- ``upload:<url>`` an UploadRecord JSON expiring after the upload retention; ``uploads`` the urls by expiry time.
- ``clock`` the virtual clock's offset (``%.17g``; ``clear()`` writes ``0``: absent means Redis lost it, and each
  process re-seeds it from the latest offset it knew, ``clock:reseeded`` marking that); ``lock`` the lock of
  ``transaction()`` (``_redis_client.ShortLock``); ``secret`` and ``generation`` (made on first use).
- ``work:items`` (id -> ``state:limit:lane``), ``work:ready`` (list), ``work:claimed`` (sorted set by lease end),
  ``work:owner`` (id -> owner), ``work:active`` (lane -> slots held), ``work:waiting:<lane>`` (list).
- ``scenarios`` / ``faults`` hashes: ``j:<id>`` the JSON (``as_record()`` without id and counters) beside its
  counters (``u:<id>`` uses; ``m:<id>`` matches and ``f:<id>`` firings); ``scenarios:ids`` / ``faults:ids``.
- ``journal`` the entries' JSON (list, at most ``JOURNAL_MAX``), ``journal:seq``; ``rate:<key>`` event times.
"""

from __future__ import annotations

import contextlib
import dataclasses
import json
import math
import secrets
import threading
import time
from collections.abc import Iterable, Iterator, Sequence
from typing import Any, cast

import redis

from dashscope_openapi import limits

from ..domain.records import TaskRecord, UploadRecord
from ..domain.scripting import NO_FACTS, Fault, FaultFacts, Operation, Scenario
from . import _redis_scripts as lua
from ._redis_client import HotScript, ShortLock, Writes, connect, early_hit, prefetch, prefetched, unlink_matching
from ._redis_keepers import RedisJournal, RedisRates
from .base import RateHit, WorkItem

__all__ = ["RedisFaults", "RedisJournal", "RedisRates", "RedisScenarios", "RedisStore", "RedisWork"]

PREFIX = "dashscope-mock:"
_CHUNK = 1000  # ids per pipeline or UNLINK when reading or deleting many


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


class RedisStore:
    """``base.Store`` in one Redis database, shared by every process that opens it."""

    files_dir = None  # a temporary folder of the mock's own (a shared one: --upload-dir)
    shared = True

    def __init__(self, url: str) -> None:
        self._client = connect(url)  # bounded, guarded calls: StateUnavailable when Redis fails
        self._prefix = PREFIX
        self._local = threading.local()  # per thread: the depth of transaction() and its held lock
        self._lock = ShortLock(self._client, PREFIX + "lock")
        self._clock_keys = [PREFIX + "clock", PREFIX + "clock:reseeded"]
        self._clock_text = "0"  # the latest offset read or written: re-seeds a Redis that lost it
        hours = float(limits()["task_retention_hours"]) + float(limits()["result_url_validity_hours"])
        self._task_ttl = max(1, math.ceil(hours * 3600))
        self._upload_ttl = max(1, math.ceil(float(limits()["uploads"]["retention_hours"]) * 3600))
        self._add_task = self._client.register_script(lua.ADD_TASK)
        self._replace_task = self._client.register_script(lua.REPLACE_TASK)
        self._advance_clock = self._client.register_script(lua.ADVANCE_CLOCK)
        self._begin = HotScript(self._client, lua.BEGIN_REQUEST)
        self._writes = Writes()
        self.scenarios = RedisScenarios(self._client, PREFIX)
        self.faults = RedisFaults(self._client, PREFIX)
        self.faults.writes = self._writes
        self.journal = RedisJournal(self._client, PREFIX)
        self.rates = RedisRates(self._client, PREFIX)
        self.work = RedisWork(self._client, PREFIX)

    def _task(self, task_id: str) -> str:
        return f"{self._prefix}task:{task_id}"

    def _by_key(self, key: str) -> str:
        return f"{self._prefix}key:{key}"

    def _queue(self, key: str, model: str) -> str:
        return f"{self._prefix}queue:{len(key)}:{key}:{model}"  # the length keeps any key and model apart

    @contextlib.contextmanager
    def transaction(self) -> Iterator[None]:
        """Serializes multi-step sequences across processes; re-entrant per thread. A short lock renewed while held,
        taken within a bounded wait or ``StateUnavailable`` (``_redis_client.ShortLock``)."""
        local = self._local
        depth: int = getattr(local, "depth", 0)
        if depth == 0:
            local.lock = self._lock.acquire()
        local.depth = depth + 1
        try:
            yield
        finally:
            local.depth -= 1
            if local.depth == 0:
                self._lock.release(local.lock)
                local.lock = None

    def next_seq(self) -> int:
        return int(self._client.incr(self._prefix + "seq"))

    def add_task(self, record: TaskRecord, work: WorkItem | None = None) -> None:
        lane = work if work is not None else WorkItem()
        keys = [
            self._task(record.task_id),
            self._prefix + "tasks",
            self._by_key(record.key),
            self._queue(record.key, record.model),
            *self.work.enqueue_keys(lane),
        ]
        args = [record.task_id, str(record.version), record.to_json(), str(record.seq), str(self._task_ttl)]
        self._writes.bump()
        self._add_task(keys, [*args, "0" if work is None else "1", lane.lane, str(lane.limit)])

    def replace_task(self, record: TaskRecord) -> bool:
        text = dataclasses.replace(record, version=record.version + 1).to_json()
        self._writes.bump()
        if not self._replace_task([self._task(record.task_id)], [record.version, record.version + 1, text]):
            return False
        record.version += 1
        return True

    def get_task(self, task_id: str) -> TaskRecord | None:
        early = prefetched(self._writes.count)  # read by this request's first round trip (``clock_offset``)
        if early is not None and early.task_id == task_id:
            text = early.task
        else:
            text = cast(str | None, self._client.hget(self._task(task_id), "d"))
        return None if text is None else TaskRecord.from_json(text)

    def _load(self, index: str, start: int = 0) -> list[TaskRecord]:
        """The tasks of a sorted-set index in order (from rank ``start``), dropping ids whose task is gone (expired
        or deleted)."""
        ids = cast(list[str], self._client.zrange(index, start, -1))
        records: list[TaskRecord] = []
        gone: list[str] = []
        for start in range(0, len(ids), _CHUNK):
            chunk = ids[start : start + _CHUNK]
            pipe = self._client.pipeline(transaction=False)
            for task_id in chunk:
                pipe.hget(self._task(task_id), "d")
            for task_id, text in zip(chunk, pipe.execute(), strict=True):
                if text is None:
                    gone.append(task_id)
                else:
                    records.append(TaskRecord.from_json(text))
        if gone:
            self._client.zrem(index, *gone)
        return records

    def tasks_of(self, key: str) -> list[TaskRecord]:
        return self._load(self._by_key(key))

    def all_tasks(self) -> Iterable[TaskRecord]:
        return self._load(self._prefix + "tasks")

    def recent_tasks(self, limit: int) -> list[TaskRecord]:
        if limit <= 0:
            return []
        return self._load(self._prefix + "tasks", -limit)[::-1]

    def queue(self, key: str, model: str) -> list[TaskRecord]:
        return self._load(self._queue(key, model))

    def close_in_queue(self, record: TaskRecord) -> None:
        self._client.zrem(self._queue(record.key, record.model), record.task_id)

    def delete_tasks(self, task_ids: Iterable[str]) -> None:
        self._writes.bump()
        ids = list(dict.fromkeys(task_ids))
        for start in range(0, len(ids), _CHUNK):
            chunk = ids[start : start + _CHUNK]
            reads = self._client.pipeline(transaction=False)
            for task_id in chunk:
                reads.hget(self._task(task_id), "d")
            texts = reads.execute()
            # One MULTI/EXEC per chunk: a task and its index entries and work go together.
            pipe = self._client.pipeline(transaction=True)
            for task_id, text in zip(chunk, texts, strict=True):
                pipe.unlink(self._task(task_id))
                pipe.zrem(self._prefix + "tasks", task_id)
                if text is not None:  # else expired: its key's index entries are dropped when read
                    data = json.loads(text)
                    pipe.zrem(self._by_key(data["key"]), task_id)
                    pipe.zrem(self._queue(data["key"], data["model"]), task_id)
                self.work.finish(task_id, client=pipe)
            pipe.execute()

    def add_upload(self, record: UploadRecord) -> None:
        index = self._prefix + "uploads"
        pipe = self._client.pipeline(transaction=True)
        pipe.set(self._prefix + "upload:" + record.url, record.to_json(), ex=self._upload_ttl)
        pipe.zadd(index, {record.url: time.time() + self._upload_ttl})
        pipe.expire(index, self._upload_ttl)
        pipe.execute()

    def get_upload(self, url: str) -> UploadRecord | None:
        text = self._client.get(self._prefix + "upload:" + url)
        return None if text is None else UploadRecord.from_json(cast(str, text))

    def all_uploads(self) -> list[UploadRecord]:
        index = self._prefix + "uploads"
        pipe = self._client.pipeline(transaction=False)
        pipe.zremrangebyscore(index, "-inf", time.time())
        pipe.zrange(index, 0, -1)
        urls: list[str] = pipe.execute()[1]
        if not urls:
            return []
        texts = cast(list[str | None], self._client.mget([self._prefix + "upload:" + url for url in urls]))
        return [UploadRecord.from_json(text) for text in texts if text is not None]

    def clock_offset(self, task_id: str | None = None, rate: RateHit | None = None) -> float:
        """The shared offset, never below the latest this process knew while Redis has lost it (``READ_CLOCK``). The
        request's first round trip: it also reads whether any fault is set, ``task_id``'s task and the secret, which
        ``get_task``, ``faults.pick`` and ``secret`` answer from for the rest of the request (``Prefetched``), and
        makes ``rate``'s hit when the offset did not move (``rates.hit`` takes it: ``EarlyHit``)."""
        keys = [*self._clock_keys, self.faults.name, self._task(task_id) if task_id else self._clock_keys[0]]
        args = [self._clock_text, "1" if task_id else "0"]
        early, window = None, self._clock_keys[0]
        if rate is not None and rate.offset == float(self._clock_text):  # `now` was read with this offset
            early = self.rates.early(rate)
            if early is not None:
                window = early.window
                args += self.rates.hit_args(rate.now, rate.limit, rate.window, early.member)
        keys += [self._prefix + "secret", window]
        offset, faults, task, secret, hit = self._begin(keys, args)
        self._clock_text = str(offset)
        prefetch(self._writes.count, int(faults), task_id, task, secret)
        if early is not None and int(hit) >= 0:
            early.counted = bool(int(hit))
            early_hit(early)
        return float(self._clock_text)

    def advance_clock(self, seconds: float) -> float:
        self._clock_text = str(self._advance_clock(self._clock_keys, [repr(seconds), self._clock_text]))
        return float(self._clock_text)

    def secret(self) -> str:
        early = prefetched(self._writes.count)  # read by this request's first round trip
        if early is not None and early.secret is not None:
            return early.secret
        name = self._prefix + "secret"
        self._client.set(name, secrets.token_hex(32), nx=True)  # the first process to ask makes it
        return str(cast(str, self._client.get(name)))

    def generation(self) -> str:
        name = self._prefix + "generation"
        value = self._client.get(name)
        if value is None:
            self._client.set(name, secrets.token_hex(8), nx=True)  # the first process to ask makes it
            value = self._client.get(name)
        return str(cast(str, value))

    def clear(self) -> None:
        self._writes.bump()
        # The clock goes back to an explicit 0 first (never absent: absent means lost, and would be re-seeded).
        pipe = self._client.pipeline(transaction=True)
        pipe.set(self._clock_keys[0], "0")
        pipe.delete(self._clock_keys[1])
        pipe.execute()
        self._clock_text = "0"
        # The lock stays: a clear() inside transaction() must still release it.
        unlink_matching(self._client, self._prefix + "*", keep=(self._prefix + "lock", self._clock_keys[0]))

    def close(self) -> None:
        self._client.breaker.close()
        self._lock.close()
        self._client.close()
