"""The SDK's public surface: ``__all__`` is pinned, ``api.md`` matches it, and generated names stay internal."""

from __future__ import annotations

import importlib.util
import inspect
import sys
from pathlib import Path
from types import ModuleType

import dashscope_video

ROOT = Path(__file__).resolve().parents[2]

PUBLIC = [
    "REGIONS",
    "APIConnectionError",
    "APIError",
    "APIResponseValidationError",
    "APIStatusError",
    "APITimeoutError",
    "AsyncClient",
    "AuthenticationError",
    "BadRequestError",
    "BatchJob",
    "BatchProgress",
    "BatchReport",
    "Client",
    "Clock",
    "ConfigurationError",
    "DashScopeError",
    "DetectionRejected",
    "DownloadError",
    "EmoDetection",
    "EmoParameters",
    "EmoRatio",
    "EmoResult",
    "HookClock",
    "InternalServerError",
    "JobResult",
    "LivePortraitDetection",
    "LivePortraitParameters",
    "LivePortraitResult",
    "ManifestError",
    "MediaInput",
    "NotFoundError",
    "PermissionDeniedError",
    "PollPolicy",
    "ProgressCallback",
    "QueryLimiter",
    "RateLimitError",
    "Region",
    "ResultExpired",
    "RetryPolicy",
    "SucceededTask",
    "SystemClock",
    "Task",
    "TaskCanceled",
    "TaskError",
    "TaskFailed",
    "TaskFailure",
    "TaskHandle",
    "TaskNotFinished",
    "TaskNotFound",
    "TaskPage",
    "TaskStatus",
    "TaskSummary",
    "UploadError",
    "VideoResult",
    "VideoRetalkParameters",
    "VideoRetalkResult",
    "WaitProgress",
    "WaitTimeout",
    "__version__",
    "arun_batch",
    "default_wait_timeout",
    "errors",
    "read_manifest",
    "run_batch",
    "types",
]

# The generated classes the SDK exposes on purpose: the spec's parameter schemas, as the generator writes them.
GENERATED_ON_PURPOSE = {"LivePortraitParameters", "EmoParameters", "VideoRetalkParameters"}


def _api_md_generator() -> ModuleType:
    spec = importlib.util.spec_from_file_location("generate_api_md", ROOT / "scripts" / "generate_api_md.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


def test_all_is_pinned() -> None:
    assert dashscope_video.__all__ == PUBLIC


def test_every_public_name_resolves() -> None:
    missing = [name for name in PUBLIC if not hasattr(dashscope_video, name)]
    assert missing == []


def test_api_md_lists_the_public_surface() -> None:
    rendered = _api_md_generator().render()
    assert (ROOT / "api.md").read_text(encoding="utf-8") == rendered, "run: python scripts/generate_api_md.py"
    for name in PUBLIC:
        assert f"`{name}" in rendered, name


def test_api_md_lists_every_resource_method() -> None:
    rendered = _api_md_generator().render()
    client = dashscope_video.Client("sk-test", base_url="http://127.0.0.1:9")
    try:
        for area in ("video_synthesis", "tasks", "face_detect", "uploads"):
            resource = getattr(client, area)
            methods = [n for n, v in inspect.getmembers(resource) if callable(v) and not n.startswith("_")]
            assert methods, area
            for method in methods:
                assert f"`client.{area}.{method}(" in rendered, f"{area}.{method}"
    finally:
        client.close()


def test_generated_types_stay_internal() -> None:
    leaked = [
        name
        for name in PUBLIC
        if isinstance(getattr(dashscope_video, name), type)
        and getattr(dashscope_video, name).__module__.startswith("dashscope_video_client")
    ]
    assert sorted(leaked) == sorted(GENERATED_ON_PURPOSE)


def test_sync_and_async_resources_offer_the_same_methods_with_the_same_parameters() -> None:
    sync = dashscope_video.Client("sk-test", base_url="http://127.0.0.1:9")
    asyn = dashscope_video.AsyncClient("sk-test", base_url="http://127.0.0.1:9")
    try:
        for area in ("video_synthesis", "tasks", "face_detect", "uploads"):
            left, right = getattr(sync, area), getattr(asyn, area)
            names = {n for n, v in inspect.getmembers(left) if callable(v) and not n.startswith("_")}
            assert names == {n for n, v in inspect.getmembers(right) if callable(v) and not n.startswith("_")}
            for name in names:
                assert inspect.signature(getattr(left, name)) == inspect.signature(getattr(right, name)), name
    finally:
        sync.close()


def test_only_the_adapter_touches_the_generated_clients_internals() -> None:
    sdk = ROOT / "sdk" / "dashscope_video"
    touching = sorted(
        str(path.relative_to(sdk))
        for path in sdk.rglob("*.py")
        if "_get_kwargs" in path.read_text(encoding="utf-8") or "dashscope_video_client.api" in path.read_text()
    )
    assert touching == ["_wire.py"]


def test_each_result_type_has_exactly_the_fields_its_models_spec_entry_places() -> None:
    from dataclasses import fields

    from dashscope_openapi import load_spec

    models = load_spec()["x-models"]
    for cls in (dashscope_video.LivePortraitResult, dashscope_video.EmoResult, dashscope_video.VideoRetalkResult):
        assert cls.model is not None
        assert {f.name for f in fields(cls)} == set(models[cls.model]["result"]), cls.__name__
    video_models = {name for name, facts in models.items() if facts["kind"] == "video"}
    assert video_models == {"liveportrait", "emo-v1", "videoretalk"}  # a new model needs its result type here
