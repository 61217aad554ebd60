"""Faces in images of the documented maximum size (issue 21).

emo-detect-v1 documents images of 400 to 7000 px a side (``x-limits.models.emo-detect-v1.image``). A face of the
smallest size the detector looks for (``faces.min_face_width``: a tenth of the shorter side, and at least 40 px of
the checked decode) must be found wherever it sits: a 200 px face in a 7000x1000 banner at the edges, in the middle
and where the tiles of the fine search meet (the decoded 1750 px row is searched in two tiles that overlap around its
middle); 700 px faces anywhere in a 7000x7000 image. The images go through the decode the checks do (reduced to
``x-media-budget.decode_max_side``) and through the face-detect endpoint.
"""

from __future__ import annotations

import functools
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from numpy.typing import NDArray
from PIL import Image

from dashscope_mock.media import check_image, find_faces
from dashscope_mock.media.faces import Box, face_limits
from dashscope_mock.testing import MockDashScope, async_mock_dashscope

from . import factory, photos
from .conftest import FileServer

MODEL = "emo-detect-v1"
LIMITS = face_limits(MODEL, "image")
FACE_WIDTH = 200
DETECT_PATH = "/api/v1/services/aigc/image2video/face-detect"
RGB = NDArray[np.uint8]


@functools.cache
def portrait(face_width: int = FACE_WIDTH) -> tuple[RGB, Box]:
    """Hopper's photo scaled so that her face is ``face_width`` px wide, cropped to the face with half a face of
    margin each side (more below: the chin and collar), and the face's box in that crop."""
    photo = factory.face_rgb()
    (face,) = find_faces(photo, LIMITS)
    scaled = photos.resize(photo, face_width / face.width)
    (face,) = find_faces(scaled, LIMITS)
    x1, y1, x2, y2 = face.box
    margin = face_width // 2
    left, top = max(0, x1 - margin), max(0, y1 - margin)
    crop = photos.crop(scaled, left, top, min(scaled.shape[1], x2 + margin), min(scaled.shape[0], y2 + 2 * margin))
    return crop, (x1 - left, y1 - top, x2 - left, y2 - top)


def canvas_jpeg(
    width: int, height: int, places: list[tuple[int, int]], face_width: int = FACE_WIDTH
) -> tuple[bytes, list[Box]]:
    """A grey ``width`` x ``height`` JPEG with the portrait's face centred at each place; the faces' boxes."""
    crop, (fx1, fy1, fx2, fy2) = portrait(face_width)
    picture = Image.fromarray(crop)
    boxes: list[Box] = []
    with Image.new("RGB", (width, height), (128, 128, 128)) as image:
        for cx, cy in places:
            x = min(max(0, cx - (fx1 + fx2) // 2), width - crop.shape[1])
            y = min(max(0, cy - (fy1 + fy2) // 2), height - crop.shape[0])
            image.paste(picture, (x, y))
            boxes.append((x + fx1, y + fy1, x + fx2, y + fy2))
        return photos.encode(image), boxes


def iou(a: Box, b: Box) -> float:
    width = min(a[2], b[2]) - max(a[0], b[0])
    height = min(a[3], b[3]) - max(a[1], b[1])
    inter = max(0, width) * max(0, height)
    union = (a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter
    return inter / union if union else 0.0


def assert_found(found: list[Box], expected: list[Box]) -> None:
    """Each expected face found once, where it is (boxes of the original image's pixels)."""
    assert len(found) == len(expected), (found, expected)
    for box in expected:
        matches = [other for other in found if iou(box, other) >= 0.6]
        assert len(matches) == 1, (box, found)


def faces_in(tmp_path: Path, data: bytes) -> list[Box]:
    """The faces of an image file as the face checks see it: the checked decode, boxes back in the file's pixels."""
    path = tmp_path / "large.jpg"
    path.write_bytes(data)
    image = check_image(MODEL, "image", path)
    assert max(image.rgb.shape[:2]) < max(image.width, image.height)  # searched in a reduced decode
    return [image.to_image(face.box) for face in find_faces(image.rgb, LIMITS)]


# ------------------------------------------------------------------------------------------------ 7000x1000
# Face centres along the row: both edges, and every 150 px around the middle, where the two tiles of the fine
# search overlap (so some faces lie in both tiles, some are cut by one tile's edge and whole in the other).
ROW = [
    pytest.param(110, id="left-edge"),
    *(pytest.param(x, id=f"middle-{x}") for x in range(3050, 3951, 150)),
    pytest.param(6890, id="right-edge"),
]


@pytest.mark.parametrize("x", ROW)
def test_a_200px_face_is_found_anywhere_in_a_7000x1000_image(tmp_path: Path, x: int) -> None:
    data, expected = canvas_jpeg(7000, 1000, [(x, 500)])
    assert_found(faces_in(tmp_path, data), expected)


def test_a_full_resolution_7000x1000_array_is_searched_as_its_decode_would_be() -> None:
    """A caller may hand the detector an image larger than any decode: it is searched for the faces its decode
    would show, at the same bounded cost."""
    crop, (fx1, fy1, fx2, fy2) = portrait()
    rgb = photos.paste(photos.grey_canvas(7000, 1000), crop, 4000, 300)
    (face,) = find_faces(rgb, LIMITS)
    assert iou(face.box, (4000 + fx1, 300 + fy1, 4000 + fx2, 300 + fy2)) >= 0.6


# ------------------------------------------------------------------------------------------------ 7000x7000
def test_faces_of_a_tenth_of_the_side_are_found_anywhere_in_a_7000x7000_image(tmp_path: Path) -> None:
    """One image, five 700 px faces: two corners, the middle, the top edge and the left edge. Each is found once."""
    places = [(700, 900), (6300, 6000), (3500, 3500), (3500, 900), (700, 3600)]
    data, expected = canvas_jpeg(7000, 7000, places, face_width=700)
    assert_found(faces_in(tmp_path, data), expected)


# ------------------------------------------------------------------------------------------------ face-detect
async def detect(mock: MockDashScope, url: str, ratio: str) -> dict[str, Any]:
    headers = {k: v for k, v in mock.headers.items() if k.lower() != "x-dashscope-async"}  # face-detect is sync
    body = {"model": MODEL, "input": {"image_url": url}, "parameters": {"ratio": ratio}}
    async with mock.async_client(headers=headers) as client:
        answer = await client.post(DETECT_PATH, json=body)
    assert answer.status_code == 200, answer.text
    result: dict[str, Any] = answer.json()
    return result


@pytest.mark.parametrize("ratio", ["1:1", "3:4"])
async def test_face_detect_passes_a_7000x1000_portrait_with_a_200px_face(http_server: FileServer, ratio: str) -> None:
    data, (expected,) = canvas_jpeg(7000, 1000, [(5200, 380)])
    http_server.files["wide.jpg"] = data
    async with async_mock_dashscope(media_checks=True, rate_limit=False) as mock:
        output = (await detect(mock, http_server.url("wide.jpg"), ratio))["output"]
    assert output["check_pass"] is True, output
    x1, y1, x2, y2 = output["face_bbox"]
    face = (x1, y1, x2, y2)
    assert iou(face, expected) >= 0.6, (face, expected)
    ex1, ey1, ex2, ey2 = output["ext_bbox"]
    assert 0 <= ex1 <= face[0] < face[2] <= ex2 <= 7000 and 0 <= ey1 <= face[1] < face[3] <= ey2 <= 1000


async def test_face_detect_finds_a_700px_face_in_a_7000x7000_image(http_server: FileServer) -> None:
    """Found, then judged: 700 px is under emo's proportion rule (0.15 of the shorter side), not "no human"."""
    data, _ = canvas_jpeg(7000, 7000, [(2000, 5000)], face_width=700)
    http_server.files["large.jpg"] = data
    async with async_mock_dashscope(media_checks=True, rate_limit=False) as mock:
        output = (await detect(mock, http_server.url("large.jpg"), "1:1"))["output"]
    assert (output["check_pass"], output["code"]) == (False, "InvalidFile.BodyProportion"), output
