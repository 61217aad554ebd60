"""The face detectors: ``face_detect.liveportrait(image)`` and ``face_detect.emo(image, ratio)``.

Both answer synchronously. A rejected image is a verdict (``passed=False``), whether the service says so in the
answer (``pass``/``check_pass: false``) or as a 400 whose code the catalogue documents for that detector.
"""

from __future__ import annotations

from typing import Any

from .. import _effects as fx
from .._errors import APIStatusError
from .._resource import AsyncAPIResource, Plans, SyncAPIResource, awaitable, blocking
from .._uploads import MediaInput, needs_resolve
from .._wire import detect_call
from ..types import Detector, EmoDetection, EmoRatio, LivePortraitDetection
from .uploads import UploadPlans

__all__ = ["AsyncFaceDetect", "FaceDetect", "FaceDetectPlans"]


class FaceDetectPlans(Plans):
    def liveportrait(self, image: MediaInput) -> fx.Plan[LivePortraitDetection]:
        """liveportrait-detect's verdict on a portrait (a local file is uploaded first)."""
        answer = yield from self._detect("liveportrait-detect", image, None)
        if isinstance(answer, APIStatusError):
            return LivePortraitDetection(False, answer.message, answer.request_id, {}, answer.code)
        return LivePortraitDetection._from_answer(answer)

    def emo(self, image: MediaInput, ratio: EmoRatio = "1:1") -> fx.Plan[EmoDetection]:
        """emo-detect-v1's verdict and, when it passes, the boxes emo-v1 needs (``ratio``: 1:1 head or 3:4 half
        body)."""
        answer = yield from self._detect("emo-detect-v1", image, ratio)
        if isinstance(answer, APIStatusError):
            return EmoDetection(False, None, None, answer.code, answer.message, answer.request_id, {})
        return EmoDetection._from_answer(answer)

    def _detect(
        self, model: Detector, image: MediaInput, ratio: EmoRatio | None
    ) -> fx.Plan[dict[str, Any] | APIStatusError]:
        url = yield from UploadPlans(self._client).media(image, model)
        assert url is not None
        headers = {"X-DashScope-OssResourceResolve": "enable"} if needs_resolve(url) else None
        try:
            return (
                yield from self._client.call(
                    detect_call(model, url, ratio), "detect", idempotent=True, model=model, headers=headers
                )
            )
        except APIStatusError as exc:
            if exc.is_check_failure(model):
                return exc
            raise


class FaceDetect(SyncAPIResource[FaceDetectPlans]):
    _plans_class = FaceDetectPlans
    liveportrait = blocking(FaceDetectPlans.liveportrait)
    emo = blocking(FaceDetectPlans.emo)


class AsyncFaceDetect(AsyncAPIResource[FaceDetectPlans]):
    _plans_class = FaceDetectPlans
    liveportrait = awaitable(FaceDetectPlans.liveportrait)
    emo = awaitable(FaceDetectPlans.emo)
