"""The Redis client of the Redis store (``store.redis``): bounded calls, a breaker, and a short renewed lock.

Every call has the connect and read timeouts of the control spec's ``x-redis`` and is never retried by the client.
A call that fails or times out raises ``StateUnavailable`` (503 in the service's shape) and opens the breaker: until
a background thread's PING answers again (every ``probe_seconds``), every call raises it at once without touching a
socket, so a dead or paused Redis costs a request at most one timeout, and the event loop at most one timeout at the
moment it failed. When Redis answers again the idle connections are dropped (they may be sockets of a Redis that
restarted) and calls go through again: the mock recovers by itself.

``ShortLocks``: the locks of ``transaction(scope)``, one per scope (a key's tasks of a model: what a submit plans
against), held ``lock_ttl_seconds`` and renewed by a thread of their holder every third of it, taken within
``lock_wait_seconds`` or ``StateUnavailable``. After a wait ran out, the next requests do not wait on that lock again
until its remaining TTL (read then) has passed: a holder that died costs the others one TTL on the scopes it held,
nothing elsewhere, and no request waits on it more than once.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import contextvars
import dataclasses
import hashlib
import logging
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from typing import Any, TypeVar, cast

import redis
from redis.backoff import NoBackoff
from redis.client import Pipeline
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import LockError, NoScriptError, ResponseError
from redis.exceptions import TimeoutError as RedisTimeoutError
from redis.lock import Lock
from redis.retry import Retry

from dashscope_openapi import load_control_spec

from ..domain.errors import StateUnavailable
from ..domain.loops import running_loop

__all__ = [
    "BLOCKING_ON_LOOP",
    "Breaker",
    "EarlyHit",
    "GuardedRedis",
    "HotScript",
    "Prefetched",
    "ShortLocks",
    "Writes",
    "connect",
    "current_owner",
    "early_hit",
    "note_blocking",
    "prefetch",
    "prefetched",
    "run_for",
    "settings",
    "take_early_hit",
    "unlink_matching",
    "untaken_hit",
]

T = TypeVar("T")
CHUNK = 1000  # keys per UNLINK
BUSY_MAX = 4096  # locks remembered as held by another (``ShortLocks``)

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
    secret: str | None = None  # the state's secret (None: not made yet)
    rated: bool = True  # the query's rate hit was made with it, or none was asked for


@dataclasses.dataclass
class EarlyHit:
    """A task query's rate hit made by its first round trip (``RedisStore.clock_offset``), for its handler to take
    (``take_early_hit``); one it never takes is taken back with its journal entry (``untaken_hit``)."""

    owner: object  # the asyncio task of the request
    window: str  # the window's key
    limit: float
    seconds: float
    member: str
    counted: bool
    taken: bool = False


class Writes:
    """How many writes this process made to tasks and faults: a prefetched read older than the last one is stale."""

    count = 0

    def bump(self) -> None:
        self.count += 1


_PREFETCHED: contextvars.ContextVar[Prefetched | None] = contextvars.ContextVar("redis_prefetched", default=None)
_EARLY_HIT: contextvars.ContextVar[EarlyHit | None] = contextvars.ContextVar("redis_early_hit", default=None)


_OFFLOADED = threading.local()  # on a thread of ``run_for``: the asyncio task it works for


def current_owner() -> object:
    """The asyncio task running (a request's), or the one a thread of ``run_for`` works for; else ``None``."""
    try:
        return asyncio.current_task()
    except RuntimeError:  # a thread without an event loop
        return getattr(_OFFLOADED, "owner", None)


def run_for(owner: object, work: Callable[..., T], *args: Any) -> T:
    """``work(*args)`` on this thread as if on ``owner``'s asyncio task: it sees what that request read first."""
    _OFFLOADED.owner = owner
    try:
        return work(*args)
    finally:
        _OFFLOADED.owner = None


def prefetch(
    writes: int, faults: int, task_id: str | None, task: str | None, secret: str | None = None, rated: bool = True
) -> None:
    """Keep what the request's first round trip read (and forget an earlier request's early hit)."""
    owner = current_owner()
    _PREFETCHED.set(None if owner is None else Prefetched(owner, writes, faults, task_id, task, secret, rated))
    _EARLY_HIT.set(None)


def early_hit(hit: EarlyHit) -> None:
    _EARLY_HIT.set(hit)


def take_early_hit(window: str, limit: float, seconds: float) -> bool | None:
    """Whether the request's early hit on ``window`` counted; ``None`` when none was made (then hit it now)."""
    hit = _EARLY_HIT.get()
    # No owner check: a task the request's handler runs in (connexion) sees the request's context, nothing else does.
    if hit is None or hit.taken or hit.window != window or hit.limit != limit or hit.seconds != seconds:
        return None
    hit.taken = True
    return hit.counted


def prefetched(writes: int) -> Prefetched | None:
    """The current request's prefetched state, if still good (same task, no write since)."""
    found = _PREFETCHED.get()
    if found is None or found.writes != writes or found.owner is not current_owner():
        return None
    return found


def untaken_hit() -> EarlyHit | None:
    """The request's early hit that counted but that its handler never took (the request ended before the rate
    check: refused, faulted), forgotten here: to take out of its window."""
    hit = _EARLY_HIT.get()
    if hit is None:
        return None
    _EARLY_HIT.set(None)
    return hit if hit.counted and not hit.taken and hit.owner is current_owner() else None


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

    def __init__(self, url: str, on_recovery: Callable[[], None]) -> None:
        self._url = url
        self.on_recovery = [on_recovery]  # called on the probe's thread when Redis answers again
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
                for recovered in self.on_recovery:
                    recovered()
                with self._lock:
                    self.open = False
                logger.warning("Redis state answers again")
                return
        finally:
            client.close()

    def close(self) -> None:
        self._closed.set()


BLOCKING_ON_LOOP: collections.Counter[str] = collections.Counter()  # commands sent from an event loop (see below)


def note_blocking(command: str) -> None:
    """A blocking Redis call made on a thread that runs an event loop: it stalls every request of that loop for its
    round trip. The server's own state work runs on ``Store.call``'s threads, so on a server this is a defect; in
    process, a test's own synchronous call from an async test makes one too. Logged once per command and counted
    (tests assert the server makes none)."""
    if running_loop() is None:
        return  # a thread without an event loop: blocking is what it is for
    if not BLOCKING_ON_LOOP[command]:
        logger.warning(
            "blocking Redis call %s made on a running event loop: it stalls that loop meanwhile (the mock's request "
            "path never makes one; a synchronous mock call from async code does)",
            command,
        )
    BLOCKING_ON_LOOP[command] += 1


class GuardedPipeline(Pipeline):
    """A pipeline whose ``execute`` is bounded and guarded like every call of ``GuardedRedis``."""

    breaker: Breaker

    def execute(self, raise_on_error: bool = True) -> list[Any]:
        if not self.command_stack:
            return []
        note_blocking("pipeline")
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
        note_blocking(str(args[0]) if args else "?")
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


class HotScript:
    """A Lua script of the hot path (a request's first round trip, its journal entry): one EVALSHA packed here and sent
    on a connection of the client's pool, without redis-py's per-call machinery (half the CPU of a call). Bounded and
    guarded as every ``GuardedRedis`` call; a Redis that lost the script (restarted, flushed) is given it again. The
    asynchronous client (``_redis_async``) sends the same packed command."""

    def __init__(self, client: GuardedRedis, script: str) -> None:
        self._client, self._script = client, script
        sha = hashlib.sha1(script.encode(), usedforsecurity=False).hexdigest().encode()
        self._head = b"$7\r\nEVALSHA\r\n$%d\r\n%s\r\n" % (len(sha), sha)
        body = script.encode()
        self._inline_head = b"$4\r\nEVAL\r\n$%d\r\n%s\r\n" % (len(body), body)

    def packed(self, keys: Sequence[str], args: Sequence[str], *, inline: bool = False) -> bytes:
        """The command as sent: EVALSHA, or with ``inline`` EVAL of the script itself (which Redis then keeps)."""
        parts = [
            b"*%d\r\n" % (3 + len(keys) + len(args)),
            self._inline_head if inline else self._head,
            b"$%d\r\n%d\r\n" % (len(str(len(keys))), len(keys)),
        ]
        for item in (*keys, *args):
            data = item.encode()
            parts.append(b"$%d\r\n%s\r\n" % (len(data), data))
        return b"".join(parts)

    def __call__(self, keys: Sequence[str], args: Sequence[str]) -> Any:
        try:
            return self._call(self.packed(keys, args))
        except NoScriptError:
            return self._call(self.packed(keys, args, inline=True))

    def _call(self, packed: bytes) -> Any:
        note_blocking("EVALSHA")
        client = self._client
        client.breaker.check()
        pool = client.connection_pool
        try:
            connection = pool.get_connection()
        except FAILURES as error:
            client.breaker.trip(error)
            raise StateUnavailable(str(error)) from error
        try:
            connection.send_packed_command([packed], check_health=False)  # type: ignore[no-untyped-call]
            return connection.read_response()
        except ResponseError:
            raise  # an error reply: the connection is fine
        except FAILURES as error:
            connection.disconnect()  # type: ignore[no-untyped-call]
            client.breaker.trip(error)
            raise StateUnavailable(str(error)) from error
        except BaseException:
            connection.disconnect()  # type: ignore[no-untyped-call]  # a reply may be left unread
            raise
        finally:
            pool.release(connection)


def connect(url: str) -> GuardedRedis:
    client = cast(GuardedRedis, GuardedRedis.from_url(url, **_options()))

    def recovered() -> None:
        client.connection_pool.disconnect(inuse_connections=False)  # sockets of a Redis that may have restarted

    client.breaker = Breaker(url, recovered)
    return client


class ShortLocks:
    """The locks of ``transaction(scope)``, each named ``prefix + scope``: see the module docstring."""

    def __init__(self, client: GuardedRedis, prefix: str) -> None:
        limits = settings()
        self._client, self.prefix = client, prefix
        self.ttl, self.wait = limits["lock_ttl_seconds"], limits["lock_wait_seconds"]
        self._held: set[Lock] = set()
        self._guard = threading.Condition()
        self._renewer: threading.Thread | None = None
        self._busy_until: dict[str, float] = {}  # monotonic, per lock: a wait ran out; until then one try, no wait
        self._stopped = threading.Event()

    def acquire(self, scope: str) -> Lock:
        name = self.prefix + scope
        lock: Lock = self._client.lock(name, timeout=self.ttl, sleep=0.005, thread_local=False)
        fail_fast = time.monotonic() < self._busy_until.get(name, 0.0)
        if not lock.acquire(blocking=not fail_fast, blocking_timeout=self.wait):
            if not fail_fast:
                remaining = int(self._client.pttl(name))
                if len(self._busy_until) >= BUSY_MAX:  # bounded: forget past ones
                    now = time.monotonic()
                    self._busy_until = {k: v for k, v in self._busy_until.items() if v > now}
                self._busy_until[name] = time.monotonic() + max(0, remaining) / 1000.0
            raise StateUnavailable(f"the Redis state's lock {name!r} stayed taken for {self.wait:g} s")
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
    """Delete the keys matching ``pattern`` but those starting with one of ``keep`` (SCAN + UNLINK in batches: never
    FLUSHDB, other data may share the db)."""
    batch: list[str] = []
    kept = tuple(keep)
    for name in client.scan_iter(match=pattern, count=CHUNK):
        if not name.startswith(kept):
            batch.append(cast(str, name))
        if len(batch) >= CHUNK:
            client.unlink(*batch)
            batch.clear()
    if batch:
        client.unlink(*batch)
