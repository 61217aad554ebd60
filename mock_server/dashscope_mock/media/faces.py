"""Offline face detection (OpenCV's bundled Haar cascade), ``ext_bbox`` geometry and a face-similarity measure.

Decisions (the docs are silent):

- Detection: ``haarcascade_frontalface_default.xml`` from ``cv2.data.haarcascades``, loaded once and used under a
  lock (a ``CascadeClassifier`` is not documented as thread-safe). The image is scaled so its longest side is at most
  :data:`DETECT_MAX_SIDE` and histogram-equalised; ``scaleFactor`` 1.1, ``minNeighbors`` 5, faces of at least 1/20 of
  the shorter side (and 24 px). Boxes are returned in the input image's pixels.
- Counting people: a detection narrower than :data:`SIGNIFICANT_FACE` x the widest one is ignored, so a small false
  positive in the background does not make a portrait "multi person".
- ``ext_bbox``: 1:1 is a square of :data:`HEAD_SCALE` x the face's longer side centred a little below the face centre
  (chin and neck); 3:4 (width:height) is :data:`HALF_BODY_SCALE` x the face width wide, 4/3 as tall, starting
  :data:`HEADROOM` x the face height above the face (head and upper body). A box larger than the image shrinks about
  its centre keeping the ratio; then it is shifted to lie inside the image. Width and height are exact multiples of
  the ratio's terms.
- Similarity (videoretalk's reference face vs. the video's faces): Pearson correlation of 32x32 grey, histogram-
  equalised thumbnails of the two face crops (the inner 80 % of each box), in [-1, 1], maximised over small shifts
  (±8 %) and scales (±8 %) of the video's box because Haar boxes jitter. The same photo, re-encoded, rescaled or
  darkened, scores ≈ 0.85-1; another face, an upside-down face or background ≈ 0-0.45. :data:`MATCH_THRESHOLD`
  (0.6) separates them. It is a mock's deterministic heuristic, not a face recogniser: it checks that the reference
  image shows what the video shows.
"""

from __future__ import annotations

import math
import threading
from collections.abc import Sequence
from typing import Any

import cv2
import numpy as np
from numpy.typing import NDArray

__all__ = [
    "DETECT_MAX_SIDE",
    "MATCH_THRESHOLD",
    "Box",
    "aligned_similarity",
    "best_match",
    "detect_faces",
    "ext_bbox",
    "face_signature",
    "ratio_of",
    "similarity",
]

Box = tuple[int, int, int, int]  # x1, y1, x2, y2 (x2/y2 exclusive: width = x2 - x1)

DETECT_MAX_SIDE = 800
SIGNIFICANT_FACE = 0.4
HEAD_SCALE = 2.2
HALF_BODY_SCALE = 2.6
HEADROOM = 0.6
MATCH_THRESHOLD = 0.6
_THUMB = 32
_ALIGN_SHIFTS = (-0.08, -0.04, 0.0, 0.04, 0.08)
_ALIGN_SCALES = (0.92, 1.0, 1.08)

_cascade: Any = None
_cascade_lock = threading.Lock()


def _classifier() -> Any:
    global _cascade
    if _cascade is None:
        path = str(cv2.data.haarcascades) + "haarcascade_frontalface_default.xml"  # type: ignore[attr-defined]
        classifier = cv2.CascadeClassifier(path)
        if classifier.empty():  # pragma: no cover - opencv-python-headless 4.x always ships it
            raise RuntimeError(f"cannot load the Haar cascade {path}")
        _cascade = classifier
    return _cascade


def _grey(rgb: NDArray[np.uint8]) -> NDArray[np.uint8]:
    if rgb.ndim == 2:
        return rgb
    return np.asarray(cv2.cvtColor(rgb, cv2.COLOR_RGB2GRAY), dtype=np.uint8)


def detect_faces(rgb: NDArray[np.uint8]) -> list[Box]:
    """The significant frontal faces in an RGB (or grey) image, widest first, in the image's pixels."""
    grey = _grey(rgb)
    height, width = grey.shape[:2]
    if min(height, width) < 24:
        return []
    scale = min(1.0, DETECT_MAX_SIDE / max(height, width))
    small = grey
    if scale < 1.0:
        size = (max(1, round(width * scale)), max(1, round(height * scale)))
        small = np.asarray(cv2.resize(grey, size, interpolation=cv2.INTER_AREA), dtype=np.uint8)
    small = np.asarray(cv2.equalizeHist(small), dtype=np.uint8)
    min_side = max(24, round(min(small.shape[:2]) / 20))
    with _cascade_lock:
        classifier = _classifier()
        found = classifier.detectMultiScale(small, scaleFactor=1.1, minNeighbors=5, minSize=(min_side, min_side))
    boxes: list[Box] = []
    for x, y, w, h in np.asarray(found, dtype=np.int64).reshape(-1, 4).tolist():
        x1, y1 = math.floor(x / scale), math.floor(y / scale)
        x2, y2 = min(width, math.ceil((x + w) / scale)), min(height, math.ceil((y + h) / scale))
        boxes.append((x1, y1, x2, y2))
    boxes.sort(key=lambda box: (box[2] - box[0]) * (box[3] - box[1]), reverse=True)
    if not boxes:
        return []
    widest = boxes[0][2] - boxes[0][0]
    return [box for box in boxes if box[2] - box[0] >= SIGNIFICANT_FACE * widest]


def ratio_of(ratio: str) -> tuple[int, int]:
    """``"3:4"`` → ``(3, 4)`` (width, height)."""
    left, _, right = ratio.partition(":")
    width, height = int(left), int(right)
    if width <= 0 or height <= 0:
        raise ValueError(ratio)
    return width, height


def ext_bbox(face: Box, ratio: str, width: int, height: int) -> Box:
    """The dynamic region of ``ratio`` (width:height) around ``face``, inside a ``width`` x ``height`` image."""
    rw, rh = ratio_of(ratio)
    fx1, fy1, fx2, fy2 = face
    fw, fh = fx2 - fx1, fy2 - fy1
    cx = (fx1 + fx2) / 2
    if (rw, rh) == (1, 1):
        box_w = HEAD_SCALE * max(fw, fh)
        box_h = box_w
        cy = (fy1 + fy2) / 2 + 0.15 * fh
    else:
        box_w = HALF_BODY_SCALE * fw
        box_h = box_w * rh / rw
        cy = fy1 - HEADROOM * fh + box_h / 2
    # Shrink (keeping the ratio) to fit, in whole multiples of the ratio's terms.
    unit = min(box_w / rw, box_h / rh, width / rw, height / rh)
    unit = max(1, math.floor(unit))
    box_w, box_h = unit * rw, unit * rh
    x1 = round(cx - box_w / 2)
    y1 = round(cy - box_h / 2)
    x1 = min(max(0, x1), width - box_w)
    y1 = min(max(0, y1), height - box_h)
    return (int(x1), int(y1), int(x1 + box_w), int(y1 + box_h))


def face_signature(rgb: NDArray[np.uint8], face: Box) -> NDArray[np.float64]:
    """A 32x32 grey, equalised, zero-mean unit-norm thumbnail of the face crop (the inner 80 % of the box)."""
    x1, y1, x2, y2 = face
    inset_x, inset_y = (x2 - x1) // 10, (y2 - y1) // 10
    crop = _grey(rgb)[y1 + inset_y : y2 - inset_y, x1 + inset_x : x2 - inset_x]
    if crop.size == 0:
        return np.zeros(_THUMB * _THUMB)
    thumb = cv2.equalizeHist(cv2.resize(crop, (_THUMB, _THUMB), interpolation=cv2.INTER_AREA))
    vector = thumb.astype(np.float64).ravel()
    vector -= vector.mean()
    norm = float(np.linalg.norm(vector))
    result: NDArray[np.float64] = vector / norm if norm > 0 else vector
    return result


def similarity(a: NDArray[np.float64], b: NDArray[np.float64]) -> float:
    """Pearson correlation of two signatures, in [-1, 1]."""
    return float(np.clip(np.dot(a, b), -1.0, 1.0))


def aligned_similarity(reference: NDArray[np.float64], rgb: NDArray[np.uint8], face: Box) -> float:
    """The best :func:`similarity` over small shifts and scales of ``face`` (Haar boxes jitter by a few percent)."""
    x1, y1, x2, y2 = face
    width, height = x2 - x1, y2 - y1
    image_h, image_w = rgb.shape[:2]
    best = -1.0
    for scale in _ALIGN_SCALES:
        w, h = width * scale, height * scale
        for dx in _ALIGN_SHIFTS:
            for dy in _ALIGN_SHIFTS:
                cx, cy = (x1 + x2) / 2 + dx * width, (y1 + y2) / 2 + dy * height
                box = (
                    max(0, round(cx - w / 2)),
                    max(0, round(cy - h / 2)),
                    min(image_w, round(cx + w / 2)),
                    min(image_h, round(cy + h / 2)),
                )
                if box[2] - box[0] >= 8 and box[3] - box[1] >= 8:
                    best = max(best, similarity(reference, face_signature(rgb, box)))
    return best


def best_match(reference: NDArray[np.float64], frames: Sequence[NDArray[np.uint8]]) -> float:
    """The best aligned similarity between ``reference`` and any face found in ``frames`` (-1: no face found)."""
    best = -1.0
    for frame in frames:
        for face in detect_faces(frame):
            best = max(best, aligned_similarity(reference, frame, face))
    return best
