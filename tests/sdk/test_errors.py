"""Exception classes come from the catalogue; lookups are stable; answers map to the right classes."""

from __future__ import annotations

import httpx
import pytest

from dashscope_openapi import error_catalogue
from dashscope_video import Task, TaskFailure, VideoResult, VideoRetalkResult, errors


def answer(status: int, body: object, headers: dict[str, str] | None = None) -> httpx.Response:
    request = httpx.Request("GET", "https://dashscope.test/api/v1/tasks/x")
    if isinstance(body, str):
        return httpx.Response(status, text=body, headers=headers, request=request)
    return httpx.Response(status, json=body, headers=headers, request=request)


def test_one_family_class_per_catalogue_family() -> None:
    catalogue = error_catalogue()
    spellings = {raw for raw in catalogue.families() if raw in errors.FAMILY_SPELLINGS}
    assert set(errors.families()) == catalogue.families() - spellings  # a misspelling is its family, not another
    for entry in catalogue.entries:
        cls = errors.for_code(entry.code)
        assert cls.family == entry.family or entry.family in cls.spellings
        assert entry.code in cls.known_codes
        assert getattr(errors, entry.family) is cls
        assert issubclass(cls, errors.CodeFamilyError)


def test_every_catalogue_status_has_its_own_class() -> None:
    for entry in error_catalogue().entries:
        cls = errors.for_status(entry.status)
        low, high = cls.status_range
        assert low <= entry.status <= high, (entry.code, cls)
        assert cls is not errors.APIStatusError


def test_every_catalogue_entry_raises_status_and_family_classes() -> None:
    for entry in error_catalogue().entries:
        from dashscope_video._errors import from_response

        exc = from_response(answer(entry.status, {"request_id": "rid", "code": entry.code, "message": entry.message}))
        assert isinstance(exc, errors.for_status(entry.status))
        assert isinstance(exc, errors.for_code(entry.code))
        assert (exc.code, exc.message, exc.request_id, exc.status) == (entry.code, entry.message, "rid", entry.status)
        assert exc.response.status_code == entry.status
        assert exc.entry is not None


def test_catch_by_family_or_status() -> None:
    from dashscope_video._errors import from_response

    exc = from_response(answer(400, {"request_id": "r1", "code": "InvalidFile.FPS", "message": "Invalid video FPS."}))
    with pytest.raises(errors.InvalidFile) as by_family:
        raise exc
    assert by_family.value.code == "InvalidFile.FPS"
    with pytest.raises(errors.BadRequestError):
        raise exc
    assert type(exc).__name__ == "BadRequestError[InvalidFile]"
    assert "InvalidFile.FPS" in str(exc) and "r1" in str(exc)


def test_unknown_code_maps_to_status_class_and_known_family() -> None:
    from dashscope_video._errors import from_response

    brand_new = from_response(answer(429, {"request_id": "r", "code": "Throttling.Brandnew", "message": "m"}))
    assert isinstance(brand_new, errors.RateLimitError) and isinstance(brand_new, errors.Throttling)
    assert brand_new.entry is None and brand_new.retryable
    stranger = from_response(answer(400, {"request_id": "r", "code": "Nobody.Knows", "message": "m"}))
    assert type(stranger) is errors.BadRequestError
    with pytest.raises(KeyError):
        errors.for_code("Nobody.Knows")
    with pytest.raises(AttributeError):
        errors.NotAFamily  # noqa: B018


def test_bodies_that_are_not_dashscope_json() -> None:
    from dashscope_video._errors import from_response

    html = from_response(answer(502, "<html>bad gateway</html>", {"X-Request-ID": "hdr"}))
    assert isinstance(html, errors.InternalServerError)
    assert html.request_id == "hdr" and html.code is None and html.retryable
    oss = from_response(answer(403, "<Error><Code>AccessDenied</Code><Message>Policy expired.</Message></Error>"))
    assert isinstance(oss, errors.PermissionDeniedError) and isinstance(oss, errors.AccessDenied)
    assert oss.message == "Policy expired."
    openai_style = from_response(answer(400, {"error": {"code": "InvalidParameter", "message": "bad"}}))
    assert openai_style.code == "InvalidParameter" and isinstance(openai_style, errors.InvalidParameter)


def test_retryable_follows_the_catalogue() -> None:
    from dashscope_video._errors import from_response

    quota = from_response(answer(429, {"request_id": "r", "code": "Throttling.AllocationQuota", "message": "m"}))
    rate = from_response(answer(429, {"request_id": "r", "code": "Throttling.RateQuota", "message": "m"}))
    assert not quota.retryable and rate.retryable


def failed_task(code: str | None, message: str, result_type: type[VideoResult] = VideoResult) -> Task[VideoResult]:
    return Task("t", "FAILED", "r9", None, result_type, failure=TaskFailure(code, message))


def test_task_failed_is_also_the_code_family() -> None:
    from dashscope_video._errors import task_failed

    task = failed_task("InvalidFile.FPS", "m")
    exc = task_failed(task)
    assert isinstance(exc, errors.TaskFailed) and isinstance(exc, errors.InvalidFile)
    assert type(exc).__name__ == "TaskFailed[InvalidFile]"
    assert (exc.code, exc.message, exc.request_id, exc.task_id, exc.task) == ("InvalidFile.FPS", "m", "r9", "t", task)
    assert not exc.retryable and exc.entry is not None
    assert "InvalidFile.FPS" in str(exc) and "r9" in str(exc)


def test_task_failed_looks_the_code_up_for_the_task_model() -> None:
    """A code's catalogue entry can depend on the model; a typed task (from a handle) carries its model."""
    from dashscope_video._errors import task_failed

    exc = task_failed(failed_task("InvalidFile.FPS", "m", VideoRetalkResult))
    assert exc.task is not None and exc.task.model == "videoretalk"
    assert exc.entry is not None and "videoretalk" in exc.entry.models


def test_task_failed_without_code() -> None:
    from dashscope_video._errors import task_failed

    exc = task_failed(failed_task(None, "the task failed"))
    assert type(exc) is errors.TaskFailed and exc.code is None and exc.entry is None and not exc.retryable
    assert exc.message == "the task failed"
