"""liveportrait-detect: is a portrait fit for liveportrait? (``x-limits.models.liveportrait-detect``).

It borrows liveportrait's messages and runs liveportrait's face checks (``media.portrait``); the widest of several
faces counts, as for liveportrait itself.
"""

from __future__ import annotations

from pathlib import Path

from ..media.checks import check_image
from ..media.kit import MediaKit
from ..media.portrait import portrait_face
from ..plugins import Detector
from ..seam import DetectJob, DetectOutcome

NAME = "liveportrait-detect"


def placeholder(job: DetectJob) -> DetectOutcome:
    """Media checks off: every portrait passes."""
    return DetectOutcome()


async def detect(kit: MediaKit, job: DetectJob, workdir: Path) -> DetectOutcome:
    model, url = job.model, job.image_url
    paths = await kit.fetch_all(model, workdir, [("image", url)], oss_resolve=job.oss_resolve)
    image = await kit.check(model, "image", url, lambda: check_image(model, "image", paths["image"]))
    await kit.check(model, "image", url, lambda: portrait_face(model, "image", image.rgb, allow_many=True))
    return DetectOutcome()


model = Detector(name=NAME, placeholder=placeholder, detect=detect)
