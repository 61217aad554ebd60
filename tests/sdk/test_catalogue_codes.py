"""Each x-error-catalogue code no other test names, reached end to end: the in-process mock answers it (a scripted
scenario) and the SDK reports it with the catalogue's code, status and message.

``make coverage-report`` counts a code as tested when a test names it (scripts/coverage_report.py); these are the
codes only the catalogue-wide tests iterated over. A code added to the catalogue needs a test naming it (here or
closer to its subject), or the report fails CI.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from dashscope_mock.testing import MockDashScope, mock_dashscope
from dashscope_openapi import error_catalogue
from dashscope_video import APIStatusError, Client, RetryPolicy, TaskFailed

IMAGE, AUDIO = "https://example.com/face.png", "https://example.com/voice.mp3"

# code → the model whose request shows it; the stage comes from the catalogue.
TASK_CODES = {
    "InternalError.Upload": "liveportrait",
    "InvalidFile.FrontBody": "emo-v1",
    "BadRequest.InputDownloadFailed": "liveportrait",
    "DataInspectionFailed": "videoretalk",
    "InvalidFile.FaceNotMatch": "emo-v1",
    "InvalidFile.AspectRatio": "liveportrait",
    "InvalidFile.DownloadFailed": "videoretalk",
    "InvalidFile.BodyPose": "emo-v1",
    "InternalError.FileUpload": "liveportrait",
    "InvalidFile.FullFace": "emo-v1",  # tests/media reaches it through a constant of tests/media/photos.py
    "InvalidParameter.DataInspection": "liveportrait",  # tests/realservice's stand-in answers it
}
ANSWER_CODES = {
    "AccessDenied.Unpurchased": "liveportrait",
    "Model.AccessDenied": "emo-v1",
    "Workspace.AccessDenied": "videoretalk",
    "App.AccessDenied": "liveportrait",
    "AllocationQuota.FreeTierOnly": "emo-v1",
    "WorkSpaceNotFound": "videoretalk",
    "RequestTimeOut": "liveportrait",
    "BadRequest.UnsupportedFileFormat": "emo-v1",
    "Throttling.BurstRate": "videoretalk",
    "CommodityNotPurchased": "liveportrait",
    "PrepaidBillOverdue": "emo-v1",
    "PostpaidBillOverdue": "videoretalk",
    "SystemError": "liveportrait",
    "ModelServiceFailed": "emo-v1",
    "ModelServingError": "videoretalk",
}
DETECT_CODES = {"InvalidParameter.Ratio": "emo-detect-v1"}


@pytest.fixture
def mock() -> Iterator[MockDashScope]:
    with mock_dashscope(seed=1) as instance:
        yield instance


def _client(mock: MockDashScope) -> Client:
    return Client(
        mock.key,
        base_url=mock.base_url,
        transport=mock.transport(),
        sleep=mock.advance,
        retry=RetryPolicy(max_retries=0),  # the scripted answer itself, not a retry's
    )


def _submit(client: Client, model: str) -> object:
    if model == "liveportrait":
        return client.video_synthesis.liveportrait(IMAGE, AUDIO)
    if model == "emo-v1":
        return client.video_synthesis.emo(IMAGE, AUDIO, face_bbox=[10, 20, 30, 40], ext_bbox=[0, 0, 50, 50])
    return client.video_synthesis.videoretalk("https://example.com/talk.mp4", AUDIO)


def _entry(code: str, model: str) -> object:
    entry = error_catalogue().find(code)
    assert entry is not None, code
    assert "*" in entry.models or model in entry.models, (code, model)
    return entry


@pytest.mark.parametrize(("code", "model"), TASK_CODES.items(), ids=TASK_CODES.keys())
def test_a_task_failing_with_the_code_is_a_task_failed(mock: MockDashScope, code: str, model: str) -> None:
    entry = _entry(code, model)
    mock.scenario(model, code)
    with _client(mock) as client:
        handle = _submit(client, model)
        with pytest.raises(TaskFailed) as caught:
            client.tasks.wait(handle)  # type: ignore[call-overload]
    assert caught.value.code == code
    assert entry.stage == "task"  # type: ignore[attr-defined]


@pytest.mark.parametrize(("code", "model"), ANSWER_CODES.items(), ids=ANSWER_CODES.keys())
def test_an_answer_with_the_code_is_an_api_status_error(mock: MockDashScope, code: str, model: str) -> None:
    entry = _entry(code, model)
    mock.scenario(model, code)
    with _client(mock) as client, pytest.raises(APIStatusError) as caught:
        _submit(client, model)
    assert caught.value.code == code
    assert caught.value.status == entry.status  # type: ignore[attr-defined]


@pytest.mark.parametrize(("code", "model"), DETECT_CODES.items(), ids=DETECT_CODES.keys())
def test_a_face_detect_answer_with_the_code_is_a_failed_check(mock: MockDashScope, code: str, model: str) -> None:
    """A 400 the catalogue lists for the detector is its verdict (``check_pass`` false with the code), not an error."""
    entry = _entry(code, model)
    assert entry.stage == "detect" and entry.status == 400  # type: ignore[attr-defined]
    mock.scenario(model, code)
    with _client(mock) as client:
        detection = client.face_detect.emo(IMAGE)
    assert not detection.passed
    assert detection.code == code
    assert detection.message == entry.message  # type: ignore[attr-defined]
