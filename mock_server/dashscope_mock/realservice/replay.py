"""Replay: a submit that matches a recorded one gets the recorded task's statuses at the recorded offsets on the
virtual clock, and its recorded outcome (``serve --replay DIR``, ``mock_dashscope(replay=DIR)``).

Matching: the submit's ``model``, ``input`` and ``parameters`` equal the recording's, compared as JSON values (key
order and number spelling do not matter), with each input URL taken in the recording's form
(``recording.input_form``: a signed query string stripped, or hashed). Headers, the key and the time do not count.
Several recordings of one request replay in the order they were recorded, one per submit; the last one then repeats
(WireMock's scenario chains). An unmatched submit falls back to the normal simulation, or, strict, is refused with
``Mock.ReplayUnmatched`` (the log names the model and the directory). The order of a chain is kept per process.

A recording of a submit the service refused replays the refusal (its status, code and message).
"""

from __future__ import annotations

import json
import logging
import threading
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from dashscope_openapi import load_spec

from ..domain.errors import ApiError, catalogue_error
from ..domain.records import TaskRecord
from .recording import InputForm, Recording, RecordingError, input_form, load_recordings

__all__ = ["ReplayPlan", "Replays", "plan_of", "replayed_task"]

logger = logging.getLogger("dashscope_mock")


@dataclass(frozen=True)
class ReplayPlan:
    """What one recorded task does again: ``points`` (offset seconds, status) from PENDING at 0 to its end."""

    source: str  # the recording's file name
    points: tuple[tuple[float, str], ...]
    refusal: tuple[int, str, str] | None = None  # a refused submit: HTTP status, code, message
    failure_code: str | None = None
    failure_message: str | None = None
    video_duration: float | None = None
    video_ratio: str | None = None

    def as_json(self) -> str:
        """What a task record keeps (``TaskRecord.replay``): the points."""
        return json.dumps([[offset, status] for offset, status in self.points], separators=(",", ":"))


def _value_at(body: Any, dotted: str) -> Any:
    node = body
    for part in dotted.split("."):
        node = node.get(part) if isinstance(node, dict) else None
    return node


def plan_of(recording: Recording) -> ReplayPlan:
    data = recording.data
    response = data.get("response", {})
    body = response.get("body") if isinstance(response.get("body"), dict) else {}
    if response.get("status") != 200:
        status = int(response.get("status", 500))
        return ReplayPlan(recording.path.name, (), (status, str(body.get("code", "")), str(body.get("message", ""))))
    first = str(_value_at(body, "output.task_status") or "PENDING")
    points: list[tuple[float, str]] = [(0.0, first)]
    for poll in data.get("polls", []):
        name = poll.get("task_status")
        if isinstance(name, str) and poll.get("status") == 200 and name != points[-1][1]:
            points.append((float(poll["offset_seconds"]), name))
    end = data.get("end") or {}
    end_body = end.get("body") if isinstance(end.get("body"), dict) else {}
    model = str(_value_at(data, "request.body.model") or "")
    result: Mapping[str, Any] = load_spec()["x-models"].get(model, {}).get("result", {})
    duration = _value_at(end_body, str(result.get("video_duration", "usage.video_duration")))
    ratio = _value_at(end_body, str(result.get("video_ratio", "usage.video_ratio")))
    return ReplayPlan(
        recording.path.name,
        tuple(points),
        failure_code=_value_at(end_body, "output.code"),
        failure_message=_value_at(end_body, "output.message"),
        video_duration=float(duration) if isinstance(duration, int | float) else None,
        video_ratio=ratio if isinstance(ratio, str) else None,
    )


def _key(model: str, body: Mapping[str, Any], form: InputForm) -> str:
    inputs = body.get("input") or {}
    shown = {k: input_form(v, form) if isinstance(v, str) else v for k, v in inputs.items()}
    return json.dumps([model, shown, body.get("parameters") or {}], sort_keys=True, separators=(",", ":"))


class Replays:
    """The task recordings of a directory, by request; ``take`` hands out the next plan of a matching chain."""

    def __init__(self, recordings: Sequence[Recording], *, strict: bool = False, source: str = "") -> None:
        self.strict = strict
        self.source = source
        self._chains: dict[tuple[InputForm, str], list[ReplayPlan]] = {}
        self._used: dict[tuple[InputForm, str], int] = {}
        self._lock = threading.Lock()
        for recording in recordings:
            body = recording.request_body
            submit = recording.kind == "task" or recording.operation == "createVideoSynthesis"  # refused: an exchange
            if not submit or not isinstance(body, dict) or not isinstance(body.get("model"), str):
                continue
            key = (recording.inputs, _key(str(body["model"]), body, recording.inputs))
            self._chains.setdefault(key, []).append(plan_of(recording))
        self.forms = sorted({form for form, _ in self._chains})

    @classmethod
    def from_dir(cls, directory: str | Path, *, strict: bool = False) -> Replays:
        """The directory's recordings; a file that cannot be read raises ``RecordingError`` naming it and its field."""
        path = Path(directory)
        replays = cls(load_recordings(path), strict=strict, source=str(path))
        if not replays._chains:
            raise RecordingError(f"{path}: no task recording to replay")
        return replays

    def __len__(self) -> int:
        return sum(len(chain) for chain in self._chains.values())

    def take(self, model: str, body: Mapping[str, Any]) -> ReplayPlan | None:
        """The plan for this submit (and one step along its chain), ``None`` when nothing matches and not strict."""
        with self._lock:
            for form in self.forms:
                key = (form, _key(model, body, form))
                chain = self._chains.get(key)
                if chain:
                    used = self._used.get(key, 0)
                    self._used[key] = used + 1
                    return chain[min(used, len(chain) - 1)]
        if self.strict:
            logger.error("replay: no recording in %s matches a %s submit (strict replay)", self.source, model)
            raise catalogue_error("Mock.ReplayUnmatched")
        return None

    def reset(self) -> None:
        with self._lock:
            self._used.clear()


def replayed_task(
    plan: ReplayPlan,
    task_id: str,
    seq: int,
    key: str,
    body: Mapping[str, Any],
    now: float,
    request_id: str,
    oss_resolve: bool,
) -> TaskRecord:
    """The task a matching submit creates: it shows ``plan``'s statuses at their offsets from ``now`` and ends as
    recorded. A recorded refusal raises it instead (its status, code and message)."""
    if plan.refusal is not None:
        status, code, message = plan.refusal
        raise ApiError(status, code, message)
    request = {"input": body.get("input") or {}, "parameters": body.get("parameters") or {}}
    return TaskRecord(
        task_id=task_id,
        key=key,
        model=str(body["model"]),
        seq=seq,
        submit_at=now,
        start_at=now,
        durations=(),
        inputs_json=json.dumps(request, separators=(",", ":")),
        request_id=request_id,
        oss_resolve=oss_resolve,
        claimed_at=now,
        known_at=now,
        failure_code=plan.failure_code,
        failure_message=plan.failure_message,
        video_duration=plan.video_duration,
        video_ratio=plan.video_ratio,
        replay=plan.as_json(),
    )
