"""Media realism for the mock: real downloads, real decoders, a real face detector and real result videos.

Everything is read from the spec (``dashscope_openapi``): the limits of each model's inputs from
``x-limits.models.<model>.<input>`` and the code of each failure from its ``errors``/``error_reasons`` maps, the
messages from ``x-error-catalogue``.

Facade (what the mock calls)::

    pipeline = MediaPipeline(download_timeout=60)              # defaults: x-limits.download_timeout_seconds
    prepared = await pipeline.prepare("liveportrait", body, oss_resolve=True, resolve_oss=store.lookup)
    if isinstance(prepared, MediaFailure):                     # a FAILED task: prepared.code, .message
        ...
    else:                                                      # usage: prepared.video_duration, .video_ratio
        await asyncio.to_thread(prepared.render, out_path)     # a real H.264 + AAC MP4
        prepared.close()

    answer = await pipeline.detect("emo-detect-v1", url, "1:1")  # dict body, or MediaFailure = failed request

The mock's own protocol (``dashscope_mock.pipeline.MediaPipeline``: ``prepare(job) -> MediaOutcome``,
``detect(...) -> dict``) is implemented by ``dashscope_mock.media.mock.MockMedia``, built by
:func:`create_pipeline`, which is what ``--media-checks on`` loads.

Decisions where the docs are silent:

- Every media failure of a task is a FAILED task (catalogue stage ``task``), reported for the first failing input in
  the documented order (image/video, audio, reference image): downloads first, then file checks, then content
  checks (faces, boxes, face match). Bounds are inclusive.
- face-detect: a failure mapped to the detector's ``download`` code (``InvalidURL`` / ``detect_download``) is a failed
  request (HTTP 400, not billed); anything else is a failed check: ``check_pass: false`` + ``code``/``message`` +
  ``usage.image_count: 1`` (emo-detect-v1), ``pass: false`` + ``message`` (liveportrait-detect, which borrows
  liveportrait's messages). A passed liveportrait-detect answers ``{"pass": true}`` with no message.
- emo-v1 boxes outside the image or an ``ext_bbox`` of neither 1:1 nor 3:4 (±2 px): ``InvalidParameter`` (reason
  ``format``) as a FAILED task. ``InvalidFile.Content`` when the portrait has no face or more than one (faces
  narrower than 0.4 x the widest are ignored). liveportrait takes the widest of several faces.
- videoretalk: the reference face must match a face in 5 frames spread over the video (see ``faces``: correlation
  of 32x32 thumbnails, threshold 0.6); a reference image without a face, or with several, is ``InvalidFile.Content``.
- Results: liveportrait keeps the portrait's aspect with the longest side at 512 (without ``paste_back``, a square
  around the face); emo-v1 the documented 512x512 / 512x704 at 25 fps; videoretalk the input's frame rate, longest
  side at most 1280. ``usage.video_duration`` is rounded to 0.01 s and the file lasts that long (±1 frame).

Modules: ``fetch`` (bounded http(s)/oss downloads), ``probe`` (decoders), ``checks`` (the limits per model),
``faces`` (Haar detection, ``ext_bbox``, similarity), ``render`` (MP4 output), ``pipeline`` (the facade), ``mock``
(the adapter).
"""

from __future__ import annotations

from typing import Any

from .checks import check_audio, check_emo_boxes, check_image, check_video
from .errors import MediaFailure, failure
from .faces import detect_faces, ext_bbox
from .fetch import Fetched, Fetcher, OssResolver
from .pipeline import MediaPipeline, Prepared
from .render import render_portrait, render_video

__all__ = [
    "Fetched",
    "Fetcher",
    "MediaFailure",
    "MediaPipeline",
    "OssResolver",
    "Prepared",
    "check_audio",
    "check_emo_boxes",
    "check_image",
    "check_video",
    "create_pipeline",
    "detect_faces",
    "ext_bbox",
    "failure",
    "render_portrait",
    "render_video",
]


def create_pipeline(config: Any = None) -> Any:
    """The mock's media pipeline (a ``dashscope_mock.pipeline.MediaPipeline``) for a ``MockConfig``."""
    from .mock import create_pipeline as create

    return create(config)
