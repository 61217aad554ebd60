"""The spec states what the service accepts; the client view (what this toolkit sends) is stricter, in one place.

``x-leniency.unknown_keys``: the ``input`` and ``parameters`` objects of every request body are open to undocumented
keys in the public spec (a third-party tool reading it sees the service's contract, docs/SPEC.md), the request
objects around them stay closed, and ``dashscope_openapi.load_client_spec`` closes exactly those objects again: the
generated client, the SDK's parameter classes and its batch manifests are built from that view.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping
from typing import Any

import attrs
import pytest
from jsonschema.exceptions import ValidationError

from dashscope_openapi import client_closed_schemas, load_client_spec, request_schemas

from .conftest import Validate, schema_validator

BODIES: dict[str, tuple[str, dict[str, Any]]] = {
    "liveportrait": (
        "VideoSynthesisRequest",
        {"model": "liveportrait", "input": {"image_url": "https://x.test/f.png", "audio_url": "https://x.test/v.mp3"}},
    ),
    "emo-v1": (
        "VideoSynthesisRequest",
        {
            "model": "emo-v1",
            "input": {
                "image_url": "https://x.test/f.png",
                "audio_url": "https://x.test/v.mp3",
                "face_bbox": [1, 2, 3, 4],
                "ext_bbox": [0, 0, 5, 5],
            },
        },
    ),
    "videoretalk": (
        "VideoSynthesisRequest",
        {"model": "videoretalk", "input": {"video_url": "https://x.test/v.mp4", "audio_url": "https://x.test/a.mp3"}},
    ),
    "emo-detect-v1": (
        "FaceDetectRequest",
        {"model": "emo-detect-v1", "input": {"image_url": "https://x.test/f.png"}, "parameters": {"ratio": "1:1"}},
    ),
    "liveportrait-detect": (
        "FaceDetectRequest",
        {"model": "liveportrait-detect", "input": {"image_url": "https://x.test/f.png"}, "parameters": {}},
    ),
}
CASES = [(model, where) for model in BODIES for where in ("input", "parameters")]


def _with_extra(model: str, where: str) -> tuple[str, dict[str, Any]]:
    union, body = BODIES[model]
    body = copy.deepcopy(body)
    body.setdefault(where, {})["x_undocumented"] = 42  # what the official SDK's `prompt` in `input` is
    return union, body


@pytest.fixture(scope="module")
def client_validate() -> Validate:
    return schema_validator(load_client_spec())


def test_the_lenient_objects_are_the_inputs_and_parameters_of_every_request(spec: Mapping[str, Any]) -> None:
    assert spec["x-leniency"]["unknown_keys"]["objects"] == ["input", "parameters"]
    names = set(client_closed_schemas(spec))
    assert names == {
        *("LivePortraitInput", "LivePortraitParameters", "EmoInput", "EmoParameters"),
        *("VideoRetalkInput", "VideoRetalkParameters", "DetectInput", "EmoDetectParameters", "NoParameters"),
    }


def test_the_public_spec_leaves_them_open_and_closes_the_requests(spec: Mapping[str, Any]) -> None:
    schemas = spec["components"]["schemas"]
    for name in client_closed_schemas(spec):
        assert "additionalProperties" not in schemas[name], f"{name} should be open (x-leniency.unknown_keys)"
    for union in ("VideoSynthesisRequest", "FaceDetectRequest"):
        for name in request_schemas(union).values():
            assert schemas[name]["additionalProperties"] is False, f"{name}: only input/parameters are lenient"
            assert "x-leniency.unknown_keys" in schemas[name]["description"], f"{name} does not say it"


def test_the_client_view_closes_exactly_those_schemas(spec: Mapping[str, Any]) -> None:
    view = load_client_spec()
    closed = set(client_closed_schemas(spec))
    for name, schema in spec["components"]["schemas"].items():
        if name in closed:
            assert view["components"]["schemas"][name] == {**schema, "additionalProperties": False}
        else:
            assert view["components"]["schemas"][name] == schema, name
    assert {k: v for k, v in view.items() if k != "components"} == {k: v for k, v in spec.items() if k != "components"}


@pytest.mark.parametrize(("model", "where"), CASES, ids=[f"{m}-{w}" for m, w in CASES])
def test_an_undocumented_key_is_accepted_by_the_spec_and_refused_by_the_client_view(
    model: str, where: str, validate: Validate, client_validate: Validate
) -> None:
    union, body = _with_extra(model, where)
    validate(union, BODIES[model][1])
    validate(union, body)  # the service's contract
    with pytest.raises(ValidationError, match="x_undocumented"):
        client_validate(union, body)  # what this toolkit sends


def test_a_key_beside_input_and_parameters_is_refused_by_both(validate: Validate, client_validate: Validate) -> None:
    union, body = BODIES["liveportrait"]
    body = {**body, "prompt": "not here"}
    for check in (validate, client_validate):
        with pytest.raises(ValidationError):
            check(union, body)


def test_documented_keys_keep_their_checks_in_an_open_object(validate: Validate) -> None:
    union, body = _with_extra("liveportrait", "parameters")
    body["parameters"]["video_fps"] = 31
    with pytest.raises(ValidationError, match="31"):
        validate(union, body)


def test_the_sdk_parameter_classes_refuse_unknown_fields() -> None:
    """The generated classes (the SDK's ``LivePortraitParameters``, ...) come from the client view: no
    ``additional_properties``, a keyword they do not document is a ``TypeError``, ``to_dict`` sends only fields."""
    from dashscope_video import EmoParameters, LivePortraitParameters, VideoRetalkParameters

    for cls in (LivePortraitParameters, EmoParameters, VideoRetalkParameters):
        assert "additional_properties" not in [field.name for field in attrs.fields(cls)], cls
        assert not hasattr(cls, "__setitem__"), cls
        with pytest.raises(TypeError):
            cls(templat_id="calm")
        assert cls.from_dict({"templat_id": "calm"}).to_dict() == {}


def test_a_batch_manifest_still_names_a_typo(tmp_path: Any) -> None:
    from dashscope_video import ManifestError, read_manifest

    manifest = tmp_path / "jobs.jsonl"
    manifest.write_text(
        '{"model": "liveportrait", "input": {"image_url": "https://x.test/f.png", "audio_url": "https://x.test/v.mp3"},'
        ' "parameters": {"video_fsp": 25}}\n',
        encoding="utf-8",
    )
    with pytest.raises(ManifestError, match="video_fsp"):
        read_manifest(manifest)
