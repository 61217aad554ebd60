"""DashScope portrait-video SDK: liveportrait, emo-v1 and videoretalk, with their detectors.

Quick start::

    from dashscope_video import Client
    with Client() as client:  # DASHSCOPE_API_KEY, DASHSCOPE_BASE_URL
        task = client.submit_and_wait(liveportrait_request(Path("face.png"), Path("voice.mp3")))
        client.download(task, "out.mp4")

``Client`` / ``AsyncClient`` wrap the generated ``dashscope_video_client``; exceptions live in
``dashscope_video.errors``; the command line is ``dashscope-video`` (``dashscope_video.cli``).
"""

from __future__ import annotations

from . import errors
from ._client import (
    AsyncClient,
    Client,
    DetectionRejected,
    EmoDetection,
    LivePortraitDetection,
    TaskRef,
    VideoRequest,
    __version__,
    default_wait_timeout,
    emo_request,
    liveportrait_request,
    result_url,
    videoretalk_request,
)
from ._clock import Clock, HookClock, SystemClock
from ._config import REGIONS, Region
from ._errors import (
    APIConnectionError,
    APIError,
    APIStatusError,
    AuthenticationError,
    BadRequestError,
    DashScopeError,
    InternalServerError,
    NotFoundError,
    PermissionDeniedError,
    RateLimitError,
    ResultExpired,
    TaskCanceled,
    TaskFailed,
    TaskNotFound,
    WaitTimeout,
)
from ._limiter import QueryLimiter
from ._retry import PollPolicy, RetryPolicy
from ._uploads import MediaInput
from ._wait import WaitProgress

__all__ = [
    "REGIONS",
    "APIConnectionError",
    "APIError",
    "APIStatusError",
    "AsyncClient",
    "AuthenticationError",
    "BadRequestError",
    "Client",
    "Clock",
    "DashScopeError",
    "DetectionRejected",
    "EmoDetection",
    "HookClock",
    "InternalServerError",
    "LivePortraitDetection",
    "MediaInput",
    "NotFoundError",
    "PermissionDeniedError",
    "PollPolicy",
    "QueryLimiter",
    "RateLimitError",
    "Region",
    "ResultExpired",
    "RetryPolicy",
    "SystemClock",
    "TaskCanceled",
    "TaskFailed",
    "TaskNotFound",
    "TaskRef",
    "VideoRequest",
    "WaitProgress",
    "WaitTimeout",
    "__version__",
    "default_wait_timeout",
    "emo_request",
    "errors",
    "liveportrait_request",
    "result_url",
    "videoretalk_request",
]
