"""The service's per-account rate limits, on the mock's clock: task queries (``x-limits.task_query_qps_per_account``)
and getPolicy calls per model (``x-limits.uploads.policy_qps_per_model``). One limiter over the store's rate windows,
so a limit counts the requests of every worker and replica."""

from __future__ import annotations

from collections.abc import Callable

from dashscope_openapi import limits

from ..domain.errors import catalogue_error, retry_headers
from ..store import RateWindows

__all__ = ["WINDOW_SECONDS", "RateLimiter"]

WINDOW_SECONDS = 1.0


class RateLimiter:
    """``qps`` is the task-query limit (the config's, else the spec's); the others are read from the spec."""

    def __init__(self, qps: float, retry_after_seconds: int, now: Callable[[], float], windows: RateWindows) -> None:
        self.qps = qps
        self.retry_after_seconds = retry_after_seconds
        self.now = now
        self.windows = windows  # in the store: the limit counts the requests of every worker and replica

    def check(self, key: str) -> None:
        """Count one task query of ``key`` (an account); 429 ``Throttling.RateQuota`` above the limit."""
        self._hit(key, self.qps)

    def check_policy(self, key: str, model: str) -> None:
        """Count one getPolicy call of ``key`` for ``model``; 429 ``Throttling.RateQuota`` above the limit."""
        qps = float(limits()["uploads"]["policy_qps_per_model"])
        self._hit(f"getPolicy:{len(model)}:{model}:{key}", qps)  # the model's length: no two pairs share a name

    def _hit(self, window: str, qps: float) -> None:
        """Count one request in ``window``; refused when ``qps`` requests fell in the last second."""
        if not self.windows.hit(window, self.now(), qps, WINDOW_SECONDS):
            raise catalogue_error("Throttling.RateQuota").with_headers(retry_headers(429, self.retry_after_seconds))
