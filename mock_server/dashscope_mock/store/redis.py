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
  process re-seeds it from the latest offset it knew, ``clock:reseeded`` marking that); ``lock:<scope>`` the locks of
  ``transaction(scope)`` (``_redis_client.ShortLocks``); ``secret`` and ``generation`` (made on first use).
- ``work:items`` (id -> ``state:limit:lane``), ``work:ready`` (list), ``work:claimed`` (sorted set by lease end),
  ``work:owner`` (id -> owner), ``work:active`` (lane -> slots held), ``work:waiting:<lane>`` (list).
- ``scenarios`` / ``faults`` hashes: ``j:<id>`` the JSON (``as_record()`` without id and counters) beside its
  counters (``u:<id>`` uses; ``m:<id>`` matches and ``f:<id>`` firings); ``scenarios:ids`` / ``faults:ids``.
- ``journal`` the entries' JSON (list, at most ``JOURNAL_MAX``), ``journal:seq``; ``rate:<key>`` event times.
"""

from __future__ import annotations

import asyncio
import contextlib
import contextvars
import dataclasses
import functools
import json
import math
import secrets
import threading
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any, TypeVar, cast

from dashscope_openapi import limits

from ..domain.records import TaskRecord, UploadRecord
from . import _redis_scripts as lua
from ._redis_async import AsyncRedis
from ._redis_client import (
    EarlyHit,
    HotScript,
    ShortLocks,
    Writes,
    connect,
    current_owner,
    early_hit,
    prefetch,
    prefetched,
    run_for,
    settings,
    unlink_matching,
)
from ._redis_keepers import (
    RedisFaults,
    RedisJournal,
    RedisRates,
    RedisScenarios,
    RedisUploads,
    RedisWork,
    load_index,
)
from .base import RateHit, WorkItem

__all__ = ["RedisFaults", "RedisJournal", "RedisRates", "RedisScenarios", "RedisStore", "RedisWork"]

T = TypeVar("T")
PREFIX = "dashscope-mock:"
_CHUNK = 1000  # ids per pipeline or UNLINK when reading or deleting many
PARSED_MAX = 8192  # task records kept parsed by their JSON (``get_task``)


class RedisStore:
    """``base.Store`` in one Redis database, shared by every process that opens it."""

    files_dir = None  # a temporary folder of the mock's own (a shared one: --upload-dir)
    shared = True
    remote = True

    def __init__(self, url: str) -> None:
        self._client = connect(url)  # bounded, guarded calls: StateUnavailable when Redis fails
        self._async = AsyncRedis(url, self._client.breaker)  # what requests await (never blocking the event loop)
        self._client.breaker.on_recovery.append(self._async.recovered)
        self._prefix = PREFIX
        self._local = threading.local()  # per thread: the scopes of transaction() held, their depth and lock
        self._locks = ShortLocks(self._client, PREFIX + "lock:")
        self._clock_keys = [PREFIX + "clock", PREFIX + "clock:reseeded"]
        self._clock_text = "0"  # the latest offset read or written: re-seeds a Redis that lost it
        hours = float(limits()["task_retention_hours"]) + float(limits()["result_url_validity_hours"])
        self._task_ttl = max(1, math.ceil(hours * 3600))
        self.uploads = RedisUploads(
            self._client, PREFIX, max(1, math.ceil(float(limits()["uploads"]["retention_hours"]) * 3600))
        )
        self._add_task = self._client.register_script(lua.ADD_TASK)
        self._replace_task = self._client.register_script(lua.REPLACE_TASK)
        self._advance_clock = self._client.register_script(lua.ADVANCE_CLOCK)
        self._begin = HotScript(self._client, lua.BEGIN_REQUEST)
        self._writes = Writes()
        self._parsed: dict[str, TaskRecord] = {}  # task JSON -> its record (``get_task``)
        self._executor = ThreadPoolExecutor(
            int(settings()["worker_threads"]), thread_name_prefix="dashscope-mock-redis"
        )  # ``call``
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
    def transaction(self, scope: str = "") -> Iterator[None]:
        """Serializes multi-step sequences on ``scope`` across processes; re-entrant per thread. A short lock per
        scope, renewed while held, taken within a bounded wait or ``StateUnavailable`` (``_redis_client.ShortLocks``).
        """
        held: dict[str, list[Any]] = self._local.__dict__.setdefault("held", {})  # scope -> [depth, lock]
        entry = held.get(scope)
        if entry is None:
            entry = held[scope] = [0, self._locks.acquire(scope)]
        entry[0] += 1
        try:
            yield
        finally:
            entry[0] -= 1
            if entry[0] == 0:
                del held[scope]
                self._locks.release(entry[1])

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
        if text is None:
            return None
        # Polls read the same text again and again (it changes with the task's version): parsed once. Records handed
        # out are read-only (base.Store), so one may serve every reader.
        record = self._parsed.get(text)
        if record is None:
            if len(self._parsed) >= PARSED_MAX:
                self._parsed.clear()
            record = self._parsed[text] = TaskRecord.from_json(text)
        return record

    def _load(self, index: str, start: int = 0) -> list[TaskRecord]:
        return load_index(self._client, index, self._task, start)

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
        self.uploads.add(record)

    def get_upload(self, url: str) -> UploadRecord | None:
        return self.uploads.get(url)

    def all_uploads(self) -> list[UploadRecord]:
        return self.uploads.all()

    def clock_offset(self, task_id: str | None = None, rate: RateHit | None = None) -> float:
        """The shared offset, never below the latest this process knew while Redis has lost it (``READ_CLOCK``). The
        request's first round trip: it also reads whether any fault is set, ``task_id``'s task and the secret, which
        ``get_task``, ``faults.pick`` and ``secret`` answer from for the rest of the request (``Prefetched``), and
        makes ``rate``'s hit when the offset did not move (``rates.hit`` takes it: ``EarlyHit``)."""
        keys, args, early = self._begin_command(task_id, rate)
        return self._begun(self._begin(keys, args), task_id, early, rate is not None)

    async def begin_request(self, task_id: str | None = None, rate: RateHit | None = None) -> float:
        """``clock_offset`` on the asynchronous client (``_redis_async``)."""
        keys, args, early = self._begin_command(task_id, rate)
        return self._begun(await self._async.evalsha(self._begin, keys, args), task_id, early, rate is not None)

    def _begin_command(self, task_id: str | None, rate: RateHit | None) -> tuple[list[str], list[str], EarlyHit | None]:
        keys = [*self._clock_keys, self.faults.name, self._task(task_id) if task_id else self._clock_keys[0]]
        args = [self._clock_text, "1" if task_id else "0"]
        early, window = None, self._clock_keys[0]
        if rate is not None and rate.offset == float(self._clock_text):  # `now` was read with this offset
            early = self.rates.early(rate)
            if early is not None:
                window = early.window
                args += self.rates.hit_args(rate.now, rate.limit, rate.window, early.member)
        keys += [self._prefix + "secret", window]
        return keys, args, early

    def _begun(self, reply: Any, task_id: str | None, early: EarlyHit | None, rated: bool) -> float:
        offset, faults, task, secret, hit = reply
        self._clock_text = str(offset)
        made = early is not None and int(hit) >= 0
        prefetch(self._writes.count, int(faults), task_id, task, secret, made or not rated)
        if early is not None and made:
            early.counted = bool(int(hit))
            early_hit(early)
        return float(self._clock_text)

    def answers_query(self, task_id: str) -> bool:
        early = prefetched(self._writes.count)
        return early is not None and early.task_id == task_id and early.secret is not None and early.rated

    def knows_no_faults(self) -> bool:
        early = prefetched(self._writes.count)
        return early is not None and early.faults == 0

    async def call(self, work: Callable[..., T], *args: Any) -> T:
        context = contextvars.copy_context()  # the request's (``context.current_request``)
        task = functools.partial(context.run, run_for, current_owner(), work, *args)
        return await asyncio.get_running_loop().run_in_executor(self._executor, task)

    async def record_request(self, **fields: Any) -> None:
        _, keys, args = self.journal.command(**fields)
        await self._async.evalsha(self.journal.script, keys, args)

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
        # Locks stay: a clear() inside transaction() must still release its own.
        unlink_matching(self._client, self._prefix + "*", keep=(self._locks.prefix, self._clock_keys[0]))

    def close(self) -> None:
        self._client.breaker.close()
        self._async.close()
        self._executor.shutdown(wait=False)
        self._locks.close()
        self._client.close()
