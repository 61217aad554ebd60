"""The facade the mock calls: :class:`MediaPipeline` (``prepare`` a task's inputs, ``detect`` a portrait).

Downloads run on the event loop (async, bounded); probing, face detection and rendering run in threads, so the mock
keeps serving other requests meanwhile. Nothing here raises for bad media: every failure comes back as a
:class:`MediaFailure` naming a catalogue code.
"""

from __future__ import annotations

import asyncio
import shutil
import tempfile
import weakref
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

import cv2
import numpy as np
from numpy.typing import NDArray

from dashscope_openapi import load_spec, model_limits

from .checks import CheckedImage, check_audio, check_emo_boxes, check_image, check_video, single_face
from .errors import MediaFailure, failure, input_limits
from .faces import MATCH_THRESHOLD, Box, best_match, ext_bbox, face_signature
from .fetch import Fetcher, OssResolver
from .probe import AudioInfo, VideoInfo, sample_video_frames
from .render import PORTRAIT_MAX_SIDE, VIDEO_MAX_SIDE, even_size, render_portrait, render_video

__all__ = ["DETECT_MODELS", "TASK_MODELS", "MediaPipeline", "Prepared"]

TASK_MODELS = ("liveportrait", "emo-v1", "videoretalk")
DETECT_MODELS = ("liveportrait-detect", "emo-detect-v1")
MATCH_FRAMES = 5
"""How many frames, spread over the video, are searched for videoretalk's reference face."""

_T = TypeVar("_T")
RGB = NDArray[np.uint8]


@dataclass(frozen=True)
class _FetchOptions:
    oss_resolve: bool
    resolve_oss: OssResolver | None
    local_files: bool


@dataclass
class Prepared:
    """A task whose inputs passed every check: what ``usage`` reports and how to make the result.

    ``render(out_path)`` is synchronous and CPU-bound (seconds at most for short inputs): run it in a thread or process
    pool. The downloaded inputs stay in ``workdir`` until :meth:`close` (or garbage collection).
    """

    model: str
    video_duration: float
    video_ratio: str
    workdir: Path
    _render: Callable[[Path], None] = field(repr=False)
    details: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self._finalizer = weakref.finalize(self, shutil.rmtree, self.workdir, True)

    def render(self, out_path: Path) -> Path:
        """Write the result MP4 (H.264 + AAC, ``video_duration`` long) to ``out_path``; returns ``out_path``."""
        out_path = Path(out_path)
        out_path.parent.mkdir(parents=True, exist_ok=True)
        self._render(out_path)
        return out_path

    def close(self) -> None:
        """Delete the downloaded inputs (idempotent)."""
        self._finalizer()


def _schema_default(schema: str, name: str) -> Any:
    return load_spec()["components"]["schemas"][schema]["properties"][name].get("default")


def _param(parameters: Mapping[str, Any], schema: str, name: str) -> Any:
    value = parameters.get(name)
    return _schema_default(schema, name) if value is None else value


class MediaPipeline:
    """Fetches and checks the inputs of a task or a face-detect call against the spec, and renders results.

    ``download_timeout`` (seconds) defaults to ``x-limits.download_timeout_seconds``; ``work_root`` holds one
    temporary folder per call (default: the system's temp dir).
    """

    def __init__(
        self,
        *,
        fetcher: Fetcher | None = None,
        download_timeout: float | None = None,
        work_root: Path | None = None,
        portrait_max_side: int = PORTRAIT_MAX_SIDE,
        video_max_side: int = VIDEO_MAX_SIDE,
        match_frames: int = MATCH_FRAMES,
    ) -> None:
        self.fetcher = fetcher or Fetcher(timeout=download_timeout)
        self.work_root = work_root
        if work_root is not None:
            Path(work_root).mkdir(parents=True, exist_ok=True)
        self.portrait_max_side = portrait_max_side
        self.video_max_side = video_max_side
        self.match_frames = match_frames

    # ------------------------------------------------------------------------------------------------ tasks
    async def prepare(
        self,
        model: str,
        body: Mapping[str, Any],
        *,
        oss_resolve: bool = False,
        resolve_oss: OssResolver | None = None,
        local_files: bool = False,
    ) -> Prepared | MediaFailure:
        """Download and check a submitted task's inputs (``body`` is the submit body: ``input``, ``parameters``).

        ``oss://`` URLs are read through ``resolve_oss`` when ``oss_resolve`` (the request's
        ``X-DashScope-OssResourceResolve: enable``); ``local_files`` lets ``file://`` URLs the mock itself wrote
        through (see :mod:`.fetch`).
        """
        handlers = {"liveportrait": self._liveportrait, "emo-v1": self._emo, "videoretalk": self._videoretalk}
        if model not in handlers:
            raise ValueError(f"{model!r} is not a video model ({', '.join(TASK_MODELS)})")
        inputs = body.get("input") or {}
        parameters = body.get("parameters") or {}
        workdir = Path(tempfile.mkdtemp(prefix=f"{model}-", dir=self.work_root))
        try:
            fetch = _FetchOptions(oss_resolve, resolve_oss, local_files)
            return await handlers[model](workdir, inputs, parameters, fetch)
        except MediaFailure as error:
            shutil.rmtree(workdir, ignore_errors=True)
            return error
        except BaseException:
            shutil.rmtree(workdir, ignore_errors=True)
            raise

    async def _fetch_all(
        self,
        model: str,
        workdir: Path,
        wanted: Sequence[tuple[str, object]],
        fetch: _FetchOptions,
    ) -> dict[str, Path]:
        """Download the inputs concurrently; the first failing input in ``wanted``'s order is reported (and the
        downloads after it are cancelled)."""

        async def one(name: str, url: object) -> Path:
            if not isinstance(url, str) or not url:
                raise failure(model, name, "download", detail="no URL")
            fetched = await self.fetcher.fetch(
                url,
                workdir / name,
                model=model,
                input=name,
                oss_resolve=fetch.oss_resolve,
                resolve_oss=fetch.resolve_oss,
                local_files=fetch.local_files,
            )
            return fetched.path

        tasks = [asyncio.ensure_future(one(name, url)) for name, url in wanted]
        paths: dict[str, Path] = {}
        try:
            for (name, url), task in zip(wanted, tasks, strict=True):
                try:
                    paths[name] = await task
                except MediaFailure:
                    raise
                except Exception as error:
                    detail = f"{type(error).__name__}: {error}"
                    raise failure(model, name, "download", url=str(url), detail=detail) from error
        finally:
            for task in tasks:  # an earlier input failed: the later ones no longer matter
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
        return paths

    async def _check(self, model: str, input: str, url: str, check: Callable[[], _T]) -> _T:
        """Run a check in a thread; an unexpected error while reading a file is that input's ``open`` failure."""
        try:
            return await asyncio.to_thread(check)
        except MediaFailure:
            raise
        except Exception as error:
            raise failure(model, input, "open", url=url, detail=f"{type(error).__name__}: {error}") from error

    async def _liveportrait(
        self,
        workdir: Path,
        inputs: Mapping[str, Any],
        parameters: Mapping[str, Any],
        fetch: _FetchOptions,
    ) -> Prepared:
        model = "liveportrait"
        image_url, audio_url = inputs.get("image_url"), inputs.get("audio_url")
        paths = await self._fetch_all(model, workdir, [("image", image_url), ("audio", audio_url)], fetch)
        image = await self._check(model, "image", str(image_url), lambda: check_image(model, "image", paths["image"]))
        audio = await self._check(model, "audio", str(audio_url), lambda: check_audio(model, "audio", paths["audio"]))
        face = await self._check(
            model, "image", str(image_url), lambda: single_face(model, "image", image.rgb, allow_many=True)
        )
        paths["image"].unlink(missing_ok=True)
        paste_back = bool(_param(parameters, "LivePortraitParameters", "paste_back"))
        frame, frame_face = _portrait_frame(image.rgb, face, paste_back, self.portrait_max_side)
        fps = float(_param(parameters, "LivePortraitParameters", "video_fps"))
        mouth = float(_param(parameters, "LivePortraitParameters", "mouth_move_strength"))
        duration = round(audio.duration, 2)
        audio_path = paths["audio"]

        def render(out_path: Path) -> None:
            render_portrait(
                out_path,
                frame=frame,
                face=frame_face,
                audio_path=audio_path,
                duration=duration,
                fps=fps,
                mouth_strength=mouth,
            )

        return Prepared(
            model,
            duration,
            str(model_limits(model)["output"]["video_ratio"]),
            workdir,
            render,
            {"face": face, "size": (frame.shape[1], frame.shape[0]), "fps": fps, "audio": audio},
        )

    async def _emo(
        self,
        workdir: Path,
        inputs: Mapping[str, Any],
        parameters: Mapping[str, Any],
        fetch: _FetchOptions,
    ) -> Prepared:
        model = "emo-v1"
        image_url, audio_url = inputs.get("image_url"), inputs.get("audio_url")
        face_bbox, ext = inputs.get("face_bbox"), inputs.get("ext_bbox")
        check_emo_boxes(face_bbox, ext)  # shape and ratio first: no download for a request that cannot pass
        paths = await self._fetch_all(model, workdir, [("image", image_url), ("audio", audio_url)], fetch)
        image = await self._check(model, "image", str(image_url), lambda: check_image(model, "image", paths["image"]))
        audio = await self._check(model, "audio", str(audio_url), lambda: check_audio(model, "audio", paths["audio"]))
        ratio = check_emo_boxes(face_bbox, ext, image.width, image.height)
        await self._check(model, "image", str(image_url), lambda: single_face(model, "image", image.rgb))
        paths["image"].unlink(missing_ok=True)
        out_w, out_h = (int(side) for side in model_limits(model)["output"]["sizes"][ratio])
        frame, frame_face = _emo_frame(image, _as_box(face_bbox), _as_box(ext), out_w, out_h)
        fps = float(model_limits(model)["output"]["fps"])
        duration = round(audio.duration, 2)
        audio_path = paths["audio"]

        def render(out_path: Path) -> None:
            render_portrait(out_path, frame=frame, face=frame_face, audio_path=audio_path, duration=duration, fps=fps)

        return Prepared(model, duration, ratio, workdir, render, {"size": (out_w, out_h), "fps": fps, "audio": audio})

    async def _videoretalk(
        self,
        workdir: Path,
        inputs: Mapping[str, Any],
        parameters: Mapping[str, Any],
        fetch: _FetchOptions,
    ) -> Prepared:
        model = "videoretalk"
        video_url, audio_url = inputs.get("video_url"), inputs.get("audio_url")
        ref_url = inputs.get("ref_image_url") or None
        wanted: list[tuple[str, object]] = [("video", video_url), ("audio", audio_url)]
        if ref_url is not None:
            wanted.append(("ref_image", ref_url))
        paths = await self._fetch_all(model, workdir, wanted, fetch)
        video: VideoInfo = await self._check(
            model, "video", str(video_url), lambda: check_video(model, "video", paths["video"])
        )
        audio: AudioInfo = await self._check(
            model, "audio", str(audio_url), lambda: check_audio(model, "audio", paths["audio"])
        )
        score: float | None = None
        if ref_url is not None:
            ref = await self._check(
                model, "ref_image", str(ref_url), lambda: check_image(model, "ref_image", paths["ref_image"])
            )
            score = await self._check(
                model, "ref_image", str(ref_url), lambda: self._match(model, ref, paths["video"], str(ref_url))
            )
        extension = bool(_param(parameters, "VideoRetalkParameters", "video_extension"))
        extension = extension and audio.duration > video.duration  # nothing to extend otherwise
        duration = audio.duration if extension else min(video.duration, audio.duration)
        duration = round(duration, 2)
        video_path, audio_path, max_side = paths["video"], paths["audio"], self.video_max_side

        def render(out_path: Path) -> None:
            render_video(
                out_path,
                video_path=video_path,
                audio_path=audio_path,
                duration=duration,
                extension=extension,
                max_side=max_side,
            )

        width, height = even_size(video.width, video.height, max_side)
        return Prepared(
            model,
            duration,
            str(model_limits(model)["output"]["video_ratio"]),
            workdir,
            render,
            {"size": (width, height), "fps": video.fps, "video": video, "audio": audio, "match": score},
        )

    def _match(self, model: str, ref: CheckedImage, video_path: Path, url: str) -> float:
        face = single_face(model, "ref_image", ref.rgb, url=url)
        signature = face_signature(ref.rgb, face)
        score = best_match(signature, sample_video_frames(video_path, self.match_frames))
        if score < MATCH_THRESHOLD:
            raise failure(model, "ref_image", "no_match", url=url, detail=f"best similarity {score:.3f}")
        return score

    # ------------------------------------------------------------------------------------------------ detect
    async def detect(
        self,
        model: str,
        image_url: str,
        ratio: str | None = None,
        *,
        oss_resolve: bool = False,
        resolve_oss: OssResolver | None = None,
        local_files: bool = False,
    ) -> dict[str, Any] | MediaFailure:
        """face-detect. Returns the response body without ``request_id`` (``{"output": …, "usage": …}``) for a check
        that ran, passed or not; returns a :class:`MediaFailure` for a failed request (the image could not be
        downloaded: answer with its ``status``, ``code`` and ``message``).
        """
        if model not in DETECT_MODELS:
            raise ValueError(f"{model!r} is not a detector ({', '.join(DETECT_MODELS)})")
        workdir = Path(tempfile.mkdtemp(prefix=f"{model}-", dir=self.work_root))
        try:
            fetch = _FetchOptions(oss_resolve, resolve_oss, local_files)
            return await self._detect(model, image_url, ratio, workdir, fetch)
        except MediaFailure as error:
            if error.code == input_limits(model, "image").get("errors", {}).get("download"):
                return error
            return _check_failed(model, error)
        finally:
            shutil.rmtree(workdir, ignore_errors=True)

    async def _detect(
        self,
        model: str,
        image_url: str,
        ratio: str | None,
        workdir: Path,
        fetch: _FetchOptions,
    ) -> dict[str, Any]:
        if model == "emo-detect-v1":
            ratio = ratio or _schema_default("EmoDetectParameters", "ratio")
            if ratio not in model_limits("emo-v1").get("ext_bbox_ratios", ()):
                raise failure(model, "image", "ratio", detail=f"ratio {ratio!r}")
        paths = await self._fetch_all(model, workdir, [("image", image_url)], fetch)
        image = await self._check(model, "image", image_url, lambda: check_image(model, "image", paths["image"]))
        if model == "liveportrait-detect":
            await self._check(
                model, "image", image_url, lambda: single_face(model, "image", image.rgb, allow_many=True)
            )
            return {"output": {"pass": True}}
        face = await self._check(model, "image", image_url, lambda: single_face(model, "image", image.rgb))
        assert ratio is not None
        box = ext_bbox(face, ratio, image.width, image.height)
        return {
            "output": {"check_pass": True, "face_bbox": list(face), "ext_bbox": list(box)},
            "usage": {"image_count": 1},
        }


def _check_failed(model: str, error: MediaFailure) -> dict[str, Any]:
    if model == "liveportrait-detect":
        return {"output": {"pass": False, "message": error.message}}
    return {
        "output": {"check_pass": False, "code": error.code, "message": error.message},
        "usage": {"image_count": 1},
    }


def _as_box(value: object) -> Box:
    x1, y1, x2, y2 = (int(item) for item in value)  # type: ignore[attr-defined]
    return (x1, y1, x2, y2)


def _scale_box(box: Box, scale_x: float, scale_y: float, width: int, height: int) -> Box:
    x1, y1, x2, y2 = box
    return (
        max(0, min(width - 1, round(x1 * scale_x))),
        max(0, min(height - 1, round(y1 * scale_y))),
        max(1, min(width, round(x2 * scale_x))),
        max(1, min(height, round(y2 * scale_y))),
    )


def _portrait_frame(rgb: RGB, face: Box, paste_back: bool, max_side: int) -> tuple[RGB, Box]:
    """liveportrait's still: the whole portrait (or, without ``paste_back``, a square around the face), scaled."""
    height, width = rgb.shape[:2]
    if not paste_back:
        crop = ext_bbox(face, "1:1", width, height)
        x1, y1, x2, y2 = crop
        rgb = rgb[y1:y2, x1:x2]
        face = (face[0] - x1, face[1] - y1, face[2] - x1, face[3] - y1)
        height, width = rgb.shape[:2]
    out_w, out_h = even_size(width, height, max_side)
    frame = cv2.resize(rgb, (out_w, out_h), interpolation=cv2.INTER_AREA)
    return np.ascontiguousarray(frame), _scale_box(face, out_w / width, out_h / height, out_w, out_h)


def _emo_frame(image: CheckedImage, face: Box, ext: Box, out_w: int, out_h: int) -> tuple[RGB, Box]:
    """emo-v1's still: the image cropped to ``ext_bbox`` and resized to the documented size of its ratio."""
    x1, y1, x2, y2 = ext
    crop = image.rgb[y1:y2, x1:x2]
    frame = cv2.resize(crop, (out_w, out_h), interpolation=cv2.INTER_AREA)
    local = (face[0] - x1, face[1] - y1, face[2] - x1, face[3] - y1)
    return np.ascontiguousarray(frame), _scale_box(local, out_w / (x2 - x1), out_h / (y2 - y1), out_w, out_h)
