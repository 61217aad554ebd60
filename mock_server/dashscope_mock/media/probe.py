"""Facts about a media file, read with real decoders: Pillow for images, PyAV (its own FFmpeg) for audio and video.

Formats come from the content, never from a URL's extension. Images are seen as a viewer shows them: the EXIF
orientation (phones store a portrait turned, with a tag saying so) is applied, to the sides as to the pixels. Nothing
here knows a model's limits (see ``checks.py``); a file that cannot be read raises :class:`ProbeError` with kind
``open`` (or ``size`` for an image whose pixel count is a decompression bomb).
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path
from typing import Any, Literal

import av
import numpy as np
from numpy.typing import NDArray
from PIL import Image, ImageOps

__all__ = [
    "AudioInfo",
    "ImageInfo",
    "ProbeError",
    "VideoInfo",
    "decode_image",
    "probe_audio",
    "probe_image",
    "probe_video",
    "sample_video_frames",
]

RGB = NDArray[np.uint8]

# EXIF orientations (tag 0x0112) that turn the picture a quarter: width and height swap.
_QUARTER_TURNS = frozenset({5, 6, 7, 8})
_ORIENTATION = 0x0112

# Pillow's format names → the names the docs use.
_IMAGE_FORMATS = {"JPEG": "jpeg", "MPO": "jpeg", "PNG": "png", "BMP": "bmp", "DIB": "bmp", "WEBP": "webp"}


class ProbeError(Exception):
    def __init__(self, kind: Literal["open", "size"], detail: str) -> None:
        super().__init__(f"{kind}: {detail}")
        self.kind: Literal["open", "size"] = kind
        self.detail = detail


@dataclass(frozen=True)
class ImageInfo:
    format: str  # jpeg, png, bmp, webp, or Pillow's lower-cased name of another format (gif, tiff…)
    width: int
    height: int


@dataclass(frozen=True)
class AudioInfo:
    formats: frozenset[str]  # every name the container answers to (wav; mp3; aac; mov, mp4, m4a…)
    codec: str
    duration: float  # seconds, from the decoded samples
    sample_rate: int
    channels: int


@dataclass(frozen=True)
class VideoInfo:
    formats: frozenset[str]  # e.g. {"mov", "mp4", "m4a", "3gp", "3g2", "mj2"} or {"avi"}
    codec: str  # FFmpeg's decoder name: h264, hevc, mpeg4…
    width: int
    height: int
    fps: float
    rate: Fraction
    duration: float
    has_audio: bool


def _orientation(image: Image.Image) -> int:
    try:
        return int(image.getexif().get(_ORIENTATION, 1))
    except Exception:  # a damaged EXIF block: as stored
        return 1


@contextmanager
def _strict_pillow() -> Iterator[None]:
    """Treat Pillow's decompression-bomb warning as the error it is (without touching the global limit)."""
    with warnings.catch_warnings():
        warnings.simplefilter("error", Image.DecompressionBombWarning)
        yield


def probe_image(path: Path) -> ImageInfo:
    """Format and size (as displayed: EXIF orientation applied) from the header only; no pixel is decoded."""
    try:
        with _strict_pillow(), Image.open(path) as image:
            name = str(image.format or "")
            width, height = image.size
            if _orientation(image) in _QUARTER_TURNS:
                width, height = height, width
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as error:
        raise ProbeError("size", str(error)) from error
    except Exception as error:  # Pillow raises many types (UnidentifiedImageError, OSError, SyntaxError, ...)
        raise ProbeError("open", f"{type(error).__name__}: {error}") from error
    return ImageInfo(_IMAGE_FORMATS.get(name, name.lower()), int(width), int(height))


def decode_image(path: Path, *, max_pixels: int) -> RGB:
    """All pixels as RGB, turned upright by the EXIF orientation; refuses more than ``max_pixels`` before decoding;
    truncated files raise ``open``."""
    try:
        with _strict_pillow(), Image.open(path) as opened:
            width, height = opened.size
            if width * height > max_pixels:
                raise ProbeError("size", f"{width}x{height} is more than {max_pixels} pixels")
            opened.load()
            image = ImageOps.exif_transpose(opened) if _orientation(opened) != 1 else opened
            if image.mode in ("I", "F") or image.mode.startswith("I;16"):
                # Deep greys: scale to 8 bits (Pillow's own conversion clips them to white).
                deep = np.asarray(image, dtype=np.float64)
                top = float(deep.max()) if deep.size else 0.0
                grey = np.clip(deep * (255.0 / top) if top > 255 else deep, 0, 255).astype(np.uint8)
                return np.repeat(grey[:, :, None], 3, axis=2)
            rgb = image.convert("RGB")
            return np.asarray(rgb, dtype=np.uint8).copy()
    except ProbeError:
        raise
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as error:
        raise ProbeError("size", str(error)) from error
    except Exception as error:
        raise ProbeError("open", f"{type(error).__name__}: {error}") from error


def _formats(container: Any) -> frozenset[str]:
    return frozenset(str(container.format.name).split(","))


def probe_audio(path: Path) -> AudioInfo:
    """The first audio stream; the duration counts decoded samples, so a missing or lying header does not matter.

    A file that decodes part-way (truncated) yields the duration of what decodes; one that yields no sample at all
    raises ``open``.
    """
    try:
        container = av.open(str(path))
    except Exception as error:
        raise ProbeError("open", f"{type(error).__name__}: {error}") from error
    try:
        if not container.streams.audio:
            raise ProbeError("open", "no audio stream")
        stream = container.streams.audio[0]
        codec = str(stream.codec_context.name)
        samples = 0
        rate = int(stream.codec_context.sample_rate or 0)
        channels = int(stream.codec_context.channels or 0)
        try:
            for frame in container.decode(stream):
                samples += int(frame.samples)
                rate = int(frame.sample_rate or rate)
        except Exception:  # a truncated or damaged tail: keep what decoded
            pass
        if samples == 0 or rate <= 0:
            raise ProbeError("open", "no decodable audio")
        formats = set(_formats(container))
        if codec == "aac" and "mp4" in formats and not container.streams.video:
            formats.add("aac")  # an .m4a is AAC audio
        return AudioInfo(frozenset(formats), codec, samples / rate, rate, channels)
    except ProbeError:
        raise
    except Exception as error:
        raise ProbeError("open", f"{type(error).__name__}: {error}") from error
    finally:
        container.close()


def probe_video(path: Path) -> VideoInfo:
    """The first video stream: codec, sides, frame rate and duration (from the stream, the container, or packets).

    The first frame is decoded, so a file whose pictures cannot be decoded raises ``open``.
    """
    try:
        container = av.open(str(path))
    except Exception as error:
        raise ProbeError("open", f"{type(error).__name__}: {error}") from error
    try:
        if not container.streams.video:
            raise ProbeError("open", "no video stream")
        stream = container.streams.video[0]
        context = stream.codec_context
        rate = stream.average_rate or stream.guessed_rate or stream.base_rate
        if not rate or rate <= 0:
            raise ProbeError("open", "no frame rate")
        rate = Fraction(rate)
        duration = _video_duration(container, stream, rate)
        codec = str(context.name)
        width, height = int(context.width or 0), int(context.height or 0)
        try:
            first = next(iter(container.decode(stream)), None)
        except Exception as error:
            raise ProbeError("open", f"first frame: {type(error).__name__}: {error}") from error
        if first is None:
            raise ProbeError("open", "no decodable frame")
        width, height = width or int(first.width), height or int(first.height)
        return VideoInfo(
            _formats(container),
            codec,
            width,
            height,
            float(rate),
            rate,
            duration,
            bool(container.streams.audio),
        )
    except ProbeError:
        raise
    except Exception as error:
        raise ProbeError("open", f"{type(error).__name__}: {error}") from error
    finally:
        container.close()


def _video_duration(container: Any, stream: Any, rate: Fraction) -> float:
    if stream.duration and stream.time_base:
        return float(stream.duration * stream.time_base)
    if container.duration:
        return float(container.duration) / 1_000_000
    if stream.frames:
        return float(stream.frames / rate)
    end = 0.0  # no header says it: walk the packets (no decoding)
    for packet in container.demux(stream):
        if packet.pts is not None and packet.time_base is not None:
            end = max(end, float((packet.pts + (packet.duration or 0)) * packet.time_base))
    container.seek(0)
    return end


def sample_video_frames(path: Path, count: int, *, max_side: int = 640) -> list[RGB]:
    """Up to ``count`` RGB frames spread evenly over the video, each scaled so its longest side ≤ ``max_side``."""
    import cv2  # local: keep probe importable for audio-only use without OpenCV's start-up cost

    frames: list[RGB] = []
    try:
        with av.open(str(path)) as container:
            stream = container.streams.video[0]
            stream.thread_type = "AUTO"
            time_base = stream.time_base or Fraction(1, 1_000_000)
            duration = stream.duration * time_base if stream.duration else (container.duration or 0) / 1_000_000
            start = float(stream.start_time * time_base) if stream.start_time else 0.0
            for index in range(count):
                at = start + float(duration) * (index + 0.5) / count
                container.seek(int(at / time_base), stream=stream, backward=True, any_frame=False)
                for frame in container.decode(stream):
                    if frame.pts is None or float(frame.pts * time_base) >= at - 1e-3:
                        frames.append(_shrink(np.asarray(frame.to_ndarray(format="rgb24"), np.uint8), max_side, cv2))
                        break
    except Exception:  # a damaged stream gives the frames that decoded
        pass
    return frames


def _shrink(rgb: RGB, max_side: int, cv2: Any) -> RGB:
    height, width = rgb.shape[:2]
    scale = max_side / max(height, width)
    if scale >= 1:
        return rgb
    size = (max(1, math.floor(width * scale)), max(1, math.floor(height * scale)))
    return np.asarray(cv2.resize(rgb, size, interpolation=cv2.INTER_AREA), dtype=np.uint8)
