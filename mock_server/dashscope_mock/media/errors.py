"""Media failures and their catalogue codes, looked up in the spec (``x-limits`` and ``x-error-catalogue``).

Each input of each model has, in ``x-limits.models.<model>.<input>``, an ``errors`` map from a failure *kind* to a
catalogue code and an ``error_reasons`` map from kind to the catalogue ``reason`` telling apart entries that share a
code. Nothing here copies a code or a message: :func:`failure` reads the maps, :class:`MediaFailure` renders the
catalogue entry.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Literal

from dashscope_openapi import model_limits

from ..seam import MediaFailure

__all__ = ["FailureKind", "MediaFailure", "failure", "limit_values"]

FailureKind = Literal[
    "download",  # refused, unreachable, non-2xx, too many redirects, unsupported scheme, unresolvable oss://
    "timeout",  # the whole download took longer than the download timeout
    "bytes",  # the file is larger than the input's max_bytes
    "format",  # a readable file of a format the model does not take
    "open",  # the file cannot be opened or decoded at all (zero bytes, truncated, garbage)
    "size",  # sides or aspect ratio out of bounds (and decompression bombs)
    "duration",
    "fps",
    "no_face",
    "many_faces",
    "no_match",  # videoretalk: the reference face is not in the video
    "dark",  # the face (or, with none found, the image) is too dark to see
    "face_cut",  # the frame cuts the face (its landmarks fall outside the image)
    "face_occluded",  # something flat covers an eye, the nose or the mouth
    "face_pose",  # the head is turned (yaw) or tilted (roll) too far
    "proportion",  # the face is too small in the image, or too large for the requested ratio's region
    "full_body",  # a 3:4 (half-body) region is asked for but the image ends below the face
    "bbox",  # emo-v1: face_bbox/ext_bbox outside the image or ext_bbox of another ratio
    "ratio",  # emo-detect-v1: a ratio parameter of no documented ratio
]

# A kind without its own entry in the spec's `errors` map falls back along this chain.
_FALLBACK: Mapping[str, str] = {"open": "format", "timeout": "download", "bytes": "size", "many_faces": "no_face"}


def input_limits(model: str, input: str) -> Mapping[str, Any]:
    """``x-limits.models.<model>.<input>`` (empty when the spec documents nothing)."""
    value: Mapping[str, Any] = model_limits(model).get(input, {})
    return value


def limit_values(model: str, input: str, kind: str) -> dict[str, str]:
    """Template values for a failure of ``kind``: ``limit`` is the documented bound in the message's unit."""
    spec = input_limits(model, input)
    if kind == "bytes" and "max_bytes" in spec:
        return {"limit": f"{spec['max_bytes'] / 2**20:g}"}
    if kind == "duration" and "max_seconds" in spec:
        return {"limit": f"{spec['max_seconds']:g}s"}
    return {}


def failure(
    model: str,
    input: str,
    kind: FailureKind,
    *,
    url: str = "",
    detail: str = "",
    bytes_read: int | None = None,
) -> MediaFailure:
    """The failure of ``kind`` for ``model``'s ``input`` with the code and reason the spec maps it to."""
    spec = input_limits(model, input)
    errors: Mapping[str, str] = spec.get("errors", {})
    reasons: Mapping[str, str] = spec.get("error_reasons", {})
    key: str = kind
    while key not in errors and key in _FALLBACK:
        key = _FALLBACK[key]
    if key not in errors:
        raise LookupError(f"x-limits.models.{model}.{input}.errors maps no code for {kind!r}")
    values = limit_values(model, input, kind)
    if url:
        values["url"] = url
    return MediaFailure(
        errors[key],
        reasons.get(key),
        values,
        model=model,
        input=input,
        kind=kind,
        detail=detail,
        bytes_read=bytes_read,
    )
