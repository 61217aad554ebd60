"""Input media for the examples, made on the spot (no downloads): a portrait, a voice-like tone, a talking clip."""

from __future__ import annotations

import wave
from fractions import Fraction
from pathlib import Path

import av
import numpy as np
from PIL import Image

# A public-domain portrait (U.S. Navy photo of Grace Hopper; provenance in tests/fixtures/face_grace_hopper.md):
# the mock's media checks look for a real face, as the service does.
PHOTO = Path(__file__).resolve().parents[1] / "tests" / "fixtures" / "face_grace_hopper.jpg"


def portrait(path: Path, size: tuple[int, int] = (720, 960)) -> Path:
    """The portrait photo, scaled and padded to ``size`` (a 3:4 frame within every model's limits)."""
    photo = Image.open(PHOTO).convert("RGB")
    scale = min(size[0] / photo.width, size[1] / photo.height)
    photo = photo.resize((round(photo.width * scale), round(photo.height * scale)), Image.Resampling.LANCZOS)
    canvas = Image.new("RGB", size, (200, 210, 225))
    canvas.paste(photo, ((size[0] - photo.width) // 2, (size[1] - photo.height) // 2))
    canvas.save(path)
    return path


def _voice_samples(seconds: float, rate: int) -> np.ndarray:
    t = np.arange(int(seconds * rate)) / rate
    pitch = 140 + 30 * np.sin(2 * np.pi * 0.7 * t)  # a gliding, syllable-like tone
    envelope = 0.5 * (1 + np.sin(2 * np.pi * 3.0 * t)) ** 2 / 4
    signal = envelope * np.sin(2 * np.pi * np.cumsum(pitch) / rate)
    return (signal * 0.6 * 32767).astype(np.int16)


def voice_wav(path: Path, seconds: float = 4.0, rate: int = 16000) -> Path:
    with wave.open(str(path), "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(rate)
        out.writeframes(_voice_samples(seconds, rate).tobytes())
    return path


def voice_mp3(path: Path, seconds: float = 4.0, rate: int = 44100) -> Path:
    samples = _voice_samples(seconds, rate)
    with av.open(str(path), "w", format="mp3") as container:
        stream = container.add_stream("mp3", rate=rate)
        stream.layout = "mono"
        for start in range(0, len(samples), 1152):
            frame = av.AudioFrame.from_ndarray(samples[None, start : start + 1152], format="s16", layout="mono")
            frame.sample_rate = rate
            for packet in stream.encode(frame):
                container.mux(packet)
        for packet in stream.encode(None):
            container.mux(packet)
    return path


def talking_clip(path: Path, seconds: float = 3.0, fps: int = 25, size: tuple[int, int] = (720, 960)) -> Path:
    """An H.264 MP4 of the portrait with a moving mouth (within videoretalk's 640-2048 px, 15-60 fps)."""
    base = portrait(path.with_suffix(".png"), size)
    still = np.asarray(Image.open(base).convert("RGB"))
    with av.open(str(path), "w") as container:
        stream = container.add_stream("libx264", rate=fps)
        stream.width, stream.height, stream.pix_fmt = size[0], size[1], "yuv420p"
        stream.time_base = Fraction(1, fps)
        cx, cy = size[0] // 2, size[1] // 2 + 20
        for n in range(int(seconds * fps)):
            frame = still.copy()
            opening = int(6 + 6 * np.sin(n / 2))
            frame[cy + 50 : cy + 50 + opening, cx - 30 : cx + 30] = (120, 30, 30)
            video_frame = av.VideoFrame.from_ndarray(frame, format="rgb24")
            video_frame.pts = n
            for packet in stream.encode(video_frame):
                container.mux(packet)
        for packet in stream.encode(None):
            container.mux(packet)
    return path
