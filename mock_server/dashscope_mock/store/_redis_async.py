"""The Redis store's asynchronous client (``redis.asyncio``): what a request does on Redis from the event loop.

A request's first round trip (``BEGIN_REQUEST``: clock offset, faults, task, secret, rate hit) and its journal entry
are awaited, never run as blocking calls on the event loop. Every request of one event loop shares one
``redis.asyncio`` connection: a command is written as soon as it is made and its reply read by the loop's one reader,
in order (Redis answers a connection's commands in the order it got them). Concurrent requests so share write and read
system calls instead of each taking a pooled connection for a round trip of its own.

Bounds are the sync client's (``x-redis``): the connect timeout, and a read timeout on each reply. A reply that does
not come within it, or a connection that fails, fails every command waiting on that connection with
``StateUnavailable`` (503), drops the connection (a late reply would answer the wrong command) and opens the shared
``Breaker``: calls then raise at once until the breaker's probe sees Redis answer again, and the next call connects
anew. A Redis that lost a script (restarted, flushed) is sent the script itself (``EVAL``) once.
"""

from __future__ import annotations

import asyncio
import collections
import math
import weakref
from collections.abc import Sequence
from typing import Any

from redis.asyncio.connection import AbstractConnection, ConnectionPool
from redis.exceptions import NoScriptError, RedisError, ResponseError

from ..domain.errors import StateUnavailable
from ..domain.loops import running_loop
from ._redis_client import FAILURES, Breaker, HotScript, settings

__all__ = ["AsyncRedis"]


class _Link:
    """One event loop's connection, the futures of the commands written on it (oldest first) and its reader."""

    def __init__(self, connection: AbstractConnection, generation: int) -> None:
        self.connection = connection
        self.generation = generation
        self.waiting: collections.deque[asyncio.Future[Any]] = collections.deque()
        self.reader: asyncio.Task[None] | None = None
        self.connecting: asyncio.Future[None] | None = None
        self.failed = False


class AsyncRedis:
    """See the module docstring. ``evalsha`` runs one of the store's hot scripts."""

    def __init__(self, url: str, breaker: Breaker) -> None:
        limits = settings()
        self._timeout = limits["socket_timeout_seconds"]
        # No socket timeout on the connection itself: redis.asyncio would wrap every write in a task of its own. The
        # read bound is applied here, around each reply.
        self._pool = ConnectionPool.from_url(
            url, decode_responses=True, socket_timeout=None, socket_connect_timeout=limits["connect_timeout_seconds"]
        )
        self._breaker = breaker
        self._links: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, _Link] = weakref.WeakKeyDictionary()
        self.generation = 0  # grows when Redis answers again after a failure: older connections are dropped

    async def evalsha(self, script: HotScript, keys: Sequence[str], args: Sequence[str]) -> Any:
        try:
            return await self._send(script.packed(keys, args))
        except NoScriptError:
            return await self._send(script.packed(keys, args, inline=True))

    async def _send(self, packed: bytes) -> Any:
        self._breaker.check()
        link = await self._link()
        future: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
        # Both before any await: the futures stay in the order of the commands on the connection.
        link.waiting.append(future)
        try:
            await link.connection.send_packed_command(packed, check_health=False)
        except (*FAILURES, RedisError) as error:
            self._fail(link, error)
        if link.reader is None and not link.failed:
            link.reader = asyncio.get_running_loop().create_task(self._read(link))
        return await future

    async def _link(self) -> _Link:
        loop = asyncio.get_running_loop()
        link = self._links.get(loop)
        if link is None or link.failed or link.generation != self.generation or _closed_by_server(link):
            link = _Link(self._pool.make_connection(), self.generation)  # type: ignore[no-untyped-call]
            self._links[loop] = link
        if link.connection.is_connected:
            return link
        if link.connecting is None:
            link.connecting = loop.create_future()
            try:
                await link.connection.connect()  # type: ignore[no-untyped-call]
            except (*FAILURES, RedisError) as error:
                self._fail(link, error)
                raise StateUnavailable(str(error)) from error
            finally:
                if not link.connecting.done():
                    link.connecting.set_result(None)
                link.connecting = None
            return link
        await asyncio.shield(link.connecting)
        if link.failed or not link.connection.is_connected:
            raise StateUnavailable("the Redis state is unreachable")
        return link

    async def _read(self, link: _Link) -> None:
        """Hand each reply to the oldest waiting command, while any waits; past the read bound, fail them all."""
        try:
            while link.waiting:
                try:
                    async with asyncio.timeout(self._timeout):
                        reply: Any = await link.connection.read_response(timeout=math.inf)
                except ResponseError as error:  # an error reply: the connection is fine
                    reply = error
                except (*FAILURES, RedisError, TimeoutError) as error:
                    self._fail(link, error)
                    return
                future = link.waiting.popleft()
                if future.done():
                    continue
                if isinstance(reply, ResponseError):
                    future.set_exception(reply)
                else:
                    future.set_result(reply)
        finally:
            link.reader = None

    def _fail(self, link: _Link, error: BaseException) -> None:
        link.failed = True
        self._breaker.trip(error)
        while link.waiting:
            future = link.waiting.popleft()
            if not future.done():
                future.set_exception(StateUnavailable(str(error) or type(error).__name__))
        link.connection._close()  # type: ignore[no-untyped-call]  # no await: a late reply must never reach a later one

    def recovered(self) -> None:
        """Redis answers again (the breaker's probe): connections made before are dropped at their next use."""
        self.generation += 1

    def close(self) -> None:
        """Close every loop's connection (on its loop's thread when that loop runs elsewhere)."""
        for loop, link in list(self._links.items()):
            if loop.is_closed():
                continue
            if loop.is_running() and running_loop() is not loop:
                loop.call_soon_threadsafe(link.connection._close)
            else:
                link.connection._close()  # type: ignore[no-untyped-call]
        self._links.clear()


def _closed_by_server(link: _Link) -> bool:
    """An idle connection Redis closed (it restarted, or dropped idle clients): connect anew rather than send on it.
    The stream reader sees the end of the stream as soon as it comes, with no command in flight."""
    stream = link.connection._reader
    return not link.waiting and stream is not None and stream.at_eof()
