"""The wire: the one place that touches the generated client's internals (written by hand; `generated/` is not).

openapi-python-client writes, per operation, a private ``_get_kwargs`` (method, path, query, headers, JSON body)
and, per schema, an attrs model whose ``from_dict`` checks an answer's shape. The SDK sends requests itself (retries,
rate limit, waiting, streaming), so it needs the first without the generated ``sync()``; this module turns them into
``Call`` values and parses answers into the generated models, so that a generator upgrade that renames an internal
breaks here and nowhere else. Nothing of the generated package appears in the SDK's public names except the three
parameter classes (``LivePortraitParameters``, ``EmoParameters``, ``VideoRetalkParameters``), which are the spec's
schemas as they are.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, TypeAlias, cast

import attrs

import dashscope_video_client.models as generated_models
from dashscope_openapi import load_spec, request_schemas
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
    EmoParameters,
    EmoRequest,
    FaceDetectResponse,
    LivePortraitDetectRequest,
    LivePortraitParameters,
    LivePortraitRequest,
    SubmitResponse,
    TaskListResponse,
    UploadPolicy,
    UploadPolicyResponse,
    VideoRetalkParameters,
    VideoRetalkRequest,
)
from dashscope_video_client.models.emo_detect_parameters_ratio import EmoDetectParametersRatio
from dashscope_video_client.types import UNSET

__all__ = [
    "Call",
    "Parameters",
    "cancel_call",
    "detect_call",
    "get_call",
    "list_call",
    "parameters_class",
    "parse",
    "policy_call",
    "request_class",
    "submit_call",
]

Parameters: TypeAlias = LivePortraitParameters | EmoParameters | VideoRetalkParameters


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


def _generated_class(schema: Mapping[str, Any]) -> type[Any]:
    """The generated model of a ``$ref``'d schema: the generator names each class after its schema."""
    return cast(type[Any], getattr(generated_models, str(schema["$ref"]).rsplit("/", 1)[-1]))


@functools.cache
def request_class(model: str) -> type[LivePortraitRequest | EmoRequest | VideoRetalkRequest]:
    """The generated request class of a video model: the spec's discriminator mapping names its schema."""
    return cast(type[Any], getattr(generated_models, request_schemas()[model]))


@functools.cache
def parameters_class(model: str) -> type[Parameters]:
    """The generated parameters class of a video model (its request schema's ``parameters``)."""
    schema = load_spec()["components"]["schemas"][request_class(model).__name__]
    return _generated_class(schema["properties"]["parameters"])


def submit_call(model: str, inputs: Mapping[str, Any], parameters: Parameters | None, *, resolve: bool) -> Call:
    """A video-synthesis submit of ``model``; ``inputs`` are the input object's fields (URLs, boxes)."""
    data: dict[str, Any] = {"model": model, "input": {k: v for k, v in inputs.items() if v is not None}}
    if parameters is not None:
        data["parameters"] = parameters.to_dict()
    body = request_class(model).from_dict(data)
    return _call(
        _submit._get_kwargs(
            body=body, x_dash_scope_async="enable", x_dash_scope_oss_resource_resolve="enable" if resolve else UNSET
        )
    )


def detect_call(model: str, image_url: str, ratio: EmoDetectParametersRatio | None) -> Call:
    """A face-detect call of ``model`` (one of the spec's ``FaceDetectRequest`` branches; another is a ``ValueError``
    naming it, never a call to a detector it did not ask for)."""
    body: EmoDetectRequest | LivePortraitDetectRequest
    if model == "emo-detect-v1":
        body = EmoDetectRequest(
            model="emo-detect-v1",
            input_=DetectInput(image_url=image_url),
            parameters=EmoDetectParameters(ratio=ratio or "1:1"),
        )
    elif model == "liveportrait-detect":
        body = LivePortraitDetectRequest(model="liveportrait-detect", input_=DetectInput(image_url=image_url))
    else:
        known = ", ".join(request_schemas("FaceDetectRequest"))
        raise ValueError(f"no face-detect request for {model!r} in this SDK (the spec's detectors: {known})")
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


def parameter_fields(cls: type[Any]) -> tuple[attrs.Attribute[Any], ...]:
    """The fields of a parameters class, in the spec's order."""
    return tuple(f for f in attrs.fields(cls) if f.name != "additional_properties")
