"""Retry and polling policies, and the rules for what may be retried.

What is retried, and why:

* ``get``, ``list``, ``cancel``, both detectors, getPolicy, the upload POST and the download are retried on 408, 429,
  5xx and connection errors (including read timeouts), with jittered exponential backoff that honours
  ``Retry-After`` — unless the catalogue marks the answer's code as not retryable (``Throttling.AllocationQuota``,
  billing 429s: waiting does not help). They are idempotent, or (cancel) harmless to repeat: a repeated cancel of a
  task that was canceled answers 400 ``UnsupportedOperation``, which is reported as such.
* **submit is retried only when the request provably never reached the server**: ``httpx.ConnectError`` (refused,
  DNS, TLS handshake), ``httpx.ConnectTimeout`` and ``httpx.PoolTimeout`` all fail before a byte of the request is
  sent. It is never retried after a read/write timeout, a dropped connection or any HTTP answer (5xx included): the
  service may have created the task already, there is no idempotency key, and a second submit would create — and
  bill — a second task. Such a failure surfaces to the caller, who can look for the task with ``list``.
"""

from __future__ import annotations

import email.utils
import random
import time
from dataclasses import dataclass

import httpx

__all__ = ["PollPolicy", "RetryPolicy", "parse_retry_after"]

NEVER_SENT = (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout)
"""Transport errors raised before the request left the client: the only ones after which a submit is retried."""


@dataclass(frozen=True)
class RetryPolicy:
    """Retries of one request. ``max_retries`` extra attempts after the first; delay ``initial * 2**n`` capped at
    ``max_delay``, minus up to ``jitter`` of it (random), never less than ``Retry-After`` (itself capped at
    ``max_retry_after``)."""

    max_retries: int = 3
    initial_delay: float = 0.5
    max_delay: float = 8.0
    jitter: float = 0.25
    max_retry_after: float = 60.0

    def delay(self, attempt: int, retry_after: float | None, rng: random.Random) -> float:
        base = min(self.max_delay, self.initial_delay * (2.0**attempt))
        value = base * (1.0 - self.jitter * rng.random())
        if retry_after is not None:
            value = max(value, min(retry_after, self.max_retry_after))
        return value


@dataclass(frozen=True)
class PollPolicy:
    """How ``wait`` polls: first query at once, then ``initial_interval`` growing by ``multiplier`` per poll up to
    ``max_interval``, each minus up to ``jitter`` of it (so many waits started together spread out). A
    ``Retry-After`` on a 429/503 answer sets a floor for the next interval (capped at ``max_retry_after``)."""

    initial_interval: float = 1.0
    max_interval: float = 8.0
    multiplier: float = 1.5
    jitter: float = 0.2
    max_retry_after: float = 60.0

    def __post_init__(self) -> None:
        if self.initial_interval <= 0 or self.max_interval < self.initial_interval or self.multiplier < 1:
            raise ValueError("need 0 < initial_interval <= max_interval and multiplier >= 1")
        if not 0 <= self.jitter < 1:
            raise ValueError("jitter must be in [0, 1)")

    def interval(self, poll: int, rng: random.Random) -> float:
        """The pause after poll number ``poll`` (0-based)."""
        base = min(self.max_interval, self.initial_interval * (self.multiplier**poll))
        return base * (1.0 - self.jitter * rng.random())


def parse_retry_after(response: httpx.Response, now: float | None = None) -> float | None:
    """Seconds from ``retry-after-ms`` or ``Retry-After`` (delta-seconds or an HTTP date); ``None`` if absent/bad."""
    raw_ms = response.headers.get("retry-after-ms")
    if raw_ms:
        try:
            return max(float(raw_ms) / 1000.0, 0.0)
        except ValueError:
            pass
    raw = response.headers.get("retry-after")
    if not raw:
        return None
    try:
        return max(float(raw), 0.0)
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(raw)
    except (TypeError, ValueError):
        return None
    return max(when.timestamp() - (time.time() if now is None else now), 0.0)


def status_is_retryable(response: httpx.Response) -> bool:
    """408, 429 and 5xx — unless the catalogue says the answer's code will not get better by waiting."""
    status = response.status_code
    if not (status in (408, 429) or status >= 500):
        return False
    from ._errors import from_response

    return from_response(response).retryable


def transport_error_is_retryable(error: httpx.TransportError, *, idempotent: bool) -> bool:
    if idempotent:
        return True
    return isinstance(error, NEVER_SENT)
