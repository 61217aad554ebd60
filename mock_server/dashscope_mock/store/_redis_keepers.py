"""The request journal and the rate windows of the Redis store (``store.redis``; its docstring lists their keys)."""

from __future__ import annotations

import dataclasses
import itertools
import json
import math
import uuid
from typing import Any, cast

import redis

from dashscope_openapi import load_control_spec

from ..domain.scripting import JOURNAL_MAX, JournalEntry
from . import _redis_scripts as lua
from ._redis_client import (
    EarlyHit,
    GuardedRedis,
    HotScript,
    current_owner,
    take_early_hit,
    unlink_matching,
    untaken_hit,
)
from .base import RateHit

__all__ = ["RedisJournal", "RedisRates"]

_ENTRY_FIELDS = tuple(field.name for field in dataclasses.fields(JournalEntry) if field.name != "seq")


class RedisJournal:
    """The request journal (as ``memory_keepers.Journal``): a list of JSON entries, numbered and trimmed by one
    script."""

    def __init__(self, client: GuardedRedis, prefix: str) -> None:
        self._client = client
        self._seq, self._list = prefix + "journal:seq", prefix + "journal"
        self._record = HotScript(client, lua.RECORD_JOURNAL)
        self._after = client.register_script(lua.JOURNAL_AFTER)

    def record(self, **fields: Any) -> JournalEntry:
        """One entry; in the same round trip, the request's early rate hit that its handler never took is taken back
        (``RedisRates.early``)."""
        entry = JournalEntry(seq=0, **fields)
        data = {name: getattr(entry, name) for name in _ENTRY_FIELDS}  # the script puts the seq first
        keys, args = [self._seq, self._list], [json.dumps(data, separators=(",", ":")), str(JOURNAL_MAX)]
        untaken = untaken_hit()
        if untaken is not None:
            keys.append(untaken.window)
            args.append(untaken.member)
        seq = self._record(keys, args)
        return dataclasses.replace(entry, seq=int(seq))

    def entries(
        self,
        *,
        operation: str | None = None,
        key: str | None = None,
        path_contains: str | None = None,
        after_seq: int = 0,
    ) -> list[JournalEntry]:
        if after_seq > 0:  # the newest few only: the script reads the list's tail
            texts = cast(list[str], self._after([self._seq, self._list], [after_seq]))
        else:
            texts = cast(list[str], self._client.lrange(self._list, 0, -1))
        items = (JournalEntry(**json.loads(text)) for text in texts)
        return [item for item in items if item.seq > after_seq and item.wanted(operation, key, path_contains)]

    def last_seq(self) -> int:
        return int(cast(str, self._client.get(self._seq) or 0))

    def __len__(self) -> int:
        return int(self._client.llen(self._list))

    def clear(self) -> None:
        self._client.delete(self._list, self._seq)


RATE_KEY_IDLE_MS = int(float(load_control_spec()["x-redis"]["rate_key_idle_seconds"]) * 1000)


class RedisRates:
    """Sliding windows of event times per key, a sorted set each, checked and counted by one script."""

    def __init__(self, client: redis.Redis, prefix: str) -> None:
        self._client = client
        self._prefix = prefix + "rate:"
        self._hit = client.register_script(lua.HIT_RATE)
        self._token = uuid.uuid4().hex[:12]  # members must be unique across processes, even at one `now`
        self._counter = itertools.count()

    def _member(self, now: float) -> str:
        return f"{now!r}:{self._token}:{next(self._counter)}"

    @staticmethod
    def hit_args(now: float, limit: float, window: float, member: str) -> list[str]:
        """``HIT_RATE``'s arguments."""
        # The TTL (real time) only sweeps idle keys: the window is virtual time, which may stand still (a frozen
        # clock) while real seconds pass, so a short TTL would forget hits the window still holds.
        ttl_ms = max(max(1, math.ceil(window * 1000)) * 2 + 1000, RATE_KEY_IDLE_MS)
        return [repr(now - window), repr(limit), repr(now), member, str(ttl_ms)]

    def early(self, rate: RateHit) -> EarlyHit | None:
        """The early hit of ``rate`` (``RedisStore.clock_offset`` makes it); ``None`` outside a request's asyncio task
        (nothing would take it)."""
        owner = current_owner()
        if owner is None:
            return None
        return EarlyHit(owner, self._prefix + rate.key, rate.limit, rate.window, self._member(rate.now), False)

    def hit(self, key: str, now: float, limit: float, window: float) -> bool:
        early = take_early_hit(self._prefix + key, limit, window)
        if early is not None:  # made by the request's first round trip, at its `now`
            return early
        return bool(self._hit([self._prefix + key], self.hit_args(now, limit, window, self._member(now))))

    def clear(self) -> None:
        unlink_matching(self._client, self._prefix + "*")
