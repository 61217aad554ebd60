"""The Haar face detector, ext_bbox geometry, face similarity and both face-detect answers."""

from __future__ import annotations

import threading
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from PIL import Image

from dashscope_mock.media import MediaFailure, detect_faces, ext_bbox
from dashscope_mock.media.faces import (
    MATCH_THRESHOLD,
    aligned_similarity,
    best_match,
    face_signature,
    ratio_of,
    similarity,
)
from dashscope_openapi import error_catalogue

from . import factory
from .conftest import FileServer
from .harness import ModelMedia


def test_the_fixture_has_exactly_one_face() -> None:
    faces = detect_faces(factory.face_rgb())
    assert len(faces) == 1
    x1, y1, x2, y2 = faces[0]
    assert 120 <= x1 <= 180 and 80 <= y1 <= 130 and 350 <= x2 <= 410 and 300 <= y2 <= 360


def test_no_face_in_a_gradient_and_two_in_a_pair() -> None:
    assert detect_faces(factory.blank(800, 600)) == []
    pair = factory.canvas(1100, 620, (10, 10), (560, 10))
    assert len(detect_faces(pair)) == 2


def test_detection_is_thread_safe_and_deterministic() -> None:
    image = factory.face_rgb()
    expected = detect_faces(image)
    results: list[object] = []

    def run() -> None:
        for _ in range(3):
            results.append(detect_faces(image))

    threads = [threading.Thread(target=run) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert results == [expected] * 12


def test_boxes_are_in_the_input_pixels_even_when_detection_downscales() -> None:
    small = detect_faces(factory.face_rgb())[0]
    big = detect_faces(factory.canvas(1700, 1300, (0, 0), scale=2.0))[0]
    for a, b in zip(small, big, strict=True):
        assert abs(2 * a - b) <= 30


@settings(max_examples=200, deadline=None)
@given(
    ratio=st.sampled_from(["1:1", "3:4"]),
    width=st.integers(400, 3000),
    height=st.integers(400, 3000),
    data=st.data(),
)
def test_ext_bbox_has_the_ratio_and_stays_inside(ratio: str, width: int, height: int, data: st.DataObject) -> None:
    fw = data.draw(st.integers(20, min(width, height) - 1))
    fh = data.draw(st.integers(20, min(width, height) - 1))
    x1 = data.draw(st.integers(0, width - fw))
    y1 = data.draw(st.integers(0, height - fh))
    box = ext_bbox((x1, y1, x1 + fw, y1 + fh), ratio, width, height)
    bx1, by1, bx2, by2 = box
    rw, rh = ratio_of(ratio)
    assert 0 <= bx1 < bx2 <= width and 0 <= by1 < by2 <= height
    assert (bx2 - bx1) * rh == (by2 - by1) * rw


def test_ext_bbox_surrounds_the_face_when_there_is_room() -> None:
    face = (900, 700, 1100, 900)
    head = ext_bbox(face, "1:1", 3000, 3000)
    assert head[2] - head[0] == pytest.approx(2.2 * 200, abs=2)
    body = ext_bbox(face, "3:4", 3000, 3000)
    assert body[0] < face[0] and body[1] < face[1] and body[2] > face[2] and body[3] > face[3]
    assert body[3] - face[3] > face[1] - body[1]  # more below (the upper body) than above


def test_similarity_tells_the_face_from_other_things() -> None:
    image = factory.face_rgb()
    face = detect_faces(image)[0]
    reference = face_signature(image, face)
    assert similarity(reference, reference) == pytest.approx(1.0)
    darker = (image * 0.7).astype(np.uint8)
    assert similarity(reference, face_signature(darker, detect_faces(darker)[0])) > 0.9
    upside_down = np.ascontiguousarray(image[::-1])
    flipped_box = (face[0], 600 - face[3], face[2], 600 - face[1])
    assert similarity(reference, face_signature(upside_down, flipped_box)) < MATCH_THRESHOLD
    for box in [(0, 0, 150, 150), (300, 420, 480, 600)]:
        assert similarity(reference, face_signature(image, box)) < MATCH_THRESHOLD
        assert aligned_similarity(reference, image, box) < MATCH_THRESHOLD


def test_matching_tolerates_the_detectors_jitter_in_a_rescaled_video_frame() -> None:
    image = factory.face_rgb()
    reference = face_signature(image, detect_faces(image)[0])
    frame = factory.canvas(640, 704, (64, 52))
    shrunk = np.asarray(Image.fromarray(frame).resize((582, 640)), dtype=np.uint8)  # boxes land elsewhere
    assert best_match(reference, [shrunk]) > 0.8
    upside_down = np.ascontiguousarray(image[::-1])
    assert detect_faces(upside_down)  # the cascade "finds" a face…
    assert best_match(reference, [upside_down]) < MATCH_THRESHOLD  # …that is not hers
    assert best_match(reference, [factory.blank(640, 704)]) == -1.0


# ------------------------------------------------------------------------------------------------ face-detect
@pytest.mark.parametrize("ratio", ["1:1", "3:4"])
async def test_emo_detect_passes_the_portrait_with_boxes_of_the_ratio(
    pipeline: ModelMedia, http_server: FileServer, ratio: str
) -> None:
    http_server.files["p.jpg"] = factory.image_bytes(factory.canvas(900, 1000, (194, 150)), "JPEG")
    answer = await pipeline.detect("emo-detect-v1", http_server.url("p.jpg"), ratio)
    assert isinstance(answer, dict)
    output = answer["output"]
    assert output["check_pass"] is True
    assert answer["usage"] == {"image_count": 1}
    fx1, fy1, fx2, fy2 = output["face_bbox"]
    ex1, ey1, ex2, ey2 = output["ext_bbox"]
    rw, rh = ratio_of(ratio)
    assert (ex2 - ex1) * rh == (ey2 - ey1) * rw
    assert 0 <= ex1 <= fx1 < fx2 <= ex2 <= 900 and 0 <= ey1 <= fy1 < fy2 <= ey2 <= 1000
    assert all(isinstance(value, int) for value in output["face_bbox"] + output["ext_bbox"])


@pytest.mark.parametrize(
    ("picture", "code"),
    [
        (lambda: factory.blank(800, 800), "InvalidFile.NoHuman"),
        (lambda: factory.canvas(1100, 620, (10, 10), (560, 10)), "InvalidFile.MultiHuman"),
        (lambda: factory.face_rgb()[:, :390], "InvalidFile.Resolution"),
    ],
)
async def test_emo_detect_failed_checks_are_answers_not_errors(
    pipeline: ModelMedia, http_server: FileServer, picture: object, code: str
) -> None:
    http_server.files["p.png"] = factory.image_bytes(picture(), "PNG")  # type: ignore[operator]
    answer = await pipeline.detect("emo-detect-v1", http_server.url("p.png"), "1:1")
    assert isinstance(answer, dict)
    entry = error_catalogue().find(code, model="emo-detect-v1", stages=["detect"])
    assert entry is not None
    assert answer == {
        "output": {"check_pass": False, "code": code, "message": entry.message},
        "usage": {"image_count": 1},
    }


async def test_liveportrait_detect(pipeline: ModelMedia, http_server: FileServer) -> None:
    http_server.files["face.jpg"] = factory.FACE_JPG.read_bytes()
    http_server.files["none.png"] = factory.image_bytes(factory.blank(600, 600), "PNG")
    http_server.files["wide.png"] = factory.image_bytes(factory.blank(1300, 600), "PNG")
    assert await pipeline.detect("liveportrait-detect", http_server.url("face.jpg")) == {"output": {"pass": True}}
    assert await pipeline.detect("liveportrait-detect", http_server.url("none.png")) == {
        "output": {"pass": False, "message": "No human face detected."}
    }
    assert await pipeline.detect("liveportrait-detect", http_server.url("wide.png")) == {
        "output": {"pass": False, "message": "The size of image is beyond limit."}
    }


@pytest.mark.parametrize("model", ["liveportrait-detect", "emo-detect-v1"])
async def test_an_undownloadable_image_is_a_failed_request(
    pipeline: ModelMedia, http_server: FileServer, model: str
) -> None:
    answer = await pipeline.detect(model, f"{http_server.base}/status/404", "1:1")
    assert isinstance(answer, MediaFailure)
    assert (answer.code, answer.reason, answer.status) == ("InvalidURL", "detect_download", 400)
    assert answer.message == "Invalid URL provided in your request."


async def test_detect_leaves_no_files_behind(tmp_path: Path, http_server: FileServer) -> None:
    pipeline = ModelMedia(work_root=tmp_path / "work")
    http_server.files["face.jpg"] = factory.FACE_JPG.read_bytes()
    await pipeline.detect("liveportrait-detect", http_server.url("face.jpg"))
    assert list((tmp_path / "work").iterdir()) == []
