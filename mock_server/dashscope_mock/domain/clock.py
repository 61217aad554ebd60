"""Clocks: every time the mock reasons about (task phases, expiries, rate windows, the journal) comes from one.

``RealClock`` follows the wall clock. ``VirtualClock`` is the mock's default: wall-clock time plus an offset that
``advance()`` grows, optionally frozen (in-process tests freeze it, so nothing moves unless a test says so). Task
status is derived from timestamps when asked, so advancing the clock by an hour costs nothing.
"""

from __future__ import annotations

import threading
import time
from datetime import UTC, datetime, timedelta, timezone
from typing import Protocol, runtime_checkable

from dashscope_openapi import load_control_spec

__all__ = ["Clock", "RealClock", "VirtualClock", "clock_latest", "format_service_time", "service_timezone"]


def clock_latest() -> float:
    """The latest instant the virtual clock may show (the control spec's ``x-clock-latest``)."""
    return float(load_control_spec()["x-clock-latest"])


@runtime_checkable
class Clock(Protocol):
    def now(self) -> float:
        """Seconds since the epoch, on this clock."""
        ...


class RealClock:
    """The wall clock. It cannot be advanced."""

    frozen = False

    def now(self) -> float:
        return time.time()

    def advance(self, seconds: float) -> float:
        raise TypeError("the real clock cannot be advanced; use VirtualClock")

    def reset(self) -> None:
        return None

    @property
    def offset(self) -> float:
        return 0.0


class VirtualClock:
    """Wall-clock time (or a frozen instant) plus an offset that only grows.

    ``VirtualClock(frozen=True)`` stands still until ``advance()``; ``VirtualClock()`` keeps flowing with real
    time and ``advance()`` jumps ahead. ``reset()`` brings it back to real time.
    """

    def __init__(self, *, frozen: bool = False, start: float | None = None) -> None:
        self._lock = threading.Lock()
        self.frozen = frozen
        self.start = start  # a fixed start: every replica (and every reset) begins at the same instant
        self._base = time.time() if start is None else start
        self._real_at_base = time.time()
        self._offset = 0.0

    def now(self) -> float:
        if self.frozen:
            return self._base + self._offset
        return self._base + (time.time() - self._real_at_base) + self._offset

    def advance(self, seconds: float) -> float:
        if seconds < 0:
            raise ValueError("the clock only moves forward")
        with self._lock:
            self._offset += seconds
        return self.now()

    @property
    def offset(self) -> float:
        return self._offset

    def set_offset(self, offset: float) -> None:
        """The offset kept in the store: every worker and replica sees the same advanced time (and a reset)."""
        with self._lock:
            self._offset = offset

    def reset(self) -> None:
        with self._lock:
            self._real_at_base = time.time()
            self._base = self._real_at_base if self.start is None else self.start
            self._offset = 0.0


def service_timezone(offset_hours: float) -> timezone:
    return timezone(timedelta(hours=offset_hours)) if offset_hours else UTC


def format_service_time(epoch: float, tz: timezone) -> str:
    """``YYYY-MM-DD HH:MM:SS.mmm``, as the service prints ``submit_time`` and friends."""
    moment = datetime.fromtimestamp(epoch, tz)
    if 1000 <= moment.year <= 9999:  # every real date: the same text as strftime, a third of its cost (hot path)
        return (
            f"{moment.year}-{moment.month:02d}-{moment.day:02d} "
            f"{moment.hour:02d}:{moment.minute:02d}:{moment.second:02d}.{moment.microsecond // 1000:03d}"
        )
    return moment.strftime("%Y-%m-%d %H:%M:%S.") + f"{moment.microsecond // 1000:03d}"
