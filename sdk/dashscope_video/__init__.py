"""DashScope portrait-video SDK: liveportrait, emo-v1 and videoretalk, with their face detectors.

Quick start::

    from dashscope_video import Client, LivePortraitParameters

    with Client() as client:  # DASHSCOPE_API_KEY, DASHSCOPE_BASE_URL
        params = LivePortraitParameters(video_fps=30)
        job = client.video_synthesis.liveportrait("face.png", "voice.mp3", parameters=params)
        task = client.tasks.wait(job)            # SucceededTask[LivePortraitResult]
        print(task.result.video_url, task.result.video_duration)
        client.tasks.download(task, "out.mp4")

``AsyncClient`` has the same resources, awaited. Types are in ``dashscope_video.types``, exceptions in
``dashscope_video.errors``; ``api.md`` lists the whole surface; the command line is ``dashscope-video``.
"""

from __future__ import annotations

from . import errors, types
from ._client import AsyncClient, Client
from ._clock import Clock, HookClock, SystemClock
from ._config import REGIONS, Region
from ._errors import (
    APIConnectionError,
    APIError,
    APIResponseValidationError,
    APIStatusError,
    APITimeoutError,
    AuthenticationError,
    BadRequestError,
    ConfigurationError,
    DashScopeError,
    DetectionRejected,
    DownloadError,
    InternalServerError,
    NotFoundError,
    PermissionDeniedError,
    RateLimitError,
    ResultExpired,
    TaskCanceled,
    TaskError,
    TaskFailed,
    TaskNotFinished,
    TaskNotFound,
    UploadError,
    WaitTimeout,
)
from ._limiter import QueryLimiter
from ._retry import PollPolicy, RetryPolicy
from ._uploads import MediaInput
from ._version import __version__
from .lib.batch import BatchProgress, BatchReport, JobResult, arun_batch, run_batch
from .lib.manifest import BatchJob, ManifestError, read_manifest
from .lib.waiting import ProgressCallback, WaitProgress, default_wait_timeout
from .resources.tasks import TaskPage
from .types import (
    EmoDetection,
    EmoParameters,
    EmoRatio,
    EmoResult,
    LivePortraitDetection,
    LivePortraitParameters,
    LivePortraitResult,
    SucceededTask,
    Task,
    TaskFailure,
    TaskHandle,
    TaskStatus,
    TaskSummary,
    VideoResult,
    VideoRetalkParameters,
    VideoRetalkResult,
)

__all__ = [
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
