"""The Redis client of the Redis store (``store.redis``): bounded calls, a breaker, and a short renewed lock.

Every call has the connect and read timeouts of the control spec's ``x-redis`` and is never retried by the client.
A call that fails or times out raises ``StateUnavailable`` (503 in the service's shape) and opens the breaker: until
a background thread's PING answers again (every ``probe_seconds``), every call raises it at once without touching a
socket, so a dead or paused Redis costs a request at most one timeout, and the event loop at most one timeout at the
moment it failed. When Redis answers again the idle connections are dropped (they may be sockets of a Redis that
restarted) and calls go through again: the mock recovers by itself.

``ShortLock``: the lock of ``transaction()``, held ``lock_ttl_seconds`` and renewed by a thread of its holder every
third of it, taken within ``lock_wait_seconds`` or ``StateUnavailable``. After a wait ran out, the next requests do
not wait again until the lock's remaining TTL (read then) has passed: a holder that died costs the others one TTL of
that lock, and no request waits on it more than once.
"""

from __future__ import annotations

import asyncio
import contextlib
import contextvars
import dataclasses
import logging
import threading
import time
from collections.abc import Mapping, Sequence
from typing import Any, cast

import redis
from redis.backoff import NoBackoff
from redis.client import Pipeline
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import LockError
from redis.exceptions import TimeoutError as RedisTimeoutError
from redis.lock import Lock
from redis.retry import Retry

from dashscope_openapi import load_control_spec

from ..domain.errors import StateUnavailable

__all__ = [
    "Breaker",
    "GuardedRedis",
    "Prefetched",
    "ShortLock",
    "Writes",
    "connect",
    "prefetch",
    "prefetched",
    "settings",
    "unlink_matching",
]

CHUNK = 1000  # keys per UNLINK

logger = logging.getLogger("dashscope_mock")

FAILURES = (RedisConnectionError, RedisTimeoutError, OSError)


@dataclasses.dataclass(frozen=True)
class Prefetched:
    """What a request's first round trip read (``RedisStore.clock_offset``): good for that request's own asyncio task
    only, and only while this process wrote nothing (``writes``), so neither a worker nor a later request sees it."""

    owner: object  # the asyncio task of the request
    writes: int  # the store's write count when read
    faults: int  # how many fields the faults hash had: 0, no fault is set
    task_id: str | None
    task: str | None  # the task's JSON (None: no such task)


class Writes:
    """How many writes this process made to tasks and faults: a prefetched read older than the last one is stale."""

    count = 0

    def bump(self) -> None:
        self.count += 1


_PREFETCHED: contextvars.ContextVar[Prefetched | None] = contextvars.ContextVar("redis_prefetched", default=None)


def _task() -> object:
    try:
        return asyncio.current_task()
    except RuntimeError:  # a thread without an event loop
        return None


def prefetch(writes: int, faults: int, task_id: str | None, task: str | None) -> None:
    owner = _task()
    _PREFETCHED.set(None if owner is None else Prefetched(owner, writes, faults, task_id, task))


def prefetched(writes: int) -> Prefetched | None:
    """The current request's prefetched state, if still good (same task, no write since)."""
    found = _PREFETCHED.get()
    if found is None or found.writes != writes or found.owner is not _task():
        return None
    return found


def settings() -> Mapping[str, float]:
    """The control spec's ``x-redis``: timeouts, the breaker's probe period, the lock's TTL and wait."""
    return {name: float(value) for name, value in load_control_spec()["x-redis"].items()}


def _options() -> dict[str, Any]:
    limits = settings()
    return {
        "decode_responses": True,
        "socket_timeout": limits["socket_timeout_seconds"],
        "socket_connect_timeout": limits["connect_timeout_seconds"],
        "retry": Retry(NoBackoff(), 0),
        "retry_on_timeout": False,
    }


class Breaker:
    """Open after a failed call; closed again by a background PING that answers (``url``'s own connection)."""

    def __init__(self, url: str, on_recovery: Any) -> None:
        self._url = url
        self._on_recovery = on_recovery
        self._lock = threading.Lock()
        self.open = False
        self.trips = 0
        self._probe: threading.Thread | None = None
        self._closed = threading.Event()

    def check(self) -> None:
        if self.open:
            raise StateUnavailable("the Redis state is unreachable (breaker open)")

    def trip(self, error: BaseException) -> None:
        with self._lock:
            if self.open:
                return
            self.open = True
            self.trips += 1
            logger.warning("Redis state unreachable (%s): answering 503 until it answers again", error)
            self._probe = threading.Thread(target=self._watch, name="dashscope-mock-redis-probe", daemon=True)
            self._probe.start()

    def _watch(self) -> None:
        period = settings()["probe_seconds"]
        client = redis.Redis.from_url(self._url, **_options())
        try:
            while not self._closed.wait(period):
                try:
                    client.ping()
                except (redis.RedisError, OSError):
                    client.connection_pool.disconnect()
                    continue
                self._on_recovery()
                with self._lock:
                    self.open = False
                logger.warning("Redis state answers again")
                return
        finally:
            client.close()

    def close(self) -> None:
        self._closed.set()


class GuardedPipeline(Pipeline):
    """A pipeline whose ``execute`` is bounded and guarded like every call of ``GuardedRedis``."""

    breaker: Breaker

    def execute(self, raise_on_error: bool = True) -> list[Any]:
        if not self.command_stack:
            return []
        self.breaker.check()
        try:
            return super().execute(raise_on_error)
        except FAILURES as error:
            self.breaker.trip(error)
            raise StateUnavailable(str(error)) from error


class GuardedRedis(redis.Redis):
    """``redis.Redis`` whose every command is bounded and guarded by ``breaker`` (see the module docstring)."""

    breaker: Breaker

    def execute_command(self, *args: Any, **options: Any) -> Any:
        self.breaker.check()
        try:
            return super().execute_command(*args, **options)  # type: ignore[no-untyped-call]
        except FAILURES as error:
            self.breaker.trip(error)
            raise StateUnavailable(str(error)) from error

    def pipeline(self, transaction: bool = True, shard_hint: Any = None) -> GuardedPipeline:
        pipe = GuardedPipeline(self.connection_pool, self.response_callbacks, transaction, shard_hint)
        pipe.breaker = self.breaker
        return pipe


def connect(url: str) -> GuardedRedis:
    client = cast(GuardedRedis, GuardedRedis.from_url(url, **_options()))

    def recovered() -> None:
        client.connection_pool.disconnect(inuse_connections=False)  # sockets of a Redis that may have restarted

    client.breaker = Breaker(url, recovered)
    return client


class ShortLock:
    """The lock named ``name``: see the module docstring."""

    def __init__(self, client: GuardedRedis, name: str) -> None:
        limits = settings()
        self._client, self.name = client, name
        self.ttl, self.wait = limits["lock_ttl_seconds"], limits["lock_wait_seconds"]
        self._held: set[Lock] = set()
        self._guard = threading.Condition()
        self._renewer: threading.Thread | None = None
        self._busy_until = 0.0  # monotonic: a wait ran out; until then one attempt, no wait
        self._stopped = threading.Event()

    def acquire(self) -> Lock:
        lock: Lock = self._client.lock(self.name, timeout=self.ttl, sleep=0.005, thread_local=False)
        fail_fast = time.monotonic() < self._busy_until
        if not lock.acquire(blocking=not fail_fast, blocking_timeout=self.wait):
            if not fail_fast:
                remaining = int(self._client.pttl(self.name))
                self._busy_until = time.monotonic() + max(0, remaining) / 1000.0
            raise StateUnavailable(f"the Redis state's lock {self.name!r} stayed taken for {self.wait:g} s")
        with self._guard:
            if not self._held:
                self._guard.notify()  # the renewer waits for a first held lock
            self._held.add(lock)
            if self._renewer is None:
                self._renewer = threading.Thread(target=self._renew, name="dashscope-mock-lock-renewer", daemon=True)
                self._renewer.start()
        return lock

    def release(self, lock: Lock) -> None:
        with self._guard:
            self._held.discard(lock)
        with contextlib.suppress(LockError, StateUnavailable):  # past its TTL (already gone), or Redis is down
            lock.release()

    def _renew(self) -> None:
        """Every third of the TTL, each held lock's TTL starts again (``reacquire``); a lock lost meanwhile is
        dropped (its holder's ``release`` finds it gone)."""
        while True:
            with self._guard:
                while not self._held and not self._stopped.is_set():
                    self._guard.wait()
            if self._stopped.wait(self.ttl / 3):
                return
            with self._guard:
                held = list(self._held)
            for lock in held:
                try:
                    lock.reacquire()
                except (LockError, StateUnavailable):
                    with self._guard:
                        self._held.discard(lock)

    def close(self) -> None:
        with self._guard:
            self._stopped.set()
            self._guard.notify_all()


def unlink_matching(client: redis.Redis, pattern: str, keep: Sequence[str] = ()) -> None:
    """Delete the keys matching ``pattern`` (SCAN + UNLINK in batches: never FLUSHDB, other data may share the db)."""
    batch: list[str] = []
    for name in client.scan_iter(match=pattern, count=CHUNK):
        if name not in keep:
            batch.append(cast(str, name))
        if len(batch) >= CHUNK:
            client.unlink(*batch)
            batch.clear()
    if batch:
        client.unlink(*batch)
