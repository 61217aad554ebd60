"""The per-key task-query limit (``x-limits.task_query_qps_per_account``), on the mock's clock."""

from __future__ import annotations

from collections.abc import Callable

from ..errors import catalogue_error, retry_headers
from ..store import RateWindows

__all__ = ["QueryRateLimiter"]


class QueryRateLimiter:
    def __init__(self, qps: float, retry_after_seconds: int, now: Callable[[], float], windows: RateWindows) -> None:
        self.qps = qps
        self.retry_after_seconds = retry_after_seconds
        self.now = now
        self.windows = windows  # in the store: the limit counts the queries of every worker and replica

    def check(self, key: str) -> None:
        """Count one query of ``key``; 429 ``Throttling.RateQuota`` above the limit within the last second."""
        if not self.windows.hit(key, self.now(), self.qps, 1.0):
            raise catalogue_error("Throttling.RateQuota").with_headers(retry_headers(429, self.retry_after_seconds))
