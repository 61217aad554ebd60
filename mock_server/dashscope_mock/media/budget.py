"""A per-process memory budget for the media work whose memory grows with its input: image decodes and renders.

Each piece of work estimates its peak (a decode: the decoder's frame, pixels x bytes per pixel; a render: its
frames, encoder and audio) and reserves that many bytes before it starts; what does not fit waits, first come first
served, until running work returns its share. Waiting never fails, and a reservation larger than the whole budget
is cut to the budget, so it runs alone rather than never. The size is the control spec's
``x-media-budget.memory_bytes`` (:func:`media_budget`, one per process: decodes and renders of every mock in the
process share it, as they share its memory).

Work waits in a thread (decodes run in :data:`~.kit` check threads, renders in the render pool), never on the event
loop. Large frees are handed back to the system (``malloc_trim``): glibc otherwise keeps freed decoder buffers in its
arenas, and a burst of decodes would leave the process hundreds of MB larger.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import functools
import threading
from collections import deque
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from dashscope_openapi import load_control_spec

__all__ = ["TRIM_ABOVE", "MemoryBudget", "decode_max_side", "media_budget"]

TRIM_ABOVE = 32 * 2**20
"""Reservations from this size on return their memory to the system when they end."""


@dataclass
class _Waiter:
    amount: int
    event: threading.Event


class MemoryBudget:
    """``total`` bytes shared by reservations (:meth:`reserve`); thread-safe, FIFO."""

    def __init__(self, total: int) -> None:
        if total <= 0:
            raise ValueError("a memory budget needs a positive size")
        self.total = int(total)
        self._used = 0
        self._peak = 0
        self._lock = threading.Lock()
        self._waiters: deque[_Waiter] = deque()

    @property
    def used(self) -> int:
        return self._used

    @property
    def peak(self) -> int:
        """The most ever reserved at once (for tests and logs)."""
        return self._peak

    @contextmanager
    def reserve(self, amount: int) -> Iterator[int]:
        """Hold ``amount`` bytes (at most the whole budget) for the ``with`` block, waiting until they are free."""
        amount = max(0, min(int(amount), self.total))
        self._acquire(amount)
        try:
            yield amount
        finally:
            self._release(amount)
            if amount >= TRIM_ABOVE:
                trim()

    def _acquire(self, amount: int) -> None:
        with self._lock:
            # Only when nobody waits: a large reservation at the head must not starve behind a stream of small ones.
            if not self._waiters and self._used + amount <= self.total:
                self._grant(amount)
                return
            waiter = _Waiter(amount, threading.Event())
            self._waiters.append(waiter)
        waiter.event.wait()

    def _grant(self, amount: int) -> None:
        self._used += amount
        self._peak = max(self._peak, self._used)

    def _release(self, amount: int) -> None:
        with self._lock:
            self._used -= amount
            while self._waiters and self._used + self._waiters[0].amount <= self.total:
                waiter = self._waiters.popleft()
                self._grant(waiter.amount)
                waiter.event.set()


@functools.cache
def _libc() -> ctypes.CDLL | None:
    name = ctypes.util.find_library("c")
    try:
        libc = ctypes.CDLL(name) if name else None
    except OSError:  # pragma: no cover - no C library to load
        return None
    return libc if libc is not None and hasattr(libc, "malloc_trim") else None


def trim() -> None:
    """Give freed heap memory back to the system (glibc only; elsewhere nothing happens)."""
    libc = _libc()
    if libc is not None:
        libc.malloc_trim(0)


def _spec() -> dict[str, int]:
    section = load_control_spec().get("x-media-budget", {})
    return {key: int(value) for key, value in section.items()}


_made = threading.Lock()
_budgets: list[MemoryBudget] = []


def media_budget() -> MemoryBudget:
    """The process's budget: ``x-media-budget.memory_bytes`` of the control spec (made once, under a lock: two
    budgets would each lend the whole amount)."""
    with _made:
        if not _budgets:
            _budgets.append(MemoryBudget(_spec()["memory_bytes"]))
        return _budgets[0]


def decode_max_side() -> int:
    """The longest side an image is decoded to (``x-media-budget.decode_max_side``)."""
    return _spec()["decode_max_side"]
