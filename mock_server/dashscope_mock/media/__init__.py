"""Media realism for the mock: real downloads, real decoders, a real face detector and real result videos.

Everything is read from the spec (``dashscope_openapi``): the limits of each model's inputs from
``x-limits.models.<model>.<input>`` and the code of each failure from its ``errors``/``error_reasons`` maps, the
messages from ``x-error-catalogue``. What each model does with its inputs lives in its module
(``dashscope_mock.models``); this package is the toolkit those modules use (``MediaKit``) and the seam's
implementation with media checks on (``RealMedia``, see ``dashscope_mock.seam``).

Decisions where the docs are silent:

- Every media failure of a task is a FAILED task (catalogue stage ``task``), reported for the first failing input in
  the documented order (image/video, audio, reference image): downloads first, then file checks, then content
  checks (faces, boxes, face match). Bounds are inclusive.
- face-detect: a failure mapped to the detector's ``download`` code (``InvalidURL`` / ``detect_download``) is a failed
  request (HTTP 400, not billed); anything else is a failed check, shaped as ``x-models.<detector>.detect_answer``
  says (liveportrait-detect borrows liveportrait's messages).
- emo-v1 boxes outside the image or an ``ext_bbox`` of neither 1:1 nor 3:4 (±2 px): ``InvalidParameter`` (reason
  ``format``) as a FAILED task.
- Faces (``portrait``): a model and its face-detect model run the same checks, those whose kind the input's
  ``errors`` map names: no face / several people, too dark, cut by the frame, covered, turned or tilted, and for emo
  the face's size for the ratio; thresholds are the spec's ``faces``/``face_proportion`` (the mock's calibration,
  docs/FACES.md). liveportrait takes the widest of several faces. Images are seen upright (EXIF orientation).
- Results: liveportrait keeps the portrait's aspect with the longest side at 512 (without ``paste_back``, a square
  around the face); emo-v1 the documented 512x512 / 512x704 at 25 fps; videoretalk the input's frame rate, longest
  side at most 1280. ``usage.video_duration`` is rounded to 0.01 s and the file lasts that long (±1 frame).

Bounded work (the mock's own limits where the docs give none; issue 10): every input has a ``max_bytes`` (the
emo images take the 10 MB of the other models' images); an image's pixel count (``max_pixels``, the documented
longest side squared) is checked from its header, a JPEG or PNG too short for the picture it claims fails as
``open`` before any frame is allocated, and images decode reduced to ``x-media-budget.decode_max_side`` (control
spec); audio below ``min_sample_rate`` is a ``format`` failure; a result is never longer than the model's longest
documented input; decodes and renders hold their estimated peak memory from a per-process budget
(``x-media-budget.memory_bytes``), waiting while it is taken.

Modules: ``fetch`` (bounded http(s)/oss downloads), ``probe`` (decoders), ``checks`` (the limits per model),
``faces`` (dlib detection, landmarks, pose, embeddings, ``ext_bbox``), ``portrait`` (the face checks), ``render``
(MP4 output), ``budget`` (the memory budget), ``kit`` (``MediaKit``, ``RealMedia``).

May import: ``domain``, ``plugins``/``seam`` and ``store`` (work folders). Never ``services`` or ``http``.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from ..plugins import ModelRegistry
from ..seam import MediaFailure
from .budget import MemoryBudget, media_budget
from .checks import check_audio, check_emo_boxes, check_image, check_video
from .errors import failure
from .faces import detect_faces, ext_bbox, find_faces
from .fetch import Fetched, Fetcher, OssResolver
from .kit import MediaKit, Prepared, RealMedia
from .policy import FetchPolicy
from .portrait import portrait_face

__all__ = [
    "FetchPolicy",
    "Fetched",
    "Fetcher",
    "MediaFailure",
    "MediaKit",
    "MemoryBudget",
    "OssResolver",
    "Prepared",
    "RealMedia",
    "check_audio",
    "check_emo_boxes",
    "check_image",
    "check_video",
    "detect_faces",
    "ext_bbox",
    "failure",
    "find_faces",
    "media_budget",
    "portrait_face",
    "real_media",
]


def real_media(
    registry: ModelRegistry, fetch_private: bool, allow_fetch: Sequence[str], work_root: Path | None = None
) -> RealMedia:
    """The seam with media checks on, its downloads under the fetch policy of the mock's config (``policy``), its
    work folders in ``work_root`` (the mock's, ``services.workdirs.work_root``; ``None``: the system's temp dir)."""
    fetcher = Fetcher(policy=FetchPolicy.from_config(fetch_private, allow_fetch))
    return RealMedia(registry, MediaKit(local_files=True, fetcher=fetcher, work_root=work_root))
