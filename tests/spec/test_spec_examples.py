"""The spec describes the service exactly as the official documents do: their examples pass, wrong bodies fail."""

from __future__ import annotations

import copy
import json
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from typing import Any

import pytest
from jsonschema.exceptions import ValidationError

from .conftest import Validate

FIXTURES = Path(__file__).parents[1] / "fixtures"
SEED_EXAMPLES = json.loads((FIXTURES / "seed_examples.json").read_text(encoding="utf-8"))["examples"]
SCHEMA_OF_KIND = {
    "request": "VideoSynthesisRequest",
    "submit_response": "SubmitResponse",
    "task_response": "TaskResponse",
}


@pytest.mark.parametrize(
    "example", SEED_EXAMPLES, ids=[f"seed{e['seed']}-{e['kind']}-{i}" for i, e in enumerate(SEED_EXAMPLES)]
)
def test_every_seed_example_is_valid(example: Mapping[str, Any], validate: Validate) -> None:
    validate(SCHEMA_OF_KIND[example["kind"]], example["body"])


def _spec_examples(spec: Mapping[str, Any]) -> Iterator[tuple[str, Mapping[str, Any], Any]]:
    """Every (label, schema, example value) pair written in the spec's paths."""
    components = spec["components"]
    for path, item in spec["paths"].items():
        for method, operation in item.items():
            body = operation.get("requestBody", {}).get("content", {}).get("application/json")
            if body:
                for name, example in body.get("examples", {}).items():
                    yield f"{method} {path} request {name}", body["schema"], example["value"]
            for status, response in operation["responses"].items():
                if "$ref" in response:
                    response = components["responses"][response["$ref"].rsplit("/", 1)[1]]
                content = response.get("content", {}).get("application/json")
                for name, example in (content or {}).get("examples", {}).items():
                    yield f"{method} {path} {status} {name}", content["schema"], example["value"]


def test_every_example_in_the_spec_is_valid(spec: Mapping[str, Any], validate: Validate) -> None:
    checked = 0
    for label, schema, value in _spec_examples(spec):
        name = schema["$ref"].rsplit("/", 1)[1]
        try:
            validate(name, value)
        except ValidationError as error:  # pragma: no cover - the message is the point
            pytest.fail(f"{label}: {error.message}")
        checked += 1
    assert checked >= 20


def test_the_spec_carries_the_seed_requests_as_examples(spec: Mapping[str, Any]) -> None:
    examples = spec["paths"]["/api/v1/services/aigc/image2video/video-synthesis/"]["post"]["requestBody"]
    values = [e["value"] for e in examples["content"]["application/json"]["examples"].values()]
    for seed in SEED_EXAMPLES:
        if seed["kind"] == "request" and seed["seed"] != "001":  # 001 differs from 004 only in its URLs
            assert seed["body"] in values, f"seed {seed['seed']} request missing from the spec's examples"


def _seed_request(model: str) -> dict[str, Any]:
    body = next(e["body"] for e in SEED_EXAMPLES if e["kind"] == "request" and e["body"]["model"] == model)
    return copy.deepcopy(body)


def _with(model: str, change: Callable[[dict[str, Any]], None]) -> dict[str, Any]:
    body = _seed_request(model)
    change(body)
    return body


REJECTED = {
    "video_fps 31": _with("liveportrait", lambda b: b["parameters"].update(video_fps=31)),
    "video_fps 14": _with("liveportrait", lambda b: b["parameters"].update(video_fps=14)),
    "video_fps 24.5": _with("liveportrait", lambda b: b["parameters"].update(video_fps=24.5)),
    "mouth_move_strength 1.6": _with("liveportrait", lambda b: b["parameters"].update(mouth_move_strength=1.6)),
    "eye_move_freq 1.1": _with("liveportrait", lambda b: b["parameters"].update(eye_move_freq=1.1)),
    "head_move_strength -0.1": _with("liveportrait", lambda b: b["parameters"].update(head_move_strength=-0.1)),
    "template_id wild": _with("liveportrait", lambda b: b["parameters"].update(template_id="wild")),
    "liveportrait without audio_url": _with("liveportrait", lambda b: b["input"].pop("audio_url")),
    "liveportrait with a file path": _with("liveportrait", lambda b: b["input"].update(image_url="/tmp/face.png")),
    "liveportrait with file://": _with("liveportrait", lambda b: b["input"].update(image_url="file:///etc/passwd")),
    "emo-v1 without ext_bbox": _with("emo-v1", lambda b: b["input"].pop("ext_bbox")),
    "emo-v1 with a 3-number face_bbox": _with("emo-v1", lambda b: b["input"].update(face_bbox=[1, 2, 3])),
    "emo-v1 style_level wild": _with("emo-v1", lambda b: b["parameters"].update(style_level="wild")),
    "videoretalk without video_url": _with("videoretalk", lambda b: b["input"].pop("video_url")),
    "videoretalk video_extension 'yes'": _with("videoretalk", lambda b: b["parameters"].update(video_extension="yes")),
    "unknown model": _with("liveportrait", lambda b: b.update(model="liveportrait-pro")),
    "no model": _with("liveportrait", lambda b: b.pop("model")),
}


@pytest.mark.parametrize("body", REJECTED.values(), ids=REJECTED.keys())
def test_the_spec_rejects(body: dict[str, Any], rejects: Callable[[str, Any], ValidationError]) -> None:
    rejects("VideoSynthesisRequest", body)


ACCEPTED = {
    "liveportrait without parameters": _with("liveportrait", lambda b: b.pop("parameters")),
    "liveportrait at the bounds": _with(
        "liveportrait",
        lambda b: b["parameters"].update(
            video_fps=15, mouth_move_strength=1.5, eye_move_freq=0, head_move_strength=1, template_id="active"
        ),
    ),
    "liveportrait with oss:// inputs": _with(
        "liveportrait", lambda b: b["input"].update(image_url="oss://dashscope-instant/abc/2026-11-22/x/face.png")
    ),
    "emo-v1 3:4 boxes and calm": _with("emo-v1", lambda b: b["parameters"].update(style_level="calm")),
    "videoretalk with an empty ref_image_url": _seed_request("videoretalk"),
    "videoretalk without ref_image_url": _with("videoretalk", lambda b: b["input"].pop("ref_image_url")),
    # x-leniency.unknown_keys: the service ignores an undocumented key in `input`/`parameters` (the client view
    # refuses it: tests/spec/test_leniency_policy.py)
    "emo-v1 with liveportrait parameters": _with("emo-v1", lambda b: b["parameters"].update(video_fps=24)),
    "videoretalk with a ref_image_url": _with(
        "videoretalk", lambda b: b["input"].update(ref_image_url="https://example.com/face.jpg")
    ),
}


@pytest.mark.parametrize("body", ACCEPTED.values(), ids=ACCEPTED.keys())
def test_the_spec_accepts(body: dict[str, Any], validate: Validate) -> None:
    validate("VideoSynthesisRequest", body)


def test_each_oneof_branch_pins_its_model(spec: Mapping[str, Any]) -> None:
    """The generated client picks a branch by trying each in turn: only a pinned `model` makes that reliable."""
    schemas = spec["components"]["schemas"]
    for union in ("VideoSynthesisRequest", "FaceDetectRequest"):
        mapping = schemas[union]["discriminator"]["mapping"]
        for model, ref in mapping.items():
            branch = schemas[ref.rsplit("/", 1)[1]]
            assert branch["properties"]["model"]["enum"] == [model]
            assert branch["additionalProperties"] is False


def test_task_statuses_are_documented_and_open(spec: Mapping[str, Any], validate: Validate) -> None:
    statuses = spec["components"]["schemas"]["TaskStatus"]["enum"]
    documented = {
        *("PENDING", "PRE-PROCESSING", "RUNNING", "POST-PROCESSING"),
        *("SUCCEEDED", "FAILED", "CANCELED", "UNKNOWN"),
    }
    assert documented <= set(statuses)
    validate("TaskResponse", {"request_id": "r", "output": {"task_id": "t", "task_status": "BRAND-NEW"}})


def test_error_bodies_have_the_service_shape(spec: Mapping[str, Any], validate: Validate, rejects: Any) -> None:
    validate("Error", {"request_id": "r", "code": "InvalidApiKey", "message": "Invalid API-key provided."})
    rejects("Error", {"type": "about:blank", "title": "Bad Request", "status": 400, "detail": "x"})
    for name, response in spec["components"]["responses"].items():
        assert response["content"]["application/json"]["schema"] == {"$ref": "#/components/schemas/Error"}, name
        assert "X-Request-ID" in response["headers"], name
