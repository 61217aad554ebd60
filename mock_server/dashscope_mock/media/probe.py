"""Facts about a media file, read with real decoders: Pillow for images, PyAV (its own FFmpeg) for audio and video.

Formats come from the content, never from a URL's extension. Images are seen as a viewer shows them: the EXIF
orientation (phones store a portrait turned, with a tag saying so) is applied, to the sides as to the pixels. Nothing
here knows a model's limits (see ``checks.py``); a file that cannot be read raises :class:`ProbeError` with kind
``open`` (or ``size`` for an image whose pixel count is a decompression bomb).

Decoding is bounded (:func:`decode_image`): the pixel count is checked from the header, a file too short for the
picture it claims fails before its frame is allocated, and pixels come out reduced (JPEG draft scaling, strips
box-reduced and converted one at a time); video decoders refuse frames past a pixel count.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager, nullcontext
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path
from typing import Any, Literal

import av
import numpy as np
from numpy.typing import NDArray
from PIL import Image, ImageFile

__all__ = [
    "AudioInfo",
    "ImageInfo",
    "ProbeError",
    "VideoInfo",
    "decode_cost",
    "decode_image",
    "probe_audio",
    "probe_image",
    "probe_video",
    "sample_video_frames",
]

RGB = NDArray[np.uint8]
Reserve = Callable[[int], AbstractContextManager[object]]

# EXIF orientations (tag 0x0112) that turn the picture a quarter: width and height swap.
_QUARTER_TURNS = frozenset({5, 6, 7, 8})
_ORIENTATION = 0x0112

# How a viewer turns each EXIF orientation upright (what ImageOps.exif_transpose does).
_TRANSPOSE = {
    2: Image.Transpose.FLIP_LEFT_RIGHT,
    3: Image.Transpose.ROTATE_180,
    4: Image.Transpose.FLIP_TOP_BOTTOM,
    5: Image.Transpose.TRANSPOSE,
    6: Image.Transpose.ROTATE_270,
    7: Image.Transpose.TRANSVERSE,
    8: Image.Transpose.ROTATE_90,
}
# Bytes a pixel takes in Pillow's frame, by mode; every other mode takes 4 (RGB is stored as RGBX).
_PILLOW_BYTES = {"1": 1, "L": 1, "P": 1, "I;16": 2, "I;16L": 2, "I;16B": 2, "I;16N": 2}
_WEBP_BYTES = 16  # measured: 755 MB above idle for 7000x7000, 260 MB for 4096x4096
_STRIP_PIXELS = 1 << 20  # converted at a time: ~16 MB of temporaries at most
# JPEG frame markers (SOFn) and those of Huffman-coded frames, whose data has at least a bit per 8x8 block.
_JPEG_FRAMES = frozenset({0xC0, 0xC1, 0xC2, 0xC3, 0xC5, 0xC6, 0xC7, 0xC9, 0xCA, 0xCB, 0xCD, 0xCE, 0xCF})
_JPEG_HUFFMAN_FRAMES = frozenset({0xC0, 0xC1, 0xC2, 0xC3, 0xC5, 0xC6, 0xC7})
_DEFLATE_MAX_RATIO = 1032  # deflate's best: a 258-byte match in two bits

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


def _orientation(image: Image.Image, path: Path) -> int:
    """The EXIF orientation, read without decoding: Pillow's PNG plugin decodes the whole picture to look for an
    ``eXIf`` chunk after the data, so for a PNG the chunk is looked up here and the generic reader used."""
    try:
        if image.format == "PNG":
            if "exif" not in image.info:
                exif = next((data for kind, data in _png_chunks(path, b"eXIf")), None)
                if exif is not None:
                    image.info["exif"] = exif
            return int(Image.Image.getexif(image).get(_ORIENTATION, 1))
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
            if _orientation(image, path) in _QUARTER_TURNS:
                width, height = height, width
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as error:
        raise ProbeError("size", str(error)) from error
    except Exception as error:  # Pillow raises many types (UnidentifiedImageError, OSError, SyntaxError, ...)
        raise ProbeError("open", f"{type(error).__name__}: {error}") from error
    return ImageInfo(_IMAGE_FORMATS.get(name, name.lower()), int(width), int(height))


def decode_image(path: Path, *, max_pixels: int, max_side: int, reserve: Reserve | None = None) -> RGB:
    """The pixels as 8-bit RGB, upright (EXIF orientation), reduced so the longest side is at most ``max_side``.

    Bounded work: more than ``max_pixels`` (from the header) is ``size`` before anything is decoded; a JPEG, PNG or
    uncompressed BMP with too little data for the picture its header claims is ``open`` before its frame is
    allocated (a truncated or lying file fails fast); large JPEGs decode at 1/2, 1/4 or 1/8 scale (libjpeg's draft
    mode); other formats decode at full size and are box-reduced and converted in strips, so no full-size RGB copy
    is ever made.
    ``reserve(bytes)`` (a :class:`~.budget.MemoryBudget`'s) is held around the decode with its estimated peak.
    """
    try:
        with _strict_pillow(), Image.open(path) as image:
            width, height = image.size
            if width * height > max_pixels:
                raise ProbeError("size", f"{width}x{height} is more than {max_pixels} pixels")
            _check_enough_data(path, image)
            factor = _factor(width, height, max_side)
            if factor > 1 and image.format in ("JPEG", "MPO"):
                image.draft(image.mode, (-(-width // factor), -(-height // factor)))
            cost = decode_cost(image, width, height, max_side)
            orientation = _orientation(image, path)
            with reserve(cost) if reserve is not None else nullcontext():
                image.load()
                rgb = _reduced_rgb(image, _factor(*image.size, max_side))
                image.close()  # the frame is freed before its share of the budget is returned
    except ProbeError:
        raise
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as error:
        raise ProbeError("size", str(error)) from error
    except Exception as error:  # Pillow raises many types (OSError "image file is truncated", SyntaxError, ...)
        raise ProbeError("open", f"{type(error).__name__}: {error}") from error
    if orientation in _TRANSPOSE:
        rgb = np.asarray(Image.fromarray(rgb).transpose(_TRANSPOSE[orientation]), dtype=np.uint8)
    return np.ascontiguousarray(rgb)


def _factor(width: int, height: int, max_side: int) -> int:
    return max(1, -(-max(width, height) // max(1, max_side)))


def decode_cost(image: Image.Image, width: int, height: int, max_side: int) -> int:
    """The estimated peak bytes of decoding ``image`` (opened, drafted if it will be; stored as ``width`` x
    ``height``): Pillow's frame (1, 2 or 4 bytes a pixel; WebP measures 16: libwebp's canvas and buffers, then
    Pillow's copies), a progressive JPEG's coefficients (2 bytes a sample at full size, whatever the draft), a
    strip's conversion and the reduced result."""
    frame_w, frame_h = image.size
    cost = frame_w * frame_h * (_WEBP_BYTES if image.format == "WEBP" else _PILLOW_BYTES.get(image.mode, 4))
    if image.format in ("JPEG", "MPO") and image.info.get("progressive"):
        cost += round(width * height * _jpeg_samples_per_pixel(image) * 2)
    factor = _factor(frame_w, frame_h, max_side)
    reduced = -(-frame_w // factor) * -(-frame_h // factor) * 3
    return cost + 2 * reduced + _STRIP_PIXELS * 16


def _jpeg_samples_per_pixel(image: Image.Image) -> float:
    """Samples per pixel of a JPEG's components (3 for 4:4:4 colour, 1.5 for 4:2:0, 1 for grey)."""
    layers = [(int(h), int(v)) for _, h, v, _ in getattr(image, "layer", ())] or [(1, 1)] * 3
    most = max(h for h, _ in layers) * max(v for _, v in layers)
    return sum(h * v for h, v in layers) / most


def _check_enough_data(path: Path, image: Image.Image) -> None:
    """Refuse a file too short for the picture its header claims, before Pillow allocates the frame for it."""
    width, height = image.size
    size = path.stat().st_size
    need = 0
    if image.format in ("JPEG", "MPO"):
        # Huffman coding spends at least one bit on each 8x8 block's DC coefficient (arithmetic coding may not).
        if _jpeg_frame_marker(path) in _JPEG_HUFFMAN_FRAMES:
            need = -(-width // 8) * -(-height // 8) // 8
    elif image.format == "PNG":
        need = _png_pixel_bytes(path) // _DEFLATE_MAX_RATIO
        size = _png_data_bytes(path)
    elif isinstance(image, ImageFile.ImageFile) and len(image.tile) == 1 and image.tile[0].codec_name == "raw":
        tile = image.tile[0]
        stride = tile.args[1] if isinstance(tile.args, tuple) and len(tile.args) > 1 else 0
        if isinstance(stride, int) and stride > 0:
            need = tile.offset + stride * height  # uncompressed rows (BMP)
    if size < need:
        raise ProbeError("open", f"{size} bytes of data, {width}x{height} needs at least {need}: truncated")


def _jpeg_frame_marker(path: Path) -> int | None:
    """The SOFn marker of a JPEG's frame, walking the segments before it (None: no frame header found)."""
    with path.open("rb") as handle:
        if handle.read(2) != b"\xff\xd8":
            return None
        while True:
            if handle.read(1) != b"\xff":
                return None
            marker = handle.read(1)
            while marker == b"\xff":  # fill bytes
                marker = handle.read(1)
            if not marker or marker[0] in (0xD9, 0xDA):  # end of file or image, or a scan before any frame
                return None
            if marker[0] in _JPEG_FRAMES:
                return marker[0]
            if marker[0] == 0x01 or 0xD0 <= marker[0] <= 0xD8:  # markers without a length
                continue
            length = handle.read(2)
            if len(length) < 2:
                return None
            handle.seek(int.from_bytes(length, "big") - 2, 1)


def _png_chunks(path: Path, *read: bytes) -> Iterator[tuple[bytes, bytes | int]]:
    """(type, data) of each chunk whose type is in ``read``, (type, length) of the others (only seeking past)."""
    with path.open("rb") as handle:
        handle.seek(8)
        while True:
            head = handle.read(8)
            if len(head) < 8:
                return
            length, kind, start = int.from_bytes(head[:4], "big"), head[4:], handle.tell()
            yield kind, handle.read(length) if kind in read else length
            handle.seek(start + length + 4)  # past the data and its CRC
            if kind == b"IEND":
                return


def _png_pixel_bytes(path: Path) -> int:
    for kind, data in _png_chunks(path, b"IHDR"):
        if kind == b"IHDR" and isinstance(data, bytes) and len(data) == 13:
            width, height = int.from_bytes(data[0:4], "big"), int.from_bytes(data[4:8], "big")
            channels = {0: 1, 2: 3, 3: 1, 4: 2, 6: 4}.get(data[9], 1)
            return width * height * data[8] * channels // 8
    return 0


def _png_data_bytes(path: Path) -> int:
    """The compressed picture data: IDAT chunks (and an APNG's fdAT)."""
    return sum(length for kind, length in _png_chunks(path) if kind in (b"IDAT", b"fdAT") and isinstance(length, int))


def _reduced_rgb(image: Image.Image, factor: int) -> RGB:
    """``image`` (loaded) as 8-bit RGB box-reduced by ``factor``, converted a strip at a time; deep greys (16-bit,
    32-bit, float) are scaled by their maximum (Pillow's own conversion clips them to white)."""
    width, height = image.size
    out = np.empty((-(-height // factor), -(-width // factor), 3), dtype=np.uint8)
    deep = image.mode in ("I", "F") or image.mode.startswith("I;16")
    top = float(image.getextrema()[1]) if deep else 0.0  # type: ignore[arg-type]
    rows = factor * max(1, _STRIP_PIXELS // (width * factor))
    for y in range(0, height, rows):
        strip = image.crop((0, y, width, min(height, y + rows)))
        if deep:
            values = np.asarray(strip, dtype=np.float32)
            grey = np.clip(values * (255.0 / top) if top > 255 else values, 0, 255).astype(np.uint8)
            strip = Image.fromarray(grey).convert("RGB")
        else:
            strip = strip.convert("RGB")
        if factor > 1:
            strip = strip.reduce(factor)
        part = np.asarray(strip, dtype=np.uint8)
        out[y // factor : y // factor + part.shape[0]] = part
    return out


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


def _limit_pixels(stream: Any, max_pixels: int | None) -> None:
    """Make FFmpeg's decoder refuse frames of more than ``max_pixels`` before allocating them."""
    if max_pixels is not None:
        stream.codec_context.options = {"max_pixels": str(max_pixels)}


def probe_video(path: Path, *, max_pixels: int | None = None) -> VideoInfo:
    """The first video stream: codec, sides, frame rate and duration (from the stream, the container, or packets).

    The first frame is decoded, so a file whose pictures cannot be decoded (or are larger than ``max_pixels``)
    raises ``open``; unless the header already gives more than ``max_pixels``: then nothing is decoded.
    """
    try:
        container = av.open(str(path))
    except Exception as error:
        raise ProbeError("open", f"{type(error).__name__}: {error}") from error
    try:
        if not container.streams.video:
            raise ProbeError("open", "no video stream")
        stream = container.streams.video[0]
        _limit_pixels(stream, max_pixels)
        context = stream.codec_context
        rate = stream.average_rate or stream.guessed_rate or stream.base_rate
        if not rate or rate <= 0:
            raise ProbeError("open", "no frame rate")
        rate = Fraction(rate)
        duration = _video_duration(container, stream, rate)
        codec = str(context.name)
        width, height = int(context.width or 0), int(context.height or 0)
        # Frames the header says are too large are not decoded: the caller refuses them by their sides.
        if max_pixels is None or width * height <= max_pixels:
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


def sample_video_frames(path: Path, count: int, *, max_side: int = 640, max_pixels: int | None = None) -> list[RGB]:
    """Up to ``count`` RGB frames spread evenly over the video, each scaled so its longest side ≤ ``max_side``
    (frames of more than ``max_pixels`` are not decoded)."""
    import cv2  # local: keep probe importable for audio-only use without OpenCV's start-up cost

    frames: list[RGB] = []
    try:
        with av.open(str(path)) as container:
            stream = container.streams.video[0]
            stream.thread_type = "AUTO"
            _limit_pixels(stream, max_pixels)
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
