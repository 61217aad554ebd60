"""The face checks of a portrait (emo-v1, liveportrait, their face-detect models, videoretalk's reference image).

One function, :func:`portrait_face`, serves a model's task and its face-detect model alike, so both judge an image
the same way. It runs a check only when the input's ``errors`` map (``x-limits.models.<model>.<input>``) names a code
for its kind: what each model documents decides what it checks. The thresholds are the spec's
(``faces``/``face_proportion``, the mock's calibration: docs/FACES.md).

Order (the first failing check is reported): ``dark`` (the face, or the whole image when no face is found, darker
than ``min_luma``), ``no_face``, ``many_faces``, ``face_cut`` (landmarks outside the frame), ``face_occluded`` (an
eye, the nose or the mouth flat), ``face_pose`` (yaw or roll too large), then with a ratio ``full_body`` (3:4 with
no room for the body below the face) and ``proportion`` (the face too small in the image or too large for the
ratio's region).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import cv2
import numpy as np
from numpy.typing import NDArray

from .errors import FailureKind, failure, input_limits
from .faces import Face, FaceLimits, ext_bbox, find_faces, head_pose, part_contrasts

__all__ = ["FaceReport", "portrait_face"]

RGB = NDArray[np.uint8]


class FaceReport:
    """What the checks measured (for logs and docs/FACES.md); ``failed`` is the first failing kind or ``None``."""

    def __init__(self) -> None:
        self.values: dict[str, Any] = {}
        self.failed: FailureKind | None = None
        self.detail = ""


def _grey(rgb: RGB) -> NDArray[np.uint8]:
    return np.asarray(cv2.cvtColor(np.ascontiguousarray(rgb), cv2.COLOR_RGB2GRAY), dtype=np.uint8)


def measure(
    rgb: RGB, spec: Mapping[str, Any], *, ratio: str | None = None, allow_many: bool = False
) -> tuple[list[Face], FaceReport]:
    """Run the checks the input's ``errors`` map names on ``rgb``; never raises for the image's content."""
    checked = set(spec.get("errors", {}))
    limits = FaceLimits.from_spec(spec["faces"])
    faces = find_faces(rgb, limits)
    report = FaceReport()
    height, width = rgb.shape[:2]
    grey = _grey(rgb)

    def fail(kind: FailureKind, detail: str) -> tuple[list[Face], FaceReport]:
        if kind in checked and report.failed is None:
            report.failed, report.detail = kind, detail
        return faces, report

    region = grey
    if faces:
        x1, y1, x2, y2 = faces[0].box
        region = grey[y1:y2, x1:x2]
    luma = float(region.mean()) if region.size else 0.0
    report.values.update(faces=len(faces), luma=round(luma, 1))
    if luma < limits.min_luma:
        fail("dark", f"mean luma {luma:.0f} of the {'face' if faces else 'image'}")
    if not faces:
        return fail("no_face", "no face detected")
    if len(faces) > 1 and not allow_many:
        fail("many_faces", f"{len(faces)} faces detected")
    face = faces[0]
    outside = face.landmarks_outside(width, height)
    contrasts = part_contrasts(grey, face)
    yaw, roll = head_pose(face.landmarks)
    report.values.update(
        score=round(face.score, 2),
        sub_detector=face.sub_detector,
        outside=outside,
        contrast=round(min(contrasts.values(), default=0.0), 2),
        yaw=round(yaw),
        roll=round(roll),
        share=round(face.width / min(width, height), 3),
    )
    if outside > limits.max_outside_landmarks:
        fail("face_cut", f"{outside} of 68 landmarks outside the image")
    flat = {name: value for name, value in contrasts.items() if value < limits.min_part_contrast}
    if flat:
        fail("face_occluded", f"covered: {', '.join(sorted(flat))}")
    if abs(yaw) > limits.max_yaw_degrees or abs(roll) > limits.max_roll_degrees:
        fail("face_pose", f"yaw {yaw:.0f}°, roll {roll:.0f}°")
    proportion: Mapping[str, Any] | None = spec.get("face_proportion", {}).get(ratio) if ratio else None
    if ratio and proportion:
        _proportion(face, ratio, proportion, (width, height), report, fail)
    return faces, report


def _proportion(
    face: Face,
    ratio: str,
    limits: Mapping[str, Any],
    size: tuple[int, int],
    report: FaceReport,
    fail: Callable[[FailureKind, str], object],
) -> None:
    width, height = size
    below = (height - face.rect[3]) / max(1, face.height)
    ext = ext_bbox(face.box, ratio, width, height)
    fill = face.width / max(1, ext[2] - ext[0])
    share = face.width / min(width, height)
    report.values.update(room_below=round(below, 2), fill=round(fill, 2))
    if "min_room_below" in limits and below < float(limits["min_room_below"]):
        fail("full_body", f"{below:.2f} face heights below the face for {ratio}")
    if share < float(limits["min_face_share"]):
        fail("proportion", f"face {share:.3f} of the shorter side, too small")
    if fill > float(limits["max_face_fill"]):
        fail("proportion", f"face {fill:.2f} of the {ratio} region's width, too large")


def portrait_face(
    model: str, input: str, rgb: RGB, *, ratio: str | None = None, allow_many: bool = False, url: str = ""
) -> Face:
    """The face of a portrait after the checks ``model``'s ``input`` documents (the widest face when several are
    allowed); raises the :class:`MediaFailure` of the first failing check."""
    spec = input_limits(model, input)
    faces, report = measure(rgb, spec, ratio=ratio, allow_many=allow_many)
    if report.failed is not None:
        raise failure(model, input, report.failed, url=url, detail=f"{report.detail} {report.values}")
    if not faces:  # an input that maps no `no_face` code still needs a face to work on
        raise failure(model, input, "no_face", url=url, detail="no face detected")
    return faces[0]
