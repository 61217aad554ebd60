"""Batch manifests: one job per line (JSONL or CSV), checked against the spec's request schemas before anything runs.

A JSONL line is a submit body plus two optional keys::

    {"model": "liveportrait", "input": {"image_url": "faces/ann.png", "audio_url": "https://x/ann.mp3"},
     "parameters": {"video_fps": 25}, "name": "ann"}
    {"model": "emo-v1", "input": {"image_url": "bob.jpg", "audio_url": "bob.wav"}, "ratio": "3:4"}

``name`` names the output (``<name>.mp4``; default ``line-<n>``); ``ratio`` is emo-detect-v1's frame for an emo-v1 job
without boxes (detection runs first, as ``video_synthesis.emo`` does). Inputs are URLs or local paths, relative to the
manifest's folder. A CSV has a header of the same names, dotted: ``model,name,input.image_url,input.audio_url,
parameters.video_fps``; cells are converted to the schema's types (``face_bbox`` as ``x1,y1,x2,y2``), empty cells
are left out. Every problem is reported with its line and field, all of them at once, before anything is sent.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import jsonschema
import referencing
import referencing.jsonschema

from dashscope_openapi import load_client_spec, load_spec, request_schemas

from .._uploads import local_path

__all__ = ["BatchJob", "ManifestError", "read_manifest"]

_SPEC_URI = "urn:dashscope-video-spec"
_EXTRA_KEYS = ("name", "ratio")
_PLACEHOLDER_URL = "oss://batch/placeholder"  # a local file stands in as an upload when the schema is checked
_PLACEHOLDER_BOX = [0, 0, 1, 1]


class ManifestError(ValueError):
    """The manifest has problems; ``problems`` lists each as ``line N: field: what``. ``lines_read`` and
    ``lines_with_problems`` give the extent (both ``None`` when the file could not be read at all)."""

    def __init__(
        self,
        path: Path,
        problems: list[str],
        *,
        lines_read: int | None = None,
        lines_with_problems: int | None = None,
    ) -> None:
        shown = problems[:20] + ([f"... and {len(problems) - 20} more"] if len(problems) > 20 else [])
        extent = ""
        if lines_read and lines_with_problems is not None:
            extent = f"{_extent(lines_read, lines_with_problems)}. "
        super().__init__(f"{path}: {extent}{len(problems)} problem(s):\n  " + "\n  ".join(shown))
        self.problems = problems
        self.lines_read = lines_read
        self.lines_with_problems = lines_with_problems


def _extent(lines: int, bad: int) -> str:
    """``2 of 20 lines have problems; the other 18 are valid``: how much of the manifest a fix has to touch."""
    valid = lines - bad
    have = "has" if bad == 1 else "have"
    rest = "none is valid" if valid == 0 else f"the other {valid} {'is' if valid == 1 else 'are'} valid"
    return f"{bad} of {lines} lines {have} problems; {rest}"


@dataclass(frozen=True)
class BatchJob:
    """One line of a manifest. ``key`` identifies the job's content: a changed line is a new job."""

    line: int
    model: str
    inputs: Mapping[str, Any]
    parameters: Mapping[str, Any] | None
    name: str
    ratio: str | None = None
    key: str = field(default="", compare=False)

    @property
    def media(self) -> dict[str, str]:
        """The inputs that are files or URLs (``*_url``), by field."""
        return {k: str(v) for k, v in self.inputs.items() if k.endswith("_url") and isinstance(v, str) and v}

    @property
    def needs_detection(self) -> bool:
        return self.model == "emo-v1" and "face_bbox" not in self.inputs


def read_manifest(path: str | Path) -> list[BatchJob]:
    """The jobs of a JSONL (``.jsonl``/``.json``/``.ndjson``) or CSV (``.csv``) manifest; ``ManifestError`` lists every
    problem."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError) as exc:
        raise ManifestError(path, [f"cannot read the manifest: {exc}"]) from exc
    rows = _csv_rows(text) if path.suffix.lower() == ".csv" else _jsonl_rows(text)
    jobs: list[BatchJob] = []
    problems: list[str] = []
    names: dict[str, int] = {}
    lines_read = 0
    lines_with_problems = 0
    for line, row in rows:
        lines_read += 1
        problems_before = len(problems)
        if isinstance(row, str):
            problems.append(f"line {line}: {row}")
        else:
            job, found = _job(line, row, path.parent)
            problems += found
            if job is not None:
                if job.name in names:
                    problems.append(f"line {line}: name: {job.name!r} is already the name of line {names[job.name]}")
                names.setdefault(job.name, line)
                jobs.append(job)
        lines_with_problems += len(problems) > problems_before
    if not jobs and not problems:
        problems.append("no jobs")
    if problems:
        raise ManifestError(path, problems, lines_read=lines_read, lines_with_problems=lines_with_problems)
    return jobs


def _jsonl_rows(text: str) -> Iterator[tuple[int, dict[str, Any] | str]]:
    for line, raw in enumerate(text.splitlines(), start=1):
        if not raw.strip() or raw.lstrip().startswith("#"):
            continue
        try:
            value = json.loads(raw)
        except ValueError as exc:
            yield line, f"not JSON: {exc}"
            continue
        yield line, value if isinstance(value, dict) else "a job is a JSON object"


def _csv_rows(text: str) -> Iterator[tuple[int, dict[str, Any] | str]]:
    reader = csv.DictReader(io.StringIO(text))
    for row in reader:
        line = reader.line_num
        nested: dict[str, Any] = {}
        for column, cell in row.items():
            if column is None:
                yield line, "more cells than header columns"
                break
            if cell is None or not cell.strip():
                continue
            *parents, leaf = column.strip().split(".")
            target = nested
            for part in parents:
                target = target.setdefault(part, {})
            target[leaf] = _cell(parents, leaf, cell.strip(), str(nested.get("model", "")))
        else:
            yield line, nested


def _cell(parents: list[str], leaf: str, text: str, model: str) -> Any:
    """A CSV cell as the schema's type at ``parents.leaf`` for ``model`` (text when the schema does not say)."""
    schema = _property_schema(model, [*parents, leaf])
    kind = schema.get("type")
    try:
        if kind == "integer":
            return int(text)
        if kind == "number":
            return float(text)
        if kind == "boolean":
            return {"true": True, "false": False, "1": True, "0": False}.get(text.lower(), text)
        if kind == "array":
            return json.loads(text) if text.startswith("[") else [int(part) for part in text.split(",")]
    except ValueError:
        return text  # the schema check names the field
    return text


def _property_schema(model: str, path: list[str]) -> Mapping[str, Any]:
    spec = load_spec()
    schemas = spec["components"]["schemas"]
    if model not in request_schemas():
        return {}
    schema: Mapping[str, Any] = schemas[request_schemas()[model]]
    for part in path:
        schema = _deref(schema.get("properties", {}).get(part, {}), schemas)
    return schema


def _deref(schema: Mapping[str, Any], schemas: Mapping[str, Any]) -> Mapping[str, Any]:
    while True:
        if "$ref" in schema:
            schema = schemas[schema["$ref"].rsplit("/", 1)[-1]]
        elif "allOf" in schema and len(schema["allOf"]) == 1:
            schema = {**schema["allOf"][0], **{k: v for k, v in schema.items() if k != "allOf"}}
        else:
            return schema


def _job(line: int, row: Mapping[str, Any], base: Path) -> tuple[BatchJob | None, list[str]]:
    problems: list[str] = []
    body = {k: v for k, v in row.items() if k not in _EXTRA_KEYS}
    model = body.get("model")
    mapping = request_schemas()
    if model not in mapping:
        return None, [f"line {line}: model: {model!r} is not one of {', '.join(mapping)}"]
    inputs = dict(body.get("input") or {}) if isinstance(body.get("input"), dict) else {}
    checked = json.loads(json.dumps(body))  # the body as the schema sees it: local files as uploads
    checked_input = checked.get("input") if isinstance(checked.get("input"), dict) else {}
    for name, value in inputs.items():
        if not (name.endswith("_url") and isinstance(value, str) and value):
            continue
        try:
            found = local_path(_relative(value, base))
        except (FileNotFoundError, ValueError) as exc:
            problems.append(f"line {line}: input.{name}: {exc}")
            checked_input[name] = _PLACEHOLDER_URL  # reported once, not again as a malformed URL
            continue
        if found is not None:
            inputs[name] = str(found)
            checked_input[name] = _PLACEHOLDER_URL
    if model == "emo-v1" and "face_bbox" not in inputs and "ext_bbox" not in inputs:
        checked_input.update(face_bbox=_PLACEHOLDER_BOX, ext_bbox=_PLACEHOLDER_BOX)  # emo-detect-v1 finds them
    for error in sorted(_validator(str(model)).iter_errors(checked), key=lambda e: list(e.absolute_path)):
        where = ".".join(str(part) for part in error.absolute_path) or "(job)"
        problems.append(f"line {line}: {where}: {error.message}")
    ratio = row.get("ratio")
    if ratio is not None and (model != "emo-v1" or ratio not in _emo_ratios()):
        problems.append(f"line {line}: ratio: only emo-v1 jobs take a ratio, one of {', '.join(_emo_ratios())}")
    name = str(row.get("name") or f"line-{line}")
    if "/" in name or "\\" in name or name.startswith("."):
        problems.append(f"line {line}: name: {name!r} must be a plain file name")
    if problems:
        return None, problems
    parameters = body.get("parameters")
    content = {"model": model, "input": inputs, "parameters": parameters, "name": name, "ratio": ratio}
    return BatchJob(line, str(model), inputs, parameters, name, ratio, key=_key(content)), []


def _relative(value: str, base: Path) -> str:
    if "://" in value or Path(value).expanduser().is_absolute():
        return value
    return str(base / value)


def _key(content: Mapping[str, Any]) -> str:
    canonical = json.dumps(content, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(canonical.encode()).hexdigest()[:32]


def _emo_ratios() -> list[str]:
    ratios: list[str] = load_spec()["components"]["schemas"]["EmoDetectParameters"]["properties"]["ratio"]["enum"]
    return ratios


_VALIDATORS: dict[str, jsonschema.protocols.Validator] = {}


def _validator(model: str) -> jsonschema.protocols.Validator:
    """The request schema of ``model`` as a client sends it (OpenAPI 3.0 schemas: JSON Schema draft 4 semantics):
    the spec's client view, where ``input`` and ``parameters`` refuse undocumented keys (a typo such as
    ``video_fsp`` is a problem of its line, although the service would ignore it; docs/SPEC.md)."""
    found = _VALIDATORS.get(model)
    if found is None:
        spec = load_client_spec()
        resource = referencing.Resource.from_contents(spec, default_specification=referencing.jsonschema.DRAFT4)
        registry: referencing.Registry[Any] = referencing.Registry().with_resource(_SPEC_URI, resource)
        ref = f"#/components/schemas/{request_schemas()[model]}"
        found = jsonschema.Draft4Validator({"$ref": _SPEC_URI + ref}, registry=registry)
        _VALIDATORS[model] = found
    return found
