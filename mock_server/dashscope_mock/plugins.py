"""Model plug-ins: what a model module provides, and the registry that checks the modules against the spec.

A model is one module of ``dashscope_mock.models`` (or one named with ``MockConfig.model_modules``) with a
module-level ``model``: a ``VideoModel`` (a model of the submit operation) or a ``Detector`` (a model of
face-detect). It holds what the mock knows about the model beyond the spec: its timings per profile, its placeholder
outcome (media checks off) and its media work (media checks on). Service facts (where the result link sits, the
detect answer's shape) stay in the spec's ``x-models``.

``load_registry()`` imports the modules and cross-checks them with the spec: every model of the spec's submit and
face-detect discriminators has a module, an ``x-models`` entry, ``x-limits.models`` limits, catalogue entries and an
example; every module has a model in the spec. Anything missing stops the mock with a message naming it.
"""

from __future__ import annotations

import functools
import importlib
import pkgutil
from collections.abc import Awaitable, Callable, Iterable, Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Literal

from dashscope_openapi import error_catalogue, load_spec, request_schemas

from .seam import DetectJob, DetectOutcome, MediaJob, MediaOutcome

__all__ = [
    "Detector",
    "ModelRegistry",
    "ModelSetupError",
    "ModelTiming",
    "Profile",
    "VideoModel",
    "load_registry",
    "timing",
]

Profile = Literal["fast", "realistic"]
PROFILES: tuple[Profile, ...] = ("fast", "realistic")
BUILTIN_PACKAGE = "dashscope_mock.models"


class ModelSetupError(RuntimeError):
    """The spec and the model modules disagree: the mock cannot serve as the service would."""


@dataclass(frozen=True)
class ModelTiming:
    """How long a task of one model spends in each status.

    ``pending`` is the queueing delay before a free slot starts it; ``phases`` are the working statuses in order
    (liveportrait and videoretalk: ``RUNNING``; emo-v1: ``PRE-PROCESSING``, ``RUNNING``, ``POST-PROCESSING``).
    """

    pending: float
    phases: tuple[tuple[str, float], ...]

    @property
    def statuses(self) -> tuple[str, ...]:
        return tuple(name for name, _ in self.phases)


def timing(pending: float, *phases: tuple[str, float]) -> ModelTiming:
    return ModelTiming(pending, tuple(phases))


@dataclass(frozen=True)
class VideoModel:
    """A model of the submit operation. ``prepare(kit, job, workdir)`` is its media work with media checks on: it takes
    a ``dashscope_mock.media.MediaKit`` and a fresh work folder, and returns a ``Prepared`` (or raises
    ``MediaFailure``)."""

    name: str
    timings: Mapping[Profile, ModelTiming]
    placeholder: Callable[[MediaJob], MediaOutcome]
    prepare: Callable[[Any, MediaJob, Path], Awaitable[Any]]
    facts: Mapping[str, Any] = field(default_factory=dict)  # the spec's x-models entry, filled by the registry


@dataclass(frozen=True)
class Detector:
    """A model of face-detect. ``detect(kit, job, workdir)`` is its media work with media checks on."""

    name: str
    placeholder: Callable[[DetectJob], DetectOutcome]
    detect: Callable[[Any, DetectJob, Path], Awaitable[DetectOutcome]]
    facts: Mapping[str, Any] = field(default_factory=dict)


class ModelRegistry:
    """The checked models, by name."""

    def __init__(self, videos: Iterable[VideoModel], detectors: Iterable[Detector]) -> None:
        self.videos = {model.name: model for model in videos}
        self.detectors = {model.name: model for model in detectors}

    def video(self, name: str) -> VideoModel:
        return self.videos[name]

    def detector(self, name: str) -> Detector:
        return self.detectors[name]

    def names(self) -> tuple[str, ...]:
        return (*self.videos, *self.detectors)

    def is_detector(self, name: str) -> bool:
        return name in self.detectors


def spec_video_models() -> tuple[str, ...]:
    """The models of the submit operation, from the spec's discriminator mapping."""
    return tuple(request_schemas("VideoSynthesisRequest"))


def spec_detect_models() -> tuple[str, ...]:
    """The detectors of face-detect, from the spec's discriminator mapping."""
    return tuple(request_schemas("FaceDetectRequest"))


def _modules(extra: Iterable[str]) -> list[Any]:
    package = importlib.import_module(BUILTIN_PACKAGE)
    # Modules whose name starts with "_" are helpers the model modules share, not models.
    names = [
        f"{BUILTIN_PACKAGE}.{i.name}" for i in pkgutil.iter_modules(package.__path__) if not i.name.startswith("_")
    ]
    return [importlib.import_module(name) for name in [*names, *extra]]


def _examples(schema_name: str) -> set[str]:
    """Models that have an example body in the spec (on their branch schema or on the operation)."""
    spec = load_spec()
    found: set[str] = set()
    schemas = spec["components"]["schemas"]
    for ref in schemas[schema_name]["discriminator"]["mapping"].values():
        branch = schemas[ref.rsplit("/", 1)[-1]]
        model = branch.get("properties", {}).get("model", {}).get("enum", [None])[0]
        if "example" in branch or "examples" in branch:
            found.add(model)
    for item in spec["paths"].values():
        for operation in item.values():
            if not isinstance(operation, dict):
                continue
            content = operation.get("requestBody", {}).get("content", {}).get("application/json", {})
            for example in content.get("examples", {}).values():
                value = example.get("value", {})
                if isinstance(value, dict) and isinstance(value.get("model"), str):
                    found.add(value["model"])
    return found


def _problems(modules: Mapping[str, Any]) -> list[str]:
    spec = load_spec()
    facts: Mapping[str, Any] = spec.get("x-models", {})
    limits: Mapping[str, Any] = spec["x-limits"]["models"]
    catalogue = error_catalogue()
    examples = _examples("VideoSynthesisRequest") | _examples("FaceDetectRequest")
    problems: list[str] = []
    wanted = {**dict.fromkeys(spec_video_models(), VideoModel), **dict.fromkeys(spec_detect_models(), Detector)}
    for name, kind in wanted.items():
        if name not in modules:
            problems.append(f"model {name!r} of the spec has no module (add dashscope_mock/models/<module>.py)")
        elif not isinstance(modules[name], kind):
            problems.append(f"model {name!r}: its module's `model` is not a {kind.__name__}")
        if name not in facts:
            problems.append(f"model {name!r} has no x-models entry in the spec")
        if name not in limits:
            problems.append(f"model {name!r} has no x-limits.models entry in the spec")
        if not any(entry.applies_to(name) and "*" not in entry.models for entry in catalogue.entries):
            problems.append(f"model {name!r} has no x-error-catalogue entry of its own")
        if name not in examples:
            problems.append(f"model {name!r} has no example request in the spec")
    for name in modules:
        if name not in wanted:
            problems.append(f"module of model {name!r}: the spec's discriminators have no such model")
    return problems


def load_registry(extra_modules: Iterable[str] = ()) -> ModelRegistry:
    """Import the model modules (the built-in ones and ``extra_modules``) and check them against the spec."""
    return _load_registry(tuple(extra_modules))


@functools.cache
def _load_registry(extra_modules: tuple[str, ...]) -> ModelRegistry:
    found: dict[str, Any] = {}
    for module in _modules(extra_modules):
        model = getattr(module, "model", None)
        if not isinstance(model, VideoModel | Detector):
            raise ModelSetupError(f"{module.__name__} has no module-level `model` (a VideoModel or a Detector)")
        if model.name in found:
            raise ModelSetupError(f"model {model.name!r} has two modules (the second is {module.__name__})")
        found[model.name] = model
    problems = _problems(found)
    if problems:
        raise ModelSetupError("the mock cannot start:\n- " + "\n- ".join(problems))
    facts: Mapping[str, Any] = load_spec()["x-models"]
    videos = [_with_facts(m, facts[m.name]) for m in found.values() if isinstance(m, VideoModel)]
    detectors = [_with_facts(m, facts[m.name]) for m in found.values() if isinstance(m, Detector)]
    return ModelRegistry(videos, detectors)


def _with_facts(model: Any, facts: Mapping[str, Any]) -> Any:
    return replace(model, facts=dict(facts))
