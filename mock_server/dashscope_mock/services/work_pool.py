"""The workers of this process: they take media work from the store's queue (``Store.work``) and hand each task id
to the task service, at most ``workers`` at a time.

A submit only enqueues and calls ``kick()``: with a worker free, the item is claimed there and then (its task
shows RUNNING from its start on, as on the service when it has capacity); a worker claims items until none is ready,
then ends. Claims are held
under a lease in wall-clock seconds: with a shared store (SQLite, Redis) a ticker renews this process's leases and
looks for work from elsewhere: items another process queued, and items whose worker died (kill -9, a lost host),
whose lease ran out. So after a restart every unfinished task is worked on again, by whichever process is up.
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

from ..store import WorkQueue

__all__ = ["WorkPool"]

logger = logging.getLogger("dashscope_mock.work")


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
    ) -> None:
        self.queue = queue
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
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:
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
            return
        self.start_ticker()
        for _ in range(min(count, self.workers - len(self._running))):
            task_id = self._claim()
            if task_id is None:
                return
            task = loop.create_task(self._work(task_id))
            self._running.add(task)
            task.add_done_callback(self._running.discard)

    def _claim(self) -> str | None:
        task_id = self.queue.claim(self.owner, time.time(), self.lease_seconds)
        if task_id is not None:
            self._claims += 1
            self._in_flight.add(task_id)
            self.on_claimed(task_id)
        return task_id

    def start_ticker(self) -> None:
        """With a shared store: renew leases and pick up work queued elsewhere or abandoned (idempotent)."""
        if not self.shared or self._ticker is not None:
            return
        loop = self._bind()
        if loop is not None:
            self._ticker = loop.create_task(self._tick())

    async def _work(self, first: str) -> None:
        task_id: str | None = first
        while task_id is not None:
            try:
                await self.handler(task_id)
            except asyncio.CancelledError:
                raise
            except Exception as error:  # a bug, or the store is gone: the lease runs out and the work is retried
                logger.exception("work on task %s failed; it is retried when its lease runs out", task_id)
                self.errors.append(error)
            else:
                self.queue.finish(task_id)
            finally:
                self._in_flight.discard(task_id)
            task_id = self._claim()

    async def _tick(self) -> None:
        period = max(0.05, self.lease_seconds / 3)
        while True:
            await asyncio.sleep(period)
            try:
                if self._in_flight:
                    self.queue.renew(self.owner, sorted(self._in_flight), time.time(), self.lease_seconds)
                if len(self._running) < self.workers and len(self.queue) > len(self._in_flight):
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
            if not len(self.queue) or self._claims == claims:
                return

    def close(self) -> None:
        for task in [*self._running, *([self._ticker] if self._ticker else [])]:
            with contextlib.suppress(RuntimeError):  # its loop may be closed already
                task.cancel()
        self._running = set()
        self._ticker = None
