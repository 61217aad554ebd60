"""Every JSON shape the mock answers with, built from records and snapshots; nothing here changes state.

Where a model puts its result link and how a detector's answer looks come from the spec's ``x-models``
(``plugins.ModelRegistry`` keeps each model's entry as ``facts``).
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from dashscope_openapi import CatalogueEntry

from ..domain.errors import entry
from ..domain.keys import masked
from ..domain.lifecycle import Snapshot
from ..domain.records import TaskRecord
from ..domain.scripting import Fault, JournalEntry, Scenario
from ..plugins import Detector, VideoModel
from ..seam import DetectOutcome

__all__ = [
    "catalogue_view",
    "clock_view",
    "control_task",
    "data_view",
    "detect_answer",
    "failure",
    "list_item",
    "list_page",
    "list_status",
    "sse_frame",
    "task_detail",
    "task_output",
]


def _put(target: dict[str, Any], dotted: str, value: Any) -> None:
    """``_put(d, "output.results.video_url", v)``: set a value at a dotted path, creating the objects on the way."""
    *parents, leaf = dotted.split(".")
    for name in parents:
        target = target.setdefault(name, {})
    target[leaf] = value


def task_output(
    task_id: str,
    record: TaskRecord | None,
    snap: Snapshot | None,
    model: VideoModel | None,
    *,
    result_url: str,
    format_time: Callable[[float], str],
) -> dict[str, Any]:
    """``{"output": ..., "usage": ...}`` of ``GET /tasks/{id}`` (``record`` ``None``: the task is UNKNOWN)."""
    if record is None or snap is None or model is None:
        return {"output": {"task_id": task_id, "task_status": "UNKNOWN"}}
    output: dict[str, Any] = {
        "task_id": record.task_id,
        "task_status": snap.status,
        **service_times(record, snap, format_time),
    }
    answer: dict[str, Any] = {"output": output}
    if snap.status == "FAILED":
        output["code"], output["message"] = failure(record, snap)
    elif snap.status == "SUCCEEDED":
        values = {"video_url": result_url, "video_duration": record.video_duration, "video_ratio": record.video_ratio}
        for name, path in model.facts["result"].items():
            _put(answer, str(path), values[name])
    return answer


def service_times(record: TaskRecord, snap: Snapshot, format_time: Callable[[float], str]) -> dict[str, str]:
    """``submit_time``, and ``scheduled_time`` / ``end_time`` once they exist, as the service prints them."""
    times = {"submit_time": format_time(record.submit_at)}
    if snap.scheduled_at is not None:
        times["scheduled_time"] = format_time(snap.scheduled_at)
    if snap.end_at is not None:
        times["end_time"] = format_time(snap.end_at)
    return times


def failure(record: TaskRecord, snap: Snapshot) -> tuple[str | None, str | None]:
    """The code and message of a FAILED task: its recorded failure, or the service's timeout."""
    if snap.timed_out:
        found = entry("InternalError.Timeout", model=record.model)
        return found.code, found.render()
    return record.failure_code, record.failure_message


def detect_answer(detector: Detector, outcome: DetectOutcome) -> dict[str, Any]:
    """A face-detect answer without ``request_id``, shaped as ``x-models.<detector>.detect_answer`` says."""
    shape: Mapping[str, Any] = detector.facts["detect_answer"]
    answer: dict[str, Any] = {"output": {}}
    _put(answer, str(shape["passed"]), outcome.passed)
    if not outcome.passed:
        values = {"code": outcome.code, "message": outcome.message}
        for name, where in shape.get("failure", {}).items():
            _put(answer, str(where), values[name])
    for name, where in shape.get("boxes", {}).items():
        if outcome.boxes is not None and name in outcome.boxes:
            _put(answer, str(where), list(outcome.boxes[name]))
    if shape.get("usage") is not None:
        answer["usage"] = dict(shape["usage"])
    return answer


def list_status(status: str) -> str:
    """The list filter knows PENDING/RUNNING/SUCCEEDED/FAILED/CANCELED: emo-v1's phases count as RUNNING."""
    return "RUNNING" if status in ("PRE-PROCESSING", "POST-PROCESSING") else status


def list_item(record: TaskRecord, snap: Snapshot, *, region: str, key_id: Callable[[str], str]) -> dict[str, Any]:
    """One task of ``GET /tasks``."""
    item: dict[str, Any] = {
        "task_id": record.task_id,
        "status": snap.status,
        "model_name": record.model,
        "region": region,
        "request_id": record.request_id,
        "api_key_id": key_id(record.key),
        "caller_uid": key_id("uid:" + record.key),
        "caller_parent_id": key_id("uid:" + record.key),
        "gmt_create": int(record.submit_at * 1000),
        "user_api_unique_key": f"apikey:v1:{record.model}",
    }
    if snap.scheduled_at is not None:
        item["start_time"] = int(snap.scheduled_at * 1000)
    if snap.end_at is not None:
        item["end_time"] = int(snap.end_at * 1000)
    return item


def list_page(items: Sequence[dict[str, Any]], page_no: int, page_size: int) -> dict[str, Any]:
    total = len(items)
    first = (page_no - 1) * page_size
    return {
        "total": total,
        "total_page": math.ceil(total / page_size),
        "page_no": page_no,
        "page_size": page_size,
        "data": list(items[first : first + page_size]),
    }


def control_task(
    record: TaskRecord, snap: Snapshot, *, expired: bool, format_time: Callable[[float], str], result_url: str = ""
) -> dict[str, Any]:
    """One task of ``GET /_mock/tasks`` (times as ``getTask`` prints them; a failure's code and message once it
    failed; its signed result link once it succeeded)."""
    view: dict[str, Any] = {
        "task_id": record.task_id,
        "key": masked(record.key),
        "model": record.model,
        "status": snap.status,
        **service_times(record, snap, format_time),
        "start_at": record.start_at,
        "submit_at": record.submit_at,
        "expired": expired,
    }
    if snap.end_at is not None:
        view["end_at"] = snap.end_at
    if snap.status == "FAILED":
        code, message = failure(record, snap)
        view.update({k: v for k, v in (("code", code), ("message", message)) if v is not None})
    if result_url:
        view["result_url"] = result_url
    return view


def task_detail(
    item: Mapping[str, Any],
    record: TaskRecord,
    snap: Snapshot,
    timeline: Sequence[tuple[str, float]],
    format_time: Callable[[float], str],
) -> dict[str, Any]:
    """``GET /_mock/tasks/{task_id}``: the task's ``control_task`` item with its request, timeline and result."""
    request = record.request
    detail: dict[str, Any] = {
        **item,
        "request": {"input": request.get("input") or {}, "parameters": request.get("parameters") or {}},
        "timeline": [{"status": status, "at": at, "time": format_time(at)} for status, at in timeline],
    }
    if snap.status == "SUCCEEDED":
        if record.video_duration is not None:
            detail["video_duration"] = record.video_duration
        if record.video_ratio is not None:
            detail["video_ratio"] = record.video_ratio
    return detail


def catalogue_view(models: Mapping[str, Mapping[str, Any]], entries: Sequence[CatalogueEntry]) -> dict[str, Any]:
    """``GET /_mock/catalogue``: the spec's models (``x-models``) and error catalogue, one item per entry."""
    codes = []
    for found in entries:
        code: dict[str, Any] = {
            "code": found.code,
            "status": found.status,
            "stage": found.stage,
            "models": list(found.models),
            "message": found.message,
        }
        if found.reason:
            code["reason"] = found.reason
        codes.append(code)
    return {"models": [{"name": name, "kind": facts["kind"]} for name, facts in models.items()], "codes": codes}


def sse_frame(event: str, data: Mapping[str, Any]) -> bytes:
    """One server-sent event: ``event: <name>``, ``data: <JSON on one line>``, a blank line."""
    return f"event: {event}\ndata: {json.dumps(data, separators=(',', ':'), ensure_ascii=False)}\n\n".encode()


def clock_view(now: float, time_text: str, offset: float, frozen: bool, utc_offset: str) -> dict[str, Any]:
    return {"now": now, "time": time_text, "offset_seconds": offset, "frozen": frozen, "utc_offset": utc_offset}


def data_view(items: Sequence[Scenario | Fault | JournalEntry]) -> dict[str, Any]:
    """``{"data": [...]}`` of the control plane's scenario, fault and journal listings."""
    return {"data": [item.as_dict() for item in items]}
