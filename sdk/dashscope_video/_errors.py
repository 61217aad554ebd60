"""The SDK's exceptions, built from the spec's error catalogue (``x-error-catalogue``).

Two independent ways to catch an HTTP error:

* by **HTTP status family** — ``BadRequestError`` (400), ``AuthenticationError`` (401), ``PermissionDeniedError``
  (403), ``NotFoundError`` (404), ``RateLimitError`` (429), ``InternalServerError`` (5xx), plus one generated class
  for every other status the catalogue names (e.g. ``errors.for_status(413)``); all are ``APIStatusError``;
* by **code family** — one class per first dotted part of the catalogue's codes (``InvalidFile`` for
  ``InvalidFile.FPS``, ``Throttling``, ``InternalError``, ...), created at import time from the catalogue and looked
  up with ``errors.for_code("InvalidFile.FPS")``, ``errors.family("InvalidFile")`` or ``errors.InvalidFile``.

An error raised for a 400 ``InvalidFile.FPS`` is an instance of both ``BadRequestError`` and ``errors.InvalidFile``
(its class is the generated ``BadRequestError[InvalidFile]``). A task that ends FAILED with ``InvalidFile.FPS`` raises
``TaskFailed[InvalidFile]``: a ``TaskFailed`` *and* an ``errors.InvalidFile``; emo-detect-v1 rejecting an image before
an emo-v1 submit raises ``DetectionRejected[InvalidFile]``. A code the catalogue does not know still maps to its
status class (and to its family class when the family is known).

No code, status or message is written here: the catalogue is the only table. The one addition is
``FAMILY_SPELLINGS``: the service's misspelt family names, each read as the family it misspells.
"""

from __future__ import annotations

import http
import re
from collections.abc import Mapping
from types import MappingProxyType
from typing import TYPE_CHECKING, Any, ClassVar

import httpx

from dashscope_openapi import CatalogueEntry, error_catalogue, limits

if TYPE_CHECKING:
    from .types import Task

__all__ = [
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


class DashScopeError(Exception):
    """Base of every exception this SDK raises."""


class ConfigurationError(DashScopeError, ValueError):
    """The client cannot be configured (no API key, unknown region, bad base URL)."""


class CodeFamilyError(DashScopeError):
    """Base of the per-code-family classes generated from the catalogue (``errors.InvalidFile``, ...).

    Instances are always also an ``APIStatusError`` (an HTTP error answer), a ``TaskFailed`` (a task that ended
    FAILED) or a ``DetectionRejected`` (emo-detect-v1 said no), so ``code``, ``message`` and ``request_id`` are always
    there.
    """

    family: ClassVar[str] = ""
    """The family name, e.g. ``InvalidFile``."""
    known_codes: ClassVar[frozenset[str]] = frozenset()
    """The catalogue's codes in this family (under any of its spellings)."""
    spellings: ClassVar[frozenset[str]] = frozenset()
    """Other names the service gives this family, e.g. ``InvalidParamter`` for ``InvalidParameter``."""

    code: str | None
    message: str
    request_id: str | None


class APIError(DashScopeError):
    """Something went wrong talking to the service."""

    def __init__(self, message: str, *, code: str | None = None, request_id: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.code = code
        self.request_id = request_id


class APIConnectionError(APIError):
    """The service could not be reached, or the connection broke (after the retries the operation allows)."""

    def __init__(self, message: str, *, request: httpx.Request | None = None) -> None:
        super().__init__(message)
        self.request = request


class APITimeoutError(APIConnectionError):
    """A request timed out (after the retries the operation allows)."""


class APIResponseValidationError(APIError):
    """A 2xx answer whose body does not match the spec."""

    def __init__(self, message: str, *, response: httpx.Response) -> None:
        super().__init__(message, request_id=response.headers.get("X-Request-ID"))
        self.response = response
        self.status = response.status_code


class APIStatusError(APIError):
    """An HTTP error answer: ``status``, ``code``, ``message``, ``request_id``, the ``response`` and its catalogue
    ``entry`` (``None`` for a code the catalogue does not know)."""

    status_range: ClassVar[tuple[int, int]] = (400, 599)

    def __init__(
        self,
        message: str,
        *,
        response: httpx.Response,
        code: str | None,
        request_id: str | None,
        body: object = None,
        model: str | None = None,
    ) -> None:
        super().__init__(message, code=code, request_id=request_id)
        self.response = response
        self.status = response.status_code
        self.body = body
        self.entry: CatalogueEntry | None = error_catalogue().find(code, model=model) if code else None

    @property
    def retryable(self) -> bool:
        """Whether the same request may succeed later: the catalogue's word for a known code, else 408/429/5xx."""
        if self.entry is not None:
            return self.entry.retryable
        return self.status in (408, 429) or self.status >= 500

    def is_check_failure(self, detector: str) -> bool:
        """A 400 whose code the catalogue documents for this detector: the image was looked at and rejected."""
        if self.status != 400 or self.code is None:
            return False
        return any(detector in entry.models for entry in error_catalogue().entries_for(self.code))

    def __str__(self) -> str:
        label = self.code or f"HTTP {self.status}"
        return f"{label}: {self.message} (HTTP {self.status}, request_id={self.request_id})"


class BadRequestError(APIStatusError):
    status_range = (400, 400)


class AuthenticationError(APIStatusError):
    """401: missing or wrong key — or a key of another region (keys are region-specific)."""

    status_range = (401, 401)


class PermissionDeniedError(APIStatusError):
    status_range = (403, 403)


class NotFoundError(APIStatusError):
    status_range = (404, 404)


class RateLimitError(APIStatusError):
    status_range = (429, 429)


class InternalServerError(APIStatusError):
    status_range = (500, 599)


class UploadError(DashScopeError):
    """The temporary upload (policy + form POST to the upload host) failed."""

    def __init__(self, message: str, *, response: httpx.Response | None = None, code: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.response = response
        self.code = code
        self.status = response.status_code if response is not None else None


class DownloadError(DashScopeError):
    """The result video could not be downloaded."""

    def __init__(self, message: str, *, url: str, response: httpx.Response | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.url = url
        self.response = response
        self.status = response.status_code if response is not None else None


class ResultExpired(DownloadError):
    """The result link answered 403: result URLs are valid for a limited time after the task ends (24 h per the
    spec's ``x-limits.result_url_validity_hours``). Submit the task again to get a new result."""


class DetectionRejected(DashScopeError):
    """``video_synthesis.emo`` without boxes ran emo-detect-v1 first, and it rejected the image (``detection`` holds
    its verdict; ``code``, ``message`` and ``request_id`` are the detector's)."""

    def __init__(
        self, code: str | None, message: str | None, detection: object = None, *, request_id: str | None = None
    ) -> None:
        super().__init__(f"emo-detect-v1 rejected the image: {code or ''} {message or ''}".strip())
        self.code = code
        self.message = message or "emo-detect-v1 rejected the image"
        self.request_id = request_id
        self.detection = detection


class TaskError(DashScopeError):
    """A task did not end SUCCEEDED (or has not ended yet, or the wait for it gave up)."""

    def __init__(self, message: str, *, task_id: str, task: Task[Any] | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.task_id = task_id
        self.task = task


class TaskFailed(TaskError):
    """The task ended FAILED: ``code``/``message`` as the service reported them, ``request_id`` of the query that saw
    it, the ``task`` itself, and the catalogue ``entry`` (``retryable`` tells whether resubmitting may help)."""

    def __init__(
        self,
        message: str,
        *,
        task_id: str,
        task: Task[Any] | None,
        code: str | None,
        request_id: str | None,
        model: str | None = None,
    ) -> None:
        super().__init__(message, task_id=task_id, task=task)
        self.code = code
        self.request_id = request_id
        self.entry: CatalogueEntry | None = error_catalogue().find(code, model=model) if code else None

    @property
    def retryable(self) -> bool:
        return self.entry.retryable if self.entry is not None else False

    def __str__(self) -> str:
        return f"task {self.task_id} FAILED: {self.code}: {self.message} (request_id={self.request_id})"


class TaskCanceled(TaskError):
    """The task ended CANCELED."""


class TaskNotFinished(TaskError):
    """The task has not ended (``status`` is PENDING, RUNNING, ...), so it has no result yet: ``tasks.wait`` for it
    first. Raised by ``tasks.download``, which queries a task once and never waits."""

    def __init__(self, message: str, *, task_id: str, task: Task[Any] | None, status: str) -> None:
        super().__init__(message, task_id=task_id, task=task)
        self.status = status


class TaskNotFound(TaskError):
    """The task reads UNKNOWN: no such id, a task of another account, or older than the retention (24 h)."""


class WaitTimeout(TaskError):
    """The wait's deadline passed. ``last_status`` is the last status seen (``None`` if no poll succeeded);
    ``canceled`` tells whether ``cancel_on_timeout`` managed to cancel the task."""

    def __init__(
        self,
        message: str,
        *,
        task_id: str,
        task: Task[Any] | None,
        last_status: str | None,
        elapsed: float,
        canceled: bool = False,
    ) -> None:
        super().__init__(message, task_id=task_id, task=task)
        self.last_status = last_status
        self.elapsed = elapsed
        self.canceled = canceled


# ------------------------------------------------------------------------------------------ built from the catalogue
_STATIC_STATUS: Mapping[int, type[APIStatusError]] = {
    cls.status_range[0]: cls
    for cls in (BadRequestError, AuthenticationError, PermissionDeniedError, NotFoundError, RateLimitError)
}


def _status_class_name(status: int) -> str:
    try:
        phrase = http.HTTPStatus(status).phrase
    except ValueError:
        return f"HTTP{status}Error"
    return "".join(word.capitalize() for word in re.split(r"[^A-Za-z0-9]+", phrase) if word) + "Error"


def _build_status_classes() -> Mapping[int, type[APIStatusError]]:
    classes: dict[int, type[APIStatusError]] = dict(_STATIC_STATUS)
    for status in sorted({entry.status for entry in error_catalogue().entries}):
        if status in classes or status >= 500:
            continue
        classes[status] = type(
            _status_class_name(status),
            (APIStatusError,),
            {"status_range": (status, status), "__module__": "dashscope_video.errors", "__doc__": f"HTTP {status}."},
        )
    return MappingProxyType(classes)


FAMILY_SPELLINGS: Mapping[str, str] = MappingProxyType({"InvalidParamter": "InvalidParameter"})
"""Family names as the service misspells them -> the family they mean. The catalogue keeps codes exactly as sent
(liveportrait's 400 is ``InvalidParamter.OutOfDefinition``, "sic" in its source), but a user who catches
``errors.InvalidParameter`` means that one too. Only spellings the catalogue documents belong here."""


def family_name(code: str) -> str:
    """The family a code (or a family name) belongs to: its first dotted part, spelt as the family is."""
    first = code.split(".", 1)[0]
    return FAMILY_SPELLINGS.get(first, first)


def _build_family_classes() -> Mapping[str, type[CodeFamilyError]]:
    catalogue = error_catalogue()
    classes: dict[str, type[CodeFamilyError]] = {}
    for name in sorted({family_name(raw) for raw in catalogue.families()}):
        if not name.isidentifier():  # pragma: no cover - the catalogue's codes are identifiers
            raise ValueError(f"catalogue code family {name!r} is not a Python identifier")
        codes = frozenset(code for code in catalogue.codes() if family_name(code) == name)
        spellings = frozenset(raw for raw in catalogue.families() if raw != name and family_name(raw) == name)
        also = "".join(f" (and {raw}.*, the service's spelling)" for raw in sorted(spellings))
        classes[name] = type(
            name,
            (CodeFamilyError,),
            {
                "family": name,
                "known_codes": codes,
                "spellings": spellings,
                "__module__": "dashscope_video.errors",
                "__doc__": f"Errors whose code is {name} or {name}.*{also}: {', '.join(sorted(codes))}.",
            },
        )
    return MappingProxyType(classes)


STATUS_CLASSES: Mapping[int, type[APIStatusError]] = _build_status_classes()
FAMILY_CLASSES: Mapping[str, type[CodeFamilyError]] = _build_family_classes()
_COMBINED: dict[tuple[type[DashScopeError], type[CodeFamilyError]], type[Any]] = {}


def for_status(status: int) -> type[APIStatusError]:
    """The class raised for an HTTP ``status`` (5xx: ``InternalServerError``; unknown 4xx: ``APIStatusError``)."""
    if status >= 500:
        return InternalServerError
    return STATUS_CLASSES.get(status, APIStatusError)


def family(name: str) -> type[CodeFamilyError]:
    """The code-family class named ``name`` (e.g. ``"InvalidFile"``; a spelling of ``FAMILY_SPELLINGS`` gives the
    family it means); ``KeyError`` for a family the catalogue lacks."""
    try:
        return FAMILY_CLASSES[FAMILY_SPELLINGS.get(name, name)]
    except KeyError:
        raise KeyError(f"no code family {name!r} in the error catalogue") from None


def for_code(code: str) -> type[CodeFamilyError]:
    """The code-family class that catches ``code`` (``for_code("InvalidFile.FPS") is errors.InvalidFile``)."""
    return family(code.split(".", 1)[0])


def families() -> Mapping[str, type[CodeFamilyError]]:
    """Every code-family class by name (one per family; misspellings are not keys, ``family()`` resolves them)."""
    return FAMILY_CLASSES


def _combine(base: type[DashScopeError], code: str | None) -> type[Any]:
    fam = FAMILY_CLASSES.get(family_name(code)) if code else None
    if fam is None:
        return base
    key = (base, fam)
    cls = _COMBINED.get(key)
    if cls is None:
        cls = type(f"{base.__name__}[{fam.family}]", (base, fam), {"__module__": "dashscope_video.errors"})
        _COMBINED[key] = cls
    return cls


# ---------------------------------------------------------------------------------------------- from answers
_XML_FIELD = re.compile(r"<(Code|Message|RequestId)>([^<]*)</\1>")


def parse_error_body(response: httpx.Response) -> tuple[str | None, str, str | None, object]:
    """``(code, message, request_id, body)`` from any error answer: the DashScope ``{request_id, code, message}``
    shape, the OpenAI-style ``{"error": {...}}`` of ``/files``, an OSS XML error, or plain text."""
    request_id = response.headers.get("X-Request-ID")
    code: str | None = None
    message: str | None = None
    body: object = None
    try:
        body = response.json()
    except ValueError:
        body = response.text
    if isinstance(body, dict):
        inner = body.get("error") if isinstance(body.get("error"), dict) else body
        assert isinstance(inner, dict)
        raw_code = inner.get("code")
        code = str(raw_code) if raw_code not in (None, "") else None
        raw_message = inner.get("message", inner.get("msg"))
        message = str(raw_message) if raw_message not in (None, "") else None
        request_id = str(body.get("request_id") or inner.get("request_id") or request_id or "") or None
    elif isinstance(body, str) and body:
        fields = dict(_XML_FIELD.findall(body))
        code = fields.get("Code") or None
        message = fields.get("Message") or body.strip()[:300]
        request_id = fields.get("RequestId") or request_id
    if not message:
        message = response.reason_phrase or f"HTTP {response.status_code}"
    return code, message, request_id, body


def from_response(response: httpx.Response, *, model: str | None = None) -> APIStatusError:
    """The exception for an error answer (the response must have been read)."""
    code, message, request_id, body = parse_error_body(response)
    cls = _combine(for_status(response.status_code), code)
    error: APIStatusError = cls(message, response=response, code=code, request_id=request_id, body=body, model=model)
    return error


def task_failed(task: Task[Any]) -> TaskFailed:
    code = task.failure.code if task.failure is not None else None
    message = task.failure.message if task.failure is not None else "the task failed"
    cls = _combine(TaskFailed, code)
    error: TaskFailed = cls(
        message, task_id=task.task_id, task=task, code=code, request_id=task.request_id, model=task.model
    )
    return error


def detection_rejected(
    code: str | None, message: str | None, detection: object, request_id: str | None
) -> DetectionRejected:
    """The exception for an image emo-detect-v1 rejected: a ``DetectionRejected`` and its code's family."""
    cls = _combine(DetectionRejected, code)
    error: DetectionRejected = cls(code, message, detection, request_id=request_id)
    return error


def result_validity_hours() -> float:
    return float(limits()["result_url_validity_hours"])
