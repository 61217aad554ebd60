"""The error catalogue (x-error-catalogue) holds every documented code, once, in a shape the mock and SDK can use."""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pytest

from dashscope_openapi import ErrorCatalogue, error_catalogue, load_spec

FIXTURES = Path(__file__).parents[1] / "fixtures"
SEED_ERRORS = json.loads((FIXTURES / "seed_error_codes.json").read_text(encoding="utf-8"))["errors"]
SEEDS_DIR = Path(__file__).parents[3] / "shared" / "reference" / "seeds"
STAGES = {"submit", "task", "detect", "any", "cancel", "upload"}
MODELS = {"liveportrait", "emo-v1", "videoretalk", "liveportrait-detect", "emo-detect-v1", "*"}


@pytest.mark.parametrize("row", SEED_ERRORS, ids=[f"{r['seed']}-{r['code']}-{i}" for i, r in enumerate(SEED_ERRORS)])
def test_every_seed_error_is_in_the_catalogue(row: Mapping[str, Any]) -> None:
    matches = [
        entry
        for entry in error_catalogue().entries_for(row["code"])
        if entry.message == row["message"] and row["model"] in entry.models
    ]
    assert matches, f"{row['code']} {row['message']!r} ({row['model']}) is not catalogued"
    entry = matches[0]
    assert entry.status == row["status"]
    assert entry.stage in STAGES


@pytest.mark.skipif(not SEEDS_DIR.is_dir(), reason="the reference seeds are not beside this checkout")
def test_the_transcribed_seed_errors_match_the_seeds() -> None:
    texts = {path.name[:3]: path.read_text(encoding="utf-8") for path in SEEDS_DIR.glob("*.txt")}
    for row in SEED_ERRORS:
        assert row["code"] in texts[row["seed"]]
        assert row["message"] in texts[row["seed"]], row


def test_codes_are_kept_exactly_as_documented_typos_included() -> None:
    codes = error_catalogue().codes()
    assert "InvalidParamter.OutOfDefinition" in codes
    assert "InvalidFile.FaceNotMach" in codes
    assert "typos included" in error_catalogue().description


def test_every_entry_is_complete() -> None:
    for entry in error_catalogue().entries:
        assert entry.code and entry.message, entry
        assert 400 <= entry.status <= 599, entry
        assert entry.stage in STAGES, entry
        assert set(entry.models) <= MODELS, entry
        assert entry.source, entry
        if entry.template is not None:
            assert entry.placeholders(), entry


def test_entries_sharing_a_code_and_model_are_told_apart_by_reason() -> None:
    seen: dict[tuple[str, str, str | None], str] = {}
    for entry in error_catalogue().entries:
        for model in entry.models:
            key = (entry.code, model, entry.reason)
            assert key not in seen, f"{key} is ambiguous"
            seen[key] = entry.message


def test_the_common_codes_of_the_facts_file_are_present() -> None:
    codes = error_catalogue().codes()
    for code in (
        "InvalidApiKey",
        "AccessDenied",
        "ModelNotFound",
        "Throttling.RateQuota",
        "InternalError",
        "ModelUnavailable",
        "UnsupportedOperation",
        "BadRequest.EmptyInput",
        "InternalError.Timeout",
    ):
        assert code in codes


def test_request_errors_map_to_the_documented_code_per_model() -> None:
    catalogue = error_catalogue()
    lp = catalogue.for_request_error("liveportrait", "invalid", "parameters.video_fps")
    assert (lp.code, lp.render(parameter="parameters.video_fps")) == (
        "InvalidParamter.OutOfDefinition",
        "The type or value of parameters.video_fps is out of definition.",
    )
    emo = catalogue.for_request_error("emo-v1", "invalid", "parameters.style_level")
    assert (emo.code, emo.message) == ("InvalidParameter", "The style_level is invalid.")
    retalk = catalogue.for_request_error("videoretalk", "missing", "input.video_url")
    assert retalk.render(parameter="input.video_url") == "Field required: input.video_url"
    assert catalogue.for_request_error(None, "missing", "model").code == "BadRequest.EmptyModel"


def test_the_catalogue_is_read_from_the_spec_not_copied() -> None:
    spec = dict(load_spec())
    spec["x-error-catalogue"] = {"errors": [{**spec["x-error-catalogue"]["errors"][0], "code": "Planted.Code"}]}
    assert ErrorCatalogue.from_spec(spec).codes() == {"Planted.Code"}
