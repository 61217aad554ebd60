"""Task and request ids: uuid4-shaped; reproducible when the mock has a seed (one stream per kind of id)."""

from __future__ import annotations

import random
import threading
import uuid

__all__ = ["IdFactory"]


class IdFactory:
    def __init__(self, seed: int | None = None) -> None:
        self._lock = threading.Lock()
        self.reseed(seed)

    def reseed(self, seed: int | None) -> None:
        with self._lock:
            self.seed = seed
            self._streams: dict[str, random.Random] = {}

    def _next(self, kind: str) -> str:
        if self.seed is None:
            return str(uuid.uuid4())
        with self._lock:
            stream = self._streams.get(kind)
            if stream is None:
                stream = self._streams[kind] = random.Random(f"{self.seed}:{kind}")
            return str(uuid.UUID(int=stream.getrandbits(128), version=4))

    def task_id(self, seq: int | None = None) -> str:
        """With a seed and the store's sequence number, the id depends on ``seq`` only: reproducible, and unique
        across workers sharing a SQLite store."""
        if self.seed is not None and seq is not None:
            return str(uuid.UUID(int=random.Random(f"{self.seed}:task:{seq}").getrandbits(128), version=4))
        return self._next("task")

    def request_id(self) -> str:
        return self._next("request")

    def upload_id(self) -> str:
        return self._next("upload")
