"""Errors the mock answers with: always ``{request_id, code, message}`` plus ``X-Request-ID``, codes and messages
taken from the spec's ``x-error-catalogue``. ``to_api_error`` turns whatever went wrong into one, and
``render_error`` is the one place that writes it on the wire (connexion's error handlers, the fast path and faults
all use it)."""

from __future__ import annotations

import json
import logging
from collections.abc import Iterable, Mapping

from connexion.exceptions import ProblemException
from starlette.exceptions import HTTPException
from starlette.formparsers import MultiPartException
from starlette.responses import Response

from dashscope_openapi import CatalogueEntry, Stage, error_catalogue, load_control_spec

__all__ = [
    "RETRY_STATUSES",
    "ApiError",
    "OssError",
    "StateUnavailable",
    "catalogue_error",
    "entry",
    "error_parts",
    "invalid_request",
    "oss_error",
    "render_error",
    "retry_headers",
    "to_api_error",
]

logger = logging.getLogger("dashscope_mock")

RETRY_STATUSES = (429, 503)
JSON = "application/json"
XML = "application/xml"
OSS_HOST_ID = "dashscope.mock"


class ApiError(Exception):
    """An HTTP error answer of the mock."""

    def __init__(self, status: int, code: str, message: str, headers: Mapping[str, str] | None = None) -> None:
        super().__init__(f"{status} {code}: {message}")
        self.status = status
        self.code = code
        self.message = message
        self.headers = dict(headers or {})

    def with_headers(self, headers: Mapping[str, str]) -> ApiError:
        self.headers.update(headers)
        return self

    @classmethod
    def from_entry(cls, found: CatalogueEntry, **values: object) -> ApiError:
        return cls(found.status, found.code, found.render(**values))


def entry(
    code: str, *, model: str | None = None, reason: str | None = None, stages: Iterable[Stage] | None = None
) -> CatalogueEntry:
    """The catalogue entry for ``code``; a missing one is a bug of the mock (or of the spec), not of the caller."""
    found = error_catalogue().find(code, model=model, reason=reason, stages=stages)
    if found is None:
        raise LookupError(f"x-error-catalogue has no {code!r} (model={model!r}, reason={reason!r})")
    return found


def catalogue_error(
    code: str,
    *,
    model: str | None = None,
    reason: str | None = None,
    stages: Iterable[Stage] | None = None,
    **values: object,
) -> ApiError:
    """The catalogue's error for ``code`` with its template filled from ``values`` (headers: ``.with_headers``)."""
    return ApiError.from_entry(entry(code, model=model, reason=reason, stages=stages), **values)


class StateUnavailable(ApiError):
    """The shared state (Redis) failed, timed out or stayed locked: 503 ``ModelServingError`` (reason
    ``state_unavailable``, the mock's own message) with ``Retry-After`` (``x-redis.retry_after_seconds``). The store
    raises it for every such failure, so a state-bound request answers it at once and in the service's shape."""

    def __init__(self, detail: str = "") -> None:
        found = entry("ModelServingError", reason="state_unavailable")
        retry_after = str(load_control_spec()["x-redis"]["retry_after_seconds"])
        super().__init__(found.status, found.code, found.render(), {"Retry-After": retry_after})
        self.detail = detail  # what failed (logs), never answered


def invalid_request(model: str | None = None, kind: str = "invalid", path: str = "*") -> ApiError:
    """The catalogue's request-validation error for ``path`` (``*``: the body as a whole)."""
    found = error_catalogue().for_request_error(model, "missing" if kind == "missing" else "invalid", path)
    return ApiError.from_entry(found, parameter=path)


class OssError(ApiError):
    """An error of the simulated OSS (the upload form, result links): answered in OSS's XML, not DashScope's JSON."""


def oss_error(reason: str, **values: str) -> OssError:
    """An OSS error of the upload form or of a result link (``x-oss-errors`` of ``openapi/mock-control.yaml``);
    ``values`` fill the message's ``{placeholders}``."""
    for item in load_control_spec()["x-oss-errors"]:
        if item["reason"] == reason:
            message = str(item["message"])
            for name, value in values.items():
                message = message.replace("{" + name + "}", value)
            return OssError(int(item["status"]), str(item["code"]), message)
    raise LookupError(f"mock-control.yaml has no x-oss-errors entry with reason {reason!r}")


def as_oss_error(error: ApiError) -> OssError:
    """Any error on an OSS route, in OSS's terms (the status kept; OSS's code for it)."""
    if isinstance(error, OssError):
        return error
    if error.status == 404:
        return oss_error("missing")
    codes = {403: "AccessDenied", 405: "MethodNotAllowed"}
    if 400 <= error.status < 500:
        converted = OssError(error.status, codes.get(error.status, "InvalidArgument"), error.message)
    else:
        converted = OssError(error.status, "InternalError", "We encountered an internal error. Please try again.")
    converted.headers = dict(error.headers)
    return converted


def _xml(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def oss_xml(root: str, fields: Mapping[str, str]) -> bytes:
    """An OSS XML document: ``<root><Name>value</Name>...</root>``."""
    inner = "".join(f"  <{name}>{_xml(value)}</{name}>\n" for name, value in fields.items())
    return f'<?xml version="1.0" encoding="UTF-8"?>\n<{root}>\n{inner}</{root}>\n'.encode()


def retry_headers(status: int, seconds: int) -> dict[str, str]:
    """``Retry-After`` on the statuses a client should retry later."""
    return {"Retry-After": str(seconds)} if status in RETRY_STATUSES else {}


def _unsupported_method(headers: Mapping[str, str]) -> ApiError:
    error = catalogue_error("UnsupportedOperation", reason="generic").with_headers(headers)
    error.status = 405
    return error


def to_api_error(exc: BaseException) -> ApiError:
    """Whatever went wrong, as the service would say it. Anything unexpected is logged and answered
    ``InternalError``: never a plausible success."""
    if isinstance(exc, ApiError):
        return exc
    if isinstance(exc, ProblemException | HTTPException):
        status = int((exc.status if isinstance(exc, ProblemException) else exc.status_code) or 500)
        headers = dict(exc.headers or {})
        if isinstance(exc, ProblemException):
            if status == 401:
                return catalogue_error("InvalidApiKey")
            if status == 403:
                return catalogue_error("AccessDenied", reason="generic")
        if status == 404:
            return catalogue_error("NotFound").with_headers(headers)
        if status == 405:
            return _unsupported_method(headers)
        if 400 <= status < 500:  # bad request, extra parameters, 415 wrong content type: all 400 at the service
            return invalid_request()
        return catalogue_error("InternalError")
    if isinstance(exc, UnicodeDecodeError | json.JSONDecodeError | RecursionError | MultiPartException):
        return invalid_request()  # a body no parser takes: the service's bad request
    logger.error("unexpected error", exc_info=exc)
    return catalogue_error("InternalError")


def error_parts(error: ApiError, request_id: str) -> tuple[int, dict[str, str], bytes]:
    """Status, headers and body of an error answer: DashScope's JSON, or OSS's XML for an ``OssError``."""
    if isinstance(error, OssError):
        fields = {"Code": error.code, "Message": error.message, "RequestId": request_id, "HostId": OSS_HOST_ID}
        headers = {**error.headers, "x-oss-request-id": request_id, "Content-Type": XML}
        return error.status, headers, oss_xml("Error", fields)
    body = json.dumps({"request_id": request_id, "code": error.code, "message": error.message}).encode()
    return error.status, {**error.headers, "X-Request-ID": request_id, "Content-Type": JSON}, body


def render_error(error: ApiError, request_id: str) -> tuple[int, list[tuple[bytes, bytes]], bytes]:
    """Status, raw headers and body of an error answer, written as connexion's error handling writes
    ``error_parts`` (a Starlette ``Response``), so the fast path and faults answer byte for byte alike."""
    status, headers, body = error_parts(error, request_id)
    media_type = XML if isinstance(error, OssError) else JSON
    response = Response(content=body, status_code=status, media_type=media_type, headers=headers)
    return response.status_code, list(response.raw_headers), bytes(response.body)
