"""The per-key rate window on Redis state lives in virtual time: real seconds passing while the clock stands still
(a frozen clock, a slow machine) do not forget the hits it holds."""

from __future__ import annotations

import redis

from dashscope_mock.store import open_store


def test_a_refused_hit_keeps_the_window_alive_in_real_time(redis_url: str) -> None:
    client = redis.Redis.from_url(redis_url)
    client.flushdb()
    store = open_store(redis_url)
    try:
        assert [store.rates.hit("sk-a", 100.0, 3, 1.0) for _ in range(4)] == [True, True, True, False]
        [key] = client.keys("*rate:*")
        # The key sweeps idle accounts only: far longer than the window, and renewed by the refused hit too.
        client.pexpire(key, 5_000)
        assert store.rates.hit("sk-a", 100.0, 3, 1.0) is False
        assert client.pttl(key) > 60_000
    finally:
        store.close()
