"""The records the backend stores. A task is a handful of timestamps; its status is derived when asked
(``lifecycle.derive``), so a stored task costs a few hundred bytes and no timer."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, fields
from typing import Any

__all__ = ["TaskRecord", "UploadRecord"]


@dataclass(slots=True)
class TaskRecord:
    """One submitted task.

    ``inputs_json`` is the request's ``input`` and ``parameters`` as compact JSON (kept as text: a stored task must
    stay small). ``durations`` are the seconds of each working phase of the model's timing, scenario extras
    included. ``known_at`` is the clock time at which the outcome (success or failure) became known; ``None`` while
    the media pipeline still works on it. ``claimed_at`` is when a media worker first took the task's work (the
    task is PENDING until then: queued). ``version`` grows with every stored change: each change is one
    compare-and-set (``Store.replace_task``), so a terminal status is never overwritten by a late writer.
    """

    task_id: str
    key: str
    model: str
    seq: int
    submit_at: float
    start_at: float
    durations: tuple[float, ...]
    inputs_json: str
    request_id: str = ""
    oss_resolve: bool = False
    canceled_at: float | None = None
    known_at: float | None = None
    failure_code: str | None = None
    failure_message: str | None = None
    video_duration: float | None = None
    video_ratio: str | None = None
    result_path: str | None = None
    claimed_at: float | None = None
    replay: str | None = None  # a replayed recording's statuses (``realservice.replay``): they decide the status
    version: int = 0

    @property
    def request(self) -> dict[str, Any]:
        """``{"input": {...}, "parameters": {...}}`` as submitted."""
        value: dict[str, Any] = json.loads(self.inputs_json)
        return value

    @property
    def input(self) -> dict[str, Any]:
        value: dict[str, Any] = self.request.get("input", {})
        return value

    @property
    def parameters(self) -> dict[str, Any]:
        value: dict[str, Any] = self.request.get("parameters") or {}
        return value

    def to_json(self) -> str:
        return json.dumps(asdict(self), separators=(",", ":"))

    @classmethod
    def from_json(cls, text: str) -> TaskRecord:
        data = json.loads(text)
        data["durations"] = tuple(data["durations"])
        known = {f.name for f in fields(cls)}
        return cls(**{k: v for k, v in data.items() if k in known})


@dataclass(slots=True)
class UploadRecord:
    """A file stored through the mock's OSS form endpoint, addressed as ``oss://<upload_dir>/<name>``."""

    url: str
    model: str
    owner: str
    created_at: float
    path: str
    size: int

    def to_json(self) -> str:
        return json.dumps(asdict(self), separators=(",", ":"))

    @classmethod
    def from_json(cls, text: str) -> UploadRecord:
        return cls(**json.loads(text))
