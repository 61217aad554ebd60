"""Handlers of the public API (``openapi/dashscope-video.yaml``): thin, they call a service and a view.

The request has been routed, authenticated and validated (by connexion, or by the fast path with the same
validators); the mock state answering it and the request id come from the request context (``context``).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from typing import Any

from ..domain.errors import ApiError
from ..domain.keys import account
from ..seam import policy_note
from ..services.uploads import OSS_RESOLVE_HEADER, key_id
from . import views
from .context import current_request, state_work

__all__ = ["HANDLERS", "Answer"]

Answer = tuple[dict[str, Any], int, dict[str, str]]


def _answer(body: dict[str, Any], status: int = 200) -> Answer:
    request_id = current_request().request_id
    return {**body, "request_id": request_id}, status, {"X-Request-ID": request_id}


def _key() -> str:
    """The caller's account (``keys.account``): services never see a key in clear."""
    key = current_request().key
    assert key is not None  # the security layer let the request in
    return account(key)


def _oss_resolve() -> bool:
    return current_request().header(OSS_RESOLVE_HEADER) == "enable"


@state_work
def create_video_synthesis(body: dict[str, Any]) -> Answer:
    context = current_request()
    record = context.backend.tasks.submit(
        _key(), body, oss_resolve=_oss_resolve(), request_id=context.request_id, note=context.add_note
    )
    return _answer({"output": {"task_id": record.task_id, "task_status": "PENDING"}})


async def get_task(task_id: str) -> Answer:
    backend = current_request().backend
    if backend.store.answers_query(task_id):  # read by the request's first round trip: no state call left to make
        return _get_task(task_id)
    return await backend.store.call(_get_task, task_id)


def _get_task(task_id: str) -> Answer:
    context = current_request()
    backend, key = context.backend, _key()
    backend.check_query_rate(key)
    record = backend.tasks.find(key, task_id)
    if record is None:
        return _answer(views.task_output(task_id, None, None, None, result_url="", format_time=backend.format_time))
    snap = backend.tasks.snapshot(record)
    url = backend.results.result_url(context.base_url, record, snap)
    model = backend.registry.video(record.model)
    return _answer(views.task_output(task_id, record, snap, model, result_url=url, format_time=backend.format_time))


@state_work
def cancel_task(task_id: str) -> Answer:
    current_request().backend.tasks.cancel(_key(), task_id)
    return _answer({})


@state_work
def list_tasks(**query: Any) -> Answer:
    backend = current_request().backend
    found = backend.tasks.listed(_key(), query, views.list_status)
    items = [views.list_item(record, snap, region=backend.config.region, key_id=key_id) for record, snap in found]
    return _answer(views.list_page(items, int(query.get("page_no") or 1), int(query.get("page_size") or 10)))


async def detect_face(body: dict[str, Any]) -> Answer:
    context = current_request()
    backend = context.backend
    try:
        outcome = await backend.detection.detect(
            _key(), body, oss_resolve=_oss_resolve(), strict=backend.config.strict_fields, note=context.add_note
        )
    except ApiError as refused:
        note = policy_note(refused.__cause__)
        if note is not None:  # the journal says why the image was not fetched
            context.add_note(note)
        raise
    return _answer(views.detect_answer(backend.registry.detector(str(body["model"])), outcome))


@state_work
def get_upload_policy(action: str, model: str) -> Answer:
    context = current_request()
    backend, key = context.backend, _key()
    if backend.config.rate_limit:  # x-limits.uploads.policy_qps_per_model, off with the task-query limit
        backend.rates.check_policy(key, model)
    return _answer({"data": backend.uploads.policy(key, model, context.base_url)})


HANDLERS: Mapping[str, Callable[..., Awaitable[Answer]]] = {
    "createVideoSynthesis": create_video_synthesis,
    "getTask": get_task,
    "cancelTask": cancel_task,
    "listTasks": list_tasks,
    "detectFace": detect_face,
    "getUploadPolicy": get_upload_policy,
}
