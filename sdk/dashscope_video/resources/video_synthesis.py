"""Video synthesis: one submit method per model, each returning a ``TaskHandle`` typed with that model's result.

Inputs are URLs (``http(s)://``, ``oss://``) or local files (paths, ``file://``), which are uploaded for the model
first. ``parameters`` is the model's parameters object, generated from the spec (unset fields keep the service's
defaults). A submit is not retried once it may have reached the service (see ``_retry``).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, cast

from .. import _effects as fx
from .._errors import detection_rejected
from .._resource import AsyncAPIResource, Plans, SyncAPIResource, awaitable, blocking
from .._uploads import MediaInput, needs_resolve
from .._wire import Parameters, parameters_class, submit_call
from ..types import (
    EmoParameters,
    EmoRatio,
    EmoResult,
    LivePortraitParameters,
    LivePortraitResult,
    R,
    TaskHandle,
    VideoResult,
    VideoRetalkParameters,
    VideoRetalkResult,
)
from .face_detect import FaceDetectPlans
from .uploads import UploadPlans

__all__ = ["AsyncVideoSynthesis", "VideoSynthesis", "VideoSynthesisPlans"]

RESULT_TYPES: tuple[type[VideoResult], ...] = (LivePortraitResult, EmoResult, VideoRetalkResult)


class VideoSynthesisPlans(Plans):
    def liveportrait(
        self, image: MediaInput, audio: MediaInput, *, parameters: LivePortraitParameters | None = None
    ) -> fx.Plan[TaskHandle[LivePortraitResult]]:
        """Submit liveportrait: a portrait (that passes liveportrait-detect) speaking ``audio``."""
        return (yield from self._submit(LivePortraitResult, {"image_url": image, "audio_url": audio}, {}, parameters))

    def emo(
        self,
        image: MediaInput,
        audio: MediaInput,
        *,
        face_bbox: Sequence[int] | None = None,
        ext_bbox: Sequence[int] | None = None,
        ratio: EmoRatio = "1:1",
        parameters: EmoParameters | None = None,
    ) -> fx.Plan[TaskHandle[EmoResult]]:
        """Submit emo-v1. Without boxes, emo-detect-v1 runs first (with ``ratio``) and ``DetectionRejected`` is raised
        if it rejects the image (also an instance of its code's family, e.g. ``errors.InvalidFile``)."""
        if (face_bbox is None) != (ext_bbox is None):
            raise ValueError("pass both face_bbox and ext_bbox, or neither (then emo-detect-v1 finds them)")
        if face_bbox is None or ext_bbox is None:
            detection = yield from FaceDetectPlans(self._client).emo(image, ratio)
            if not detection.passed or detection.face_bbox is None or detection.ext_bbox is None:
                raise detection_rejected(detection.code, detection.message, detection, detection.request_id)
            face_bbox, ext_bbox = detection.face_bbox, detection.ext_bbox
        boxes = {"face_bbox": list(face_bbox), "ext_bbox": list(ext_bbox)}
        return (yield from self._submit(EmoResult, {"image_url": image, "audio_url": audio}, boxes, parameters))

    def videoretalk(
        self,
        video: MediaInput,
        audio: MediaInput,
        *,
        ref_image: MediaInput | None = None,
        parameters: VideoRetalkParameters | None = None,
    ) -> fx.Plan[TaskHandle[VideoRetalkResult]]:
        """Submit videoretalk: ``video``'s speaker lip-synced to ``audio`` (``ref_image``: which face to use)."""
        media = {"video_url": video, "audio_url": audio, "ref_image_url": ref_image}
        return (yield from self._submit(VideoRetalkResult, media, {}, parameters))

    def create(
        self,
        model: str,
        inputs: Mapping[str, MediaInput | Sequence[int] | None],
        parameters: Mapping[str, Any] | None = None,
    ) -> fx.Plan[TaskHandle[VideoResult]]:
        """Submit any video model from plain values: ``inputs`` are the input object's fields (``*_url`` fields may
        be local files, uploaded first), ``parameters`` the parameters object's, as in the spec. The per-model
        methods above are the typed way; this one suits jobs read from files (``lib.batch``)."""
        result_type = next((cls for cls in RESULT_TYPES if cls.model == model), None)
        if result_type is None:
            raise ValueError(f"{model!r} is not a video model: {', '.join(str(cls.model) for cls in RESULT_TYPES)}")
        media = {k: cast(MediaInput | None, v) for k, v in inputs.items() if k.endswith("_url")}
        other = {k: v for k, v in inputs.items() if not k.endswith("_url") and v is not None}
        params = None if parameters is None else parameters_class(model).from_dict(dict(parameters))
        return (yield from self._submit(result_type, media, other, params))

    def _submit(
        self,
        result_type: type[R],
        media: Mapping[str, MediaInput | None],
        other_inputs: Mapping[str, object],
        parameters: Parameters | None,
    ) -> fx.Plan[TaskHandle[R]]:
        model = result_type.model
        assert model is not None
        uploads = UploadPlans(self._client)
        inputs: dict[str, object] = dict(other_inputs)
        for name, value in media.items():
            inputs[name] = yield from uploads.media(value, model)
        resolve = any(isinstance(v, str) and needs_resolve(v) for v in inputs.values())
        answer = yield from self._client.call(
            submit_call(model, inputs, parameters, resolve=resolve), "submit", idempotent=False, model=model
        )
        output = answer["output"]
        return TaskHandle(output["task_id"], result_type, output["task_status"], answer.get("request_id"))


class VideoSynthesis(SyncAPIResource[VideoSynthesisPlans]):
    _plans_class = VideoSynthesisPlans
    liveportrait = blocking(VideoSynthesisPlans.liveportrait)
    emo = blocking(VideoSynthesisPlans.emo)
    videoretalk = blocking(VideoSynthesisPlans.videoretalk)
    create = blocking(VideoSynthesisPlans.create)


class AsyncVideoSynthesis(AsyncAPIResource[VideoSynthesisPlans]):
    _plans_class = VideoSynthesisPlans
    liveportrait = awaitable(VideoSynthesisPlans.liveportrait)
    emo = awaitable(VideoSynthesisPlans.emo)
    videoretalk = awaitable(VideoSynthesisPlans.videoretalk)
    create = awaitable(VideoSynthesisPlans.create)
