"""The workers of this process: they take media work from the store's queue (``Store.work``) and hand each task id
to the task service, at most ``workers`` at a time.

A submit only enqueues and calls ``kick()``: with a worker free, the item is claimed there and then (its task
shows RUNNING from its start on, as on the service when it has capacity); a worker claims items until none is ready,
then ends. Claims are held
under a lease in wall-clock seconds: with a shared store (SQLite, Redis) a ticker renews this process's leases and
looks for work from elsewhere: items another process queued, and items whose worker died (kill -9, a lost host),
whose lease ran out. So after a restart every unfinished task is worked on again, by whichever process is up.

Queue calls go through ``call`` (``Store.call``): on a state on the network (Redis) they run on a worker thread, and a
worker claims its item there, never blocking the event loop; ``kick`` and ``close`` may be called from such a thread
(a submit's handler runs on one) and hand themselves to the pool's loop.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import socket
import time
import uuid
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

from ..domain.errors import StateUnavailable
from ..domain.loops import running_loop
from ..store import WorkQueue

__all__ = ["WorkPool"]

logger = logging.getLogger("dashscope_mock.work")

T = TypeVar("T")


async def _inline(work: Callable[..., T], *args: Any) -> T:
    return work(*args)


class WorkPool:
    def __init__(
        self,
        queue: WorkQueue,
        handler: Callable[[str], Awaitable[None]],
        *,
        on_claimed: Callable[[str], None],
        workers: int,
        lease_seconds: float,
        shared: bool,
        call: Callable[..., Awaitable[Any]] | None = None,
    ) -> None:
        self.queue = queue
        # Where queue calls run (``Store.call``); ``None``: inline, and a kick claims there and then.
        self.call = call or _inline
        self.claims_inline = call is None
        self.handler = handler
        self.on_claimed = on_claimed
        self.workers = max(1, workers)
        self.lease_seconds = lease_seconds
        self.shared = shared
        self.owner = f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"
        self.errors: list[BaseException] = []
        self._loop: asyncio.AbstractEventLoop | None = None
        self._running: set[asyncio.Task[None]] = set()
        self._in_flight: set[str] = set()
        self._ticker: asyncio.Task[None] | None = None
        self._claims = 0

    @property
    def loop(self) -> asyncio.AbstractEventLoop | None:
        """The event loop this pool's work runs on (the last one that used it), if any."""
        return self._loop

    def _bind(self) -> asyncio.AbstractEventLoop | None:
        """The running loop; a pool used from a new loop (a test's) forgets the tasks of the old one."""
        loop = running_loop()
        if loop is None:
            return None
        if loop is not self._loop:
            self._loop = loop
            self._running = set()
            self._in_flight = set()
            self._ticker = None
        return loop

    def kick(self, count: int = 1) -> None:
        """Start up to ``count`` more workers within capacity (a submit queued one item: one)."""
        loop = self._bind()
        if loop is None:
            self._on_loop(self.kick, count)
            return
        self.start_ticker()
        for _ in range(min(count, self.workers - len(self._running))):
            task_id = None
            if self.claims_inline:  # the item is claimed there and then: the task shows RUNNING from now on
                task_id = self._claimed(self._claim())
                if task_id is None:
                    return
            task = loop.create_task(self._work(task_id))
            self._running.add(task)
            task.add_done_callback(self._running.discard)

    def _on_loop(self, action: Callable[..., None], *args: Any) -> None:
        """``action`` called off the pool's loop (a state call's worker thread): handed to that loop."""
        loop = self._loop
        if loop is not None and not loop.is_closed():
            with contextlib.suppress(RuntimeError):  # the loop closed meanwhile
                loop.call_soon_threadsafe(action, *args)

    def _claim(self) -> str | None:
        """Claim the next item on this thread (inline, or a ``call`` thread for a state on the network)."""
        task_id = self.queue.claim(self.owner, time.time(), self.lease_seconds)
        if task_id is not None:
            self.on_claimed(task_id)
        return task_id

    def _claimed(self, task_id: str | None) -> str | None:
        """Count a claim, on the loop (the ticker reads what is in flight there)."""
        if task_id is not None:
            self._claims += 1
            self._in_flight.add(task_id)
        return task_id

    def start_ticker(self) -> None:
        """With a shared store: renew leases and pick up work queued elsewhere or abandoned (idempotent)."""
        if not self.shared or self._ticker is not None:
            return
        loop = self._bind()
        if loop is not None:
            self._ticker = loop.create_task(self._tick())

    async def _work(self, first: str | None) -> None:
        task_id = first if first is not None else await self._next()
        while task_id is not None:
            try:
                await self.handler(task_id)
                await self.call(self.queue.finish, task_id)
            except asyncio.CancelledError:
                raise
            except Exception as error:  # a bug, or the store is gone: the lease runs out and the work is retried
                logger.exception("work on task %s failed; it is retried when its lease runs out", task_id)
                self.errors.append(error)
            finally:
                self._in_flight.discard(task_id)
            task_id = await self._next()

    async def _next(self) -> str | None:
        """The next item claimed, or ``None``: nothing ready, or the state is unavailable (the store logged why; the
        ticker looks again)."""
        try:
            return self._claimed(await self.call(self._claim))
        except StateUnavailable:
            return None

    async def _tick(self) -> None:
        period = max(0.05, self.lease_seconds / 3)
        while True:
            await asyncio.sleep(period)
            try:
                if self._in_flight:
                    await self.call(
                        self.queue.renew, self.owner, sorted(self._in_flight), time.time(), self.lease_seconds
                    )
                if len(self._running) < self.workers and await self.call(len, self.queue) > len(self._in_flight):
                    self.kick(self.workers)
            except Exception:
                logger.exception("the work pool's ticker failed; it tries again")

    async def drain(self) -> None:
        """Work until nothing this process can claim is left (tests)."""
        while True:
            claims = self._claims
            self.kick(self.workers)
            running = list(self._running)
            if not running:
                return
            await asyncio.gather(*running, return_exceptions=True)
            if not await self.call(len, self.queue) or self._claims == claims:
                return

    def close(self) -> None:
        if self._loop is not None and self._bind() is None and self._loop.is_running():  # off the pool's loop
            self._on_loop(self.close)
            return
        for task in [*self._running, *([self._ticker] if self._ticker else [])]:
            with contextlib.suppress(RuntimeError):  # its loop may be closed already
                task.cancel()
        self._running = set()
        self._ticker = None
