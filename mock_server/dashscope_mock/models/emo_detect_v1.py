"""emo-detect-v1: the face box and the dynamic-region box (``ext_bbox``, of the requested ratio) emo-v1 takes
(``x-limits.models.emo-detect-v1``). Exactly one face must show, and pass emo-v1's face checks for the ratio
(``media.portrait``)."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from dashscope_openapi import model_limits

from ..plugins import Detector
from ..seam import DetectJob, DetectOutcome

if TYPE_CHECKING:  # the media stack loads only where media work runs (a slim install has none: media checks off)
    from ..media.kit import MediaKit

NAME = "emo-detect-v1"
PARAMETERS = "EmoDetectParameters"
# A 1000x1000 portrait: its face box, and a dynamic-region box of each documented ratio.
PLACEHOLDER_FACE = (302, 286, 610, 589)
PLACEHOLDER_EXT = {"1:1": (71, 9, 840, 778), "3:4": (156, 0, 756, 800)}


def _ratio(job: DetectJob) -> str:
    from ..media.kit import param

    return str(param(job.parameters, PARAMETERS, "ratio"))


def placeholder(job: DetectJob) -> DetectOutcome:
    """Media checks off: a fixed face and the dynamic-region box of the requested ratio."""
    ext = PLACEHOLDER_EXT["3:4"] if job.parameters.get("ratio") == "3:4" else PLACEHOLDER_EXT["1:1"]
    return DetectOutcome(boxes={"face_bbox": PLACEHOLDER_FACE, "ext_bbox": ext})


async def detect(kit: MediaKit, job: DetectJob, workdir: Path) -> DetectOutcome:
    from ..media.checks import check_image
    from ..media.errors import failure
    from ..media.faces import ext_bbox
    from ..media.portrait import portrait_face

    model, url = job.model, job.image_url
    ratio = _ratio(job)
    if ratio not in model_limits("emo-v1").get("ext_bbox_ratios", ()):
        raise failure(model, "image", "ratio", detail=f"ratio {ratio!r}")
    paths = await kit.fetch_all(model, workdir, [("image", url)], oss_resolve=job.oss_resolve)
    image = await kit.check(model, "image", url, lambda: check_image(model, "image", paths["image"]))
    face = await kit.check(model, "image", url, lambda: portrait_face(model, "image", image.rgb, ratio=ratio))
    face_box = image.to_image(face.box)  # found in the decoded (possibly reduced) pixels
    boxes = {"face_bbox": face_box, "ext_bbox": ext_bbox(face_box, ratio, image.width, image.height)}
    return DetectOutcome(boxes=boxes)


model = Detector(name=NAME, placeholder=placeholder, detect=detect)
