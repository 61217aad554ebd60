"""liveportrait: a portrait and a voice line make a talking-head video (``x-limits.models.liveportrait``)."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from dashscope_openapi import model_limits

from ..plugins import VideoModel, timing
from ..seam import Box, MediaJob
from ._placeholders import documented_ratio

if TYPE_CHECKING:  # the media stack loads only where media work runs (a slim install has none: media checks off)
    from ..media.kit import MediaKit, Prepared
    from ..media.render import RGB

NAME = "liveportrait"
PARAMETERS = "LivePortraitParameters"


placeholder = documented_ratio  # media checks off: 5 s of the documented ratio


def portrait_frame(rgb: RGB, face: Box, paste_back: bool, max_side: int) -> tuple[RGB, Box]:
    """The still: the whole portrait (or, without ``paste_back``, a square around the face), scaled."""
    import cv2
    import numpy as np

    from ..media.faces import ext_bbox
    from ..media.kit import scale_box
    from ..media.render import even_size

    height, width = rgb.shape[:2]
    if not paste_back:
        x1, y1, x2, y2 = ext_bbox(face, "1:1", width, height)
        rgb = rgb[y1:y2, x1:x2]
        face = (face[0] - x1, face[1] - y1, face[2] - x1, face[3] - y1)
        height, width = rgb.shape[:2]
    out_w, out_h = even_size(width, height, max_side)
    frame = cv2.resize(rgb, (out_w, out_h), interpolation=cv2.INTER_AREA)
    return np.ascontiguousarray(frame), scale_box(face, out_w / width, out_h / height, out_w, out_h)


async def prepare(kit: MediaKit, job: MediaJob, workdir: Path) -> Prepared:
    """Download and check the portrait and the audio; the widest of several faces is animated (the face checks are
    liveportrait-detect's: ``media.portrait``)."""
    from ..media.checks import check_audio, check_image
    from ..media.kit import param, portrait_result
    from ..media.portrait import portrait_face

    model, inputs, parameters = job.model, job.input, job.parameters
    image_url, audio_url = inputs.get("image_url"), inputs.get("audio_url")
    wanted = [("image", image_url), ("audio", audio_url)]
    paths = await kit.fetch_all(model, workdir, wanted, oss_resolve=job.oss_resolve)
    image = await kit.check(model, "image", str(image_url), lambda: check_image(model, "image", paths["image"]))
    audio = await kit.check(model, "audio", str(audio_url), lambda: check_audio(model, "audio", paths["audio"]))
    found = await kit.check(
        model, "image", str(image_url), lambda: portrait_face(model, "image", image.rgb, allow_many=True)
    )
    face = found.box  # in the decoded (possibly reduced) pixels, as the frame is made from them
    paths["image"].unlink(missing_ok=True)
    paste_back = bool(param(parameters, PARAMETERS, "paste_back"))
    frame, frame_face = portrait_frame(image.rgb, face, paste_back, kit.portrait_max_side)
    fps = float(param(parameters, PARAMETERS, "video_fps"))
    mouth = float(param(parameters, PARAMETERS, "mouth_move_strength"))
    ratio = str(model_limits(NAME)["output"]["video_ratio"])
    size = (frame.shape[1], frame.shape[0])
    details = {"face": image.to_image(face), "size": size, "fps": fps, "audio": audio}
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
        mouth_strength=mouth,
    )


# The fast profile finishes within seconds; the realistic one follows the model page (~10 s queued, tens of seconds
# of work).
model = VideoModel(
    name=NAME,
    timings={"fast": timing(0.5, ("RUNNING", 2.0)), "realistic": timing(10.0, ("RUNNING", 45.0))},
    placeholder=placeholder,
    prepare=prepare,
)
