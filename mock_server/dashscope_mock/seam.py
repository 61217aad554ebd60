"""The media seam: what the task engine hands to media work and what it gets back.

``Media`` is the one protocol between the mock's services and media work. ``prepare(job)`` runs once per submitted
task, off the request path, and answers a ``MediaOutcome`` (a success with what ``usage`` reports, or a
``MediaFailure`` naming a catalogue code); ``detect(job)`` answers face-detect synchronously with a
``DetectOutcome`` (passed with boxes, or a failed check) and raises ``ApiError`` for a failed request. Two
implementations: ``LifecycleOnlyMedia`` here (``--media-checks off``: no I/O, each model module's placeholder) and
``dashscope_mock.media.RealMedia`` (downloads, decoders, face analysis, rendered MP4s). Both dispatch to the model
modules (``dashscope_mock.models``) through a ``ModelRegistry``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol

from dashscope_openapi import CatalogueEntry, Stage, error_catalogue

if TYPE_CHECKING:
    from .plugins import ModelRegistry

__all__ = [
    "PLACEHOLDER_MP4",
    "Box",
    "DetectJob",
    "DetectOutcome",
    "LifecycleOnlyMedia",
    "Media",
    "MediaFailure",
    "MediaJob",
    "MediaOutcome",
    "RecordedOutcome",
    "policy_note",
]

Box = tuple[int, int, int, int]

# An ISO-BMFF ``ftyp`` box followed by an empty ``free`` box: enough for `file` and content sniffers to see an MP4.
PLACEHOLDER_MP4 = b"\x00\x00\x00\x1cftypisom\x00\x00\x02\x00isomiso2mp41" + b"\x00\x00\x00\x08free"


class MediaFailure(Exception):
    """An input failed to download or check. ``code``/``reason`` name the catalogue entry; ``values`` fill its template.

    ``model``/``input``/``kind`` say what failed; ``detail`` is a human explanation for logs (never sent to clients);
    ``bytes_read`` is how many bytes of the input were read when the failure was decided (downloads only).
    """

    def __init__(
        self,
        code: str,
        reason: str | None = None,
        values: Mapping[str, str] | None = None,
        *,
        model: str = "",
        input: str = "",
        kind: str = "",
        detail: str = "",
        bytes_read: int | None = None,
    ) -> None:
        super().__init__(f"{code}: {detail or kind}")
        self.code = code
        self.reason = reason
        self.values: dict[str, str] = dict(values or {})
        self.model = model
        self.input = input
        self.kind = kind
        self.detail = detail
        self.bytes_read = bytes_read

    def entry_for(self, stages: list[Stage] | None = None) -> CatalogueEntry:
        """The catalogue entry: the model's own (of ``stages`` first, when given), then any entry of the code
        (detectors borrow their video model's messages)."""
        catalogue = error_catalogue()
        model = self.model or None
        entry = (
            (catalogue.find(self.code, model=model, reason=self.reason, stages=stages) if stages else None)
            or catalogue.find(self.code, model=model, reason=self.reason)
            or catalogue.find(self.code, reason=self.reason)
            or catalogue.find(self.code, model=model)
            or catalogue.find(self.code)
        )
        if entry is None:  # pragma: no cover - the spec tests keep every mapped code in the catalogue
            raise LookupError(f"{self.code!r} is not in the error catalogue")
        return entry

    @property
    def entry(self) -> CatalogueEntry:
        return self.entry_for()

    @property
    def message(self) -> str:
        """The catalogue message with its placeholders (``{url}``, ``{limit}``) filled."""
        return str(self.entry.render(**self.values))

    @property
    def status(self) -> int:
        return int(self.entry.status)

    def __repr__(self) -> str:
        return (
            f"MediaFailure({self.code!r}, {self.reason!r}, {self.values!r}, kind={self.kind!r}, input={self.input!r})"
        )


@dataclass(frozen=True)
class MediaJob:
    """One task's media work. ``input`` has every ``oss://`` URL of a temporary upload replaced by a ``file://`` URL
    of the stored file (unresolvable ones never get here: the task service fails the task itself)."""

    task_id: str
    model: str
    input: Mapping[str, Any]
    parameters: Mapping[str, Any]
    results_dir: str
    oss_resolve: bool = False


@dataclass(frozen=True)
class MediaOutcome:
    failure: MediaFailure | None = None
    video_duration: float | None = None
    video_ratio: str | None = None
    result_path: str | None = None

    @classmethod
    def failed(cls, failure: MediaFailure) -> MediaOutcome:
        return cls(failure=failure)

    @classmethod
    def succeeded(cls, *, video_duration: float, video_ratio: str, result_path: str | None = None) -> MediaOutcome:
        return cls(video_duration=video_duration, video_ratio=video_ratio, result_path=result_path)


POLICY_PREFIX = "fetch policy:"  # how ``media.fetch`` starts the detail of a refused input


def policy_note(failure: BaseException | None) -> str | None:
    """The journal's note for an input the fetch policy refused (``None`` for any other failure)."""
    detail = getattr(failure, "detail", "")
    return detail if isinstance(detail, str) and detail.startswith(POLICY_PREFIX) else None


@dataclass(frozen=True)
class RecordedOutcome:
    """What a task's record keeps of a ``MediaOutcome``: plain values (it crosses process boundaries).
    ``unexpected`` holds the description of an error of the mock itself (the task then ends ``InternalError.Algo``)."""

    failure_code: str | None = None
    failure_message: str | None = None
    video_duration: float | None = None
    video_ratio: str | None = None
    result_path: str | None = None
    unexpected: str | None = None
    note: str | None = None  # for the journal: why an input was refused (the fetch policy)

    @classmethod
    def of(cls, outcome: MediaOutcome) -> RecordedOutcome:
        failure = outcome.failure
        if failure is None:
            return cls(
                video_duration=outcome.video_duration, video_ratio=outcome.video_ratio, result_path=outcome.result_path
            )
        message = failure.entry_for(["task"]).render(**failure.values)
        return cls(failure_code=failure.code, failure_message=message, note=policy_note(failure))

    @classmethod
    def internal_error(cls, model: str, description: str) -> RecordedOutcome:
        failure = MediaFailure("InternalError.Algo", model=model, detail="unexpected error in media work")
        recorded = cls.of(MediaOutcome.failed(failure))
        return cls(recorded.failure_code, recorded.failure_message, unexpected=description)


@dataclass(frozen=True)
class DetectJob:
    """One face-detect call; ``image_url`` is resolved like a task's inputs."""

    model: str
    image_url: str
    parameters: Mapping[str, Any]
    oss_resolve: bool = False


@dataclass(frozen=True)
class DetectOutcome:
    """A check that ran: passed (with the boxes the detector reports) or failed (``code``/``message`` say why)."""

    code: str | None = None
    message: str | None = None
    boxes: Mapping[str, Box] | None = None

    @property
    def passed(self) -> bool:
        return self.code is None

    @classmethod
    def failed(cls, failure: MediaFailure) -> DetectOutcome:
        return cls(code=failure.code, message=failure.message)


class Media(Protocol):
    """An implementation may set ``immediate = True`` when ``prepare`` never suspends (the outcome is then taken at
    submit); without it, media work runs as a task off the request path."""

    async def prepare(self, job: MediaJob) -> MediaOutcome: ...

    async def detect(self, job: DetectJob) -> DetectOutcome: ...

    def close(self) -> None: ...


class LifecycleOnlyMedia:
    """Media checks off: no I/O; each model module's placeholder outcome. ``prepare`` never suspends, so the task
    service can learn the outcome at submit."""

    immediate = True

    def __init__(self, registry: ModelRegistry) -> None:
        self.registry = registry

    async def prepare(self, job: MediaJob) -> MediaOutcome:
        return self.registry.video(job.model).placeholder(job)

    async def detect(self, job: DetectJob) -> DetectOutcome:
        return self.registry.detector(job.model).placeholder(job)

    def close(self) -> None:
        return None
