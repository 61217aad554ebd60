"""Face detection and emo-v1's detect-first submit against the in-memory fake (``fakes.py``)."""

from __future__ import annotations

import json
from pathlib import Path

import httpx
import pytest

from dashscope_video import Client, DetectionRejected, EmoDetection, errors

from .fakes import FakeDashScope

SUBMIT = "/api/v1/services/aigc/image2video/video-synthesis/"
DETECT = "/api/v1/services/aigc/image2video/face-detect"
IMAGE, AUDIO = "https://x.test/face.png", "https://x.test/voice.mp3"


# ---------------------------------------------------------------------------------------------- detect + emo
def test_emo_runs_detection_first(fake: FakeDashScope, client: Client, files: tuple[Path, Path, Path]) -> None:
    image, audio, _ = files
    client.video_synthesis.emo(image, audio, ratio="3:4")
    detect, submitted = fake.requests("POST", "/api/v1/services")
    assert detect.path == DETECT and submitted.path == SUBMIT
    assert json.loads(detect.body)["parameters"] == {"ratio": "3:4"}
    body = json.loads(submitted.body)
    assert body["input"]["face_bbox"] == [1, 2, 3, 4] and body["input"]["ext_bbox"] == [0, 0, 8, 8]
    assert "x-dashscope-async" not in detect.headers


def test_emo_with_boxes_skips_detection(fake: FakeDashScope, client: Client) -> None:
    client.video_synthesis.emo(IMAGE, AUDIO, face_bbox=[5, 6, 7, 8], ext_bbox=[0, 0, 9, 9])
    assert not fake.requests("POST", DETECT)
    body = json.loads(fake.requests("POST", SUBMIT)[0].body)
    assert body["input"]["face_bbox"] == [5, 6, 7, 8] and body["input"]["ext_bbox"] == [0, 0, 9, 9]
    with pytest.raises(ValueError, match="both"):
        client.video_synthesis.emo(IMAGE, AUDIO, face_bbox=[5, 6, 7, 8])


def test_detection_answers(fake: FakeDashScope, client: Client) -> None:
    emo = client.face_detect.emo(IMAGE)
    assert emo == EmoDetection(True, [1, 2, 3, 4], [0, 0, 8, 8], None, None, "r-detect")
    assert emo.raw["output"]["check_pass"] is True and emo.raw["usage"] == {"image_count": 1}
    portrait = client.face_detect.liveportrait(IMAGE)
    assert portrait.passed and portrait.code is None and portrait.request_id == "r-detect"
    assert portrait.raw == {"output": {"pass": True, "message": ""}, "request_id": "r-detect"}
    assert "parameters" not in json.loads(fake.requests("POST", DETECT)[1].body)


def test_detection_rejection_as_400_is_a_verdict(fake: FakeDashScope, client: Client) -> None:
    fake.faults.append(lambda r: fake.error(400, "InvalidFile.NoHuman", "The input image has no human body."))
    verdict = client.face_detect.emo("https://x.test/cat.png")
    assert not verdict.passed and verdict.code == "InvalidFile.NoHuman"
    assert verdict.message == "The input image has no human body." and verdict.raw == {}
    assert verdict.face_bbox is None and verdict.request_id is not None
    fake.faults.append(lambda r: fake.error(400, "InvalidFile.NoHuman", "no human"))
    with pytest.raises(DetectionRejected) as caught:
        client.video_synthesis.emo("https://x.test/cat.png", "https://x.test/a.mp3")
    assert caught.value.code == "InvalidFile.NoHuman"
    assert isinstance(caught.value.detection, EmoDetection) and not caught.value.detection.passed
    assert not fake.requests("POST", SUBMIT)
    assert client.face_detect.liveportrait("https://x.test/face.png").passed


def test_liveportrait_detection_400_is_a_verdict_only_for_its_catalogue_codes(
    fake: FakeDashScope, client: Client
) -> None:
    fake.faults.append(lambda r: fake.error(400, "InvalidURL", "cannot download"))
    verdict = client.face_detect.liveportrait(IMAGE)
    assert not verdict.passed and verdict.code == "InvalidURL" and verdict.raw == {}
    fake.faults.append(lambda r: fake.error(400, "InvalidFile.NoHuman", "an emo-detect-v1 code"))
    with pytest.raises(errors.BadRequestError) as caught:
        client.face_detect.liveportrait(IMAGE)
    assert caught.value.code == "InvalidFile.NoHuman"


def test_emo_detection_verdict_in_the_answer(fake: FakeDashScope, client: Client) -> None:
    answer = {"output": {"check_pass": False, "code": "InvalidFile.FacePose", "message": "turn"}, "request_id": "r"}
    fake.faults.append(lambda r: httpx.Response(200, json=answer))
    verdict = client.face_detect.emo(IMAGE)
    assert not verdict.passed and verdict.code == "InvalidFile.FacePose" and verdict.message == "turn"
    assert verdict.raw == answer
