"""Media made by the tests themselves: images (Pillow), tones (numpy → WAV/MP3/AAC), short videos (PyAV).

Committed media: ``tests/fixtures/face_grace_hopper.jpg`` (public domain, see its ``.md`` file), a real face for the
real face detector, and the labelled photographs of ``tests/fixtures/photos`` (see ``photos.py``).
"""

from __future__ import annotations

import io
import struct
import wave
import zlib
from fractions import Fraction
from pathlib import Path

import av
import numpy as np
from numpy.typing import NDArray
from PIL import Image

FIXTURES = Path(__file__).parents[1] / "fixtures"
FACE_JPG = FIXTURES / "face_grace_hopper.jpg"


def face_rgb() -> NDArray[np.uint8]:
    with Image.open(FACE_JPG) as image:
        return np.asarray(image.convert("RGB"), dtype=np.uint8).copy()


def image_bytes(rgb: NDArray[np.uint8] | Image.Image, fmt: str = "PNG", **options: object) -> bytes:
    image = rgb if isinstance(rgb, Image.Image) else Image.fromarray(rgb)
    buffer = io.BytesIO()
    image.save(buffer, format=fmt, **options)
    return buffer.getvalue()


def canvas(width: int, height: int, *faces: tuple[int, int], scale: float = 1.0, grey: int = 128) -> NDArray[np.uint8]:
    """A ``width`` x ``height`` grey image with the face photo pasted at each (x, y), scaled by ``scale``."""
    out = np.full((height, width, 3), grey, dtype=np.uint8)
    face = face_rgb()
    if scale != 1.0:
        with Image.fromarray(face) as image:
            size = (round(face.shape[1] * scale), round(face.shape[0] * scale))
            face = np.asarray(image.resize(size, Image.Resampling.LANCZOS), dtype=np.uint8)
    for x, y in faces:
        h, w = min(face.shape[0], height - y), min(face.shape[1], width - x)
        out[y : y + h, x : x + w] = face[:h, :w]
    return out


def blank(width: int, height: int) -> NDArray[np.uint8]:
    """No face at all: a smooth gradient (something for the decoder, nothing for the detector)."""
    x = np.linspace(0, 255, width, dtype=np.float64)[None, :]
    y = np.linspace(0, 255, height, dtype=np.float64)[:, None]
    grad = (x * 0.6 + y * 0.4).astype(np.uint8)
    return np.stack([grad, 255 - grad, np.full_like(grad, 90)], axis=-1)


def tone(seconds: float, rate: int = 16000, channels: int = 1) -> NDArray[np.int16]:
    """A 220 Hz tone with a 2 Hz loudness swell ("syllables"), shape (samples, channels)."""
    t = np.arange(round(seconds * rate)) / rate
    signal = 0.4 * np.sin(2 * np.pi * 220 * t) * (0.55 + 0.45 * np.sin(2 * np.pi * 2 * t))
    pcm = (signal * 32767).astype(np.int16)
    return np.repeat(pcm[:, None], channels, axis=1)


def wav_bytes(seconds: float, rate: int = 16000, channels: int = 1) -> bytes:
    buffer = io.BytesIO()
    with wave.open(buffer, "wb") as handle:
        handle.setnchannels(channels)
        handle.setsampwidth(2)
        handle.setframerate(rate)
        handle.writeframes(tone(seconds, rate, channels).tobytes())
    return buffer.getvalue()


def wav_with_lying_header(seconds: float, rate: int = 16000) -> bytes:
    """A WAV whose RIFF and data sizes say "unknown" (0xFFFFFFFF), as streaming encoders write them."""
    data = bytearray(wav_bytes(seconds, rate))
    data[4:8] = struct.pack("<I", 0xFFFFFFFF)
    index = data.find(b"data")
    data[index + 4 : index + 8] = struct.pack("<I", 0xFFFFFFFF)
    return bytes(data)


def encoded_audio(seconds: float, codec: str, container: str, rate: int = 44100) -> bytes:
    """A tone encoded with PyAV: ``("libmp3lame", "mp3")``, ``("aac", "adts")``, ``("aac", "mp4")``…"""
    buffer = io.BytesIO()
    with av.open(buffer, "w", format=container) as out:
        stream = out.add_stream(codec, rate=rate, layout="mono")
        pcm = tone(seconds, rate)[:, 0]
        frame_size = 1152 if codec == "libmp3lame" else 1024
        for start in range(0, pcm.size, frame_size):
            chunk = pcm[start : start + frame_size]
            frame = av.AudioFrame.from_ndarray(chunk[None, :], format="s16", layout="mono")
            frame.sample_rate = rate
            frame.pts = start
            frame.time_base = Fraction(1, rate)
            out.mux(stream.encode(frame))
        out.mux(stream.encode(None))
    return buffer.getvalue()


def video_bytes(
    seconds: float,
    *,
    fps: int = 25,
    size: tuple[int, int] = (640, 704),
    picture: NDArray[np.uint8] | None = None,
    codec: str = "libx264",
    container: str = "mp4",
    audio: bool = False,
) -> bytes:
    """A short video of ``picture`` (default: the face on a grey canvas) with a frame counter bar."""
    width, height = size
    if picture is None:
        picture = canvas(width, height, ((width - 512) // 2, (height - 600) // 2))
    picture = np.ascontiguousarray(picture[:height, :width])
    buffer = io.BytesIO()
    with av.open(buffer, "w", format=container) as out:
        stream = out.add_stream(codec, rate=fps)
        stream.width, stream.height = width, height
        stream.pix_fmt = "yuv420p"
        if codec == "libx264":
            stream.options = {"preset": "ultrafast"}
        audio_stream = out.add_stream("aac", rate=16000, layout="mono") if audio else None
        count = round(seconds * fps)
        for index in range(count):
            frame_rgb = picture.copy()
            frame_rgb[-8:, : max(1, width * (index + 1) // count)] = (255, 0, 0)
            frame = av.VideoFrame.from_ndarray(frame_rgb, format="rgb24")
            frame.pts = index
            out.mux(stream.encode(frame))
        out.mux(stream.encode(None))
        if audio_stream is not None:
            pcm = tone(seconds, 16000)[:, 0]
            for start in range(0, pcm.size, 1024):
                frame = av.AudioFrame.from_ndarray(pcm[None, start : start + 1024], format="s16", layout="mono")
                frame.sample_rate = 16000
                frame.pts = start
                frame.time_base = Fraction(1, 16000)
                out.mux(audio_stream.encode(frame))
            out.mux(audio_stream.encode(None))
    return buffer.getvalue()


def png_bomb(width: int = 60000, height: int = 60000) -> bytes:
    """A tiny PNG whose header claims ``width`` x ``height`` pixels (a decompression bomb's header)."""

    def chunk(kind: bytes, payload: bytes) -> bytes:
        return struct.pack(">I", len(payload)) + kind + payload + struct.pack(">I", zlib.crc32(kind + payload))

    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    body = zlib.compress(b"\x00" * 1024)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", body) + chunk(b"IEND", b"")


def read_video(path: Path) -> dict[str, object]:
    """What a client sees in a result: codecs, frame rate, size, durations."""
    with av.open(str(path)) as container:
        video = container.streams.video[0]
        audio = container.streams.audio[0]
        frames = sum(1 for _ in container.decode(video))
        return {
            "format": container.format.name,
            "video_codec": video.codec_context.name,
            "audio_codec": audio.codec_context.name,
            "fps": float(video.average_rate or 0),
            "width": video.codec_context.width,
            "height": video.codec_context.height,
            "duration": float(container.duration or 0) / 1_000_000,
            "video_duration": float(video.duration * video.time_base) if video.duration else 0.0,
            "audio_duration": float(audio.duration * audio.time_base) if audio.duration else 0.0,
            "frames": frames,
        }
