"""Offline face analysis with dlib: HOG detection, 68 landmarks, head pose, 128-d face embeddings; ``ext_bbox``.

Everything installs from PyPI and nothing is downloaded at run time: ``dlib-bin`` brings dlib with its HOG frontal
face detector built in; ``face-recognition-models`` ships the landmark predictor and the embedding network as package
data. The models load once per process, lazily (:func:`preload` starts that in a background thread), and run under a
lock each: dlib's detector and network keep scratch state between calls.

Decisions (the docs are silent; the thresholds are the spec's, ``x-limits.models.<model>.<input>.faces``, read into
:class:`FaceLimits`; docs/FACES.md shows how they were chosen):

- Detection is bounded work: the image is scaled so its longest side is :data:`DETECT_SIDE` and searched once at
  dlib's own scale (faces of 80 px and more there); only when that finds no face, or one so small that a significant
  face could be below 80 px, is it searched again upsampled once (faces of 40 px, 5 % of the longest side, and more).
  The faces that matter go down to :func:`min_face_width` (a tenth of the shorter side, and 40 px of the checked
  decode); in a very wide image that is less than 5 % of the longest side (a 200 px face in a 7000x1000 banner), and
  on the same condition (no face, or one so small that a significant face could be narrower) it is then searched in
  overlapping tiles, each scaled so that the narrowest face that matters fills dlib's window (the coarsest scale that
  finds it), one at a time: the memory is one tile's (:data:`TILE_SIDE`) whatever the image's size. A face found
  twice (by two tiles, or by a tile and the whole image) is one face, kept as first found. Landmarks and embeddings
  use the full-resolution image.
- A face counts when its detection score is at least ``min_score``; a face narrower than ``significant_width`` x the
  widest is background, not a person.
- Head pose from the landmarks: roll is the angle of the line through the eye centres; yaw the sine-law estimate from
  where the nose tip sits between the jaw's two ends along that line (0 facing the camera, ±90 in profile).
- ``ext_bbox``: 1:1 is a square of :data:`HEAD_SCALE` x the face's longer side centred a little below the face centre
  (chin and neck); 3:4 (width:height) is :data:`HALF_BODY_SCALE` x the face width wide, 4/3 as tall, starting
  :data:`HEADROOM` x the face height above the face (head and upper body). A box larger than the image shrinks about
  its centre keeping the ratio, then shifts to lie inside. Width and height are exact multiples of the ratio's terms.
- Identity: the Euclidean distance of dlib's 128-d embeddings (``face_recognition``'s measure: the same person
  ≲ 0.6, different people ≳ 0.6).
"""

from __future__ import annotations

import importlib.util
import math
import threading
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import cv2
import dlib  # type: ignore[import-untyped]
import numpy as np
from numpy.typing import NDArray

from .budget import decode_max_side
from .errors import input_limits

__all__ = [
    "DETECT_SIDE",
    "MIN_FACE",
    "TILE_SIDE",
    "Box",
    "Face",
    "FaceLimits",
    "best_match",
    "detect_faces",
    "ext_bbox",
    "face_embedding",
    "face_limits",
    "find_faces",
    "head_pose",
    "min_face_width",
    "preload",
    "ratio_of",
]

Box = tuple[int, int, int, int]  # x1, y1, x2, y2 (x2/y2 exclusive: width = x2 - x1)
RGB = NDArray[np.uint8]
_Rect = tuple[float, float, float, float]  # a box in an image's pixels, before rounding
_Found = tuple[_Rect, float, int]  # a detection: its box, score and sub-detector
_T = TypeVar("_T")

DETECT_SIDE = 800
_WINDOW = 80  # dlib's HOG window: the smallest face it finds without upsampling
MIN_FACE = _WINDOW // 2
"""The narrowest face found anywhere, in pixels of an image at most ``decode_max_side`` on a side (its checked
decode): see :func:`min_face_width`."""
TILE_SIDE = 2048
"""The longest side of a tile of the fine search, at its search scale: ~12 MB of pixels and ~35 MB of dlib's HOG
pyramid, the most the fine search holds at once (the whole 3500 px search of a 7000 px image at once: ~135 MB)."""
# Tiles overlap by _OVERLAP x the widest face the fine search is for, so that each such face lies whole in a tile,
# (_OVERLAP - 1 - _EDGE) x its width or more from that tile's sides; a box within _EDGE x that width of a tile's
# inner side may be a face the tile cuts: it is left to the neighbouring tile.
_OVERLAP = 1.5
_EDGE = 0.2
_SAME_FACE_IOU = 0.3  # boxes of two tiles, or of a tile and the whole image, overlapping this much are one face
HEAD_SCALE = 2.2
HALF_BODY_SCALE = 2.6
HEADROOM = 0.6
# 68-point landmark indices (iBUG 300-W).
LEFT_EYE, RIGHT_EYE = slice(36, 42), slice(42, 48)
NOSE, MOUTH = slice(27, 36), slice(48, 60)
NOSE_TIP, JAW_LEFT, JAW_RIGHT = 30, 0, 16


@dataclass(frozen=True)
class FaceLimits:
    """The mock's calibration of the face checks (``x-limits.models.<model>.<input>.faces``)."""

    min_score: float
    significant_width: float
    min_face_share: float
    min_luma: float
    max_outside_landmarks: int
    min_part_contrast: float
    max_yaw_degrees: float
    max_roll_degrees: float

    @classmethod
    def from_spec(cls, spec: Mapping[str, Any]) -> FaceLimits:
        return cls(
            min_score=float(spec["min_score"]),
            significant_width=float(spec["significant_width"]),
            min_face_share=float(spec["min_face_share"]),
            min_luma=float(spec["min_luma"]),
            max_outside_landmarks=int(spec["max_outside_landmarks"]),
            min_part_contrast=float(spec["min_part_contrast"]),
            max_yaw_degrees=float(spec["max_yaw_degrees"]),
            max_roll_degrees=float(spec["max_roll_degrees"]),
        )


@dataclass(frozen=True, eq=False)
class Face:
    """One detected face, in the pixels of the image it was found in.

    ``rect`` is dlib's box, which may reach past the image (a face cut by the frame); ``box`` is it clipped to the
    image. ``sub_detector`` is which of the HOG detector's five filters fired (0 front, 1 and 2 turned left/right,
    3 and 4 front rotated left/right). ``landmarks`` are the 68 points, also possibly outside the image.
    """

    rect: tuple[int, int, int, int]
    box: Box
    score: float
    sub_detector: int
    landmarks: NDArray[np.int64]

    @property
    def width(self) -> int:
        return self.rect[2] - self.rect[0]

    @property
    def height(self) -> int:
        return self.rect[3] - self.rect[1]

    def landmarks_outside(self, width: int, height: int) -> int:
        """How many landmarks lie outside a ``width`` x ``height`` image (where the predictor had to guess)."""
        x, y = self.landmarks[:, 0], self.landmarks[:, 1]
        return int(((x < 0) | (y < 0) | (x >= width) | (y >= height)).sum())


# ------------------------------------------------------------------------------------------------------ models
def _model_path(name: str) -> str:
    """A model file of ``face_recognition_models``, found without importing it (its ``__init__`` needs
    ``pkg_resources``, which recent setuptools no longer has)."""
    spec = importlib.util.find_spec("face_recognition_models")
    if spec is None or not spec.submodule_search_locations:  # pragma: no cover - a dependency of the package
        raise RuntimeError("face_recognition_models is not installed")
    path = Path(next(iter(spec.submodule_search_locations))) / "models" / name
    if not path.is_file():  # pragma: no cover
        raise RuntimeError(f"{path} is missing")
    return str(path)


class _Model:
    """One dlib model: loaded on first use (once per process), then called under its own lock."""

    def __init__(self, load: Callable[[], Any]) -> None:
        self._load = load
        self._model: Any = None
        self._loading = threading.Lock()
        self.lock = threading.Lock()

    def get(self) -> Any:
        if self._model is None:
            with self._loading:
                if self._model is None:
                    self._model = self._load()
        return self._model

    def call(self, use: Callable[[Any], _T]) -> _T:
        model = self.get()
        with self.lock:
            return use(model)


_detector = _Model(lambda: dlib.get_frontal_face_detector())
_landmarks = _Model(lambda: dlib.shape_predictor(_model_path("shape_predictor_68_face_landmarks.dat")))
_embedder = _Model(lambda: dlib.face_recognition_model_v1(_model_path("dlib_face_recognition_resnet_model_v1.dat")))
_preloaded = threading.Event()


def preload() -> None:
    """Load the detector and the landmark model in a background thread (about 2 s), once per process, so that the
    first request does not pay for it. The embedding network (videoretalk only) still loads on first use."""
    if _preloaded.is_set():
        return
    _preloaded.set()
    threading.Thread(target=lambda: (_detector.get(), _landmarks.get()), name="face-models", daemon=True).start()


# --------------------------------------------------------------------------------------------------- detection
def _resized(rgb: RGB, scale: float) -> RGB:
    height, width = rgb.shape[:2]
    size = (max(1, round(width * scale)), max(1, round(height * scale)))
    interpolation = cv2.INTER_AREA if scale < 1 else cv2.INTER_LINEAR
    return np.ascontiguousarray(cv2.resize(rgb, size, interpolation=interpolation), dtype=np.uint8)


def _search(image: RGB, upsample: int, min_score: float) -> list[_Found]:
    rects, scores, indices = _detector.call(lambda detector: detector.run(image, upsample, min_score))
    found: list[_Found] = []
    for rect, score, index in zip(rects, scores, indices, strict=True):
        if score >= min_score:
            found.append(((rect.left(), rect.top(), rect.right() + 1, rect.bottom() + 1), float(score), int(index)))
    return found


def find_faces(rgb: RGB, limits: FaceLimits) -> list[Face]:
    """The significant faces of an RGB image, widest first, with their landmarks, in the image's pixels."""
    height, width = rgb.shape[:2]
    if min(height, width) < 16:
        return []
    image = np.ascontiguousarray(rgb, dtype=np.uint8)
    scale = DETECT_SIDE / max(height, width)
    small = _resized(image, scale) if abs(scale - 1) > 1e-3 else image
    found = _search(small, 0, limits.min_score)
    widest = max((rect[2] - rect[0] for rect, _, _ in found), default=0)
    if widest * limits.significant_width < _WINDOW:  # a significant face below the window would have been missed
        found = _search(small, 1, limits.min_score)
    found = [(_unscaled(rect, scale), score, index) for rect, score, index in found]
    floor = _WINDOW / 2 / (scale if small is not image else 1.0)  # the narrowest face the searches above find
    found += _fine_search(image, found, floor, limits)
    faces = [_face(image, rect, score, index) for rect, score, index in found]
    faces.sort(key=lambda face: (face.width, face.score), reverse=True)
    if not faces:
        return []
    return [face for face in faces if face.width >= limits.significant_width * faces[0].width]


def min_face_width(width: int, height: int, limits: FaceLimits) -> float:
    """The narrowest face :func:`find_faces` finds anywhere in a ``width`` x ``height`` image: ``min_face_share`` of
    its shorter side, and never under :data:`MIN_FACE` px of its checked decode (``x-media-budget.decode_max_side``).

    The docs give no smallest face. A face under ``min_face_share`` of the shorter side is not a portrait's subject
    (emo's own proportion rule refuses anything under 0.15), and searching for smaller ones costs seconds per image
    (a 2000 px photo without a face: 0.6 s → 3.8 s). The share keeps the fine search to the images that need it, the
    very wide ones (a 200 px face in a 7000x1000 banner is 1/5 of its height but 23 px once the image is 800 px
    wide); the decode floor is what that decode can show: dlib's window upsampled once (160 px of a 7000 px side)."""
    decode_floor = MIN_FACE * max(1.0, max(width, height) / decode_max_side())
    return max(decode_floor, limits.min_face_share * min(width, height))


def _fine_search(image: RGB, found: list[_Found], floor: float, limits: FaceLimits) -> list[_Found]:
    """The faces narrower than ``floor`` (the whole-image searches' smallest) that could still be significant
    beside ``found``, down to :func:`min_face_width`: searched in overlapping tiles, each scaled so that the
    narrowest face wanted fills dlib's window (the coarsest scale that finds it), one at a time."""
    height, width = image.shape[:2]
    widest = max((rect[2] - rect[0] for rect, _, _ in found), default=0.0)
    smallest = max(min_face_width(width, height, limits), limits.significant_width * widest)
    if smallest >= floor:  # nothing the searches above could have missed
        return []
    zoom = _WINDOW / smallest
    overlap = math.ceil(_OVERLAP * floor)
    side = max(2 * overlap, math.floor(TILE_SIDE / zoom))
    seen: list[_Found] = []
    for y1, y2 in _spans(height, side, overlap):
        for x1, x2 in _spans(width, side, overlap):
            tile = _resized(image[y1:y2, x1:x2], zoom)  # a view of the image, resized: the only copy
            for rect, score, index in _search(tile, 0, limits.min_score):
                box = (x1 + rect[0] / zoom, y1 + rect[1] / zoom, x1 + rect[2] / zoom, y1 + rect[3] / zoom)
                if not _cut(box, (x1, y1, x2, y2), width, height, _EDGE * floor):
                    seen.append((box, score, index))
    kept: list[_Found] = []
    for candidate in sorted(seen, key=lambda item: item[1], reverse=True):  # the best-scored box of each face
        if not any(_same_face(candidate[0], other[0]) for other in [*found, *kept]):  # found: as it was found
            kept.append(candidate)
    return kept


def _spans(length: int, side: int, overlap: int) -> list[tuple[int, int]]:
    """Equal spans of at most ``side`` covering ``0..length``, each overlapping the next by ``overlap``."""
    if length <= side:
        return [(0, length)]
    count = math.ceil((length - overlap) / (side - overlap))
    step = (length - overlap) / count
    return [(round(i * step), min(length, round(i * step + step + overlap))) for i in range(count)]


def _cut(box: _Rect, tile: Box, width: int, height: int, edge: float) -> bool:
    """Whether ``box`` comes within ``edge`` of a side of ``tile`` inside the image: a face the tile may cut, which
    the neighbouring tile holds whole."""
    bx1, by1, bx2, by2 = box
    tx1, ty1, tx2, ty2 = tile
    return (
        (tx1 > 0 and bx1 < tx1 + edge)
        or (ty1 > 0 and by1 < ty1 + edge)
        or (tx2 < width and bx2 > tx2 - edge)
        or (ty2 < height and by2 > ty2 - edge)
    )


def _same_face(a: _Rect, b: _Rect) -> bool:
    """Overlapping boxes (IoU at least :data:`_SAME_FACE_IOU`), or one's centre inside the other."""
    inter = max(0.0, min(a[2], b[2]) - max(a[0], b[0])) * max(0.0, min(a[3], b[3]) - max(a[1], b[1]))
    union = (a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter
    if union > 0 and inter / union >= _SAME_FACE_IOU:
        return True

    def inside(point: tuple[float, float], box: _Rect) -> bool:
        return box[0] <= point[0] < box[2] and box[1] <= point[1] < box[3]

    return inside(((a[0] + a[2]) / 2, (a[1] + a[3]) / 2), b) or inside(((b[0] + b[2]) / 2, (b[1] + b[3]) / 2), a)


def _unscaled(rect: _Rect, scale: float) -> _Rect:
    x1, y1, x2, y2 = (value / scale for value in rect)
    return (x1, y1, x2, y2)


def _face(image: RGB, rect: _Rect, score: float, index: int) -> Face:
    height, width = image.shape[:2]
    x1, y1, x2, y2 = (round(value) for value in rect)
    shape = _landmarks.call(lambda predictor: predictor(image, dlib.rectangle(x1, y1, x2 - 1, y2 - 1)))
    points = np.array([(point.x, point.y) for point in shape.parts()], dtype=np.int64)
    box = (max(0, x1), max(0, y1), min(width, x2), min(height, y2))
    return Face((x1, y1, x2, y2), box, score, index, points)


def detect_faces(rgb: RGB, limits: FaceLimits | None = None) -> list[Box]:
    """The boxes of :func:`find_faces` (``limits``: the face-detect models' calibration by default)."""
    return [face.box for face in find_faces(rgb, limits or face_limits("liveportrait-detect", "image"))]


def face_limits(model: str, input: str) -> FaceLimits:
    """The calibration of ``model``'s ``input`` (``x-limits.models.<model>.<input>.faces``)."""
    spec = input_limits(model, input).get("faces")
    if spec is None:
        raise LookupError(f"x-limits.models.{model}.{input} has no faces calibration")
    return FaceLimits.from_spec(spec)


# -------------------------------------------------------------------------------------------------------- pose
def head_pose(landmarks: NDArray[np.int64] | NDArray[np.float64]) -> tuple[float, float]:
    """``(yaw, roll)`` in degrees from 68 landmarks: roll from the eye line, yaw from the nose tip's place between
    the jaw's ends along it (``asin((left - right) / (left + right))``, a head seen as a cylinder)."""
    points = np.asarray(landmarks, dtype=np.float64)
    left_eye, right_eye = points[LEFT_EYE].mean(axis=0), points[RIGHT_EYE].mean(axis=0)
    dx, dy = right_eye - left_eye
    roll = math.degrees(math.atan2(dy, dx))
    length = math.hypot(dx, dy)
    if length == 0:
        return 0.0, roll
    axis = np.array([dx, dy]) / length
    left = float(np.dot(points[NOSE_TIP] - points[JAW_LEFT], axis))
    right = float(np.dot(points[JAW_RIGHT] - points[NOSE_TIP], axis))
    if left + right <= 0:
        return 90.0, roll
    return math.degrees(math.asin(max(-1.0, min(1.0, (left - right) / (left + right))))), roll


def part_contrasts(grey: NDArray[np.uint8], face: Face) -> dict[str, float]:
    """The grey-level spread of each inner part (eyes, nose, mouth: the box of its landmarks) over that of the face
    (the box of the jaw and brows), for the parts inside the image. A part covered by something flat (a mask, a bar,
    a hand held still) drops towards 0; uncovered parts measure 0.5-1.5."""
    height, width = grey.shape[:2]
    pad = max(1, round(0.01 * face.width))  # at least a 3 px box, even for a small face's eye

    def spread(points: NDArray[np.int64]) -> float | None:
        x1, y1 = points.min(axis=0) - pad
        x2, y2 = points.max(axis=0) + pad + 1
        if x1 < 0 or y1 < 0 or x2 > width or y2 > height:
            return None
        return float(grey[y1:y2, x1:x2].std())

    whole = spread(face.landmarks[:27])
    if whole is None:  # a face cut by the frame: its visible part
        x1, y1, x2, y2 = face.box
        whole = float(grey[y1:y2, x1:x2].std()) if x2 > x1 and y2 > y1 else 0.0
    contrasts: dict[str, float] = {}
    for name, part in {"left_eye": LEFT_EYE, "right_eye": RIGHT_EYE, "nose": NOSE, "mouth": MOUTH}.items():
        value = spread(face.landmarks[part])
        if value is not None:
            contrasts[name] = value / whole if whole > 0 else 0.0
    return contrasts


# ---------------------------------------------------------------------------------------------------- identity
def face_embedding(rgb: RGB, face: Face) -> NDArray[np.float64]:
    """dlib's 128-d embedding of ``face`` (aligned on its landmarks)."""
    x1, y1, x2, y2 = face.rect
    shape = dlib.full_object_detection(
        dlib.rectangle(x1, y1, x2 - 1, y2 - 1), [dlib.point(int(x), int(y)) for x, y in face.landmarks]
    )
    image = np.ascontiguousarray(rgb, dtype=np.uint8)
    vector = _embedder.call(lambda network: network.compute_face_descriptor(image, shape))
    return np.asarray(vector, dtype=np.float64)


def best_match(reference: NDArray[np.float64], frames: Sequence[RGB], limits: FaceLimits) -> float:
    """The smallest embedding distance between ``reference`` and any face of ``frames`` (``inf``: no face)."""
    best = math.inf
    for frame in frames:
        for face in find_faces(frame, limits):
            best = min(best, float(np.linalg.norm(face_embedding(frame, face) - reference)))
    return best


# ---------------------------------------------------------------------------------------------------- geometry
def ratio_of(ratio: str) -> tuple[int, int]:
    """``"3:4"`` → ``(3, 4)`` (width, height)."""
    left, _, right = ratio.partition(":")
    width, height = int(left), int(right)
    if width <= 0 or height <= 0:
        raise ValueError(ratio)
    return width, height


def wanted_ext_size(face: Box, ratio: str) -> tuple[float, float]:
    """The width and height of the dynamic region ``ratio`` asks for around ``face`` before it is fitted."""
    rw, rh = ratio_of(ratio)
    fw, fh = face[2] - face[0], face[3] - face[1]
    if (rw, rh) == (1, 1):
        return HEAD_SCALE * max(fw, fh), HEAD_SCALE * max(fw, fh)
    return HALF_BODY_SCALE * fw, HALF_BODY_SCALE * fw * rh / rw


def ext_bbox(face: Box, ratio: str, width: int, height: int) -> Box:
    """The dynamic region of ``ratio`` (width:height) around ``face``, inside a ``width`` x ``height`` image."""
    rw, rh = ratio_of(ratio)
    fx1, fy1, fx2, fy2 = face
    box_w, box_h = wanted_ext_size(face, ratio)
    cx = (fx1 + fx2) / 2
    cy = (fy1 + fy2) / 2 + 0.15 * (fy2 - fy1) if (rw, rh) == (1, 1) else fy1 - HEADROOM * (fy2 - fy1) + box_h / 2
    # Shrink (keeping the ratio) to fit, in whole multiples of the ratio's terms.
    unit = max(1, math.floor(min(box_w / rw, box_h / rh, width / rw, height / rh)))
    out_w, out_h = unit * rw, unit * rh
    x1 = min(max(0, round(cx - out_w / 2)), width - out_w)
    y1 = min(max(0, round(cy - out_h / 2)), height - out_h)
    return (int(x1), int(y1), int(x1 + out_w), int(y1 + out_h))
