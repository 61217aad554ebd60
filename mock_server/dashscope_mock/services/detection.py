"""face-detect: synchronous for the caller; a scripted scenario, then the media seam."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from typing import Any

from ..domain.errors import catalogue_error
from ..seam import DetectJob, DetectOutcome, Media
from ..store import ScenarioKeeper
from .uploads import OSS_PREFIX, UploadService

__all__ = ["DetectService"]

# A scripted failure of these families is a failed check (200, ``pass``/``check_pass`` false); any other code fails
# the request.
CHECK_FAMILIES = ("InvalidFile", "InvalidImage")


class DetectService:
    def __init__(
        self,
        media: Media,
        uploads: UploadService,
        scenarios: ScenarioKeeper,
        retry_after_seconds: int,
        call: Callable[..., Awaitable[Any]],
    ) -> None:
        self.call = call  # the store's (``Store.call``)
        self.media = media
        self.uploads = uploads
        self.scenarios = scenarios
        self.retry_after_seconds = retry_after_seconds

    async def detect(
        self,
        key: str,
        body: Mapping[str, Any],
        *,
        oss_resolve: bool,
        strict: bool = False,
        note: Callable[[str], None] | None = None,
    ) -> DetectOutcome:
        """Check the image; ``strict`` keeps uploads to their own model (``--strict-fields``), ``note`` takes what the
        request's journal entry should say about an ``oss://`` image (refused and why, or resolved by a leniency).
        State calls run where they cannot block the event loop (``Store.call``)."""
        prepared = await self.call(self._prepare, key, body, oss_resolve, strict, note)
        if isinstance(prepared, DetectOutcome):
            return prepared
        return await self.media.detect(prepared)

    def _prepare(
        self, key: str, body: Mapping[str, Any], oss_resolve: bool, strict: bool, note: Callable[[str], None] | None
    ) -> DetectOutcome | DetectJob:
        """A scripted outcome, or the job with its ``oss://`` image resolved."""
        model = str(body["model"])
        image_url = str((body.get("input") or {}).get("image_url", ""))
        scenario = self.scenarios.take(model, "detect", [image_url])
        if scenario is not None and scenario.entry is not None:
            found = scenario.entry
            if found.stage in ("detect", "task") and found.family in CHECK_FAMILIES:
                return DetectOutcome(code=found.code, message=found.render(**{"url": image_url, **scenario.values}))
            raise scenario.error(self.retry_after_seconds, url=image_url, parameter="parameters")
        if image_url.startswith(OSS_PREFIX):
            resolution = self.uploads.resolve(image_url, model, key, oss_resolve=oss_resolve, strict=strict)
            said = resolution.note("input.image_url")
            if said is not None and note is not None:
                note(said)
            if resolution.file_url is None:
                raise catalogue_error("InvalidURL", model=model, reason="detect_download")
            image_url = resolution.file_url
        return DetectJob(
            model=model, image_url=image_url, parameters=body.get("parameters") or {}, oss_resolve=oss_resolve
        )
