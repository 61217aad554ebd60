"""Every model of the spec has its place in the SDK, and a model added to the spec without one fails here naming
each piece it lacks (a fourth model, planted in a copy of the spec, shows every message).

The SDK's per-model surface: a typed submit method on both clients' ``video_synthesis`` (the model's name without
``-v1``, ``-`` as ``_``: ``emo-v1`` is ``emo``), a subcommand of the ``dashscope-video`` CLI of that name, its
parameters class in ``Parameters``; for a detector, a method on ``face_detect`` (``liveportrait-detect`` is
``liveportrait``), a CLI ``detect --model`` choice and a request from ``detect_call``.
"""

from __future__ import annotations

import copy
import typing
from collections.abc import Mapping
from typing import Any

from dashscope_openapi import load_spec
from dashscope_video import cli
from dashscope_video._wire import Parameters, detect_call
from dashscope_video.resources.face_detect import AsyncFaceDetect, FaceDetect
from dashscope_video.resources.video_synthesis import AsyncVideoSynthesis, VideoSynthesis


def _branches(spec: Mapping[str, Any], union: str) -> dict[str, str]:
    mapping: Mapping[str, str] = spec["components"]["schemas"][union]["discriminator"]["mapping"]
    return {model: ref.rsplit("/", 1)[-1] for model, ref in mapping.items()}


def _subcommands() -> set[str]:
    parser = cli.build_parser()
    actions = [a for a in parser._actions if a.__class__.__name__ == "_SubParsersAction"]
    return {name for action in actions for name in action.choices}  # type: ignore[union-attr]


def surface_gaps(spec: Mapping[str, Any]) -> list[str]:
    """What the SDK lacks for the models of ``spec``, one line each naming the model and the piece."""
    gaps: list[str] = []
    commands = _subcommands()
    parameter_classes = {klass.__name__ for klass in typing.get_args(Parameters)}
    for model, schema in _branches(spec, "VideoSynthesisRequest").items():
        short = model.removesuffix("-v1").replace("-", "_")
        for resource in (VideoSynthesis, AsyncVideoSynthesis):
            if not hasattr(resource, short):
                gaps.append(f"{model}: no {resource.__name__}.{short} (resources/video_synthesis.py)")
        if short not in commands:
            gaps.append(f"{model}: no `dashscope-video {short}` subcommand (sdk/dashscope_video/cli.py)")
        ref = spec["components"]["schemas"][schema]["properties"]["parameters"]["$ref"]
        if ref.rsplit("/", 1)[-1] not in parameter_classes:
            gaps.append(f"{model}: its parameters class is not in _wire.Parameters")
    for model in _branches(spec, "FaceDetectRequest"):
        short = model.replace("-detect", "").removesuffix("-v1").replace("-", "_")
        for resource in (FaceDetect, AsyncFaceDetect):
            if not hasattr(resource, short):
                gaps.append(f"{model}: no {resource.__name__}.{short} (resources/face_detect.py)")
        if model not in cli.DETECTORS:
            gaps.append(f"{model}: not a `dashscope-video detect --model` choice")
        try:
            call = detect_call(model, "https://example.com/a.png", None)
            if call.json.get("model") != model:
                gaps.append(f"{model}: detect_call sends model {call.json.get('model')!r}")
        except ValueError as error:
            gaps.append(f"{model}: detect_call: {error}")
    return gaps


def test_every_model_of_the_spec_has_its_sdk_surface() -> None:
    assert surface_gaps(load_spec()) == []


def test_a_fourth_model_without_its_sdk_surface_fails_naming_each_piece() -> None:
    spec = copy.deepcopy(dict(load_spec()))
    schemas = spec["components"]["schemas"]
    schemas["VideoSynthesisRequest"]["discriminator"]["mapping"]["fourth-v1"] = "#/components/schemas/FourthRequest"
    schemas["FourthRequest"] = {"properties": {"parameters": {"$ref": "#/components/schemas/FourthParameters"}}}
    schemas["FaceDetectRequest"]["discriminator"]["mapping"]["fourth-detect"] = "#/components/schemas/FourthDetect"
    assert surface_gaps(spec) == [
        "fourth-v1: no VideoSynthesis.fourth (resources/video_synthesis.py)",
        "fourth-v1: no AsyncVideoSynthesis.fourth (resources/video_synthesis.py)",
        "fourth-v1: no `dashscope-video fourth` subcommand (sdk/dashscope_video/cli.py)",
        "fourth-v1: its parameters class is not in _wire.Parameters",
        "fourth-detect: no FaceDetect.fourth (resources/face_detect.py)",
        "fourth-detect: no AsyncFaceDetect.fourth (resources/face_detect.py)",
        "fourth-detect: not a `dashscope-video detect --model` choice",
        "fourth-detect: detect_call: no face-detect request for 'fourth-detect' in this SDK "
        "(the spec's detectors: emo-detect-v1, liveportrait-detect)",
    ]
