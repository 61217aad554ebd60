"""Errors the mock answers with: always ``{request_id, code, message}`` plus ``X-Request-ID``, codes and messages
taken from the spec's ``x-error-catalogue``."""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from dashscope_openapi import CatalogueEntry, Stage, error_catalogue

__all__ = ["ApiError", "catalogue_error", "entry", "oss_error"]


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


def oss_error(reason: str) -> ApiError:
    """An OSS error of the upload form or of a result link (``x-oss-errors`` of ``openapi/mock-control.yaml``)."""
    from dashscope_openapi import load_control_spec

    for item in load_control_spec()["x-oss-errors"]:
        if item["reason"] == reason:
            return ApiError(int(item["status"]), str(item["code"]), str(item["message"]))
    raise LookupError(f"mock-control.yaml has no x-oss-errors entry with reason {reason!r}")
