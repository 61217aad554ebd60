"""One error family per documented code family, caught the same way wherever the code shows up.

A code reaches a user three ways: an HTTP error answer (``BadRequestError[...]``), a task that ends FAILED
(``TaskFailed[...]``) and emo-detect-v1 rejecting the image before an emo-v1 submit (``DetectionRejected[...]``).
``except errors.<Family>`` must catch all three, the service's own spelling ``InvalidParamter.*`` included.
"""

from __future__ import annotations

import inspect
from collections.abc import Iterator

import httpx
import pytest

import dashscope_video
from dashscope_mock.testing import MockDashScope, mock_dashscope
from dashscope_openapi import error_catalogue
from dashscope_video import Client, LivePortraitParameters, Task, TaskFailure, VideoResult, errors
from dashscope_video._errors import from_response, task_failed

from .conftest import new_async_client, new_client
from .fakes import FakeDashScope

IMAGE, AUDIO = "https://example.com/face.png", "https://example.com/voice.mp3"
TYPO_CODE = "InvalidParamter.OutOfDefinition"  # liveportrait's 400, spelt as the service spells it


@pytest.fixture
def mock() -> Iterator[MockDashScope]:
    with mock_dashscope(seed=1) as instance:
        yield instance


def error_answer(status: int, code: str) -> httpx.Response:
    request = httpx.Request("POST", "https://dashscope.test/api/v1/services/aigc/image2video/video-synthesis/")
    return httpx.Response(status, json={"request_id": "r", "code": code, "message": "m"}, request=request)


def failed_task(code: str) -> Task[VideoResult]:
    return Task("t", "FAILED", "r", None, VideoResult, failure=TaskFailure(code, "m"))


def test_liveportraits_invalid_paramter_answer_is_caught_as_invalid_parameter(mock: MockDashScope) -> None:
    out_of_range = LivePortraitParameters.from_dict({"video_fps": 99})
    client = Client(mock.key, base_url=mock.base_url, transport=mock.transport(), sleep=mock.advance)
    with client, pytest.raises(errors.InvalidParameter) as caught:
        client.video_synthesis.liveportrait(IMAGE, AUDIO, parameters=out_of_range)
    assert caught.value.code == TYPO_CODE
    assert isinstance(caught.value, errors.BadRequestError)


def test_the_typo_family_is_invalid_parameter_for_answers_and_failed_tasks_alike() -> None:
    assert errors.for_code(TYPO_CODE) is errors.InvalidParameter
    assert errors.family("InvalidParamter") is errors.InvalidParameter
    assert errors.InvalidParamter is errors.InvalidParameter  # the service's spelling still names the family
    assert TYPO_CODE in errors.InvalidParameter.known_codes
    assert "InvalidParamter" not in errors.families()  # one family, not two
    assert isinstance(from_response(error_answer(400, TYPO_CODE)), errors.InvalidParameter)
    failed = task_failed(failed_task(TYPO_CODE))
    assert isinstance(failed, errors.InvalidParameter) and isinstance(failed, errors.TaskFailed)


def test_only_spellings_the_catalogue_documents_are_read_as_another_family() -> None:
    documented = error_catalogue().families()
    assert errors.FAMILY_SPELLINGS, "the service's InvalidParamter spelling is mapped"
    for spelling, meant in errors.FAMILY_SPELLINGS.items():
        assert spelling in documented and meant in documented, (spelling, meant)
        assert spelling in errors.family(meant).spellings


def test_every_catalogue_code_is_caught_by_its_family_as_answer_and_as_failed_task() -> None:
    for entry in error_catalogue().entries:
        family = errors.for_code(entry.code)
        assert entry.code in family.known_codes
        assert isinstance(from_response(error_answer(entry.status, entry.code)), family), entry.code
        assert isinstance(task_failed(failed_task(entry.code)), family), entry.code


def no_human(fake: FakeDashScope) -> None:
    """emo-detect-v1 answers the next request with its documented 400 for a photo without a person."""
    fake.faults.append(lambda request: fake.error(400, "InvalidFile.NoHuman", "No human in the image."))


def test_a_detection_rejected_by_emo_detect_is_caught_as_invalid_file(fake: FakeDashScope) -> None:
    no_human(fake)
    with new_client(fake) as client, pytest.raises(errors.InvalidFile) as caught:
        client.video_synthesis.emo(IMAGE, AUDIO)
    rejected = caught.value
    assert isinstance(rejected, errors.DetectionRejected)
    assert (rejected.code, rejected.message) == ("InvalidFile.NoHuman", "No human in the image.")
    assert rejected.request_id is not None
    assert [e.path for e in fake.journal] == ["/api/v1/services/aigc/image2video/face-detect"]  # nothing submitted


async def test_the_async_client_raises_the_same_detection_rejected(fake: FakeDashScope) -> None:
    no_human(fake)
    async with new_async_client(fake) as client:
        with pytest.raises(errors.InvalidFile) as caught:
            await client.video_synthesis.emo(IMAGE, AUDIO)
    assert isinstance(caught.value, errors.DetectionRejected) and caught.value.code == "InvalidFile.NoHuman"


def test_the_errors_module_exports_every_error_the_package_exports() -> None:
    exported = {name: getattr(dashscope_video, name) for name in dashscope_video.__all__}
    exported_errors = {
        name for name, value in exported.items() if inspect.isclass(value) and issubclass(value, Exception)
    }
    assert exported_errors, "the package exports errors"
    assert exported_errors - set(errors.__all__) == set()
    for name in exported_errors:
        assert getattr(errors, name) is getattr(dashscope_video, name), name
