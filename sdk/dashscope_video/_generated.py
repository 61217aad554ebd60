"""The one place that touches the generated client's internals.

openapi-python-client writes, per operation, a private ``_get_kwargs`` (method, path, query, headers, JSON body)
and, per schema, an attrs model whose ``from_dict`` checks an answer's shape. The SDK sends requests itself (retries,
rate limit, waiting, streaming), so it needs the first without the generated ``sync()``; this module turns them into
``Call`` values and parses answers into the generated models, so that a generator upgrade that renames an internal
breaks here and nowhere else. Nothing of the generated package appears in the SDK's public names except the three
parameter classes (``LivePortraitParameters``, ``EmoParameters``, ``VideoRetalkParameters``), which are the spec's
schemas as they are.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, TypeAlias, TypeVar

import attrs

from dashscope_video_client.api.face_detect import detect_face as _detect
from dashscope_video_client.api.tasks import cancel_task as _cancel
from dashscope_video_client.api.tasks import get_task as _get
from dashscope_video_client.api.tasks import list_tasks as _list
from dashscope_video_client.api.uploads import get_upload_policy as _policy
from dashscope_video_client.api.video_synthesis import create_video_synthesis as _submit
from dashscope_video_client.models import (
    CancelResponse,
    DetectInput,
    EmoDetectParameters,
    EmoDetectRequest,
    EmoInput,
    EmoParameters,
    EmoRequest,
    FaceDetectResponse,
    LivePortraitDetectRequest,
    LivePortraitInput,
    LivePortraitParameters,
    LivePortraitRequest,
    SubmitResponse,
    TaskListResponse,
    UploadPolicy,
    UploadPolicyResponse,
    VideoRetalkInput,
    VideoRetalkParameters,
    VideoRetalkRequest,
)
from dashscope_video_client.models.emo_detect_parameters_ratio import EmoDetectParametersRatio
from dashscope_video_client.types import UNSET, Unset

__all__ = [
    "PARAMETER_CLASSES",
    "Call",
    "Parameters",
    "cancel_call",
    "detect_call",
    "get_call",
    "list_call",
    "parse",
    "policy_call",
    "submit_call",
    "unset_to_none",
]

Parameters: TypeAlias = LivePortraitParameters | EmoParameters | VideoRetalkParameters
M = TypeVar("M")

_BODIES: Mapping[str, Callable[[dict[str, Any], Any], LivePortraitRequest | EmoRequest | VideoRetalkRequest]] = {
    "liveportrait": lambda inp, params: LivePortraitRequest(
        model="liveportrait", input_=LivePortraitInput(**inp), parameters=params
    ),
    "emo-v1": lambda inp, params: EmoRequest(model="emo-v1", input_=EmoInput(**inp), parameters=params),
    "videoretalk": lambda inp, params: VideoRetalkRequest(
        model="videoretalk", input_=VideoRetalkInput(**inp), parameters=params
    ),
}


@dataclass(frozen=True)
class Call:
    """One request as the generated client builds it: method, path, query and JSON body."""

    method: str
    path: str
    params: Mapping[str, Any] = field(default_factory=dict)
    json: Any = None
    headers: Mapping[str, str] = field(default_factory=dict)


def _call(kwargs: Mapping[str, Any]) -> Call:
    return Call(
        method=str(kwargs["method"]).upper(),
        path=str(kwargs["url"]),
        params=dict(kwargs.get("params", {})),
        json=kwargs.get("json"),
        headers={str(k): str(v) for k, v in kwargs.get("headers", {}).items()},
    )


PARAMETER_CLASSES: Mapping[str, type[Parameters]] = {
    "liveportrait": LivePortraitParameters,
    "emo-v1": EmoParameters,
    "videoretalk": VideoRetalkParameters,
}


def submit_call(model: str, inputs: Mapping[str, Any], parameters: Parameters | None, *, resolve: bool) -> Call:
    """A video-synthesis submit of ``model``; ``inputs`` are the input object's fields (URLs, boxes)."""
    body = _BODIES[model](
        {k: v for k, v in inputs.items() if v is not None}, UNSET if parameters is None else parameters
    )
    return _call(
        _submit._get_kwargs(
            body=body, x_dash_scope_async="enable", x_dash_scope_oss_resource_resolve="enable" if resolve else UNSET
        )
    )


def detect_call(model: str, image_url: str, ratio: EmoDetectParametersRatio | None) -> Call:
    body: EmoDetectRequest | LivePortraitDetectRequest
    if model == "emo-detect-v1":
        body = EmoDetectRequest(
            model="emo-detect-v1",
            input_=DetectInput(image_url=image_url),
            parameters=EmoDetectParameters(ratio=ratio or "1:1"),
        )
    else:
        body = LivePortraitDetectRequest(model="liveportrait-detect", input_=DetectInput(image_url=image_url))
    return _call(_detect._get_kwargs(body=body))


def get_call(task_id: str) -> Call:
    return _call(_get._get_kwargs(task_id))


def cancel_call(task_id: str) -> Call:
    return _call(_cancel._get_kwargs(task_id))


def list_call(filters: Mapping[str, Any]) -> Call:
    """A list-tasks call; ``filters`` holds the query parameters (``None`` values are left out)."""
    return _call(_list._get_kwargs(**{k: v for k, v in filters.items() if v is not None}))


def policy_call(model: str) -> Call:
    return _call(_policy._get_kwargs(action="getPolicy", model=model))


# --------------------------------------------------------------------------------------------------- answers
PARSERS: Mapping[str, Callable[[Mapping[str, Any]], Any]] = {
    "submit": SubmitResponse.from_dict,
    "cancel": CancelResponse.from_dict,
    "list": TaskListResponse.from_dict,
    "detect": FaceDetectResponse.from_dict,
    "policy": UploadPolicyResponse.from_dict,
}


def parse(kind: str, data: Any) -> Any:
    """Check an answer's shape with the generated model of ``kind``; raises ``KeyError``/``TypeError``/
    ``ValueError`` on a shape the spec does not allow."""
    if not isinstance(data, dict):
        raise TypeError(f"expected a JSON object, got {type(data).__name__}")
    return PARSERS[kind](data)


def upload_policy(data: Any) -> UploadPolicy:
    answer: UploadPolicyResponse = parse("policy", data)
    return answer.data


def unset_to_none(value: M | Unset) -> M | None:
    return None if isinstance(value, Unset) else value


def parameter_fields(cls: type[Any]) -> tuple[attrs.Attribute[Any], ...]:
    """The fields of a parameters class, in the spec's order."""
    return tuple(f for f in attrs.fields(cls) if f.name != "additional_properties")
