"""Bad media never hurt: corrupted, cut, mislabelled or odd files end in a documented code or pass, never raise."""

from __future__ import annotations

import functools
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from PIL import Image

from dashscope_mock.media import MediaFailure, check_audio, check_image, check_video, detect_faces
from dashscope_openapi import error_catalogue

from . import factory


@functools.cache
def samples() -> dict[str, bytes]:
    return {
        "jpeg": factory.FACE_JPG.read_bytes(),
        "png": factory.image_bytes(factory.face_rgb()[::2, ::2], "PNG"),
        "wav": factory.wav_bytes(1.5, rate=8000),
        "mp3": factory.encoded_audio(1.5, "libmp3lame", "mp3", rate=22050),
        "mp4": factory.video_bytes(2.0, fps=15),
    }


CHECKS = [
    (check_image, "liveportrait", "image"),
    (check_image, "emo-v1", "image"),
    (check_image, "videoretalk", "ref_image"),
    (check_audio, "liveportrait", "audio"),
    (check_audio, "emo-v1", "audio"),
    (check_audio, "videoretalk", "audio"),
    (check_video, "videoretalk", "video"),
]


def mangle(data: bytes, how: str, at: float, junk: bytes) -> bytes:
    cut = max(1, int(len(data) * at))
    if how == "truncate":
        return data[:cut]
    if how == "overwrite":
        return data[:cut] + junk + data[cut + len(junk) :]
    if how == "insert":
        return data[:cut] + junk + data[cut:]
    return junk + data  # prefix


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    kind=st.sampled_from(["jpeg", "png", "wav", "mp3", "mp4"]),
    how=st.sampled_from(["truncate", "overwrite", "insert", "prefix"]),
    at=st.floats(0.0, 1.0),
    junk=st.binary(min_size=1, max_size=64),
    check=st.sampled_from(CHECKS),
)
def test_mangled_files_end_in_a_documented_code_or_pass(
    tmp_path: Path, kind: str, how: str, at: float, junk: bytes, check: tuple[object, str, str]
) -> None:
    function, model, input = check
    path = tmp_path / f"{kind}-{how}"
    path.write_bytes(mangle(samples()[kind], how, at, junk))
    try:
        result = function(model, input, path)  # type: ignore[operator]
    except MediaFailure as failure:
        assert failure.code in error_catalogue().codes()
        assert failure.message
    else:
        if function is check_image:
            detect_faces(result.rgb)  # whatever decoded, the detector copes with it


@pytest.mark.parametrize("mode", ["CMYK", "L", "LA", "P", "1", "RGBA", "I;16"])
def test_every_pixel_mode_decodes_to_rgb(tmp_path: Path, mode: str) -> None:
    import numpy as np

    face = Image.open(factory.FACE_JPG)
    if mode == "I;16":
        image = Image.fromarray(np.asarray(face.convert("L")).astype(np.uint16) * 256)
    else:
        image = face.convert(mode)
    fmt = "JPEG" if mode == "CMYK" else "PNG"
    path = tmp_path / "p"
    image.save(path, fmt)
    checked = check_image("liveportrait", "image", path)
    assert checked.rgb.shape == (600, 512, 3)
    assert len(detect_faces(checked.rgb)) == 1
