from __future__ import annotations

from typing import Any

from dashscope_video_client.models import LivePortraitDetectRequest, LivePortraitRequest

from ._spec import Operation

LIVEPORTRAIT = {
    "model": "liveportrait",
    "input": {"image_url": "https://a.example/face.png", "audio_url": "https://a.example/v.wav"},
}
DETECT = {"model": "liveportrait-detect", "input": {"image_url": "https://a.example/face.png"}}


def call_kwargs(operation: Operation) -> dict[str, Any]:
    """Valid arguments for an operation's generated function (the response tests only vary the response)."""
    kwargs: dict[str, Any] = {}
    for parameter in operation.spec.get("parameters", []):
        if "$ref" in parameter or not parameter.get("required"):
            continue
        schema = parameter["schema"]
        kwargs[parameter["name"].lower()] = schema.get("enum", [schema.get("example", "x")])[0]
    if operation.operation_id in {"getTask", "cancelTask"}:
        kwargs["task_id"] = "a8532587-fa8c-4ef8-82be-0c46b17950d1"
    if operation.operation_id == "createVideoSynthesis":
        kwargs["x_dash_scope_async"] = "enable"
        kwargs["body"] = LivePortraitRequest.from_dict(LIVEPORTRAIT)
    if operation.operation_id == "detectFace":
        kwargs["body"] = LivePortraitDetectRequest.from_dict(DETECT)
    return kwargs
