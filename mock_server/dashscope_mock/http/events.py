"""``GET /_mock/events``: the change feed (``services.feed``) as server-sent events.

The handler (``control.stream_events``) answers with an ``EventStream``, a Starlette streaming response that
connexion passes through as it is (a framework response), after the guard (token, Host) and the parameter
validation ran as for any control route. Every ``x-dashboard.tick_seconds`` the feed is polled and what changed is
sent (``views.sse_frame``); after ``keepalive_seconds`` without an event, a comment line. The stream ends:

- after ``max_seconds`` (the client reconnects);
- when the client goes away: Starlette's streaming response listens for ``http.disconnect`` and cancels the loop,
  which holds no task of its own;
- when the server shuts down. uvicorn waits for open responses before it stops, and tells one of a shutdown only
  by turning its connection's keep-alive off (``Server.shutdown`` → ``connection.shutdown()``): ``stopping``
  (``shutdown_probe``) watches that flag of the server's own ``send`` and the loop ends within a tick.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from typing import Any

from starlette.responses import StreamingResponse

from . import views
from .feed import ChangeFeed, dashboard_settings

__all__ = ["KEEP_ALIVE", "EventStream", "event_stream", "shutdown_probe"]

KEEP_ALIVE = b": keep-alive\n\n"
MEDIA_TYPE = "text/event-stream"


def shutdown_probe(server_send: Any) -> Callable[[], bool]:
    """Whether the server began to shut down, seen on its ``send`` (a uvicorn request cycle: its ``keep_alive``
    turns off; nothing else turns it off while a response without ``Connection: close`` streams). A connection
    that did not keep alive from the start, or another server, gives no sign: the stream then ends by its
    ``max_seconds`` or the client's going away."""
    cycle = getattr(server_send, "__self__", None)
    if cycle is None or getattr(cycle, "keep_alive", None) is not True:
        return lambda: False
    return lambda: not cycle.keep_alive


async def event_stream(
    feed: ChangeFeed,
    *,
    max_seconds: float,
    stopping: Callable[[], bool] = lambda: False,
    tick_seconds: float | None = None,
    keepalive_seconds: float | None = None,
) -> AsyncIterator[bytes]:
    """The stream's bytes: what the feed reports at each tick, until ``max_seconds`` or ``stopping()``."""
    settings = dashboard_settings()
    tick = float(settings["tick_seconds"] if tick_seconds is None else tick_seconds)
    keepalive = float(settings["keepalive_seconds"] if keepalive_seconds is None else keepalive_seconds)
    loop = asyncio.get_running_loop()
    deadline = loop.time() + max_seconds
    quiet_since = loop.time()
    while True:
        events = await feed.backend.store.call(feed.poll)  # never blocking the event loop on the state
        chunk = b"".join(views.sse_frame(name, data) for name, data in events)
        if not chunk and loop.time() - quiet_since >= keepalive:
            chunk = KEEP_ALIVE
        if chunk:
            yield chunk
            quiet_since = loop.time()
        remaining = deadline - loop.time()
        if remaining <= 0 or stopping():
            return
        await asyncio.sleep(min(tick, remaining))


class EventStream(StreamingResponse):
    """``text/event-stream``, not cached nor buffered by a proxy on the way."""

    def __init__(self, feed: ChangeFeed, *, max_seconds: float, stopping: Callable[[], bool]) -> None:
        super().__init__(
            event_stream(feed, max_seconds=max_seconds, stopping=stopping),
            media_type=MEDIA_TYPE,
            headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"},
        )
