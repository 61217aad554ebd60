"""Handlers of the control plane (``openapi/mock-control.yaml``, mounted under ``/_mock``).

``POST /_mock/reset``; ``GET /_mock/clock``, ``POST /_mock/clock/advance``; ``/_mock/scenarios`` and
``/_mock/faults`` (GET, POST, DELETE, and DELETE of one); ``GET /_mock/catalogue``; ``GET /_mock/tasks`` and
``GET /_mock/tasks/{task_id}``; ``GET|DELETE /_mock/requests`` (the journal); the dashboard: its page and files
(``GET /_mock/dashboard[/{asset}]``, package data) and its change feed ``GET /_mock/events`` (``events``); and two
routes of the simulated service: ``GET /_mock/results/{task_id}.mp4`` and the OSS form ``POST /_mock/oss``.
"""

from __future__ import annotations

import hashlib
import importlib.resources
import inspect
import io
from collections.abc import Awaitable, Callable, Mapping
from pathlib import Path
from typing import Any

from connexion.lifecycle import ConnexionResponse

from dashscope_openapi import error_catalogue, load_control_spec, load_spec

from ..backend import Backend
from ..domain.errors import XML, ApiError, oss_error, oss_xml
from ..domain.keys import account
from . import views
from .context import bearer_key, current_request, state_work
from .events import EventStream, shutdown_probe
from .feed import ChangeFeed, clock_body, dashboard_settings, task_item
from .routing import CONTROL_BASE as CONTROL_PREFIX
from .script_checks import ScriptError

__all__ = ["CONTROL_HANDLERS"]

Answer = tuple[Any, int] | tuple[Any, int, dict[str, str]]
OK = {"status": "ok"}
OSS_BUCKET = "dashscope-file-mgr"  # the bucket of the service's upload host (dashscope-file-mgr.oss-cn-beijing)


def _backend() -> Backend:
    return current_request().backend


async def get_health() -> Answer:
    return OK, 200


@state_work
def reset() -> Answer:
    _backend().reset()
    return OK, 200


@state_work
def get_clock() -> Answer:
    return clock_body(_backend()), 200


@state_work
def advance_clock(body: dict[str, Any]) -> Answer:
    backend = _backend()
    try:
        backend.advance(body["seconds"])
    except TypeError as exc:
        raise ApiError(409, "UnsupportedOperation", str(exc)) from exc
    except ValueError as exc:  # the schema bounds it; this guards callers of Backend.advance alike
        raise ApiError(400, "InvalidParameter", str(exc)) from exc
    return clock_body(backend), 200


@state_work
def list_scenarios() -> Answer:
    return views.data_view(_backend().scenarios.list()), 200


@state_work
def create_scenario(body: dict[str, Any]) -> Answer:
    backend = _backend()
    model = body["model"]
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
    except ScriptError as exc:  # an unknown model or catalogue entry is not found (404), the rest a bad request
        if exc.field == "model":
            raise ApiError(404, "ModelNotFound", str(exc)) from exc
        if exc.field in ("code", "reason") and exc.value is not None:
            raise ApiError(404, "NotFound", str(exc)) from exc
        raise ApiError(400, "InvalidParameter", str(exc)) from exc
    return scenario.as_dict(), 201


@state_work
def clear_scenarios() -> Answer:
    _backend().scenarios.clear()
    return OK, 200


@state_work
def delete_scenario(scenario_id: int) -> Answer:
    if not _backend().scenarios.remove(scenario_id):
        raise ApiError(404, "NotFound", f"No scenario {scenario_id}.")
    return OK, 200


@state_work
def list_faults() -> Answer:
    return views.data_view(_backend().faults.list()), 200


@state_work
def create_fault(body: dict[str, Any]) -> Answer:
    fields = {k: v for k, v in body.items() if k != "times"}
    try:
        fault = _backend().add_fault(times=body.get("times", 1), **fields)
    except ScriptError as exc:
        raise ApiError(400, "InvalidParameter", str(exc)) from exc
    return fault.as_dict(), 201


@state_work
def clear_faults() -> Answer:
    _backend().faults.clear()
    return OK, 200


@state_work
def delete_fault(fault_id: int) -> Answer:
    if not _backend().faults.remove(fault_id):
        raise ApiError(404, "NotFound", f"No fault {fault_id}.")
    return OK, 200


async def get_catalogue() -> Answer:
    return views.catalogue_view(load_spec()["x-models"], error_catalogue().entries), 200


@state_work
def list_tasks(key: str | None = None, model: str | None = None) -> Answer:
    backend = _backend()
    base_url = current_request().base_url
    tasks = [
        task_item(backend, base_url, record, snap, expired)
        for record, snap, expired in backend.tasks.everything()
        if (key is None or record.key == account(key)) and (model is None or record.model == model)
    ]
    return {"data": tasks}, 200


@state_work
def get_mock_task(task_id: str) -> Answer:
    backend = _backend()
    record = backend.store.get_task(task_id)
    if record is None:
        raise ApiError(404, "NotFound", f"The mock holds no task {task_id}.")
    now = backend.now()
    snap = backend.tasks.snapshot(record, now)
    item = task_item(backend, current_request().base_url, record, snap, backend.tasks.expired(record, now))
    timeline = backend.tasks.timeline(record, now)
    return views.task_detail(item, record, snap, timeline, backend.format_time), 200


@state_work
def list_requests(
    operation: str | None = None,
    key: str | None = None,
    path_contains: str | None = None,
    after_seq: int | None = None,
) -> Answer:
    wanted = account(key) if key is not None else None  # the journal holds accounts, never keys
    entries = _backend().journal.entries(
        operation=operation, key=wanted, path_contains=path_contains, after_seq=after_seq or 0
    )
    return views.data_view(entries), 200


@state_work
def clear_requests() -> Answer:
    _backend().journal.clear()
    return OK, 200


@state_work
def get_result(
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
    try:
        return await _store_object(form, file)
    finally:  # the form's spooled files: connexion parsed them and leaves them open
        for part in {id(value): value for value in [file, *form.values()] if hasattr(value, "close")}.values():
            closed = part.close()
            if inspect.isawaitable(closed):
                await closed


async def _store_object(form: dict[str, Any], file: Any) -> Any:
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


async def stream_events(max_seconds: float | None = None) -> Any:
    context = current_request()
    if max_seconds is None:  # connexion passes the spec's default; the spec's, too, for a direct call
        max_seconds = float(_parameter_default("/events", "max_seconds"))
    feed = ChangeFeed(context.backend, context.base_url)
    return EventStream(feed, max_seconds=float(max_seconds), stopping=shutdown_probe(context.server_send))


def _parameter_default(path: str, name: str) -> Any:
    parameters = load_control_spec()["paths"][path]["get"]["parameters"]
    return next(p["schema"]["default"] for p in parameters if p["name"] == name)


async def get_dashboard() -> Any:
    return _dashboard_file("index.html", "text/html")


async def get_dashboard_asset(asset: str) -> Any:
    media_type = dashboard_settings()["assets"].get(asset)  # only the listed names: no path reaches the disk
    if media_type is None:
        raise ApiError(404, "NotFound", f"The dashboard has no file {asset!r}.")
    return _dashboard_file(asset, str(media_type))


def _dashboard_file(name: str, media_type: str) -> ConnexionResponse:
    """A file of the page (``dashscope_mock/dashboard/``, package data), read on each request: a changed page is
    served at once (and ``no-cache`` makes browsers ask again)."""
    try:
        body = (importlib.resources.files("dashscope_mock") / "dashboard" / name).read_bytes()
    except OSError as exc:
        raise ApiError(404, "NotFound", f"The dashboard has no file {name!r}.") from exc
    content_type = f"{media_type}; charset=utf-8"
    return ConnexionResponse(
        status_code=200,
        mimetype=media_type,
        content_type=content_type,
        body=body,
        headers={"Cache-Control": "no-cache"},
    )


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
    "getHealth": get_health,
    "resetMock": reset,
    "getClock": get_clock,
    "advanceClock": advance_clock,
    "listScenarios": list_scenarios,
    "createScenario": create_scenario,
    "clearScenarios": clear_scenarios,
    "listFaults": list_faults,
    "createFault": create_fault,
    "clearFaults": clear_faults,
    "deleteScenario": delete_scenario,
    "deleteFault": delete_fault,
    "getCatalogue": get_catalogue,
    "listMockTasks": list_tasks,
    "getMockTask": get_mock_task,
    "listRequests": list_requests,
    "streamEvents": stream_events,
    "getDashboard": get_dashboard,
    "getDashboardAsset": get_dashboard_asset,
    "clearRequests": clear_requests,
    "getResult": get_result,
    "postObject": post_object,
}
