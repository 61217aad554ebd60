"""The request journal and the rate windows of the Redis store (``store.redis``; its docstring lists their keys)."""

from __future__ import annotations

import dataclasses
import itertools
import json
import math
import uuid
from typing import Any, cast

import redis

from ..domain.scripting import JOURNAL_MAX, JournalEntry
from . import _redis_scripts as lua
from ._redis_client import unlink_matching

__all__ = ["RedisJournal", "RedisRates"]


class RedisJournal:
    """The request journal (as ``memory_keepers.Journal``): a list of JSON entries, numbered and trimmed by one
    script."""

    def __init__(self, client: redis.Redis, prefix: str) -> None:
        self._client = client
        self._seq, self._list = prefix + "journal:seq", prefix + "journal"
        self._record = client.register_script(lua.RECORD_JOURNAL)
        self._after = client.register_script(lua.JOURNAL_AFTER)

    def record(self, **fields: Any) -> JournalEntry:
        entry = JournalEntry(seq=0, **fields)
        data = dataclasses.asdict(entry)
        del data["seq"]  # the script puts the seq first
        seq = self._record([self._seq, self._list], [json.dumps(data, separators=(",", ":")), JOURNAL_MAX])
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


class RedisRates:
    """Sliding windows of event times per key, a sorted set each, checked and counted by one script."""

    def __init__(self, client: redis.Redis, prefix: str) -> None:
        self._client = client
        self._prefix = prefix + "rate:"
        self._hit = client.register_script(lua.HIT_RATE)
        self._token = uuid.uuid4().hex[:12]  # members must be unique across processes, even at one `now`
        self._counter = itertools.count()

    def hit(self, key: str, now: float, limit: float, window: float) -> bool:
        member = f"{now!r}:{self._token}:{next(self._counter)}"
        # The TTL is real time while `now` may be virtual (never slower): twice the window plus slack loses nothing.
        ttl_ms = max(1, math.ceil(window * 1000)) * 2 + 1000
        args = [repr(now - window), repr(limit), repr(now), member, str(ttl_ms)]
        return bool(self._hit([self._prefix + key], args))

    def clear(self) -> None:
        unlink_matching(self._client, self._prefix + "*")
