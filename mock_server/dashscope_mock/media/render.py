"""Result videos: real, playable MP4 files (H.264 via libx264 + AAC) written with PyAV's bundled FFmpeg.

Synchronous and CPU-bound: run them in a thread or process pool, off the request path. Sizes are kept small and the
x264 preset fast, so a few seconds of result render in a fraction of a second.

- :func:`render_portrait` (liveportrait, emo-v1): one still frame with a gentle motion — a slow zoom (4 %, 6 s
  period) towards the face and a half-transparent dark "mouth" ellipse low on the face whose height follows the
  audio's loudness (scaled by liveportrait's ``mouth_move_strength``).
- :func:`render_video` (videoretalk): the input video's frames, cut to the result's duration, or extended by the
  documented reverse-forward ping-pong when the audio is longer and ``video_extension`` is true.

Both mux the input audio, re-encoded to AAC and cut to ``duration``; the video has ``round(duration x fps)`` frames,
so the file lasts ``duration`` to within a frame.

Bounded work: ``duration`` is cut to ``max_seconds`` (the model's longest documented input: the checks refuse longer
inputs, this holds whatever gets through); the audio is held for that long at most, at ≤ 48 kHz and ≤ 2 channels;
frames are at most ``max_side`` (results) and the input video's ``max_pixels`` (the decoder refuses larger frames
before allocating them); the ping-pong's stored frames spill to a temporary file past :data:`STORE_MEMORY_BYTES`.
:func:`portrait_render_cost` and :func:`video_render_cost` estimate a render's peak memory for the budget.
"""

from __future__ import annotations

import math
import tempfile
from collections.abc import Iterator
from fractions import Fraction
from pathlib import Path
from typing import IO, Any

import av
import cv2
import numpy as np
from numpy.typing import NDArray

from .faces import Box

__all__ = [
    "PORTRAIT_MAX_SIDE",
    "STORE_MEMORY_BYTES",
    "VIDEO_MAX_SIDE",
    "even_size",
    "portrait_render_cost",
    "render_portrait",
    "render_video",
    "video_render_cost",
]

PORTRAIT_MAX_SIDE = 512
VIDEO_MAX_SIDE = 1280
X264_OPTIONS = {"preset": "veryfast", "crf": "26"}
X264_VIDEO_OPTIONS = {"preset": "ultrafast", "crf": "24"}  # videoretalk: many frames, keep it quick
_AAC_RATES = (8000, 11025, 12000, 16000, 22050, 24000, 32000, 44100, 48000)
_AUDIO_CHUNK = 1024
STORE_MEMORY_BYTES = 64 * 2**20
"""JPEG copies of videoretalk's frames kept in memory for the ping-pong; the rest go to a temporary file."""
# The render estimates, from measured peaks with margin: ~45 MB above idle for a 512x512 portrait of 20 s, 73 MB
# for 512x704 of 60 s at 48 kHz stereo (22 MB of it audio), 65 MB for a 2048x1152 video to 1280x720. An encoder
# holds a few frames (lookahead, threads); an H.264 decoder up to 16 reference frames and one per thread.
_ENCODER_FRAMES = 16
_DECODER_FRAMES = 24
_RENDER_BASE = 40 * 2**20

RGB = NDArray[np.uint8]


def even_size(width: int, height: int, max_side: int) -> tuple[int, int]:
    """``width`` x ``height`` scaled so the longest side ≤ ``max_side``, both sides even (yuv420p needs it)."""
    scale = min(1.0, max_side / max(width, height))
    out_w = max(2, math.floor(width * scale / 2) * 2)
    out_h = max(2, math.floor(height * scale / 2) * 2)
    return out_w, out_h


def _output_audio(sample_rate: int, channels: int) -> tuple[int, str]:
    """The AAC rate and layout a result's audio gets from an input of ``sample_rate`` and ``channels``."""
    return (sample_rate if sample_rate in _AAC_RATES else 44100), ("stereo" if channels >= 2 else "mono")


def _audio_bytes(sample_rate: int, channels: int, duration: float) -> int:
    rate, layout = _output_audio(sample_rate, channels)
    return round(rate * duration) * (2 if layout == "stereo" else 1) * 4


class _Audio:
    """The input audio decoded to planar float at an AAC rate, ≤ 2 channels, exactly ``duration`` long (silence
    after its end; decoding stops once ``duration`` is filled)."""

    def __init__(self, path: Path, duration: float) -> None:
        with av.open(str(path)) as container:
            stream = container.streams.audio[0]
            self.rate, self.layout = _output_audio(
                int(stream.codec_context.sample_rate or 44100), int(stream.codec_context.channels or 1)
            )
            total = max(1, round(duration * self.rate))
            # Filled in place: no list of chunks and no concatenated copy beside it.
            self.samples: NDArray[np.float32] = np.zeros((2 if self.layout == "stereo" else 1, total), np.float32)
            resampler = av.AudioResampler(format="fltp", layout=self.layout, rate=self.rate)
            filled = 0
            try:
                for frame in container.decode(stream):
                    filled = self._fill(filled, resampler.resample(frame))
                    if filled >= total:
                        break
            except Exception:  # a damaged tail: keep what decoded (the checks accepted its duration)
                pass
            if filled < total:
                self._fill(filled, resampler.resample(None))
        self.position = 0

    def _fill(self, filled: int, frames: list[av.AudioFrame]) -> int:
        for out in frames:
            data = np.asarray(out.to_ndarray(), np.float32)
            take = min(data.shape[1], self.samples.shape[1] - filled)
            self.samples[:, filled : filled + take] = data[:, :take]
            filled += take
        return filled

    def loudness(self, frames: int, fps: float) -> NDArray[np.float64]:
        """Per video frame, the RMS loudness scaled to [0, 1] (95th percentile = 1), lightly smoothed."""
        mono = self.samples.mean(axis=0)
        values = np.zeros(frames)
        for index in range(frames):
            start, end = round(index / fps * self.rate), round((index + 1) / fps * self.rate)
            window = mono[start:end]
            if window.size:
                values[index] = float(np.sqrt(np.mean(window.astype(np.float64) ** 2)))
        top = float(np.percentile(values, 95)) if frames else 0.0
        if top <= 1e-6:
            return np.zeros(frames)
        smoothed = np.convolve(np.clip(values / top, 0, 1), np.ones(3) / 3, mode="same")
        result: NDArray[np.float64] = np.clip(smoothed, 0, 1)
        return result

    def frames_until(self, seconds: float | None) -> Iterator[av.AudioFrame]:
        """AAC-sized frames from the current position up to ``seconds`` (None: the end)."""
        end = self.samples.shape[1] if seconds is None else min(self.samples.shape[1], round(seconds * self.rate))
        while self.position < end:
            stop = min(end, self.position + _AUDIO_CHUNK)
            if seconds is not None and stop - self.position < _AUDIO_CHUNK and stop < self.samples.shape[1]:
                return  # wait for a full frame unless this is the tail
            frame = av.AudioFrame.from_ndarray(self.samples[:, self.position : stop], format="fltp", layout=self.layout)
            frame.sample_rate = self.rate
            frame.pts = self.position
            frame.time_base = Fraction(1, self.rate)
            self.position = stop
            yield frame


class _Writer:
    """An MP4 with one H.264 and one AAC stream, audio interleaved as the video advances."""

    def __init__(
        self, out_path: Path, width: int, height: int, rate: Fraction, audio: _Audio, *, still: bool = False
    ) -> None:
        self.container: Any = av.open(str(out_path), "w", format="mp4", options={"movflags": "+faststart"})
        options = dict(X264_OPTIONS, tune="stillimage") if still else dict(X264_VIDEO_OPTIONS)
        self.video = self.container.add_stream("libx264", rate=rate, options=options)
        self.video.width, self.video.height = width, height
        self.video.pix_fmt = "yuv420p"
        self.audio_stream = self.container.add_stream("aac", rate=audio.rate, layout=audio.layout)
        self.audio = audio
        self.rate = rate
        self.count = 0

    def add(self, rgb: RGB) -> None:
        frame = av.VideoFrame.from_ndarray(rgb, format="rgb24")
        frame.pts = self.count
        self.container.mux(self.video.encode(frame))
        self.count += 1
        for audio_frame in self.audio.frames_until(float(self.count / self.rate)):
            self.container.mux(self.audio_stream.encode(audio_frame))

    def close(self) -> None:
        self.container.mux(self.video.encode(None))
        for audio_frame in self.audio.frames_until(None):
            self.container.mux(self.audio_stream.encode(audio_frame))
        self.container.mux(self.audio_stream.encode(None))
        self.container.close()


def portrait_render_cost(width: int, height: int, duration: float, sample_rate: int, channels: int) -> int:
    """The estimated peak bytes of :func:`render_portrait` of a ``width`` x ``height`` frame and ``duration``
    seconds of audio (input ``sample_rate`` and ``channels``)."""
    return _RENDER_BASE + _ENCODER_FRAMES * width * height * 3 + _audio_bytes(sample_rate, channels, duration)


def video_render_cost(
    in_size: tuple[int, int], out_size: tuple[int, int], duration: float, sample_rate: int, channels: int
) -> int:
    """The estimated peak bytes of :func:`render_video` from an ``in_size`` video to ``out_size`` frames."""
    decoder = _DECODER_FRAMES * in_size[0] * in_size[1] * 3 // 2  # YUV 4:2:0 frames
    encoder = _ENCODER_FRAMES * out_size[0] * out_size[1] * 3
    return _RENDER_BASE + decoder + encoder + STORE_MEMORY_BYTES + _audio_bytes(sample_rate, channels, duration)


def render_portrait(
    out_path: Path,
    *,
    frame: RGB,
    face: Box | None,
    audio_path: Path,
    duration: float,
    fps: float,
    max_seconds: float,
    mouth_strength: float = 1.0,
) -> None:
    """A ``duration``-second (at most ``max_seconds``) video of ``frame`` (even sides) at ``fps``, with the audio
    of ``audio_path``.

    ``face`` (in ``frame``'s pixels) anchors the zoom and the mouth pulse; without one the frame only zooms.
    """
    duration = min(duration, max_seconds)
    height, width = frame.shape[:2]
    if width % 2 or height % 2:
        width, height = even_size(width, height, max(width, height))
        frame = np.ascontiguousarray(frame[:height, :width])
    rate = Fraction(fps).limit_denominator(1001)
    audio = _Audio(audio_path, duration)
    count = max(1, round(duration * rate))
    loudness = audio.loudness(count, float(rate))
    if face is not None:
        fx1, fy1, fx2, fy2 = face
        centre = ((fx1 + fx2) / 2, (fy1 + fy2) / 2)
        mouth = (
            (round((fx1 + fx2) / 2), round(fy1 + 0.8 * (fy2 - fy1))),
            (max(2, round(0.11 * (fx2 - fx1))), max(1, round(0.05 * (fy2 - fy1)))),
        )
    else:
        centre = (width / 2, height / 2)
    writer = _Writer(out_path, width, height, rate, audio, still=True)
    try:
        for index in range(count):
            image = frame
            if face is not None and mouth_strength > 0 and loudness[index] > 0.05:
                image = _mouth(frame, mouth, float(loudness[index]) * min(1.5, mouth_strength) / 1.5)
            writer.add(_zoom(image, centre, 1.0 + 0.04 * (1 - math.cos(2 * math.pi * index / (6 * float(rate)))) / 2))
    finally:
        writer.close()


def _mouth(frame: RGB, mouth: tuple[tuple[int, int], tuple[int, int]], opening: float) -> RGB:
    """A dark, half-transparent ellipse over the mouth, taller and darker as ``opening`` (0..1) grows."""
    (mx, my), (ax, ay) = mouth
    overlay = frame.copy()
    cv2.ellipse(overlay, (mx, my), (ax, max(1, round(ay * opening))), 0, 0, 360, (45, 20, 25), -1, cv2.LINE_AA)
    alpha = 0.35 + 0.35 * opening
    return np.asarray(cv2.addWeighted(overlay, alpha, frame, 1 - alpha, 0), dtype=np.uint8)


def _zoom(image: RGB, centre: tuple[float, float], factor: float) -> RGB:
    if factor <= 1.0005:
        return image
    height, width = image.shape[:2]
    crop_w, crop_h = width / factor, height / factor
    x = min(max(0.0, centre[0] - crop_w / 2), width - crop_w)
    y = min(max(0.0, centre[1] - crop_h / 2), height - crop_h)
    # An affine warp keeps the sub-pixel crop smooth (no jitter between frames).
    matrix = np.array([[factor, 0, -x * factor], [0, factor, -y * factor]], dtype=np.float64)
    out = cv2.warpAffine(image, matrix, (width, height), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)
    return np.asarray(out, dtype=np.uint8)


def render_video(
    out_path: Path,
    *,
    video_path: Path,
    audio_path: Path,
    duration: float,
    extension: bool,
    max_seconds: float,
    max_pixels: int,
    max_side: int = VIDEO_MAX_SIDE,
) -> None:
    """videoretalk: the input video's frames at its own rate (scaled to ≤ ``max_side``), ``duration`` long (at
    most ``max_seconds``); frames of more than ``max_pixels`` are not decoded (``ValueError``).

    When the video runs out before ``duration`` and ``extension`` is true, frames continue reverse-forward
    (n-2 … 0, 1 … n-1, …); without ``extension`` the last frame holds (the caller makes ``duration`` ≤ the video's).
    """
    duration = min(duration, max_seconds)
    with av.open(str(video_path)) as container, _FrameStore(video_path.parent) as stored:
        stream = container.streams.video[0]
        stream.thread_type = "AUTO"
        stream.codec_context.options = {"max_pixels": str(max_pixels)}
        rate = Fraction(stream.average_rate or stream.guessed_rate or 25)
        width, height = even_size(int(stream.codec_context.width), int(stream.codec_context.height), max_side)
        count = max(1, round(duration * rate))
        audio = _Audio(audio_path, duration)
        writer = _Writer(out_path, width, height, rate, audio)
        written = 0
        last: RGB | None = None
        try:
            try:
                for decoded in container.decode(stream):
                    if written >= count:
                        break
                    scaled = decoded.reformat(width=width, height=height, format="rgb24")  # swscale: fast
                    rgb = np.asarray(scaled.to_ndarray(), dtype=np.uint8)
                    writer.add(rgb)
                    written += 1
                    if extension:
                        stored.append(_jpeg(rgb))
                    last = rgb
            except Exception:  # a damaged tail: continue from the frames that decoded
                pass
            if last is None:
                raise ValueError(f"{video_path} has no decodable frame")
            order = _ping_pong(len(stored)) if extension and len(stored) else None
            while written < count:
                if order is not None:
                    last = _unjpeg(stored[next(order)])
                writer.add(last)
                written += 1
        finally:
            writer.close()


class _FrameStore:
    """JPEG copies of frames, by index: in memory up to :data:`STORE_MEMORY_BYTES`, then in a temporary file in
    ``folder`` (deleted on exit), so a long video's ping-pong does not grow the process."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.memory: list[bytes] = []
        self.held = 0
        self.spilled: list[tuple[int, int]] = []  # (offset, length) in the file
        self.file: IO[bytes] | None = None

    def __enter__(self) -> _FrameStore:
        return self

    def __exit__(self, *exc: object) -> None:
        if self.file is not None:
            self.file.close()

    def __len__(self) -> int:
        return len(self.memory) + len(self.spilled)

    def append(self, data: bytes) -> None:
        if self.file is None and self.held + len(data) <= STORE_MEMORY_BYTES:
            self.memory.append(data)
            self.held += len(data)
            return
        if self.file is None:
            self.file = tempfile.TemporaryFile(dir=self.folder)  # noqa: SIM115 - closed by __exit__
        offset = self.file.seek(0, 2)
        self.file.write(data)
        self.spilled.append((offset, len(data)))

    def __getitem__(self, index: int) -> bytes:
        if index < len(self.memory):
            return self.memory[index]
        assert self.file is not None
        offset, length = self.spilled[index - len(self.memory)]
        self.file.seek(offset)
        return self.file.read(length)


def _ping_pong(length: int) -> Iterator[int]:
    """Indices after a forward pass of ``length`` frames: reverse, then forward, then reverse…"""
    if length == 1:
        while True:
            yield 0
    while True:
        yield from range(length - 2, -1, -1)
        yield from range(1, length)


def _jpeg(rgb: RGB) -> bytes:
    ok, data = cv2.imencode(".jpg", cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR), [cv2.IMWRITE_JPEG_QUALITY, 90])
    if not ok:  # pragma: no cover
        raise ValueError("JPEG encoding failed")
    return bytes(data.tobytes())


def _unjpeg(data: bytes) -> RGB:
    bgr = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_COLOR)
    if bgr is None:  # pragma: no cover - the JPEG was written by _jpeg
        raise ValueError("JPEG decoding failed")
    return np.asarray(cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB), dtype=np.uint8)
