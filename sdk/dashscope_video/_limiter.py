"""A process-wide limit on task queries.

The service allows ``x-limits.task_query_qps_per_account`` (20) task queries per second per *account*, shared by all
its keys, threads and processes. Every ``Client`` and ``AsyncClient`` of a process that runs on the same clock shares
one limiter, so any number of concurrent ``wait`` calls — sync and async, in any threads and event loops — stays under
the limit together. The limiter only computes when a query may go (under a ``threading.Lock``, held for microseconds);
the caller sleeps with its own clock, so it never blocks an event loop.
"""

from __future__ import annotations

import threading
import weakref

from dashscope_openapi import limits

from ._clock import SYSTEM_CLOCK, Clock

__all__ = ["QueryLimiter", "limiter_for"]


class QueryLimiter:
    """Spaces queries at least ``1/qps`` seconds apart (a little more, so that no one-second window, open or closed,
    ever holds more than ``qps`` of them)."""

    def __init__(self, qps: float, clock: Clock) -> None:
        if qps <= 0:
            raise ValueError("qps must be positive")
        self.qps = qps
        self.spacing = 1.0 / qps * 1.02
        self._clock = clock
        self._next = float("-inf")
        self._lock = threading.Lock()

    def reserve(self) -> float:
        """Book the next free slot; return how long to sleep before using it (0 when it is free now)."""
        with self._lock:
            now = self._clock.monotonic()
            slot = max(now, self._next)
            self._next = slot + self.spacing
            return slot - now


_LIMITERS: weakref.WeakKeyDictionary[object, QueryLimiter] = weakref.WeakKeyDictionary()
_REGISTRY_LOCK = threading.Lock()


def default_qps() -> float:
    return float(limits()["task_query_qps_per_account"])


def limiter_for(clock: Clock) -> QueryLimiter:
    """The process-wide limiter of ``clock`` (one per clock object; the system clock's is the global one)."""
    with _REGISTRY_LOCK:
        try:
            limiter = _LIMITERS.get(clock)
        except TypeError:  # an unhashable or non-weakrefable clock cannot be shared: it gets its own limiter
            return QueryLimiter(default_qps(), clock)
        if limiter is None:
            limiter = QueryLimiter(default_qps(), clock)
            _LIMITERS[clock] = limiter
        return limiter


GLOBAL_LIMITER = limiter_for(SYSTEM_CLOCK)
