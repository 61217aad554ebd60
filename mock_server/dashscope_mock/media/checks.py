"""Each model's documented media limits (``x-limits.models``) applied to probed files.

Every function is synchronous and CPU-bound (run it in a thread) and raises :class:`MediaFailure` with the code the
spec maps the failure to. Bounds are inclusive (the docs contradict themselves: liveportrait's "1s < duration < 3min"
next to "between 1s and 180s", "[1, 180]"), so a value exactly on a documented bound passes.

Work is bounded (the mock's own limits, next to the documented ones): an image's pixel count (``max_pixels``) is
checked from its header, its decode holds its estimated memory from the process's budget (``budget.py``) and
yields pixels at most ``x-media-budget.decode_max_side`` on a side (:class:`CheckedImage`); audio slower than
``min_sample_rate`` is refused (a few bytes at 1 Hz would "last" minutes).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import NDArray
from PIL import Image

from dashscope_openapi import model_limits

from .budget import decode_max_side, media_budget
from .errors import failure, input_limits
from .faces import Box, ratio_of
from .probe import AudioInfo, ProbeError, VideoInfo, decode_image, probe_audio, probe_image, probe_video

__all__ = [
    "BBOX_TOLERANCE_PX",
    "CheckedImage",
    "check_audio",
    "check_emo_boxes",
    "check_image",
    "check_video",
    "max_pixels",
    "max_render_seconds",
]

BBOX_TOLERANCE_PX = 2
"""How far (in pixels of the box's height) an ``ext_bbox`` may be from its exact ratio and still count as it."""


@dataclass(frozen=True)
class CheckedImage:
    """An image that passed the file checks. ``width`` x ``height`` is its size as displayed; ``rgb`` its upright
    pixels, reduced when a side is longer than ``decode_max_side``: :meth:`to_image` and :meth:`to_rgb` convert
    boxes between the two."""

    format: str
    width: int
    height: int
    rgb: NDArray[np.uint8]

    def _scale(self) -> tuple[float, float]:
        return self.rgb.shape[1] / max(1, self.width), self.rgb.shape[0] / max(1, self.height)

    def to_image(self, box: Box) -> Box:
        """A box in ``rgb``'s pixels → the image's."""
        sx, sy = self._scale()
        return _scaled(box, 1 / sx, 1 / sy, self.width, self.height)

    def to_rgb(self, box: Box) -> Box:
        """A box in the image's pixels → ``rgb``'s."""
        sx, sy = self._scale()
        return _scaled(box, sx, sy, self.rgb.shape[1], self.rgb.shape[0])


def _scaled(box: Box, sx: float, sy: float, width: int, height: int) -> Box:
    x1, y1, x2, y2 = box
    if sx == 1 and sy == 1:
        return box
    return (
        min(width, max(0, round(x1 * sx))),
        min(height, max(0, round(y1 * sy))),
        min(width, max(0, round(x2 * sx))),
        min(height, max(0, round(y2 * sy))),
    )


def max_pixels(spec: Mapping[str, Any]) -> int:
    """An image input's pixel budget: ``max_pixels``, else its longest side squared, else Pillow's bomb limit."""
    if "max_pixels" in spec:
        return int(spec["max_pixels"])
    if "max_side" in spec:
        return int(spec["max_side"]) ** 2
    return int(Image.MAX_IMAGE_PIXELS or 89_478_485)


def max_render_seconds(model: str) -> float:
    """The longest result ``model`` can make: the longest ``max_seconds`` of its inputs (the audio's, the video's).
    A render never goes past it, whatever the checks let through."""
    seconds = [
        float(spec["max_seconds"])
        for spec in model_limits(model).values()
        if isinstance(spec, Mapping) and "max_seconds" in spec
    ]
    if not seconds:
        raise LookupError(f"x-limits.models.{model} documents no duration")
    return max(seconds)


def _sides_ok(spec: Any, width: int, height: int) -> bool:
    longest, shortest = max(width, height), min(width, height)
    if shortest <= 0:
        return False
    if "max_side" in spec and longest > spec["max_side"]:
        return False
    if "min_side" in spec and shortest < spec["min_side"]:
        return False
    return not ("max_aspect_ratio" in spec and longest / shortest > spec["max_aspect_ratio"])


def _check_bytes(model: str, input: str, spec: Mapping[str, Any], path: Path, url: str) -> None:
    """The size limit, then an empty file (which no decoder can open)."""
    try:
        size = path.stat().st_size
    except OSError:
        size = 0
    if "max_bytes" in spec and size > spec["max_bytes"]:
        raise failure(model, input, "bytes", url=url, detail=f"{size} bytes")
    if size == 0:
        raise failure(model, input, "open", url=url, detail="zero bytes")


def check_image(model: str, input: str, path: Path, *, url: str = "") -> CheckedImage:
    """Bytes, format (from the content), sides, aspect ratio and pixel count from the header, then a bounded
    decode (reduced to ``decode_max_side``, within the memory budget; missing data fails it)."""
    spec = input_limits(model, input)
    _check_bytes(model, input, spec, path, url)
    try:
        info = probe_image(path)
    except ProbeError as error:
        raise failure(model, input, error.kind, url=url, detail=error.detail) from error
    if info.format not in spec.get("formats", ()):
        raise failure(model, input, "format", url=url, detail=f"image format {info.format!r}")
    if not _sides_ok(spec, info.width, info.height):
        raise failure(model, input, "size", url=url, detail=f"{info.width}x{info.height}")
    try:
        rgb = decode_image(
            path, max_pixels=max_pixels(spec), max_side=decode_max_side(), reserve=media_budget().reserve
        )
    except ProbeError as error:
        raise failure(model, input, error.kind, url=url, detail=error.detail) from error
    return CheckedImage(info.format, info.width, info.height, rgb)


def check_audio(model: str, input: str, path: Path, *, url: str = "") -> AudioInfo:
    """Bytes, format (container), and the duration of the decoded samples."""
    spec = input_limits(model, input)
    _check_bytes(model, input, spec, path, url)
    try:
        info = probe_audio(path)
    except ProbeError as error:
        raise failure(model, input, "open", url=url, detail=error.detail) from error
    if not info.formats & set(spec.get("formats", ())):
        raise failure(model, input, "format", url=url, detail=f"audio container {sorted(info.formats)}")
    if info.sample_rate < int(spec.get("min_sample_rate", 0)):
        raise failure(model, input, "format", url=url, detail=f"sample rate {info.sample_rate} Hz")
    _check_duration(model, input, spec, info.duration, url)
    return info


def check_video(model: str, input: str, path: Path, *, url: str = "") -> VideoInfo:
    """Bytes, container, codec, sides, frame rate and duration."""
    spec = input_limits(model, input)
    _check_bytes(model, input, spec, path, url)
    try:
        info = probe_video(path, max_pixels=max_pixels(spec))
    except ProbeError as error:
        raise failure(model, input, "open", url=url, detail=error.detail) from error
    if not info.formats & set(spec.get("formats", ())):
        raise failure(model, input, "format", url=url, detail=f"video container {sorted(info.formats)}")
    if "codecs" in spec and info.codec not in spec["codecs"]:
        raise failure(model, input, "format", url=url, detail=f"video codec {info.codec!r}")
    if not _sides_ok(spec, info.width, info.height):
        raise failure(model, input, "size", url=url, detail=f"{info.width}x{info.height}")
    if ("min_fps" in spec and info.fps < spec["min_fps"]) or ("max_fps" in spec and info.fps > spec["max_fps"]):
        raise failure(model, input, "fps", url=url, detail=f"{info.fps:.3f} fps")
    _check_duration(model, input, spec, info.duration, url)
    return info


def _check_duration(model: str, input: str, spec: Any, duration: float, url: str) -> None:
    if ("min_seconds" in spec and duration < spec["min_seconds"]) or (
        "max_seconds" in spec and duration > spec["max_seconds"]
    ):
        raise failure(model, input, "duration", url=url, detail=f"{duration:.3f} s")


def _box(value: object) -> Box | None:
    if not isinstance(value, Sequence) or isinstance(value, str | bytes) or len(value) != 4:
        return None
    if not all(isinstance(item, int | float) and not isinstance(item, bool) for item in value):
        return None
    x1, y1, x2, y2 = (int(item) for item in value)
    return (x1, y1, x2, y2)


def check_emo_boxes(
    face_bbox: object, ext_bbox: object, width: int | None = None, height: int | None = None, *, model: str = "emo-v1"
) -> str:
    """emo-v1's boxes: four integers each, non-empty, inside the image (when its size is given), ``ext_bbox`` of one of
    the documented ratios (within :data:`BBOX_TOLERANCE_PX`). Returns the ratio (``"1:1"`` or ``"3:4"``).

    Without ``width``/``height`` only the shape and the ratio are checked (usable at submit time).
    """
    boxes = [_box(face_bbox), _box(ext_bbox)]
    for box in boxes:
        if box is None or box[0] >= box[2] or box[1] >= box[3] or box[0] < 0 or box[1] < 0:
            raise failure(model, "image", "bbox", detail=f"malformed box {box!r}")
        if width is not None and height is not None and (box[2] > width or box[3] > height):
            raise failure(model, "image", "bbox", detail=f"box {box} outside the {width}x{height} image")
    ext = boxes[1]
    assert ext is not None
    ext_w, ext_h = ext[2] - ext[0], ext[3] - ext[1]
    for ratio in model_limits(model).get("ext_bbox_ratios", ()):
        rw, rh = ratio_of(str(ratio))
        if abs(ext_w * rh - ext_h * rw) <= BBOX_TOLERANCE_PX * rw:
            return str(ratio)
    raise failure(model, "image", "bbox", detail=f"ext_bbox {ext_w}x{ext_h} is not of a documented ratio")
