"""A stateful, scriptable stand-in for DashScope's portrait-video API (liveportrait, emo-v1, videoretalk and the
detectors), built from ``openapi/dashscope-video.yaml``.

Serve it: ``dashscope-mock serve --port 8000`` (see ``cli``). Use it in process: ``mock_dashscope()`` or the
``dashscope_mock`` pytest fixture (see ``testing`` and ``pytest_plugin``). Build the ASGI app yourself:
``create_app(MockConfig(...))``. Control plane under ``/_mock`` (``openapi/mock-control.yaml``). Models: one
module each (``models``, checked by ``plugins``); media seam: ``seam.Media``. See ``docs/ARCHITECTURE.md``.

The names below are imported on first use: ``import dashscope_mock`` (the console script, the pytest plugin) works
without the ``mock`` extra, and using the mock without it raises ``ModuleNotFoundError`` with the install hint.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING

from ._entry import mock_extra_error
from ._quiet_imports import install as _quiet_connexion_import

_quiet_connexion_import()  # connexion's import-time warnings are not the user's (see ``_quiet_imports``)

if TYPE_CHECKING:
    from .backend import Backend
    from .config import MockConfig
    from .domain.clock import RealClock, VirtualClock
    from .domain.errors import ApiError
    from .domain.records import TaskRecord, UploadRecord
    from .http.app import ConnectionDropped, MockApp, create_app
    from .plugins import Detector, ModelSetupError, ModelTiming, VideoModel
    from .seam import DetectJob, DetectOutcome, LifecycleOnlyMedia, Media, MediaFailure, MediaJob, MediaOutcome
    from .testing import (
        SUBMIT_PATH,
        MockDashScope,
        MockInternalError,
        SyncASGITransport,
        async_mock_dashscope,
        mock_dashscope,
    )

__all__ = [
    "SUBMIT_PATH",
    "ApiError",
    "Backend",
    "ConnectionDropped",
    "DetectJob",
    "DetectOutcome",
    "Detector",
    "LifecycleOnlyMedia",
    "Media",
    "MediaFailure",
    "MediaJob",
    "MediaOutcome",
    "MockApp",
    "MockConfig",
    "MockDashScope",
    "MockInternalError",
    "ModelSetupError",
    "ModelTiming",
    "RealClock",
    "SyncASGITransport",
    "TaskRecord",
    "UploadRecord",
    "VideoModel",
    "VirtualClock",
    "async_mock_dashscope",
    "create_app",
    "mock_dashscope",
]

# Where each public name lives; imported on first access (PEP 562).
_SOURCES = {
    "ConnectionDropped": "http.app",
    "MockApp": "http.app",
    "create_app": "http.app",
    "Backend": "backend",
    "RealClock": "domain.clock",
    "VirtualClock": "domain.clock",
    "MockConfig": "config",
    "ApiError": "domain.errors",
    "Detector": "plugins",
    "ModelSetupError": "plugins",
    "ModelTiming": "plugins",
    "VideoModel": "plugins",
    "TaskRecord": "domain.records",
    "UploadRecord": "domain.records",
    "DetectJob": "seam",
    "DetectOutcome": "seam",
    "LifecycleOnlyMedia": "seam",
    "Media": "seam",
    "MediaFailure": "seam",
    "MediaJob": "seam",
    "MediaOutcome": "seam",
    "SUBMIT_PATH": "testing",
    "MockDashScope": "testing",
    "MockInternalError": "testing",
    "SyncASGITransport": "testing",
    "async_mock_dashscope": "testing",
    "mock_dashscope": "testing",
}


def __getattr__(name: str) -> object:
    source = _SOURCES.get(name)
    if source is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    try:
        module = importlib.import_module(f".{source}", __name__)
    except ModuleNotFoundError as error:
        hint = mock_extra_error(error)
        if hint is None:
            raise
        raise hint from error
    value = getattr(module, name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *__all__})
