"""The SDK's exceptions (see ``_errors`` for the design).

Catching::

    from dashscope_video import errors

    try:
        task = client.tasks.wait(client.video_synthesis.liveportrait(image, audio))
    except errors.InvalidFile as exc:        # a code family: InvalidFile.* — an HTTP 400, a task that ended FAILED
        print(exc.code, exc.message, exc.request_id)  # or emo-detect-v1's rejection (DetectionRejected) alike
    except errors.TaskFailed as exc:         # any other FAILED task
        print(exc.code, exc.retryable)
    except errors.RateLimitError:            # an HTTP status family (429), after the SDK's own retries
        ...
    except errors.APIConnectionError:        # network trouble, after the retries the operation allows
        ...

``errors.for_code("InvalidFile.FPS")`` is ``errors.InvalidFile``; ``errors.family("Throttling")`` and
``errors.for_status(429)`` look classes up by name and status; ``errors.families()`` lists them all. Every code
family of the spec's catalogue is an attribute of this module. The service's own misspelling of a family is the same
family: liveportrait's ``InvalidParamter.OutOfDefinition`` is an ``errors.InvalidParameter`` (and
``errors.InvalidParamter`` is that class too). Every exception the package exports is here as well.
"""

from __future__ import annotations

from ._errors import (
    FAMILY_CLASSES,
    FAMILY_SPELLINGS,
    APIConnectionError,
    APIError,
    APIResponseValidationError,
    APIStatusError,
    APITimeoutError,
    AuthenticationError,
    BadRequestError,
    CodeFamilyError,
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
    families,
    family,
    for_code,
    for_status,
)
from .lib.manifest import ManifestError

__all__ = [
    "FAMILY_SPELLINGS",
    "APIConnectionError",
    "APIError",
    "APIResponseValidationError",
    "APIStatusError",
    "APITimeoutError",
    "AuthenticationError",
    "BadRequestError",
    "CodeFamilyError",
    "ConfigurationError",
    "DashScopeError",
    "DetectionRejected",
    "DownloadError",
    "InternalServerError",
    "ManifestError",
    "NotFoundError",
    "PermissionDeniedError",
    "RateLimitError",
    "ResultExpired",
    "TaskCanceled",
    "TaskError",
    "TaskFailed",
    "TaskNotFinished",
    "TaskNotFound",
    "UploadError",
    "WaitTimeout",
    "families",
    "family",
    "for_code",
    "for_status",
]


def __getattr__(name: str) -> type[CodeFamilyError]:
    """``errors.InvalidFile``, ``errors.Throttling``, ...: the code-family classes built from the catalogue."""
    try:
        return family(name)
    except KeyError:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}") from None


def __dir__() -> list[str]:
    return sorted([*globals(), *FAMILY_CLASSES, *FAMILY_SPELLINGS])
