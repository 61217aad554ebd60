"""``OssUtils`` / ``check_and_upload_local`` temporary uploads (getPolicy → OSS form POST to the policy's
``upload_host`` → ``oss://`` URL), then face-detect and tasks on those URLs, against a served mock with media checks
on: real media (a photographed face, a tone, a short H.264 video) is downloaded, checked and rendered, and every task
ends SUCCEEDED with a result link that serves an MP4."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from dataclasses import dataclass
from http import HTTPStatus
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
import requests
from dashscope.api_entities.dashscope_response import DashScopeAPIResponse
from dashscope.client.base_api import BaseApi, BaseAsyncAioApi, BaseAsyncApi
from dashscope.common.error import UploadFileException
from dashscope.utils.oss_utils import OssUtils, check_and_upload_local

from tests.media.factory import FACE_JPG, blank, image_bytes, video_bytes, wav_bytes

from .conftest import (
    DETECT,
    KEY,
    OSS_RESOLVE,
    QUICK,
    SUBMIT,
    VIDEO_MODELS,
    WRONG_KEY,
    Served,
    result_url,
    served_mock,
)

SECONDS = 3.0  # the audio's and the video's length
FACE_SIZE = (512, 600)  # face_grace_hopper.jpg


@dataclass(frozen=True)
class Media:
    face: Path
    no_face: Path
    voice: Path
    talk: Path


@pytest.fixture(scope="module")
def served() -> Iterator[Served]:
    with served_mock(media_checks=True, timings=QUICK) as instance:
        yield instance


@pytest.fixture(scope="module")
def media(tmp_path_factory: pytest.TempPathFactory) -> Media:
    folder = tmp_path_factory.mktemp("official-sdk-media")
    face = folder / "face.jpg"
    shutil.copyfile(FACE_JPG, face)
    no_face = folder / "no_face.png"
    no_face.write_bytes(image_bytes(blank(*FACE_SIZE)))
    voice = folder / "voice.wav"
    voice.write_bytes(wav_bytes(SECONDS))
    talk = folder / "talk.mp4"
    talk.write_bytes(video_bytes(SECONDS))
    return Media(face=face, no_face=no_face, voice=voice, talk=talk)


def upload(model: str, *paths: Path) -> list[str]:
    """Upload local files for ``model`` as a user does: ``check_and_upload_local`` with one policy for them all."""
    first, *others = paths
    uploaded, url, certificate = check_and_upload_local(model, str(first), KEY)  # getPolicy, then the form POST
    assert uploaded is True
    urls = [url]
    for path in others:
        uploaded, url, certificate = check_and_upload_local(model, str(path), KEY, certificate)
        assert uploaded is True
        urls.append(url)
    return urls


def detect(model: str, image: Path, **parameters: str) -> DashScopeAPIResponse:
    (image_url,) = upload(model, image)  # an upload serves the model it was made for only: one per detector
    response = BaseApi.call(model=model, input={"image_url": image_url}, headers=OSS_RESOLVE, **DETECT, **parameters)
    assert response.status_code == HTTPStatus.OK, response
    return response


def inputs_for(model: str, media: Media) -> dict[str, Any]:
    """The model's inputs as uploaded ``oss://`` URLs (emo-v1's boxes from emo-detect-v1 on the same photo)."""
    if model == "videoretalk":
        video_url, audio_url = upload(model, media.talk, media.voice)
        return {"video_url": video_url, "audio_url": audio_url}
    image_url, audio_url = upload(model, media.face, media.voice)
    if model == "liveportrait":
        return {"image_url": image_url, "audio_url": audio_url}
    boxes = detect("emo-detect-v1", media.face, ratio="1:1").output
    return {
        "image_url": image_url,
        "audio_url": audio_url,
        "face_bbox": boxes["face_bbox"],
        "ext_bbox": boxes["ext_bbox"],
    }


def assert_serves_an_mp4(url: str) -> None:
    response = requests.get(url, timeout=30)
    assert response.status_code == HTTPStatus.OK
    assert response.headers["content-type"].startswith("video/mp4")
    assert response.content[4:8] == b"ftyp"  # an ISO-BMFF file


# --------------------------------------------------------------------------------------------------------- uploads


def test_get_upload_certificate_returns_the_policy(served: Served) -> None:
    response = OssUtils.get_upload_certificate(model="liveportrait")
    assert response.status_code == HTTPStatus.OK, response
    assert response.request_id
    policy = response.output  # the body's ``data``
    for field in ("policy", "signature", "oss_access_key_id", "x_oss_object_acl", "x_oss_forbid_overwrite"):
        assert isinstance(policy[field], str) and policy[field]
    assert policy["upload_dir"].startswith("dashscope-instant/")
    assert policy["upload_host"].startswith(served.url)  # the mock stands in for the OSS bucket too
    assert policy["expire_in_seconds"] > 0
    assert policy["max_file_size_mb"] > 0


def test_upload_posts_the_form_to_the_upload_host_and_returns_the_oss_url(served: Served, media: Media) -> None:
    before = len(served.mock.requests())
    url, certificate = OssUtils.upload(model="liveportrait", file_path=str(media.voice))
    assert url == f"oss://{certificate['upload_dir']}/voice.wav"
    host = urlsplit(certificate["upload_host"])
    assert f"{host.scheme}://{host.netloc}" == served.url  # the policy sent the form to the mock
    exchanges = [(entry.method, entry.path, entry.status) for entry in served.mock.requests()[before:]]
    assert exchanges == [("GET", "/api/v1/uploads", 200), ("POST", host.path or "/", 200)]


def test_check_and_upload_local_uploads_paths_and_file_urls_and_passes_urls_through(media: Media) -> None:
    uploaded, face_url, certificate = check_and_upload_local("emo-v1", str(media.face), KEY)
    assert uploaded is True
    assert face_url == f"oss://{certificate['upload_dir']}/face.jpg"
    uploaded, voice_url, reused = check_and_upload_local("emo-v1", media.voice.as_uri(), KEY, certificate)
    assert uploaded is True
    assert voice_url == f"oss://{certificate['upload_dir']}/voice.wav"  # the same policy, the same folder
    assert reused is certificate
    assert check_and_upload_local("emo-v1", face_url, KEY, certificate) == (True, face_url, certificate)
    https = "https://example.com/face.png"
    assert check_and_upload_local("emo-v1", https, KEY, certificate) == (False, https, certificate)


def test_upload_with_a_key_the_service_does_not_know_raises(media: Media) -> None:
    with pytest.raises(UploadFileException, match="InvalidApiKey"):
        check_and_upload_local("liveportrait", str(media.face), WRONG_KEY)


def test_a_policy_used_after_it_expired_is_refused(media: Media) -> None:
    with served_mock(media_checks=True) as other:
        response = OssUtils.get_upload_certificate(model="liveportrait", api_key=KEY, base_address=other.base)
        assert response.status_code == HTTPStatus.OK, response
        other.mock.advance(response.output["expire_in_seconds"] + 1)
        with pytest.raises(UploadFileException, match="Policy expired"):
            OssUtils.upload(model="liveportrait", file_path=str(media.face), upload_certificate=response.output)


# ----------------------------------------------------------------------------------------------------- face-detect


def test_liveportrait_detect_passes_an_uploaded_face(media: Media) -> None:
    output = detect("liveportrait-detect", media.face).output
    assert output["pass"] is True


def test_liveportrait_detect_reports_no_face_as_a_failed_check(media: Media) -> None:
    output = detect("liveportrait-detect", media.no_face).output
    assert output == {"pass": False, "message": "No human face detected."}


def test_emo_detect_finds_the_uploaded_face_and_frames_it(media: Media) -> None:
    response = detect("emo-detect-v1", media.face, ratio="1:1")
    output = response.output
    assert output["check_pass"] is True
    width, height = FACE_SIZE
    fx1, fy1, fx2, fy2 = output["face_bbox"]
    ex1, ey1, ex2, ey2 = output["ext_bbox"]
    assert 0 <= ex1 <= fx1 < fx2 <= ex2 <= width
    assert 0 <= ey1 <= fy1 < fy2 <= ey2 <= height
    assert (ex2 - ex1) == pytest.approx(ey2 - ey1, rel=0.02)
    assert response.usage == {"image_count": 1}


def test_emo_detect_reports_no_person_as_a_failed_check(media: Media) -> None:
    response = detect("emo-detect-v1", media.no_face, ratio="1:1")
    assert response.output["check_pass"] is False
    assert response.output["code"].startswith("InvalidFile.")
    assert response.output["message"]
    assert response.usage == {"image_count": 1}  # a failed check is still billed


# ----------------------------------------------------------------------------------------------------------- tasks


@pytest.mark.parametrize("model", VIDEO_MODELS)
def test_a_task_on_uploaded_media_succeeds_with_a_video(model: str, media: Media) -> None:
    inputs = inputs_for(model, media)
    task = BaseAsyncApi.async_call(model=model, input=inputs, headers=OSS_RESOLVE, **SUBMIT)
    assert task.status_code == HTTPStatus.OK, task
    done = BaseAsyncApi.wait(task)
    assert done.output["task_status"] == "SUCCEEDED", done
    assert done.usage["video_duration"] == pytest.approx(SECONDS, abs=0.2)  # as long as the voice
    assert_serves_an_mp4(result_url(model, done.output))


async def test_aio_call_on_uploaded_media_succeeds_with_a_video(media: Media, aio_session: None) -> None:
    inputs = inputs_for("liveportrait", media)
    done = await BaseAsyncAioApi.call(model="liveportrait", input=inputs, headers=OSS_RESOLVE, **SUBMIT)
    assert done.status_code == HTTPStatus.OK, done
    assert done.output["task_status"] == "SUCCEEDED", done
    assert_serves_an_mp4(result_url("liveportrait", done.output))


def test_an_oss_input_without_the_resolve_header_does_not_succeed(media: Media) -> None:
    """``BaseAsyncApi`` adds no ``X-DashScope-OssResourceResolve`` by itself: the upload page warns that omitting it
    causes errors. Whether the submit refuses it or the task fails is not documented; it must not succeed."""
    inputs = inputs_for("liveportrait", media)
    task = BaseAsyncApi.async_call(model="liveportrait", input=inputs, **SUBMIT)
    if task.status_code != HTTPStatus.OK:
        assert task.status_code == HTTPStatus.BAD_REQUEST and task.code
        return
    done = BaseAsyncApi.wait(task)
    assert done.output["task_status"] == "FAILED"
    assert done.output["code"] and done.output["message"]
