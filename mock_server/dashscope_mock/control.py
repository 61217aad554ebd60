"""Handlers of the control plane (``openapi/mock-control.yaml``, mounted under ``/_mock``).

``POST /_mock/reset``; ``GET /_mock/clock``, ``POST /_mock/clock/advance``; ``/_mock/scenarios`` and
``/_mock/faults`` (GET, POST, DELETE); ``GET /_mock/tasks``; ``GET|DELETE /_mock/requests`` (the journal); and two
routes of the simulated service: ``GET /_mock/results/{task_id}.mp4`` and the OSS form ``POST /_mock/oss``.
"""

from __future__ import annotations

import hashlib
import inspect
import io
from collections.abc import Awaitable, Callable, Mapping
from pathlib import Path
from typing import Any

from connexion.lifecycle import ConnexionResponse

from . import views
from .backend import Backend
from .context import bearer_key, current_request
from .errors import XML, ApiError, oss_error, oss_xml
from .keys import account
from .routing import CONTROL_BASE as CONTROL_PREFIX

__all__ = ["CONTROL_HANDLERS"]

Answer = tuple[Any, int] | tuple[Any, int, dict[str, str]]
OK = {"status": "ok"}
OSS_BUCKET = "dashscope-file-mgr"  # the bucket of the service's upload host (dashscope-file-mgr.oss-cn-beijing)


def _backend() -> Backend:
    return current_request().backend


async def reset() -> Answer:
    _backend().reset()
    return OK, 200


def _clock(backend: Backend) -> dict[str, Any]:
    now = backend.now()
    clock = backend.clock
    offset = float(getattr(clock, "offset", 0.0))
    return views.clock_view(now, backend.format_time(now), offset, bool(getattr(clock, "frozen", False)))


async def get_clock() -> Answer:
    return _clock(_backend()), 200


async def advance_clock(body: dict[str, Any]) -> Answer:
    backend = _backend()
    try:
        backend.advance(body["seconds"])
    except TypeError as exc:
        raise ApiError(409, "UnsupportedOperation", str(exc)) from exc
    except ValueError as exc:  # the schema bounds it; this guards callers of Backend.advance alike
        raise ApiError(400, "InvalidParameter", str(exc)) from exc
    return _clock(backend), 200


async def list_scenarios() -> Answer:
    return views.data_view(_backend().scenarios.list()), 200


async def create_scenario(body: dict[str, Any]) -> Answer:
    backend = _backend()
    model = body["model"]
    if model not in backend.registry.names():
        raise ApiError(404, "ModelNotFound", f"Unknown model {model!r}.")
    try:
        scenario = backend.add_scenario(
            model=model,
            code=body.get("code"),
            reason=body.get("reason"),
            times=int(body.get("times", 1)),
            url_contains=body.get("url_contains"),
            extra_seconds=body.get("extra_seconds"),
            values=body.get("values"),
            operation=body.get("operation"),
        )
    except ValueError as exc:
        status = 404 if body.get("code") else 400
        raise ApiError(status, "NotFound" if status == 404 else "InvalidParameter", str(exc)) from exc
    return scenario.as_dict(), 201


async def clear_scenarios() -> Answer:
    _backend().scenarios.clear()
    return OK, 200


async def list_faults() -> Answer:
    return views.data_view(_backend().faults.list()), 200


async def create_fault(body: dict[str, Any]) -> Answer:
    fields = {k: v for k, v in body.items() if k != "times"}
    fault = _backend().faults.add(times=body.get("times", 1), **fields)
    return fault.as_dict(), 201


async def clear_faults() -> Answer:
    _backend().faults.clear()
    return OK, 200


async def list_tasks(key: str | None = None, model: str | None = None) -> Answer:
    backend = _backend()
    base_url = current_request().base_url
    tasks = [
        views.control_task(
            record,
            snap,
            expired=expired,
            format_time=backend.format_time,
            result_url=backend.results.result_url(base_url, record, snap),
        )
        for record, snap, expired in backend.tasks.everything()
        if (key is None or record.key == account(key)) and (model is None or record.model == model)
    ]
    return {"data": tasks}, 200


async def list_requests(
    operation: str | None = None, key: str | None = None, path_contains: str | None = None
) -> Answer:
    wanted = account(key) if key is not None else None  # the journal holds accounts, never keys
    entries = _backend().journal.entries(operation=operation, key=wanted, path_contains=path_contains)
    return views.data_view(entries), 200


async def clear_requests() -> Answer:
    _backend().journal.clear()
    return OK, 200


async def get_result(
    file_name: str, Expires: int | None = None, OSSAccessKeyId: str | None = None, Signature: str | None = None
) -> Any:
    """A result link: signed and expiring, as the service's OSS links; the control plane (its token) needs none."""
    backend = _backend()
    token = backend.config.control_token
    trusted = token is not None and bearer_key(current_request().header("authorization")) == token
    content, problem = backend.results.result(file_name.removesuffix(".mp4"), Expires, Signature, trusted=trusted)
    if content is None:
        raise oss_error(problem or "missing")
    data = content.read_bytes() if isinstance(content, Path) else content
    return ConnexionResponse(status_code=200, mimetype="video/mp4", content_type="video/mp4", body=data)


async def post_object(body: dict[str, Any] | None = None, file: Any = None, **_: Any) -> Any:
    form = body or {}
    fields = {str(k): str(v) for k, v in form.items() if k != "file" and not hasattr(v, "read")}
    if file is None:
        file = form.get("file")
    if isinstance(file, str | bytes):  # a client that sent the file part without a filename
        file = io.BytesIO(file.encode() if isinstance(file, str) else file)
    if not hasattr(file, "read"):
        raise oss_error("form")
    record = await _backend().uploads.store_upload(fields, _reader(file))
    wanted = fields.get("success_action_status")
    if wanted == "200":
        return "", 200
    if wanted == "201":  # OSS describes the stored object in XML
        key = record.url.removeprefix("oss://")
        document = {
            "Bucket": OSS_BUCKET,
            "Location": f"{current_request().base_url}{CONTROL_PREFIX}/oss/{key}",
            "Key": key,
            "ETag": f'"{_md5(Path(record.path))}"',
        }
        return ConnexionResponse(
            status_code=201, mimetype=XML, content_type=XML, body=oss_xml("PostResponse", document)
        )
    return "", 204


def _reader(file: Any) -> Callable[[int], Awaitable[bytes]]:
    """``read(n)`` of a form file: starlette's ``UploadFile`` (async) or a plain file object."""

    async def read(size: int) -> bytes:
        chunk = file.read(size)
        return bytes(await chunk) if inspect.isawaitable(chunk) else bytes(chunk)

    return read


def _md5(path: Path) -> str:
    digest = hashlib.md5(usedforsecurity=False)
    with path.open("rb") as stored:
        for block in iter(lambda: stored.read(1024 * 1024), b""):
            digest.update(block)
    return digest.hexdigest().upper()


CONTROL_HANDLERS: Mapping[str, Callable[..., Any]] = {
    "resetMock": reset,
    "getClock": get_clock,
    "advanceClock": advance_clock,
    "listScenarios": list_scenarios,
    "createScenario": create_scenario,
    "clearScenarios": clear_scenarios,
    "listFaults": list_faults,
    "createFault": create_fault,
    "clearFaults": clear_faults,
    "listMockTasks": list_tasks,
    "listRequests": list_requests,
    "clearRequests": clear_requests,
    "getResult": get_result,
    "postObject": post_object,
}
