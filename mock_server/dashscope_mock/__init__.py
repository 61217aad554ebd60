"""A stateful, scriptable stand-in for DashScope's portrait-video API (liveportrait, emo-v1, videoretalk and the
detectors), built from ``openapi/dashscope-video.yaml``.

Serve it: ``dashscope-mock serve --port 8000`` (see ``cli``). Use it in process: ``mock_dashscope()`` or the
``dashscope_mock`` pytest fixture (see ``testing`` and ``pytest_plugin``). Build the ASGI app yourself:
``create_app(MockConfig(...))``. Control plane under ``/_mock`` (``openapi/mock-control.yaml``). Media hook:
``pipeline.MediaPipeline``.
"""

from __future__ import annotations

from .app import ConnectionDropped, MockApp, create_app
from .backend import Backend
from .clock import RealClock, VirtualClock
from .config import PROFILES, MockConfig, ModelTiming
from .errors import ApiError
from .pipeline import LifecycleOnlyMedia, MediaFailure, MediaJob, MediaOutcome, MediaPipeline
from .records import TaskRecord, UploadRecord
from .testing import SUBMIT_PATH, MockDashScope, SyncASGITransport, async_mock_dashscope, mock_dashscope

__all__ = [
    "PROFILES",
    "SUBMIT_PATH",
    "ApiError",
    "Backend",
    "ConnectionDropped",
    "LifecycleOnlyMedia",
    "MediaFailure",
    "MediaJob",
    "MediaOutcome",
    "MediaPipeline",
    "MockApp",
    "MockConfig",
    "MockDashScope",
    "ModelTiming",
    "RealClock",
    "SyncASGITransport",
    "TaskRecord",
    "UploadRecord",
    "VirtualClock",
    "async_mock_dashscope",
    "create_app",
    "mock_dashscope",
]
