"""The toolkit's OpenAPI documents and typed views of their ``x-`` catalogues.

``openapi/dashscope-video.yaml`` is the single source of truth for the public API: schemas, limits (``x-limits``)
and error codes (``x-error-catalogue``). The mock server and the SDK read them here instead of keeping copies.
``openapi/mock-control.yaml`` describes the mock's own control plane, ``openapi/recording.yaml`` the files the
mock's recording proxy writes (a JSON Schema). They ship as package data: in a checkout
``dashscope_openapi/openapi`` is a symlink to the canonical ``openapi/`` folder, and a wheel carries copies of the
files there. ``DASHSCOPE_OPENAPI_DIR`` points at another folder holding them.
"""

from __future__ import annotations

import copy
import functools
import importlib.resources
import os
import string
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import yaml

__all__ = [
    "CONTROL_SPEC_FILE",
    "RECORDING_SCHEMA_FILE",
    "SPEC_DIR",
    "SPEC_FILE",
    "CatalogueEntry",
    "ErrorCatalogue",
    "client_closed_schemas",
    "error_catalogue",
    "limits",
    "load_client_spec",
    "load_control_spec",
    "load_recording_schema",
    "load_spec",
    "model_limits",
    "request_schemas",
    "task_statuses",
    "terminal_statuses",
]


def _spec_dir() -> Path:
    override = os.environ.get("DASHSCOPE_OPENAPI_DIR")  # another copy of the specs (tests of a changed spec)
    if override:
        return Path(override)
    packaged = importlib.resources.files(__name__) / "openapi"
    # A package on disk (wheel or editable install, checkout) has a real path; a zip import does not.
    if not isinstance(packaged, Path) or not (packaged / "dashscope-video.yaml").is_file():
        raise FileNotFoundError(
            f"dashscope-video.yaml is not in {packaged} (the package data of dashscope_openapi); "
            "set DASHSCOPE_OPENAPI_DIR to a folder holding dashscope-video.yaml and mock-control.yaml"
        )
    return packaged.resolve()  # in a checkout: the canonical openapi/ folder behind the symlink


SPEC_DIR = _spec_dir()
SPEC_FILE = SPEC_DIR / "dashscope-video.yaml"
CONTROL_SPEC_FILE = SPEC_DIR / "mock-control.yaml"
RECORDING_SCHEMA_FILE = SPEC_DIR / "recording.yaml"

Stage = Literal["submit", "task", "detect", "any", "cancel", "upload"]
ANY_MODEL = "*"


@functools.cache
def load_spec() -> Mapping[str, Any]:
    """The public API spec, parsed once per process. Treat it as read-only."""
    return _load(SPEC_FILE)


def client_closed_schemas(spec: Mapping[str, Any]) -> tuple[str, ...]:
    """The component schemas the spec leaves open only because the service ignores undocumented keys in them: the
    ``x-leniency.unknown_keys`` objects (``input``, ``parameters``) of every request body's branches, by name."""
    objects = spec.get("x-leniency", {}).get("unknown_keys", {}).get("objects", ())
    schemas = spec["components"]["schemas"]

    def named(node: Any) -> str | None:
        ref = node.get("$ref") if isinstance(node, Mapping) else None
        return ref.rsplit("/", 1)[-1] if isinstance(ref, str) and ref.startswith("#/components/schemas/") else None

    found: list[str] = []
    for item in spec["paths"].values():
        for operation in item.values():
            content = operation.get("requestBody", {}).get("content", {}) if isinstance(operation, Mapping) else {}
            schema = content.get("application/json", {}).get("schema")
            if schema is None:
                continue
            top = schemas.get(named(schema) or "", schema)
            for branch in top.get("oneOf", [top]):
                branch = schemas.get(named(branch) or "", branch)
                for name in objects:
                    inner = named(branch.get("properties", {}).get(name))
                    if inner is not None and inner not in found:
                        found.append(inner)
    return tuple(found)


@functools.cache
def load_client_spec() -> Mapping[str, Any]:
    """The public spec as this toolkit's clients send requests: the schemas of ``client_closed_schemas`` closed
    (``additionalProperties: false``). The public spec says what the service accepts (undocumented keys there are
    ignored, ``x-leniency``); the generated client, the SDK's parameter classes and its batch manifests refuse them,
    as ``--strict-fields`` does. Treat it as read-only."""
    spec = copy.deepcopy(dict(load_spec()))
    for name in client_closed_schemas(spec):
        spec["components"]["schemas"][name]["additionalProperties"] = False
    return spec


@functools.cache
def load_control_spec() -> Mapping[str, Any]:
    """The mock control-plane spec, parsed once per process."""
    return _load(CONTROL_SPEC_FILE)


@functools.cache
def load_recording_schema() -> Mapping[str, Any]:
    """The JSON Schema of a recording (``dashscope-mock proxy --record``), parsed once per process."""
    return _load(RECORDING_SCHEMA_FILE)


def _load(path: Path) -> Mapping[str, Any]:
    with path.open(encoding="utf-8") as handle:
        # The C loader when libyaml is there: the spec is large and every CLI start reads it.
        document = yaml.load(handle, Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))
    if not isinstance(document, dict):
        raise ValueError(f"{path} is not an OpenAPI document")
    return document


def limits() -> Mapping[str, Any]:
    """``x-limits``: the documented limits (rates, retention, per-model media bounds)."""
    value: Mapping[str, Any] = load_spec()["x-limits"]
    return value


def model_limits(model: str) -> Mapping[str, Any]:
    """The media limits of one model (``x-limits.models.<model>``); empty for a model with none documented."""
    value: Mapping[str, Any] = limits()["models"].get(model, {})
    return value


def request_schemas(union: str = "VideoSynthesisRequest") -> Mapping[str, str]:
    """Model → the name of its request schema, from the discriminator mapping of ``union`` (``VideoSynthesisRequest``
    or ``FaceDetectRequest``), in the spec's order."""
    mapping: Mapping[str, str] = load_spec()["components"]["schemas"][union]["discriminator"]["mapping"]
    return {model: ref.rsplit("/", 1)[-1] for model, ref in mapping.items()}


def task_statuses() -> tuple[str, ...]:
    """Every task status the spec documents, in the spec's order."""
    return tuple(load_spec()["components"]["schemas"]["TaskStatus"]["enum"])


def terminal_statuses() -> frozenset[str]:
    """Statuses after which a task never changes (``x-terminal`` of ``TaskStatus``)."""
    return frozenset(load_spec()["components"]["schemas"]["TaskStatus"]["x-terminal"])


@dataclass(frozen=True)
class CatalogueEntry:
    """One documented error: a code, its HTTP status and message, and where it surfaces."""

    code: str
    status: int
    message: str
    models: tuple[str, ...]
    stage: Stage
    retryable: bool
    source: str
    reason: str | None = None
    template: str | None = None
    on_missing: tuple[str, ...] = ()
    on_invalid: tuple[str, ...] = ()
    message_recorded: bool = True

    @property
    def family(self) -> str:
        """The code's family: its first dotted part (``InvalidFile`` for ``InvalidFile.FPS``)."""
        return self.code.split(".", 1)[0]

    def applies_to(self, model: str | None) -> bool:
        return model is None or ANY_MODEL in self.models or model in self.models

    def placeholders(self) -> tuple[str, ...]:
        if self.template is None:
            return ()
        return tuple(name for _, name, _, _ in string.Formatter().parse(self.template) if name)

    def render(self, **values: object) -> str:
        """The message with the template's placeholders filled; unknown placeholders keep their name."""
        if self.template is None:
            return self.message
        return self.template.format_map(_KeepMissing(values))


class _KeepMissing(dict[str, object]):
    def __missing__(self, key: str) -> str:
        return "{" + key + "}"


@dataclass(frozen=True)
class ErrorCatalogue:
    """``x-error-catalogue`` as objects, with the lookups the mock and the SDK need."""

    entries: tuple[CatalogueEntry, ...]
    description: str = ""
    _by_code: Mapping[str, tuple[CatalogueEntry, ...]] = field(default_factory=dict, repr=False)

    @classmethod
    def from_spec(cls, spec: Mapping[str, Any]) -> ErrorCatalogue:
        raw = spec["x-error-catalogue"]
        entries = tuple(_entry(item) for item in raw["errors"])
        by_code: dict[str, list[CatalogueEntry]] = {}
        for entry in entries:
            by_code.setdefault(entry.code, []).append(entry)
        return cls(entries, raw.get("description", ""), {k: tuple(v) for k, v in by_code.items()})

    def codes(self) -> frozenset[str]:
        return frozenset(self._by_code)

    def families(self) -> frozenset[str]:
        return frozenset(entry.family for entry in self.entries)

    def entries_for(self, code: str) -> tuple[CatalogueEntry, ...]:
        return self._by_code.get(code, ())

    def find(
        self,
        code: str,
        *,
        model: str | None = None,
        reason: str | None = None,
        stages: Iterable[Stage] | None = None,
    ) -> CatalogueEntry | None:
        """The best entry for ``code``: model-specific entries before the common ones, then by reason and stage."""
        wanted_stages = frozenset(stages) if stages is not None else None
        candidates = [
            entry
            for entry in self.entries_for(code)
            if entry.applies_to(model)
            and (reason is None or entry.reason == reason)
            and (wanted_stages is None or entry.stage in wanted_stages)
        ]
        if not candidates:
            return None
        candidates.sort(key=lambda entry: ANY_MODEL in entry.models)
        return candidates[0]

    def for_request_error(self, model: str | None, kind: Literal["missing", "invalid"], path: str) -> CatalogueEntry:
        """The submit-time entry for a request-validation failure at ``path`` (e.g. ``parameters.video_fps``).

        An entry naming the path wins over a ``"*"`` entry, then model-specific entries win over common ones. Without
        a model (the body names none) only the common entries apply.
        """
        best: tuple[int, CatalogueEntry] | None = None
        for entry in self.entries:
            common = ANY_MODEL in entry.models
            if entry.stage != "submit" or not (common or (model is not None and model in entry.models)):
                continue
            paths = entry.on_missing if kind == "missing" else entry.on_invalid
            if path in paths:
                rank = 0
            elif ANY_MODEL in paths:
                rank = 2
            else:
                continue
            rank += 1 if common else 0
            if best is None or rank < best[0]:
                best = (rank, entry)
        if best is None:
            raise LookupError(f"no catalogue entry for a {kind} {path!r} of {model!r}")
        return best[1]


def _entry(item: Mapping[str, Any]) -> CatalogueEntry:
    return CatalogueEntry(
        code=item["code"],
        status=int(item["status"]),
        message=item["message"],
        models=tuple(item["models"]),
        stage=item["stage"],
        retryable=bool(item["retryable"]),
        source=str(item.get("source", "")),
        reason=item.get("reason"),
        template=item.get("template"),
        on_missing=tuple(item.get("on_missing", ())),
        on_invalid=tuple(item.get("on_invalid", ())),
        message_recorded=bool(item.get("message_recorded", True)),
    )


@functools.cache
def error_catalogue() -> ErrorCatalogue:
    """The error catalogue of the public spec."""
    return ErrorCatalogue.from_spec(load_spec())
