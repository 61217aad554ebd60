"""The SDK's public types: what its methods take and return.

* **Parameters**, one class per model: ``LivePortraitParameters``, ``EmoParameters``, ``VideoRetalkParameters``. They
  are the spec's parameter schemas as openapi-python-client generates them (attrs classes; a field left unset keeps
  the service's default), so a parameter added to the spec reaches them, the clients and the CLI by regeneration.
* **Tasks**: a submit returns a ``TaskHandle[R]``; ``tasks.get`` a ``Task[R]``; ``tasks.wait`` a ``SucceededTask[R]``
  whose ``result`` is an ``R``: ``LivePortraitResult``, ``EmoResult`` or ``VideoRetalkResult`` for a handle of that
  model, ``VideoResult`` for a bare task id. Where each result field sits in an answer is the spec's
  ``x-models.<model>.result``; nothing here repeats it.
* **Statuses** are typed as the spec's ``TaskStatus`` literal. A status the service adds later is kept as the string
  it sent (a type checker sees the literal; at run time it is any string) and counts as not finished.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, fields
from typing import Any, ClassVar, Generic, Literal, cast

from typing_extensions import TypeVar

from dashscope_openapi import load_spec, terminal_statuses
from dashscope_video_client.models import (
    EmoParameters,
    LivePortraitParameters,
    UploadPolicy,
    VideoRetalkParameters,
)
from dashscope_video_client.models.emo_detect_parameters_ratio import EmoDetectParametersRatio as EmoRatio
from dashscope_video_client.models.task_status import TaskStatus
from dashscope_video_client.models.video_ratio import VideoRatio

__all__ = [
    "EmoDetection",
    "EmoParameters",
    "EmoRatio",
    "EmoResult",
    "LivePortraitDetection",
    "LivePortraitParameters",
    "LivePortraitResult",
    "SucceededTask",
    "Task",
    "TaskFailure",
    "TaskHandle",
    "TaskStatus",
    "TaskSummary",
    "UploadPolicy",
    "VideoRatio",
    "VideoResult",
    "VideoRetalkParameters",
    "VideoRetalkResult",
]


def _at(data: Mapping[str, Any], dotted: str) -> Any:
    """The value at a dotted path of a JSON object (``output.results.video_url``), or ``None``."""
    return _walk(data, dotted.split("."))


def _walk(data: Mapping[str, Any], names: Sequence[str]) -> Any:
    value: Any = data
    for name in names:
        if not isinstance(value, Mapping):
            return None
        value = value.get(name)
    return value


def _expect(value: object, kind: type | tuple[type, ...], where: str) -> None:
    if not isinstance(value, kind) or isinstance(value, bool):
        raise TypeError(f"{where} is {value!r}")


def _result_paths(model: str) -> Mapping[str, str]:
    paths: Mapping[str, str] = load_spec()["x-models"][model]["result"]
    return paths


_Path = tuple[str, ...]
_Reads = tuple[tuple[_Path, tuple[tuple[str, _Path], ...]], ...]
_READS: dict[type[VideoResult], _Reads] = {}


def _result_reads(cls: type[VideoResult]) -> _Reads:
    """Where ``cls`` finds its fields in a task answer, from the spec (which ``load_spec`` caches for the process):
    per model it may come from (its own, or every model with a result), in the spec's order and without repeats,
    the ``video_url`` path and the ``(field, path)`` pairs of the fields ``cls`` has, paths split at the dots. Computed
    once per class: a task query must not walk the spec (``bench/sdk.py``)."""
    found = _READS.get(cls)
    if found is None:
        found = _READS[cls] = _compute_reads(cls)
    return found


def _compute_reads(cls: type[VideoResult]) -> _Reads:
    models = [cls.model] if cls.model else [m for m, f in load_spec()["x-models"].items() if "result" in f]
    names = {f.name for f in fields(cls)}
    reads: list[tuple[_Path, tuple[tuple[str, _Path], ...]]] = []
    for model in models:
        paths = _result_paths(model)
        if "video_url" not in paths:  # never a result of this model (``video_url`` would be None)
            continue
        read = (
            tuple(paths["video_url"].split(".")),
            tuple((name, tuple(path.split("."))) for name, path in paths.items() if name in names),
        )
        if read not in reads:
            reads.append(read)
    return tuple(reads)


# ---------------------------------------------------------------------------------------------------- results
@dataclass(frozen=True)
class VideoResult:
    """A SUCCEEDED task's video. ``video_url`` stays valid for 24 h after the task ends; ``video_duration`` is the
    billed length in seconds; ``video_ratio`` the frame (``standard``, or emo-v1's ``1:1``/``3:4``)."""

    model: ClassVar[str | None] = None
    video_url: str
    video_duration: float | None = None
    video_ratio: VideoRatio | None = None

    @classmethod
    def _from_answer(cls, answer: Mapping[str, Any]) -> VideoResult | None:
        """The result in a task answer, or ``None`` when it holds no result URL."""
        for url, reads in _result_reads(cls):
            if isinstance(_walk(answer, url), str):
                values = {name: _walk(answer, path) for name, path in reads}
                _expect(values.get("video_duration"), (int, float, type(None)), "usage.video_duration")
                _expect(values.get("video_ratio"), (str, type(None)), "usage.video_ratio")
                return cls(**values)
        return None


@dataclass(frozen=True)
class LivePortraitResult(VideoResult):
    """liveportrait's result video."""

    model: ClassVar[str | None] = "liveportrait"


@dataclass(frozen=True)
class EmoResult(VideoResult):
    """emo-v1's result video (``video_ratio`` 1:1 or 3:4, as the boxes chose)."""

    model: ClassVar[str | None] = "emo-v1"


@dataclass(frozen=True)
class VideoRetalkResult(VideoResult):
    """videoretalk's result video."""

    model: ClassVar[str | None] = "videoretalk"


R = TypeVar("R", bound=VideoResult, default=VideoResult)


# ------------------------------------------------------------------------------------------------------ tasks
@dataclass(frozen=True)
class TaskHandle(Generic[R]):
    """A submitted task: its id, and the result type its model produces (``tasks.get``/``wait`` return that)."""

    task_id: str
    result_type: type[R]
    status: TaskStatus = "PENDING"
    request_id: str | None = None

    @property
    def model(self) -> str | None:
        return self.result_type.model


@dataclass(frozen=True)
class TaskFailure:
    """Why a task FAILED, as the service reported it (see the spec's ``x-error-catalogue``)."""

    code: str | None
    message: str


@dataclass(frozen=True)
class Task(Generic[R]):
    """A task as one query saw it. ``result`` is set once SUCCEEDED, ``failure`` once FAILED; ``raw`` is the answer
    as the service sent it."""

    task_id: str
    status: TaskStatus
    request_id: str | None
    result: R | None
    result_type: type[R]
    failure: TaskFailure | None = None
    submit_time: str | None = None
    scheduled_time: str | None = None
    end_time: str | None = None
    raw: Mapping[str, Any] = field(default_factory=dict, repr=False, compare=False)

    TERMINAL: ClassVar[frozenset[str]] = terminal_statuses()

    @property
    def model(self) -> str | None:
        return self.result_type.model

    @property
    def finished(self) -> bool:
        """Whether the task will never change again (SUCCEEDED, FAILED, CANCELED or UNKNOWN)."""
        return self.status in self.TERMINAL

    @classmethod
    def _from_answer(cls, answer: Mapping[str, Any], result_type: type[R]) -> Task[R]:
        """The task in a query's answer; ``TypeError``/``KeyError`` when the answer is not shaped as the spec's
        ``TaskResponse`` says where this type reads it (this check replaces the generated model's on the hot path)."""
        output: Mapping[str, Any] = answer["output"]
        _expect(output, Mapping, "output")
        _expect(output["task_id"], str, "output.task_id")
        _expect(output["task_status"], str, "output.task_status")
        for name in ("submit_time", "scheduled_time", "end_time", "code", "message"):
            _expect(output.get(name), (str, type(None)), f"output.{name}")
        _expect(answer.get("request_id"), (str, type(None)), "request_id")
        status = cast(TaskStatus, output["task_status"])
        failure = None
        if status == "FAILED":
            failure = TaskFailure(output.get("code"), str(output.get("message") or "the task failed"))
        result = cast("R | None", result_type._from_answer(answer))
        common: dict[str, Any] = {
            "task_id": str(output["task_id"]),
            "status": status,
            "request_id": answer.get("request_id"),
            "result_type": result_type,
            "failure": failure,
            "submit_time": output.get("submit_time"),
            "scheduled_time": output.get("scheduled_time"),
            "end_time": output.get("end_time"),
            "raw": answer,
        }
        if status == "SUCCEEDED" and result is not None:
            return SucceededTask(result=result, **common)
        return Task(result=result, **common)


@dataclass(frozen=True)
class SucceededTask(Task[R]):
    """A SUCCEEDED task (what ``tasks.wait`` returns): its ``result`` is always there."""

    result: R


@dataclass(frozen=True)
class TaskSummary:
    """One row of ``tasks.list``. Times are epoch milliseconds."""

    task_id: str
    status: TaskStatus
    model_name: str | None = None
    request_id: str | None = None
    region: str | None = None
    api_key_id: str | None = None
    gmt_create: int | None = None
    start_time: int | None = None
    end_time: int | None = None
    raw: Mapping[str, Any] = field(default_factory=dict, repr=False, compare=False)

    @classmethod
    def _from_item(cls, item: Mapping[str, Any]) -> TaskSummary:
        names = {f.name for f in fields(cls)} - {"raw", "task_id", "status"}
        return cls(
            task_id=str(item["task_id"]),
            status=cast(TaskStatus, str(item["status"])),
            raw=item,
            **{k: v for k, v in item.items() if k in names},
        )


# ------------------------------------------------------------------------------------------------ detections
def _detect_fields(model: str, answer: Mapping[str, Any]) -> tuple[bool, dict[str, Any]]:
    shape: Mapping[str, Any] = load_spec()["x-models"][model]["detect_answer"]
    values = {name: _at(answer, path) for name, path in {**shape["failure"], **shape["boxes"]}.items()}
    return bool(_at(answer, str(shape["passed"]))), values


@dataclass(frozen=True)
class LivePortraitDetection:
    """liveportrait-detect's verdict on an image (``passed`` is the answer's ``output.pass``)."""

    passed: bool
    message: str | None
    request_id: str | None
    raw: Mapping[str, Any] = field(default_factory=dict, repr=False, compare=False)
    code: str | None = None
    """Set when the service delivered the rejection as a 400 check-failure code instead of ``pass: false``."""

    @classmethod
    def _from_answer(cls, answer: Mapping[str, Any]) -> LivePortraitDetection:
        passed, values = _detect_fields("liveportrait-detect", answer)
        return cls(passed, values.get("message"), answer.get("request_id"), answer)


@dataclass(frozen=True)
class EmoDetection:
    """emo-detect-v1's verdict and the boxes to pass to emo-v1."""

    passed: bool
    face_bbox: Sequence[int] | None
    ext_bbox: Sequence[int] | None
    code: str | None
    message: str | None
    request_id: str | None
    raw: Mapping[str, Any] = field(default_factory=dict, repr=False, compare=False)

    @classmethod
    def _from_answer(cls, answer: Mapping[str, Any]) -> EmoDetection:
        passed, values = _detect_fields("emo-detect-v1", answer)
        return cls(
            passed,
            values.get("face_bbox"),
            values.get("ext_bbox"),
            values.get("code"),
            values.get("message"),
            answer.get("request_id"),
            answer,
        )


Detector = Literal["liveportrait-detect", "emo-detect-v1"]
