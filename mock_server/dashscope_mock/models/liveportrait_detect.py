"""liveportrait-detect: is a portrait fit for liveportrait? (``x-limits.models.liveportrait-detect``).

It borrows liveportrait's messages and runs liveportrait's face checks (``media.portrait``); the widest of several
faces counts, as for liveportrait itself.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from ..plugins import Detector
from ..seam import DetectJob, DetectOutcome

if TYPE_CHECKING:  # the media stack loads only where media work runs (a slim install has none: media checks off)
    from ..media.kit import MediaKit

NAME = "liveportrait-detect"


def placeholder(job: DetectJob) -> DetectOutcome:
    """Media checks off: every portrait passes."""
    return DetectOutcome()


async def detect(kit: MediaKit, job: DetectJob, workdir: Path) -> DetectOutcome:
    from ..media.checks import check_image
    from ..media.portrait import portrait_face

    model, url = job.model, job.image_url
    paths = await kit.fetch_all(model, workdir, [("image", url)], oss_resolve=job.oss_resolve)
    image = await kit.check(model, "image", url, lambda: check_image(model, "image", paths["image"]))
    await kit.check(model, "image", url, lambda: portrait_face(model, "image", image.rgb, allow_many=True))
    return DetectOutcome()


model = Detector(name=NAME, placeholder=placeholder, detect=detect)
