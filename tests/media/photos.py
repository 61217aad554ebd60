"""The labelled photographs (``tests/fixtures/photos``, provenance in its README) and the transformations that flip
their outcomes, built here in memory rather than committed.

Each :class:`Case` makes an encoded image and says what each face check answers for it: ``None`` (it passes) or the
documented code. ``LIVEPORTRAIT`` is liveportrait and liveportrait-detect (one code covers every unfit face);
``EMO_11``/``EMO_34`` are emo-detect-v1 with that ratio and emo-v1 with that ext_bbox (emo-v1 says
``InvalidFile.Content`` and ``InvalidFile.BodyProportion`` where the detector says ``NoHuman``/``MultiHuman`` and
``FullBody``: see :func:`task_code`).
"""

from __future__ import annotations

import io
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from numpy.typing import NDArray
from PIL import Image

RGB = NDArray[np.uint8]

PHOTOS = Path(__file__).parents[1] / "fixtures" / "photos"
HOPPER = Path(__file__).parents[1] / "fixtures" / "face_grace_hopper.jpg"

PASS = None
NO_FACE_LP = "InvalidImage.NoHumanFace"
SIZE_LP = "InvalidImage.ImageSize"
NO_HUMAN = "InvalidFile.NoHuman"
MULTI = "InvalidFile.MultiHuman"
FULL_FACE = "InvalidFile.FullFace"
POSE = "InvalidFile.FacePose"
DARK = "InvalidFile.Value"
PROPORTION = "InvalidFile.BodyProportion"
FULL_BODY = "InvalidFile.FullBody"

# What emo-v1 (a task) answers where emo-detect-v1 answers with its own detect codes.
_TASK_CODES = {NO_HUMAN: "InvalidFile.Content", MULTI: "InvalidFile.Content", FULL_BODY: PROPORTION}


def task_code(detect_code: str | None) -> str | None:
    return _TASK_CODES.get(detect_code, detect_code) if detect_code else None


def load(name: str) -> RGB:
    path = HOPPER if name == "hopper" else PHOTOS / f"{name}.jpg"
    with Image.open(path) as image:
        return np.asarray(image.convert("RGB"), dtype=np.uint8).copy()


def encode(rgb: RGB | Image.Image, fmt: str = "JPEG", **options: object) -> bytes:
    image = rgb if isinstance(rgb, Image.Image) else Image.fromarray(rgb)
    buffer = io.BytesIO()
    image.save(buffer, format=fmt, **({"quality": 92} if fmt == "JPEG" else {}), **options)
    return buffer.getvalue()


def resize(rgb: RGB, scale: float) -> RGB:
    with Image.fromarray(rgb) as image:
        size = (round(rgb.shape[1] * scale), round(rgb.shape[0] * scale))
        return np.asarray(image.resize(size, Image.Resampling.LANCZOS), dtype=np.uint8)


def paste(canvas: RGB, picture: RGB, x: int, y: int) -> RGB:
    out = canvas.copy()
    h, w = min(picture.shape[0], out.shape[0] - y), min(picture.shape[1], out.shape[1] - x)
    out[y : y + h, x : x + w] = picture[:h, :w]
    return out


def grey_canvas(width: int, height: int, level: int = 128) -> RGB:
    return np.full((height, width, 3), level, dtype=np.uint8)


# --------------------------------------------------------------------------------------------- transformations
def exif_rotated(rgb: RGB, orientation: int = 6) -> bytes:
    """The photo stored turned (pixels rotated) with the EXIF orientation that turns it back for display."""
    turn = {6: Image.Transpose.ROTATE_90, 8: Image.Transpose.ROTATE_270, 3: Image.Transpose.ROTATE_180}[orientation]
    image = Image.fromarray(rgb).transpose(turn)
    exif = Image.Exif()
    exif[0x0112] = orientation
    return encode(image, "JPEG", exif=exif.tobytes())


def rotated(rgb: RGB, degrees: float) -> RGB:
    """Tilted in the picture plane (roll), the corners filled with the photo's mean colour."""
    fill = tuple(int(v) for v in rgb.reshape(-1, 3).mean(axis=0))
    with Image.fromarray(rgb) as image:
        turned = image.rotate(degrees, resample=Image.Resampling.BICUBIC, expand=True, fillcolor=fill)
        return np.asarray(turned, dtype=np.uint8)


def darkened(rgb: RGB, factor: float) -> RGB:
    return np.clip(rgb.astype(np.float64) * factor, 0, 255).astype(np.uint8)


def crop(rgb: RGB, x1: int, y1: int, x2: int, y2: int) -> RGB:
    return np.ascontiguousarray(rgb[y1:y2, x1:x2])


def covered(rgb: RGB, x1: int, y1: int, x2: int, y2: int, level: int = 110) -> RGB:
    """A flat patch over part of the picture (a mask, a bar over the eyes)."""
    out = rgb.copy()
    out[y1:y2, x1:x2] = level
    return out


def side_by_side(*pictures: RGB, gap: int = 20) -> RGB:
    height = max(p.shape[0] for p in pictures)
    width = sum(p.shape[1] for p in pictures) + gap * (len(pictures) - 1)
    out, x = grey_canvas(width, height), 0
    for picture in pictures:
        out = paste(out, picture, x, 0)
        x += picture.shape[1] + gap
    return out


# ---------------------------------------------------------------------------------------------------- the cases
@dataclass(frozen=True)
class Case:
    name: str
    make: Callable[[], bytes]
    liveportrait: str | None
    emo_11: str | None
    emo_34: str | None
    what: str

    @property
    def transformed(self) -> bool:
        return "." in self.name  # "<photo>.<transformation>"


def _photo(name: str) -> Callable[[], bytes]:
    path = HOPPER if name == "hopper" else PHOTOS / f"{name}.jpg"
    return path.read_bytes


def _jpeg(make: Callable[[], RGB]) -> Callable[[], bytes]:
    return lambda: encode(make())


# Face boxes (dlib, in the committed pixels) the transformations aim at: hopper (172, 128, 374, 330), right eye (in
# the picture) x 292-321, y 184-193; obama (262, 98, 449, 285), mouth x 305-391, y 218-252.
LABELLED: tuple[Case, ...] = (
    Case("astronaut", _photo("astronaut"), PASS, PASS, PASS, "Eileen Collins, NASA portrait, shuttle model behind"),
    Case("hopper", _photo("hopper"), PASS, PASS, PASS, "Grace Hopper, U.S. Navy portrait"),
    Case("obama", _photo("obama"), PASS, PASS, PASS, "official portrait, arms crossed"),
    Case("obama2", _photo("obama2"), PASS, PASS, PASS, "speaking, mouth open, head slightly turned"),
    Case("biden", _photo("biden"), SIZE_LP, PASS, PASS, "full length, 440x1000 (aspect 2.27)"),
    Case("obama_partial_face", _photo("obama_partial_face"), SIZE_LP, FULL_FACE, FULL_FACE, "cut by the left edge"),
    Case("obama_partial_face2", _photo("obama_partial_face2"), SIZE_LP, FULL_FACE, FULL_FACE,
         "cut by the right edge"),
    Case("camera", _photo("camera"), NO_FACE_LP, NO_HUMAN, NO_HUMAN, "cameraman in profile at the eyepiece"),
    Case("chelsea", _photo("chelsea"), NO_FACE_LP, NO_HUMAN, NO_HUMAN, "a cat"),
    Case("coffee", _photo("coffee"), NO_FACE_LP, NO_HUMAN, NO_HUMAN, "a cup of coffee"),
)  # fmt: skip

TRANSFORMED: tuple[Case, ...] = (
    Case("astronaut.x2", _jpeg(lambda: resize(load("astronaut"), 2.0)), PASS, PASS, PASS, "upscaled to 1024x1024"),
    Case("chelsea.x1.9", _jpeg(lambda: resize(load("chelsea"), 1.9)), NO_FACE_LP, NO_HUMAN, NO_HUMAN,
         "upscaled to 1142x760"),
    Case("hopper.exif_rotated", lambda: exif_rotated(load("hopper")), PASS, PASS, PASS,
         "stored turned 90°, EXIF orientation 6"),
    Case("hopper.turned_no_exif", _jpeg(lambda: np.ascontiguousarray(np.rot90(load("hopper")))),
         NO_FACE_LP, NO_HUMAN, NO_HUMAN, "the same turned pixels without the EXIF tag"),
    Case("hopper.mirrored", _jpeg(lambda: np.ascontiguousarray(load("hopper")[:, ::-1])), PASS, PASS, PASS,
         "mirrored"),
    Case("hopper.upside_down", _jpeg(lambda: np.ascontiguousarray(load("hopper")[::-1])),
         NO_FACE_LP, NO_HUMAN, NO_HUMAN, "upside down"),
    Case("hopper.tilt_10", _jpeg(lambda: rotated(load("hopper"), 10)), PASS, PASS, PASS, "tilted 10°"),
    Case("hopper.tilt_35", _jpeg(lambda: rotated(load("hopper"), 35)), NO_FACE_LP, POSE, POSE, "tilted 35°"),
    Case("obama.tilt_-35", _jpeg(lambda: rotated(load("obama"), -35)), NO_FACE_LP, POSE, POSE, "tilted -35°"),
    Case("hopper.dim", _jpeg(lambda: darkened(load("hopper"), 0.6)), PASS, PASS, PASS, "60 % brightness"),
    Case("hopper.dark", _jpeg(lambda: darkened(load("hopper"), 0.25)), NO_FACE_LP, DARK, DARK, "25 % brightness"),
    Case("hopper.black", _jpeg(lambda: darkened(load("hopper"), 0.08)), NO_FACE_LP, DARK, DARK,
         "8 % brightness, nearly black"),
    Case("obama.cut_right_side", _jpeg(lambda: resize(crop(load("obama"), 0, 0, 393, 700), 1.1)), NO_FACE_LP,
         FULL_FACE, FULL_FACE, "the frame cuts the face's right third off"),
    Case("obama.cut_at_mouth", _jpeg(lambda: resize(crop(load("obama"), 150, 0, 560, 240), 1.7)), NO_FACE_LP,
         FULL_FACE, FULL_FACE, "the frame cuts through the mouth"),
    Case("hopper.eye_patch", _jpeg(lambda: covered(load("hopper"), 280, 162, 340, 220)), NO_FACE_LP, FULL_FACE,
         FULL_FACE, "a flat patch over one eye"),
    Case("obama.mouth_masked", _jpeg(lambda: covered(load("obama"), 290, 200, 410, 275)), NO_FACE_LP, FULL_FACE,
         FULL_FACE, "a flat mask over the mouth"),
    Case("hopper+astronaut", _jpeg(lambda: side_by_side(load("hopper"), resize(load("astronaut"), 1.6))), PASS,
         MULTI, MULTI, "two people side by side"),
    Case("hopper+small_face", _jpeg(lambda: side_by_side(load("hopper"), resize(load("obama"), 0.3))), PASS, PASS,
         PASS, "a face 1/3 as wide beside her: background"),
    Case("hopper+chelsea", _jpeg(lambda: side_by_side(load("hopper"), load("chelsea"))), PASS, PASS, PASS,
         "her and a cat"),
    Case("hopper.small_in_frame", _jpeg(lambda: paste(grey_canvas(1000, 800), resize(load("hopper"), 0.35), 400, 300)),
         PASS, PROPORTION, PROPORTION, "face 10 % of the shorter side"),
    Case("hopper.close_up", _jpeg(lambda: resize(crop(load("hopper"), 150, 110, 396, 356), 1.8)), PASS, PROPORTION,
         FULL_BODY, "face fills the frame, no body"),
    Case("obama.head_and_shoulders", _jpeg(lambda: crop(load("obama"), 80, 0, 640, 560)), PASS, PASS, PASS,
         "head and shoulders"),
)  # fmt: skip

CASES: tuple[Case, ...] = LABELLED + TRANSFORMED
