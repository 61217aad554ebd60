"""Handlers of the public API (``openapi/dashscope-video.yaml``): thin, they translate HTTP to ``Backend`` calls.

connexion has already routed, authenticated and validated the request (per model, see ``validation``); the
``X-Request-ID`` header and the body's ``request_id`` come from the request context (``app.current_request``).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from .app import current_request
from .backend import Backend

__all__ = ["PublicApi"]

Answer = tuple[dict[str, Any], int, dict[str, str]]


def _answer(body: dict[str, Any], status: int = 200) -> Answer:
    request_id = current_request().request_id
    return {**body, "request_id": request_id}, status, {"X-Request-ID": request_id}


def _key() -> str:
    key = current_request().key
    assert key is not None  # the security layer let the request in
    return key


def _oss_resolve() -> bool:
    return current_request().header("X-DashScope-OssResourceResolve") == "enable"


class PublicApi:
    def __init__(self, backend: Backend) -> None:
        self.backend = backend

    def handlers(self) -> dict[str, Callable[..., Any]]:
        return {
            "createVideoSynthesis": self.create_video_synthesis,
            "getTask": self.get_task,
            "cancelTask": self.cancel_task,
            "listTasks": self.list_tasks,
            "detectFace": self.detect_face,
            "getUploadPolicy": self.get_upload_policy,
        }

    async def create_video_synthesis(self, body: dict[str, Any]) -> Answer:
        context = current_request()
        record = self.backend.submit(_key(), body, oss_resolve=_oss_resolve(), request_id=context.request_id)
        return _answer({"output": {"task_id": record.task_id, "task_status": "PENDING"}})

    async def get_task(self, task_id: str) -> Answer:
        key = _key()
        self.backend.check_query_rate(key)
        record = self.backend.find_task(key, task_id)
        return _answer(self.backend.task_output(task_id, record, current_request().base_url))

    async def cancel_task(self, task_id: str) -> Answer:
        self.backend.cancel(_key(), task_id)
        return _answer({})

    async def list_tasks(self, **query: Any) -> Answer:
        return _answer(self.backend.list_tasks(_key(), query))

    async def detect_face(self, body: dict[str, Any]) -> Answer:
        return _answer(await self.backend.detect(_key(), body, oss_resolve=_oss_resolve()))

    async def get_upload_policy(self, action: str, model: str) -> Answer:
        return _answer({"data": self.backend.upload_policy(_key(), model, current_request().base_url)})
