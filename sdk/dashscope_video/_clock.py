"""Time, injectable.

Every wait, backoff and rate-limit decision of the SDK reads the time and sleeps through one ``Clock`` object, so that
tests can run on a virtual clock (e.g. the mock server's) and finish in milliseconds.
"""

from __future__ import annotations

import asyncio
import inspect
import threading
import time
from collections.abc import Awaitable, Callable
from typing import Protocol, TypeAlias, runtime_checkable

__all__ = ["Clock", "HookClock", "SystemClock", "make_clock"]


@runtime_checkable
class Clock(Protocol):
    """What the SDK needs from time: a monotonic reading in seconds, and a way to let time pass."""

    def monotonic(self) -> float: ...

    def sleep(self, seconds: float) -> None: ...

    async def async_sleep(self, seconds: float) -> None: ...


class SystemClock:
    """The real clock: ``time.monotonic`` / ``time.sleep`` / ``asyncio.sleep``."""

    def monotonic(self) -> float:
        return time.monotonic()

    def sleep(self, seconds: float) -> None:
        if seconds > 0:
            time.sleep(seconds)

    async def async_sleep(self, seconds: float) -> None:
        await asyncio.sleep(max(seconds, 0.0))

    def __repr__(self) -> str:
        return "SystemClock()"


SYSTEM_CLOCK = SystemClock()

SleepHook: TypeAlias = Callable[[float], object]


class HookClock:
    """A clock driven by a user's ``sleep`` hook, e.g. ``sleep=lambda s: mock.clock.advance(s)``.

    Reading: the real monotonic time plus every second "slept" through the hook, so deadlines and backoff work in
    the hook's (virtual) time while no real time passes. The hook may be a plain function or return an awaitable
    (awaited by the async client); either way the async client then yields once (``asyncio.sleep(0)``) so other tasks
    still get to run.
    """

    def __init__(self, sleep: SleepHook, monotonic: Callable[[], float] | None = None) -> None:
        self._hook = sleep
        self._base = monotonic
        self._slept = 0.0
        self._lock = threading.Lock()

    def monotonic(self) -> float:
        base = self._base() if self._base is not None else time.monotonic()
        if self._base is not None:
            return base
        with self._lock:
            return base + self._slept

    def _account(self, seconds: float) -> None:
        with self._lock:
            self._slept += seconds

    def sleep(self, seconds: float) -> None:
        seconds = max(seconds, 0.0)
        result = self._hook(seconds)
        if inspect.isawaitable(result):
            raise TypeError("an async sleep hook cannot be used by the synchronous Client")
        self._account(seconds)

    async def async_sleep(self, seconds: float) -> None:
        seconds = max(seconds, 0.0)
        result = self._hook(seconds)
        if inspect.isawaitable(result):
            await _as_awaitable(result)
        await asyncio.sleep(0)  # a hook that never suspends must not starve the other tasks of the loop
        self._account(seconds)

    def __repr__(self) -> str:
        return f"HookClock({self._hook!r})"


async def _as_awaitable(value: Awaitable[object]) -> None:
    await value


def make_clock(
    clock: Clock | None = None,
    sleep: SleepHook | None = None,
    monotonic: Callable[[], float] | None = None,
) -> Clock:
    """The clock a client uses: an explicit ``clock``, else a ``HookClock`` around ``sleep``, else the system clock."""
    if clock is not None:
        if sleep is not None or monotonic is not None:
            raise ValueError("pass either clock= or sleep=/monotonic=, not both")
        return clock
    if sleep is not None:
        return HookClock(sleep, monotonic)
    if monotonic is not None:
        raise ValueError("monotonic= needs a matching sleep=")
    return SYSTEM_CLOCK
