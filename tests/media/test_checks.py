"""Each model's documented limits, applied with real decoders to media the tests make; every code reachable."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from dashscope_mock.media import MediaFailure, check_audio, check_emo_boxes, check_image, check_video
from dashscope_mock.media.probe import probe_audio

from . import factory

CheckFn = Callable[..., object]


def write(tmp_path: Path, data: bytes, name: str = "input") -> Path:
    path = tmp_path / name
    path.write_bytes(data)
    return path


def fails(check: CheckFn, model: str, input: str, path: Path) -> MediaFailure:
    with pytest.raises(MediaFailure) as caught:
        check(model, input, path)
    return caught.value


# ------------------------------------------------------------------------------------------------ images
@pytest.mark.parametrize("fmt", ["JPEG", "PNG", "BMP", "WEBP"])
def test_liveportrait_takes_every_documented_image_format(tmp_path: Path, fmt: str) -> None:
    checked = check_image("liveportrait", "image", write(tmp_path, factory.image_bytes(factory.face_rgb(), fmt)))
    assert (checked.width, checked.height) == (512, 600)
    assert checked.rgb.shape == (600, 512, 3)


def test_the_format_comes_from_the_content_not_the_name(tmp_path: Path) -> None:
    png_named_jpg = write(tmp_path, factory.image_bytes(factory.face_rgb(), "PNG"), "portrait.jpg")
    assert check_image("liveportrait", "image", png_named_jpg).format == "png"
    gif_named_png = write(tmp_path, factory.image_bytes(factory.blank(600, 600), "GIF"), "portrait.png")
    failure = fails(check_image, "liveportrait", "image", gif_named_png)
    assert (failure.code, failure.kind) == ("InvalidParameter.UnsupportedFileFormat", "format")
    assert failure.message == "Input files format not supported."


@pytest.mark.parametrize(
    ("model", "input", "code"),
    [
        ("liveportrait", "image", "InvalidParameter.UnsupportedFileFormat"),
        ("emo-v1", "image", "InvalidURL"),
        ("videoretalk", "ref_image", "InvalidFile.Openerror"),
    ],
)
@pytest.mark.parametrize("content", ["empty", "garbage", "truncated"])
def test_unreadable_images_end_in_the_documented_code(
    tmp_path: Path, model: str, input: str, code: str, content: str
) -> None:
    jpeg = factory.image_bytes(factory.face_rgb(), "JPEG")
    data = {"empty": b"", "garbage": b"not an image at all" * 50, "truncated": jpeg[: len(jpeg) // 2]}[content]
    failure = fails(check_image, model, input, write(tmp_path, data))
    assert failure.code == code
    assert failure.message  # renders from the catalogue


def test_a_decompression_bomb_is_a_size_failure_without_decoding(tmp_path: Path) -> None:
    bomb = write(tmp_path, factory.png_bomb(60000, 60000))
    failure = fails(check_image, "liveportrait", "image", bomb)
    assert (failure.code, failure.kind) == ("InvalidImage.ImageSize", "size")
    failure = fails(check_image, "emo-v1", "image", bomb)
    assert (failure.code, failure.reason) == ("InvalidFile.Resolution", "image")
    # Within Pillow's own limit but past the documented longest side: refused from the header.
    failure = fails(check_image, "videoretalk", "ref_image", write(tmp_path, factory.png_bomb(4100, 2100), "b"))
    assert failure.code == "InvalidFile.ImageSize"


@pytest.mark.parametrize(
    ("size", "ok"),
    [((512, 1024), True), ((512, 1030), False), ((4096, 2048), True), ((4100, 2100), False)],
)
def test_liveportrait_aspect_ratio_and_longest_side(tmp_path: Path, size: tuple[int, int], ok: bool) -> None:
    path = write(tmp_path, factory.image_bytes(Image.new("RGB", size, (90, 90, 90)), "PNG"))
    if ok:
        check_image("liveportrait", "image", path)
    else:
        failure = fails(check_image, "liveportrait", "image", path)
        assert failure.code == "InvalidImage.ImageSize"
        assert failure.message == "The size of image is beyond limit."


def test_liveportrait_image_over_10_mb_is_image_size(tmp_path: Path) -> None:
    noise = np.random.default_rng(1).integers(0, 255, (2000, 2000, 3), dtype=np.uint8)
    data = factory.image_bytes(noise, "BMP")  # 12 MB
    assert len(data) > 10 * 2**20
    assert fails(check_image, "liveportrait", "image", write(tmp_path, data)).code == "InvalidImage.ImageSize"


@pytest.mark.parametrize(("size", "ok"), [((400, 400), True), ((399, 800), False), ((7001, 500), False)])
def test_emo_sides(tmp_path: Path, size: tuple[int, int], ok: bool) -> None:
    path = write(tmp_path, factory.image_bytes(Image.new("RGB", size, (90, 90, 90)), "PNG"))
    if ok:
        check_image("emo-v1", "image", path)
    else:
        failure = fails(check_image, "emo-v1", "image", path)
        assert (failure.code, failure.reason) == ("InvalidFile.Resolution", "image")
        assert "smaller than 7000" in failure.message


# ------------------------------------------------------------------------------------------------ audio
def test_audio_duration_comes_from_the_samples(tmp_path: Path) -> None:
    assert probe_audio(write(tmp_path, factory.wav_bytes(2.5))).duration == pytest.approx(2.5, abs=0.01)
    lying = probe_audio(write(tmp_path, factory.wav_with_lying_header(2.5), "lying"))
    assert lying.duration == pytest.approx(2.5, abs=0.01)
    mp3 = probe_audio(write(tmp_path, factory.encoded_audio(3.0, "libmp3lame", "mp3"), "mp3"))
    assert "mp3" in mp3.formats
    assert mp3.duration == pytest.approx(3.0, abs=0.08)


@pytest.mark.parametrize(("seconds", "ok"), [(0.5, False), (1.0, True), (179.0, True), (181.0, False)])
def test_liveportrait_audio_length(tmp_path: Path, seconds: float, ok: bool) -> None:
    path = write(tmp_path, factory.wav_bytes(seconds, rate=8000))
    if ok:
        assert check_audio("liveportrait", "audio", path).duration == pytest.approx(seconds, abs=0.01)
    else:
        failure = fails(check_audio, "liveportrait", "audio", path)
        assert failure.code == "InvalidFile.AudioLengthError"
        assert failure.message == "Audio length must be between 1s and 180s."


def test_liveportrait_takes_mp3_but_not_aac(tmp_path: Path) -> None:
    check_audio("liveportrait", "audio", write(tmp_path, factory.encoded_audio(2.0, "libmp3lame", "mp3")))
    aac = write(tmp_path, factory.encoded_audio(2.0, "aac", "adts"), "aac")
    assert fails(check_audio, "liveportrait", "audio", aac).code == "InvalidParameter.UnsupportedFileFormat"


@pytest.mark.parametrize("content", ["empty", "garbage", "truncated-header", "image"])
def test_unreadable_audio(tmp_path: Path, content: str) -> None:
    data = {
        "empty": b"",
        "garbage": bytes(range(256)) * 40,
        "truncated-header": factory.wav_bytes(2.0)[:30],
        "image": factory.image_bytes(factory.face_rgb(), "PNG"),
    }[content]
    path = write(tmp_path, data)
    assert fails(check_audio, "liveportrait", "audio", path).code == "InvalidParameter.UnsupportedFileFormat"
    assert fails(check_audio, "videoretalk", "audio", path).code in ("InvalidFile.Openerror", "InvalidFile.Format")
    failure = fails(check_audio, "emo-v1", "audio", path)
    assert (failure.code, failure.reason) == ("InvalidURL", "audio_format")


def test_a_truncated_wav_counts_what_decodes(tmp_path: Path) -> None:
    data = factory.wav_bytes(4.0)
    info = check_audio("liveportrait", "audio", write(tmp_path, data[: len(data) // 2]))
    assert info.duration == pytest.approx(2.0, abs=0.05)


def test_emo_audio_limits(tmp_path: Path) -> None:
    check_audio("emo-v1", "audio", write(tmp_path, factory.wav_bytes(59.0, rate=8000)))
    failure = fails(check_audio, "emo-v1", "audio", write(tmp_path, factory.wav_bytes(61.0, rate=8000), "long"))
    assert (failure.code, failure.reason) == ("InvalidURL", "audio_duration")
    assert failure.message == "The input audio is longer than 60s!"
    failure = fails(check_audio, "emo-v1", "audio", write(tmp_path, factory.encoded_audio(2.0, "aac", "adts"), "a"))
    assert (failure.code, failure.reason) == ("InvalidURL", "audio_format")
    assert failure.message == "File type is not supported. Allowed types are: .wav, .mp3."


@pytest.mark.parametrize("container", ["adts", "mp4"])
def test_videoretalk_takes_aac(tmp_path: Path, container: str) -> None:
    path = write(tmp_path, factory.encoded_audio(2.5, "aac", container))
    assert check_audio("videoretalk", "audio", path).duration == pytest.approx(2.5, abs=0.1)


@pytest.mark.parametrize("seconds", [1.5, 121.0])
def test_videoretalk_audio_duration(tmp_path: Path, seconds: float) -> None:
    failure = fails(check_audio, "videoretalk", "audio", write(tmp_path, factory.wav_bytes(seconds, rate=8000)))
    assert failure.code == "InvalidFile.Duration"


# ------------------------------------------------------------------------------------------------ video
@pytest.mark.parametrize("container", ["mp4", "mov", "avi"])
def test_videoretalk_takes_h264_in_every_documented_container(tmp_path: Path, container: str) -> None:
    path = write(tmp_path, factory.video_bytes(2.2, fps=15, container=container))
    info = check_video("videoretalk", "video", path)
    assert (info.codec, info.width, info.height) == ("h264", 640, 704)
    assert info.fps == pytest.approx(15)
    assert info.duration == pytest.approx(2.2, abs=0.1)


def test_videoretalk_takes_hevc(tmp_path: Path) -> None:
    path = write(tmp_path, factory.video_bytes(2.0, fps=15, codec="libx265"))
    assert check_video("videoretalk", "video", path).codec == "hevc"


@pytest.mark.parametrize(
    ("kwargs", "code"),
    [
        ({"seconds": 2.0, "fps": 10}, "InvalidFile.FPS"),
        ({"seconds": 2.0, "fps": 15, "size": (320, 240)}, "InvalidFile.Resolution"),
        ({"seconds": 2.0, "fps": 15, "size": (2064, 640)}, "InvalidFile.Resolution"),
        ({"seconds": 1.0, "fps": 15}, "InvalidFile.Duration"),
        ({"seconds": 2.0, "fps": 15, "codec": "mpeg4"}, "InvalidFile.Format"),
        ({"seconds": 2.0, "fps": 15, "container": "matroska"}, "InvalidFile.Format"),
    ],
)
def test_videoretalk_video_limits(tmp_path: Path, kwargs: dict[str, object], code: str) -> None:
    seconds = float(kwargs.pop("seconds"))  # type: ignore[arg-type]
    picture = factory.blank(*kwargs["size"]) if "size" in kwargs else None  # type: ignore[misc]
    path = write(tmp_path, factory.video_bytes(seconds, picture=picture, **kwargs))  # type: ignore[arg-type]
    failure = fails(check_video, "videoretalk", "video", path)
    assert failure.code == code
    assert failure.message


@pytest.mark.parametrize("content", ["empty", "garbage", "truncated", "audio-only"])
def test_unopenable_videos(tmp_path: Path, content: str) -> None:
    video = factory.video_bytes(2.0, fps=15)
    data = {
        "empty": b"",
        "garbage": b"\x00\x00\x00\x18ftypmp42" + bytes(range(256)) * 20,
        "truncated": video[: len(video) // 3],
        "audio-only": factory.wav_bytes(3.0),
    }[content]
    failure = fails(check_video, "videoretalk", "video", write(tmp_path, data))
    assert failure.code in ("InvalidFile.Openerror", "InvalidFile.Format")
    if content != "audio-only":
        assert failure.code == "InvalidFile.Openerror"
        assert failure.message == "Invalid file, cannot open file as video/audio/image."


# ------------------------------------------------------------------------------------------------ emo boxes
def test_emo_boxes() -> None:
    assert check_emo_boxes([10, 10, 50, 50], [0, 0, 400, 400], 512, 600) == "1:1"
    assert check_emo_boxes([10, 10, 50, 50], [0, 0, 300, 400], 512, 600) == "3:4"
    assert check_emo_boxes([10, 10, 50, 50], [0, 0, 301, 400]) == "3:4"  # rounding tolerance
    for face, ext in [
        ([10, 10, 50, 50], [0, 0, 400, 300]),  # 4:3
        ([10, 10, 50, 50], [0, 0, 600, 600]),  # outside 512 wide
        ([10, 10, 50, 700], [0, 0, 400, 400]),  # face outside 600 high
        ([50, 10, 10, 50], [0, 0, 400, 400]),  # x2 < x1
        ([10, 10, 50], [0, 0, 400, 400]),  # three numbers
        ("10,10,50,50", [0, 0, 400, 400]),
    ]:
        with pytest.raises(MediaFailure) as caught:
            check_emo_boxes(face, ext, 512, 600)
        assert (caught.value.code, caught.value.reason) == ("InvalidParameter", "format")
