"""prepare() per model, end to end against a local HTTP server, and the rendered results read back with PyAV."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import pytest

from dashscope_mock.media import MediaFailure, Prepared
from dashscope_openapi import model_limits

from . import factory, photos
from .conftest import FileServer
from .harness import ModelMedia


async def prepared(pipeline: ModelMedia, model: str, body: dict[str, Any], **kwargs: Any) -> Prepared:
    result = await pipeline.prepare(model, {"model": model, **body}, **kwargs)
    assert isinstance(result, Prepared), result
    return result


async def failed(pipeline: ModelMedia, model: str, body: dict[str, Any]) -> MediaFailure:
    result = await pipeline.prepare(model, {"model": model, **body})
    assert isinstance(result, MediaFailure), result
    return result


def assert_playable(path: Path, *, duration: float, fps: float, size: tuple[int, int]) -> dict[str, object]:
    info = factory.read_video(path)
    assert info["video_codec"] == "h264"
    assert info["audio_codec"] == "aac"
    assert info["fps"] == pytest.approx(fps, rel=1e-3)
    assert (info["width"], info["height"]) == size
    assert info["duration"] == pytest.approx(duration, abs=0.1)
    assert info["video_duration"] == pytest.approx(duration, abs=0.1)
    assert info["audio_duration"] == pytest.approx(duration, abs=0.1)
    assert info["frames"] == round(duration * fps)
    return info


# ------------------------------------------------------------------------------------------------ liveportrait
@pytest.mark.parametrize("fps", [None, 30])
async def test_liveportrait_renders_a_playable_video_of_the_audio_length(
    pipeline: ModelMedia, http_server: FileServer, tmp_path: Path, fps: int | None
) -> None:
    http_server.files["p.jpg"] = factory.FACE_JPG.read_bytes()
    http_server.files["a.wav"] = factory.wav_bytes(3.0)
    body: dict[str, Any] = {"input": {"image_url": http_server.url("p.jpg"), "audio_url": http_server.url("a.wav")}}
    if fps is not None:
        body["parameters"] = {"video_fps": fps}
    ready = await prepared(pipeline, "liveportrait", body)
    assert (ready.video_duration, ready.video_ratio) == (3.0, "standard")
    out = ready.render(tmp_path / "out" / "result.mp4")
    assert_playable(out, duration=3.0, fps=fps or 24, size=(436, 512))  # longest side capped at 512, even
    ready.close()
    assert not ready.workdir.exists()


async def test_liveportrait_with_mp3_and_without_paste_back(
    pipeline: ModelMedia, http_server: FileServer, tmp_path: Path
) -> None:
    http_server.files["p.png"] = factory.image_bytes(factory.canvas(1200, 900, (300, 200)), "PNG")
    http_server.files["a.mp3"] = factory.encoded_audio(2.0, "libmp3lame", "mp3")
    body = {
        "input": {"image_url": http_server.url("p.png"), "audio_url": http_server.url("a.mp3")},
        "parameters": {"paste_back": False, "video_fps": 15},
    }
    ready = await prepared(pipeline, "liveportrait", body)
    assert ready.video_duration == pytest.approx(2.0, abs=0.06)
    out = ready.render(tmp_path / "r.mp4")
    info = factory.read_video(out)
    assert info["width"] == info["height"]  # the face only: a square around it
    assert_playable(out, duration=ready.video_duration, fps=15, size=(info["width"], info["height"]))  # type: ignore[arg-type]


async def test_liveportrait_failures(pipeline: ModelMedia, http_server: FileServer) -> None:
    http_server.files["face.jpg"] = factory.FACE_JPG.read_bytes()
    http_server.files["none.jpg"] = factory.image_bytes(factory.blank(600, 600), "JPEG")
    http_server.files["short.wav"] = factory.wav_bytes(0.5)
    http_server.files["ok.wav"] = factory.wav_bytes(2.0)

    def body(image: str, audio: str) -> dict[str, Any]:
        return {"input": {"image_url": image, "audio_url": audio}}

    failure = await failed(pipeline, "liveportrait", body(http_server.url("none.jpg"), http_server.url("ok.wav")))
    assert (failure.code, failure.message) == ("InvalidImage.NoHumanFace", "No human face detected.")
    failure = await failed(pipeline, "liveportrait", body(http_server.url("face.jpg"), http_server.url("short.wav")))
    assert failure.code == "InvalidFile.AudioLengthError"
    failure = await failed(pipeline, "liveportrait", body(http_server.url("face.jpg"), f"{http_server.base}/nope"))
    assert failure.code == "InvalidParameter.InputDownloadFailed"
    # Both inputs bad: the image is reported (inputs in the documented order).
    failure = await failed(
        pipeline, "liveportrait", body(f"{http_server.base}/status/404", http_server.url("short.wav"))
    )
    assert (failure.code, failure.input) == ("InvalidParameter.InputDownloadFailed", "image")


async def test_inputs_come_through_the_upload_store(pipeline: ModelMedia, tmp_path: Path) -> None:
    store = {"oss://b/face.jpg": factory.FACE_JPG.read_bytes(), "oss://b/a.wav": factory.wav_bytes(1.5)}
    body = {"input": {"image_url": "oss://b/face.jpg", "audio_url": "oss://b/a.wav"}}
    ready = await prepared(pipeline, "liveportrait", body, oss_resolve=True, resolve_oss=store.get)
    assert ready.video_duration == 1.5
    failure = await pipeline.prepare("liveportrait", body)  # without X-DashScope-OssResourceResolve
    assert isinstance(failure, MediaFailure)
    assert failure.code == "InvalidParameter.InputDownloadFailed"


# ------------------------------------------------------------------------------------------------ emo-v1
@pytest.mark.parametrize("ratio", ["1:1", "3:4"])
async def test_emo_detect_then_emo_renders_the_documented_size(
    pipeline: ModelMedia, http_server: FileServer, tmp_path: Path, ratio: str
) -> None:
    http_server.files["p.jpg"] = factory.image_bytes(factory.canvas(900, 1000, (194, 150)), "JPEG")
    http_server.files["a.wav"] = factory.wav_bytes(2.0)
    detected = await pipeline.detect("emo-detect-v1", http_server.url("p.jpg"), ratio)
    assert isinstance(detected, dict)
    body = {
        "input": {
            "image_url": http_server.url("p.jpg"),
            "audio_url": http_server.url("a.wav"),
            "face_bbox": detected["output"]["face_bbox"],
            "ext_bbox": detected["output"]["ext_bbox"],
        }
    }
    ready = await prepared(pipeline, "emo-v1", body)
    assert (ready.video_duration, ready.video_ratio) == (2.0, ratio)
    out = ready.render(tmp_path / "r.mp4")
    width, height = model_limits("emo-v1")["output"]["sizes"][ratio]
    assert_playable(out, duration=2.0, fps=model_limits("emo-v1")["output"]["fps"], size=(width, height))


async def test_emo_failures(pipeline: ModelMedia, http_server: FileServer) -> None:
    http_server.files["face.jpg"] = factory.image_bytes(factory.canvas(900, 1000, (194, 150)), "JPEG")
    http_server.files["none.jpg"] = factory.image_bytes(factory.blank(900, 1000), "JPEG")
    http_server.files["two.jpg"] = factory.image_bytes(factory.canvas(1100, 620, (10, 10), (560, 10)), "JPEG")
    http_server.files["small.jpg"] = factory.image_bytes(factory.face_rgb()[:390], "JPEG")
    http_server.files["a.wav"] = factory.wav_bytes(2.0)
    http_server.files["long.wav"] = factory.wav_bytes(61.0, rate=8000)
    http_server.files["a.aac"] = factory.encoded_audio(2.0, "aac", "adts")

    def body(image: str, audio: str = "a.wav", ext: list[int] | None = None) -> dict[str, Any]:
        return {
            "input": {
                "image_url": http_server.url(image),
                "audio_url": http_server.url(audio),
                "face_bbox": [10, 10, 100, 100],
                "ext_bbox": ext or [0, 0, 500, 500],
            }
        }

    cases = [
        (body("none.jpg"), ("InvalidFile.Content", "no_person")),
        (body("two.jpg"), ("InvalidFile.Content", "multi_person")),
        (body("small.jpg", ext=[0, 0, 300, 300]), ("InvalidFile.Resolution", "image")),
        (body("face.jpg", "long.wav"), ("InvalidURL", "audio_duration")),
        (body("face.jpg", "a.aac"), ("InvalidURL", "audio_format")),
        (body("face.jpg", ext=[0, 0, 1000, 1000]), ("InvalidParameter", "format")),  # outside the 900-wide image
        (body("face.jpg", ext=[0, 0, 400, 300]), ("InvalidParameter", "format")),  # 4:3
        (body("missing.jpg"), ("InvalidURL", "image_download")),
    ]
    for request, expected in cases:
        failure = await failed(pipeline, "emo-v1", request)
        assert (failure.code, failure.reason) == expected, request
    failure = await failed(pipeline, "emo-v1", body("none.jpg"))
    assert failure.message == "The input image has no human body. Please upload other image with single person."


# ------------------------------------------------------------------------------------------------ videoretalk
def retalk_body(
    server: FileServer, video: str, audio: str, ref: str = "", extension: bool | None = None
) -> dict[str, Any]:
    body: dict[str, Any] = {
        "input": {"video_url": server.url(video), "audio_url": server.url(audio), "ref_image_url": ref}
    }
    if extension is not None:
        body["parameters"] = {"video_extension": extension}
    return body


@pytest.mark.parametrize(
    ("video_s", "audio_s", "extension", "expected"),
    [(3.0, 2.0, None, 2.0), (2.0, 3.2, False, 2.0), (2.0, 3.2, True, 3.2)],
)
async def test_videoretalk_duration_and_result(
    pipeline: ModelMedia,
    http_server: FileServer,
    tmp_path: Path,
    video_s: float,
    audio_s: float,
    extension: bool | None,
    expected: float,
) -> None:
    http_server.files["v.mp4"] = factory.video_bytes(video_s, fps=15, audio=True)
    http_server.files["a.wav"] = factory.wav_bytes(audio_s)
    ready = await prepared(pipeline, "videoretalk", retalk_body(http_server, "v.mp4", "a.wav", extension=extension))
    assert (ready.video_duration, ready.video_ratio) == (expected, "standard")
    out = ready.render(tmp_path / "r.mp4")
    assert_playable(out, duration=expected, fps=15, size=(640, 704))


async def test_videoretalk_extension_plays_reverse_then_forward(
    pipeline: ModelMedia, http_server: FileServer, tmp_path: Path
) -> None:
    import av
    import numpy as np

    http_server.files["v.mp4"] = factory.video_bytes(2.0, fps=15)  # 30 frames, a red bar growing with the index
    http_server.files["a.wav"] = factory.wav_bytes(5.0)
    ready = await prepared(pipeline, "videoretalk", retalk_body(http_server, "v.mp4", "a.wav", extension=True))
    out = ready.render(tmp_path / "r.mp4")
    with av.open(str(out)) as container:
        bars = [
            int((np.asarray(frame.to_ndarray(format="rgb24"))[-4, :, 0] > 200).sum())
            for frame in container.decode(video=0)
        ]
    assert len(bars) == 75
    assert bars[29] > bars[40] > bars[58] and bars[58] < bars[70]  # forward, back to the start, forward again
    assert abs(bars[58] - bars[0]) <= 30


async def test_videoretalk_reference_face(pipeline: ModelMedia, http_server: FileServer) -> None:
    http_server.files["v.mp4"] = factory.video_bytes(2.0, fps=15)
    http_server.files["blank.mp4"] = factory.video_bytes(2.0, fps=15, picture=factory.blank(640, 704))
    http_server.files["a.wav"] = factory.wav_bytes(2.0)
    http_server.files["ref.jpg"] = factory.FACE_JPG.read_bytes()
    http_server.files["other.jpg"] = photos.PHOTOS.joinpath("obama.jpg").read_bytes()
    http_server.files["upside.png"] = factory.image_bytes(factory.face_rgb()[::-1], "PNG")
    http_server.files["noface.png"] = factory.image_bytes(factory.blank(600, 600), "PNG")
    http_server.files["wide.png"] = factory.image_bytes(factory.blank(1300, 600), "PNG")

    ready = await prepared(
        pipeline, "videoretalk", retalk_body(http_server, "v.mp4", "a.wav", http_server.url("ref.jpg"))
    )
    assert ready.details["match"] < 0.3  # the embedding distance to the nearest face of the video: the same photo
    for video, ref, code in [
        ("blank.mp4", "ref.jpg", "InvalidFile.FaceNotMach"),  # nobody in the video
        ("v.mp4", "other.jpg", "InvalidFile.FaceNotMach"),  # somebody else
        ("v.mp4", "upside.png", "InvalidFile.Content"),  # an upside-down face is no face
        ("v.mp4", "noface.png", "InvalidFile.Content"),
        ("v.mp4", "wide.png", "InvalidFile.ImageSize"),
    ]:
        failure = await failed(pipeline, "videoretalk", retalk_body(http_server, video, "a.wav", http_server.url(ref)))
        assert failure.code == code, (video, ref)
    failure = await failed(
        pipeline,
        "videoretalk",
        retalk_body(http_server, "v.mp4", "a.wav", http_server.url("ref.jpg").replace("ref", "missing")),
    )
    assert failure.code == "InvalidURL.ConnectionRefused"


async def test_videoretalk_video_failures(pipeline: ModelMedia, http_server: FileServer) -> None:
    http_server.files["slow.mp4"] = factory.video_bytes(2.0, fps=10)
    http_server.files["garbage.mp4"] = b"\x00" * 5000
    http_server.files["a.wav"] = factory.wav_bytes(2.0)
    http_server.files["short.wav"] = factory.wav_bytes(1.0)
    http_server.files["v.mp4"] = factory.video_bytes(2.0, fps=15)
    for video, audio, code in [
        ("slow.mp4", "a.wav", "InvalidFile.FPS"),
        ("garbage.mp4", "a.wav", "InvalidFile.Openerror"),
        ("v.mp4", "short.wav", "InvalidFile.Duration"),
    ]:
        failure = await failed(pipeline, "videoretalk", retalk_body(http_server, video, audio))
        assert failure.code == code


# ------------------------------------------------------------------------------------------------ robustness
async def test_a_slow_input_does_not_block_other_work(http_server: FileServer, tmp_path: Path) -> None:
    pipeline = ModelMedia(download_timeout=1.0, work_root=tmp_path / "work")
    http_server.files["face.jpg"] = factory.FACE_JPG.read_bytes()
    http_server.files["a.wav"] = factory.wav_bytes(1.5)
    slow = asyncio.create_task(
        pipeline.prepare(
            "videoretalk",
            {"input": {"video_url": f"{http_server.base}/drip", "audio_url": http_server.url("a.wav")}},
        )
    )
    fast = await pipeline.detect("liveportrait-detect", http_server.url("face.jpg"))
    assert fast == {"output": {"pass": True}}
    assert not slow.done()  # the detect answered while the slow download was still dripping
    failure = await slow
    assert isinstance(failure, MediaFailure)
    assert failure.code == "InvalidURL.Timeout"
    assert list((tmp_path / "work").iterdir()) == []  # a failed prepare leaves nothing behind


async def test_a_failed_first_input_does_not_wait_for_a_slow_second_one(
    http_server: FileServer, tmp_path: Path
) -> None:
    pipeline = ModelMedia(download_timeout=60.0, work_root=tmp_path / "work")
    body = {"input": {"image_url": f"{http_server.base}/status/404", "audio_url": f"{http_server.base}/drip"}}
    # Waiting for the dripping audio would take the whole 60 s download timeout; the guard only stops a hang.
    async with asyncio.timeout(30):
        failure = await pipeline.prepare("liveportrait", body)
    assert isinstance(failure, MediaFailure)
    assert (failure.code, failure.input) == ("InvalidParameter.InputDownloadFailed", "image")
