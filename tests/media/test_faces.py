"""The dlib face analysis: detection, landmarks and pose, the face checks' rules, embeddings, ext_bbox geometry,
EXIF orientation and both face-detect answers. The labelled photographs run end to end in ``test_photos``."""

from __future__ import annotations

import math
import threading
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from PIL import Image

from dashscope_mock.media import MediaFailure, check_image, detect_faces, ext_bbox, find_faces, portrait_face
from dashscope_mock.media import portrait as portrait_module
from dashscope_mock.media.faces import Face, best_match, face_embedding, face_limits, head_pose, ratio_of
from dashscope_openapi import error_catalogue, model_limits

from . import factory, photos
from .conftest import FileServer
from .harness import ModelMedia

LIMITS = face_limits("emo-detect-v1", "image")


def the_face(rgb: np.ndarray) -> Face:  # type: ignore[type-arg]
    faces = find_faces(rgb, LIMITS)
    assert len(faces) == 1, faces
    return faces[0]


def test_the_fixture_has_exactly_one_face() -> None:
    faces = detect_faces(factory.face_rgb())
    assert len(faces) == 1
    x1, y1, x2, y2 = faces[0]
    assert 150 <= x1 <= 195 and 105 <= y1 <= 150 and 350 <= x2 <= 395 and 305 <= y2 <= 350


def test_no_face_in_a_gradient_and_two_in_a_pair() -> None:
    assert detect_faces(factory.blank(800, 600)) == []
    pair = factory.canvas(1100, 620, (10, 10), (560, 10))
    assert len(detect_faces(pair)) == 2


def test_every_spec_input_with_face_checks_shares_one_calibration() -> None:
    """A face-detect model and its video model judge alike: one ``faces`` block (a YAML anchor) for every input."""
    blocks = [
        model_limits(model)[input]["faces"]
        for model, input in [
            ("liveportrait", "image"),
            ("liveportrait-detect", "image"),
            ("emo-v1", "image"),
            ("emo-detect-v1", "image"),
            ("videoretalk", "ref_image"),
        ]
    ]
    assert all(block == blocks[0] for block in blocks)
    assert (
        model_limits("emo-v1")["image"]["face_proportion"] == model_limits("emo-detect-v1")["image"]["face_proportion"]
    )
    face_kinds = {"no_face", "dark", "face_cut", "face_occluded", "face_pose", "proportion", "full_body"}
    for model, detector in [("liveportrait", "liveportrait-detect"), ("emo-v1", "emo-detect-v1")]:
        task, detect = (set(model_limits(name)["image"]["errors"]) & face_kinds for name in (model, detector))
        assert task == detect  # the same checks, answered in each model's own codes


def test_detection_is_thread_safe_and_deterministic() -> None:
    image = factory.face_rgb()
    expected = detect_faces(image)
    results: list[object] = []

    def run() -> None:
        for _ in range(2):
            results.append(detect_faces(image))

    threads = [threading.Thread(target=run) for _ in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert results == [expected] * 6


def test_boxes_and_landmarks_are_in_the_input_pixels_whatever_the_detection_scale() -> None:
    small = the_face(factory.face_rgb())
    big = the_face(factory.canvas(1700, 1300, (0, 0), scale=2.0))  # searched at 800 px: scaled back
    for a, b in zip(small.box, big.box, strict=True):
        assert abs(2 * a - b) <= 20
    assert np.abs(2 * small.landmarks - big.landmarks).mean() < 6


def test_a_small_face_is_found_by_the_upsampled_second_search() -> None:
    frame = photos.paste(photos.grey_canvas(1600, 1200), photos.resize(factory.face_rgb(), 0.45), 700, 500)
    face = the_face(frame)  # about 90 px wide: 45 px at the 800 px search scale
    assert 80 <= face.width <= 120


def test_a_face_cut_by_the_frame_keeps_its_landmarks_outside() -> None:
    face = the_face(photos.load("obama_partial_face"))
    assert face.rect[0] < 0 == face.box[0]  # dlib's box reaches past the edge, the reported one is clipped
    assert face.landmarks_outside(432, 1000) > LIMITS.max_outside_landmarks


# ------------------------------------------------------------------------------------------------ pose
def _rotate(points: np.ndarray, degrees: float) -> np.ndarray:  # type: ignore[type-arg]
    angle = math.radians(degrees)
    centre = points.mean(axis=0)
    turn = np.array([[math.cos(angle), -math.sin(angle)], [math.sin(angle), math.cos(angle)]])
    result: np.ndarray = (points - centre) @ turn.T + centre  # type: ignore[type-arg]
    return result


def test_head_pose_reads_roll_from_the_eye_line_and_yaw_from_the_nose() -> None:
    landmarks = the_face(factory.face_rgb()).landmarks.astype(np.float64)
    yaw, roll = head_pose(landmarks)
    assert abs(yaw) < 8 and abs(roll) < 5
    for degrees in (-40, -20, 15, 30):
        assert head_pose(_rotate(landmarks, degrees))[1] == pytest.approx(roll + degrees, abs=0.5)
        assert head_pose(_rotate(landmarks, degrees))[0] == pytest.approx(yaw, abs=0.5)  # yaw ignores the tilt
    jaw_width = landmarks[16, 0] - landmarks[0, 0]
    turned = landmarks.copy()
    turned[27:36, 0] += 0.35 * jaw_width  # the nose (and so the face's centre line) towards one side: a turned head
    assert head_pose(turned)[0] > LIMITS.max_yaw_degrees
    turned[27:36, 0] -= 0.7 * jaw_width
    assert head_pose(turned)[0] < -LIMITS.max_yaw_degrees


def _with_landmarks(face: Face, landmarks: np.ndarray) -> Face:  # type: ignore[type-arg]
    return Face(face.rect, face.box, face.score, face.sub_detector, landmarks.astype(np.int64))


@pytest.mark.parametrize(
    ("model", "code"), [("emo-detect-v1", "InvalidFile.FacePose"), ("liveportrait-detect", "InvalidImage.NoHumanFace")]
)
def test_a_turned_head_fails_face_pose(monkeypatch: pytest.MonkeyPatch, model: str, code: str) -> None:
    """No labelled photo has a head turned far enough that dlib still finds it, so the rule is fed landmarks."""
    rgb = factory.face_rgb()
    face = the_face(rgb)
    turned = face.landmarks.copy()
    turned[27:36, 0] += round(0.3 * (turned[16, 0] - turned[0, 0]))
    monkeypatch.setattr(portrait_module, "find_faces", lambda image, limits: [_with_landmarks(face, turned)])
    with pytest.raises(MediaFailure) as caught:
        portrait_face(model, "image", rgb, ratio="1:1" if model.startswith("emo") else None)
    assert (caught.value.code, caught.value.kind) == (code, "face_pose")


def test_the_reference_image_of_videoretalk_is_only_counted() -> None:
    """videoretalk documents no pose, light or occlusion code for its reference image: only one face is asked for."""
    dark = photos.darkened(photos.load("hopper"), 0.25)
    assert portrait_face("videoretalk", "ref_image", dark).width > 150
    with pytest.raises(MediaFailure) as caught:
        portrait_face("emo-v1", "image", dark, ratio="1:1")
    assert caught.value.code == "InvalidFile.Value"
    pair = photos.side_by_side(photos.load("hopper"), photos.resize(photos.load("astronaut"), 1.6))
    with pytest.raises(MediaFailure) as caught:
        portrait_face("videoretalk", "ref_image", pair)
    assert (caught.value.code, caught.value.reason) == ("InvalidFile.Content", "person_count")


# ------------------------------------------------------------------------------------------------ identity
def embedding(name: str) -> np.ndarray:  # type: ignore[type-arg]
    rgb = photos.load(name)
    return face_embedding(rgb, the_face(rgb))


def test_embeddings_tell_people_apart_and_find_one_person_in_two_photos() -> None:
    threshold = float(model_limits("videoretalk")["ref_image"]["max_match_distance"])
    people = {name: embedding(name) for name in ("hopper", "astronaut", "obama", "obama2", "biden")}
    same = float(np.linalg.norm(people["obama"] - people["obama2"]))  # two photos, years apart
    assert same < threshold
    for a, b in [("hopper", "astronaut"), ("hopper", "obama"), ("obama", "biden"), ("astronaut", "biden")]:
        assert float(np.linalg.norm(people[a] - people[b])) > threshold, (a, b)
    dim = photos.darkened(photos.load("hopper"), 0.6)
    assert float(np.linalg.norm(face_embedding(dim, the_face(dim)) - people["hopper"])) < 0.2


def test_best_match_searches_every_face_of_every_frame() -> None:
    reference = embedding("obama")
    frame = photos.side_by_side(photos.load("hopper"), photos.resize(photos.load("obama2"), 0.75))
    assert best_match(reference, [factory.blank(640, 704), frame], LIMITS) < 0.6
    assert best_match(reference, [photos.load("hopper")], LIMITS) > 0.6
    assert best_match(reference, [factory.blank(640, 704)], LIMITS) == math.inf


# ------------------------------------------------------------------------------------------------ geometry
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


# ------------------------------------------------------------------------------------------------ EXIF
@pytest.mark.parametrize("orientation", [3, 6, 8])
def test_images_are_seen_upright(tmp_path: Path, orientation: int) -> None:
    upright = photos.load("hopper")
    path = tmp_path / "turned.jpg"
    path.write_bytes(photos.exif_rotated(upright, orientation))
    with Image.open(path) as stored:
        assert stored.size == ((512, 600) if orientation == 3 else (600, 512))
    checked = check_image("emo-v1", "image", path)
    assert (checked.width, checked.height) == (512, 600) and checked.rgb.shape == (600, 512, 3)
    assert np.abs(checked.rgb.astype(int) - upright.astype(int)).mean() < 4  # the same picture, re-encoded once
    assert portrait_face("emo-v1", "image", checked.rgb, ratio="1:1").box == the_face(upright).box


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
        (lambda: photos.darkened(factory.face_rgb(), 0.1), "InvalidFile.Value"),
        (lambda: photos.rotated(factory.face_rgb(), 35), "InvalidFile.FacePose"),
    ],
)
async def test_emo_detect_failed_checks_are_answers_not_errors(
    pipeline: ModelMedia, http_server: FileServer, picture: object, code: str
) -> None:
    http_server.files["p.png"] = factory.image_bytes(picture(), "PNG")  # type: ignore[operator]
    answer = await pipeline.detect("emo-detect-v1", http_server.url("p.png"), "1:1")
    assert isinstance(answer, dict)
    entry = error_catalogue().find(code, model="emo-detect-v1", stages=["detect"]) or error_catalogue().find(
        code, model="emo-detect-v1"
    )
    assert entry is not None
    assert answer == {
        "output": {"check_pass": False, "code": code, "message": entry.message},
        "usage": {"image_count": 1},
    }


async def test_liveportrait_detect(pipeline: ModelMedia, http_server: FileServer) -> None:
    http_server.files["face.jpg"] = factory.FACE_JPG.read_bytes()
    http_server.files["none.png"] = factory.image_bytes(factory.blank(600, 600), "PNG")
    http_server.files["wide.png"] = factory.image_bytes(factory.blank(1300, 600), "PNG")
    http_server.files["black.png"] = factory.image_bytes(photos.darkened(factory.face_rgb(), 0.1), "PNG")
    assert await pipeline.detect("liveportrait-detect", http_server.url("face.jpg")) == {"output": {"pass": True}}
    for name in ("none.png", "black.png"):
        assert await pipeline.detect("liveportrait-detect", http_server.url(name)) == {
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
