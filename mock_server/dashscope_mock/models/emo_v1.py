"""emo-v1: a portrait cropped to ``ext_bbox`` and a voice line make an expressive video (``x-limits.models.emo-v1``).

Its boxes come from emo-detect-v1; boxes outside the image or an ``ext_bbox`` of neither 1:1 nor 3:4 (±2 px) end the
task ``InvalidParameter`` (reason ``format``). The portrait must pass emo-detect-v1's face checks for the ratio of
its ``ext_bbox`` (``media.portrait``: one face, lit, whole, facing the camera, of a fitting size).
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from dashscope_openapi import model_limits

from ..plugins import VideoModel, timing
from ..seam import Box, MediaJob, MediaOutcome
from ._placeholders import PLACEHOLDER_DURATION

if TYPE_CHECKING:  # the media stack loads only where media work runs (a slim install has none: media checks off)
    from ..media.checks import CheckedImage
    from ..media.kit import MediaKit, Prepared
    from ..media.render import RGB

NAME = "emo-v1"


def ratio_of_bbox(bbox: Any, ratios: Sequence[str] | None = None) -> str:
    """The documented ratio (``x-limits.models.emo-v1.ext_bbox_ratios``) closest to the box's width/height."""
    choices = tuple(str(r) for r in (ratios or model_limits(NAME).get("ext_bbox_ratios", ("1:1", "3:4"))))
    try:
        x1, y1, x2, y2 = (float(v) for v in bbox)
        aspect = abs(x2 - x1) / abs(y2 - y1)
    except (TypeError, ValueError, ZeroDivisionError):
        return choices[0]

    def distance(choice: str) -> float:
        width, height = (float(v) for v in choice.split(":"))
        return abs(aspect - width / height)

    return str(min(choices, key=distance))


def placeholder(job: MediaJob) -> MediaOutcome:
    """Media checks off: a deterministic 5 s result whose ratio follows ``ext_bbox``."""
    return MediaOutcome.succeeded(
        video_duration=PLACEHOLDER_DURATION, video_ratio=ratio_of_bbox(job.input.get("ext_bbox"))
    )


def _as_box(value: object) -> Box:
    x1, y1, x2, y2 = (int(item) for item in value)  # type: ignore[attr-defined]
    return (x1, y1, x2, y2)


def emo_frame(image: CheckedImage, face: Box, ext: Box, out_w: int, out_h: int) -> tuple[RGB, Box]:
    """The still: the image cropped to ``ext_bbox`` and resized to the documented size of its ratio (the boxes
    are in the image's pixels, the crop is of the decoded ones)."""
    import cv2
    import numpy as np

    from ..media.kit import scale_box

    height, width = image.rgb.shape[:2]
    x1, y1, x2, y2 = image.to_rgb(ext)
    x1, y1 = min(x1, width - 1), min(y1, height - 1)
    x2, y2 = max(x2, x1 + 1), max(y2, y1 + 1)  # a box of a few pixels in a reduced image keeps one
    crop = image.rgb[y1:y2, x1:x2]
    frame = cv2.resize(crop, (out_w, out_h), interpolation=cv2.INTER_AREA)
    fx1, fy1, fx2, fy2 = image.to_rgb(face)
    local = (fx1 - x1, fy1 - y1, fx2 - x1, fy2 - y1)
    return np.ascontiguousarray(frame), scale_box(local, out_w / (x2 - x1), out_h / (y2 - y1), out_w, out_h)


async def prepare(kit: MediaKit, job: MediaJob, workdir: Path) -> Prepared:
    from ..media.checks import check_audio, check_emo_boxes, check_image
    from ..media.kit import portrait_result
    from ..media.portrait import portrait_face

    model, inputs = job.model, job.input
    image_url, audio_url = inputs.get("image_url"), inputs.get("audio_url")
    face_bbox, ext = inputs.get("face_bbox"), inputs.get("ext_bbox")
    check_emo_boxes(face_bbox, ext)  # shape and ratio first: no download for a request that cannot pass
    wanted = [("image", image_url), ("audio", audio_url)]
    paths = await kit.fetch_all(model, workdir, wanted, oss_resolve=job.oss_resolve)
    image = await kit.check(model, "image", str(image_url), lambda: check_image(model, "image", paths["image"]))
    audio = await kit.check(model, "audio", str(audio_url), lambda: check_audio(model, "audio", paths["audio"]))
    ratio = check_emo_boxes(face_bbox, ext, image.width, image.height)
    await kit.check(model, "image", str(image_url), lambda: portrait_face(model, "image", image.rgb, ratio=ratio))
    paths["image"].unlink(missing_ok=True)
    out_w, out_h = (int(side) for side in model_limits(model)["output"]["sizes"][ratio])
    frame, frame_face = emo_frame(image, _as_box(face_bbox), _as_box(ext), out_w, out_h)
    fps = float(model_limits(model)["output"]["fps"])
    details = {"size": (out_w, out_h), "fps": fps, "audio": audio}
    return portrait_result(
        model,
        workdir,
        frame=frame,
        face=frame_face,
        audio=audio,
        audio_path=paths["audio"],
        fps=fps,
        ratio=ratio,
        details=details,
    )


# emo-v1 walks three working phases; the realistic profile takes minutes, as the model page shows.
model = VideoModel(
    name=NAME,
    timings={
        "fast": timing(0.5, ("PRE-PROCESSING", 0.5), ("RUNNING", 1.5), ("POST-PROCESSING", 0.5)),
        "realistic": timing(10.0, ("PRE-PROCESSING", 15.0), ("RUNNING", 90.0), ("POST-PROCESSING", 15.0)),
    },
    placeholder=placeholder,
    prepare=prepare,
)
