"""A stateful, scriptable stand-in for DashScope's portrait-video API (liveportrait, emo-v1, videoretalk and the
detectors), built from ``openapi/dashscope-video.yaml``.

Serve it: ``dashscope-mock serve --port 8000`` (see ``cli``). Use it in process: ``mock_dashscope()`` or the
``dashscope_mock`` pytest fixture (see ``testing`` and ``pytest_plugin``). Build the ASGI app yourself:
``create_app(MockConfig(...))``. Control plane under ``/_mock`` (``openapi/mock-control.yaml``). Models: one
module each (``models``, checked by ``plugins``); media seam: ``seam.Media``. See ``docs/ARCHITECTURE.md``.
"""

from __future__ import annotations

from .app import ConnectionDropped, MockApp, create_app
from .backend import Backend
from .clock import RealClock, VirtualClock
from .config import MockConfig
from .errors import ApiError
from .plugins import Detector, ModelSetupError, ModelTiming, VideoModel
from .records import TaskRecord, UploadRecord
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
