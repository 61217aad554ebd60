"""The per-key task-query limit (``x-limits.task_query_qps_per_account``), on the mock's clock."""

from __future__ import annotations

from collections import deque
from collections.abc import Callable

from ..errors import catalogue_error, retry_headers

__all__ = ["QueryRateLimiter"]


class QueryRateLimiter:
    def __init__(self, qps: float, retry_after_seconds: int, now: Callable[[], float]) -> None:
        self.qps = qps
        self.retry_after_seconds = retry_after_seconds
        self.now = now
        self._windows: dict[str, deque[float]] = {}

    def check(self, key: str) -> None:
        """Count one query of ``key``; 429 ``Throttling.RateQuota`` above the limit within the last second."""
        now = self.now()
        window = self._windows.setdefault(key, deque())
        while window and window[0] <= now - 1.0:
            window.popleft()
        if len(window) >= self.qps:
            raise catalogue_error("Throttling.RateQuota").with_headers(retry_headers(429, self.retry_after_seconds))
        window.append(now)

    def clear(self) -> None:
        self._windows.clear()
