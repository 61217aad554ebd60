"""The model modules' media work driven directly (no HTTP, no task engine): what the media tests exercise.

``ModelMedia.prepare`` answers the ``Prepared`` task or the ``MediaFailure`` of a model module's ``prepare``;
``ModelMedia.detect`` the detector's answer body as the mock sends it, or the ``MediaFailure`` of a failed request.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from dashscope_mock.http import views
from dashscope_mock.media import Fetcher, MediaFailure, MediaKit, OssResolver, Prepared
from dashscope_mock.media.kit import failed_request
from dashscope_mock.plugins import load_registry
from dashscope_mock.seam import DetectJob, DetectOutcome, MediaJob


class ModelMedia:
    def __init__(
        self, *, fetcher: Fetcher | None = None, download_timeout: float | None = None, work_root: Path | None = None
    ) -> None:
        self.fetcher = fetcher or Fetcher(timeout=download_timeout)
        self.work_root = work_root
        self.registry = load_registry()

    def _kit(self, resolve_oss: OssResolver | None = None) -> MediaKit:
        return MediaKit(fetcher=self.fetcher, work_root=self.work_root, resolve_oss=resolve_oss)

    async def prepare(
        self, model: str, body: Mapping[str, Any], *, oss_resolve: bool = False, resolve_oss: OssResolver | None = None
    ) -> Prepared | MediaFailure:
        job = MediaJob(
            task_id="t",
            model=model,
            input=body.get("input") or {},
            parameters=body.get("parameters") or {},
            results_dir="",
            oss_resolve=oss_resolve,
        )
        try:
            prepared: Prepared = await self._kit(resolve_oss).prepare(job, self.registry.video(model).prepare)
        except MediaFailure as failure:
            return failure
        return prepared

    async def detect(self, model: str, image_url: str, ratio: str | None = None) -> dict[str, Any] | MediaFailure:
        detector = self.registry.detector(model)
        job = DetectJob(model=model, image_url=image_url, parameters={"ratio": ratio} if ratio else {})
        try:
            outcome = await self._kit().detect(job, detector.detect)
        except MediaFailure as failure:
            if failed_request(failure):
                return failure
            outcome = DetectOutcome.failed(failure)
        return views.detect_answer(detector, outcome)
