"""The media hook: how the backend asks for media work without doing any itself.

The backend calls a ``MediaPipeline``:

``await pipeline.prepare(job)`` — once per submitted task, in an asyncio task off the request path (the submit has
already answered PENDING). ``job`` is a ``MediaJob``: the task id, model, ``input`` with every ``oss://`` URL of a
temporary upload replaced by a ``file://`` URL of the stored file (unresolvable ones never reach the pipeline: the
backend fails the task itself), ``parameters``, and ``results_dir`` where a result file may be written. Return a
``MediaOutcome``: ``MediaOutcome.failed(code, reason=..., **values)`` (a catalogue code with stage ``task``; values
fill its template, e.g. ``url``) or ``MediaOutcome.succeeded(video_duration=..., video_ratio=..., result_path=...)``.
Until it returns, the task cannot leave RUNNING (see ``lifecycle``); an exception counts as ``InternalError.Algo``.

``await pipeline.detect(model, image_url, ratio, oss_resolve=...)`` — face-detect, synchronous for the caller.
Return the response's ``{"output": ..., "usage": ...}`` (check failures included: emo-detect-v1 ``check_pass:
false`` + ``code``/``message`` + ``usage.image_count``; liveportrait-detect ``pass: false`` + ``message``), or raise
``dashscope_mock.errors.ApiError`` (``catalogue_error(code, model=..., stages=["detect"])``) for a request failure
such as an undownloadable image. ``image_url`` is already resolved like the job inputs.

``LifecycleOnlyMedia`` is the default (``--media-checks off``): no I/O, a deterministic 5 s duration, the emo-v1
ratio from ``ext_bbox`` and a tiny placeholder MP4. The media package plugs in by passing its pipeline as
``create_app(media=...)`` / ``Backend(media=...)``; ``--media-checks on`` loads ``dashscope_mock.media`` and calls
its ``create_pipeline(config)``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol, runtime_checkable

from dashscope_openapi import model_limits

__all__ = [
    "PLACEHOLDER_MP4",
    "LifecycleOnlyMedia",
    "MediaFailure",
    "MediaJob",
    "MediaOutcome",
    "MediaPipeline",
    "ratio_of_bbox",
]

# An ISO-BMFF ``ftyp`` box followed by an empty ``free`` box: enough for `file` and content sniffers to see an MP4.
PLACEHOLDER_MP4 = b"\x00\x00\x00\x1cftypisom\x00\x00\x02\x00isomiso2mp41" + b"\x00\x00\x00\x08free"

PLACEHOLDER_DURATION = 5.0


@dataclass(frozen=True)
class MediaJob:
    task_id: str
    model: str
    input: Mapping[str, Any]
    parameters: Mapping[str, Any]
    results_dir: str
    oss_resolve: bool = False


@dataclass(frozen=True)
class MediaFailure:
    code: str
    reason: str | None = None
    values: Mapping[str, object] = field(default_factory=dict)


@dataclass(frozen=True)
class MediaOutcome:
    failure: MediaFailure | None = None
    video_duration: float | None = None
    video_ratio: str | None = None
    result_path: str | None = None

    @classmethod
    def failed(cls, code: str, *, reason: str | None = None, **values: object) -> MediaOutcome:
        return cls(failure=MediaFailure(code, reason, values))

    @classmethod
    def succeeded(cls, *, video_duration: float, video_ratio: str, result_path: str | None = None) -> MediaOutcome:
        return cls(video_duration=video_duration, video_ratio=video_ratio, result_path=result_path)


@runtime_checkable
class MediaPipeline(Protocol):
    async def prepare(self, job: MediaJob) -> MediaOutcome: ...

    async def detect(self, model: str, image_url: str, ratio: str | None, *, oss_resolve: bool) -> dict[str, Any]: ...


def ratio_of_bbox(bbox: Any, ratios: tuple[str, ...] | None = None) -> str:
    """The documented ratio (``x-limits.models.emo-v1.ext_bbox_ratios``) closest to the box's width/height."""
    choices = ratios or tuple(model_limits("emo-v1").get("ext_bbox_ratios", ("1:1", "3:4")))
    try:
        x1, y1, x2, y2 = (float(v) for v in bbox)
        aspect = abs(x2 - x1) / abs(y2 - y1)
    except (TypeError, ValueError, ZeroDivisionError):
        return choices[0]

    def distance(choice: str) -> float:
        width, height = (float(v) for v in choice.split(":"))
        return abs(aspect - width / height)

    return min(choices, key=distance)


class LifecycleOnlyMedia:
    """Media checks off: no I/O, deterministic placeholders."""

    async def prepare(self, job: MediaJob) -> MediaOutcome:
        output: Mapping[str, Any] = model_limits(job.model).get("output", {})
        ratio = str(output.get("video_ratio", "standard"))
        if job.model == "emo-v1":
            ratio = ratio_of_bbox(job.input.get("ext_bbox"))
        return MediaOutcome.succeeded(video_duration=PLACEHOLDER_DURATION, video_ratio=ratio)

    async def detect(self, model: str, image_url: str, ratio: str | None, *, oss_resolve: bool) -> dict[str, Any]:
        if model == "liveportrait-detect":
            return {"output": {"pass": True, "message": "success"}}
        # A 1000x1000 portrait: the face box, and the dynamic-region box with the requested aspect ratio.
        ext = [71, 9, 840, 778] if ratio != "3:4" else [156, 0, 756, 800]
        return {
            "output": {"check_pass": True, "face_bbox": [302, 286, 610, 589], "ext_bbox": ext},
            "usage": {"image_count": 1},
        }
