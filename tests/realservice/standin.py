"""A stand-in for the real service: a small ASGI app (not the mock) that answers as the documents say the service
does, with drift planted on request. The proxy, replay and drift tests run against it on loopback.

Time is ``Clock``: the test moves it, the stand-in's tasks follow it, and the proxy measures offsets with it.
A task PENDING for 1 s, RUNNING until 3 s, then SUCCEEDED (as the mock's fast profile: 0.5 s queued, 2-3 s working,
within the drift report's tolerance); an input URL containing ``noface`` ends FAILED with liveportrait's documented
``InvalidImage.NoHumanFace``; one containing ``unreachable`` is refused at submit (400
``InvalidParameter.DataInspection``).

``DRIFT`` names what can be planted, each with the severity the drift report must give it.
"""

from __future__ import annotations

import functools
import json
import uuid
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from tests.media.factory import blank, video_bytes

SUBMIT = "/api/v1/services/aigc/image2video/video-synthesis/"

DRIFT: Mapping[str, str] = {
    "extra_field": "warning",  # output.trace_code in every task answer
    "changed_message": "warning",  # a 401 says "Invalid API key." instead of "Invalid API-key provided."
    "no_usage": "critical",  # a SUCCEEDED answer without usage
    "queued": "critical",  # QUEUED between 0.5 s and 1 s
    "html_500": "critical",  # GET /api/v1/tasks answers 500 text/html
    "slower": "info",  # RUNNING until 40 s
    "new_code": "critical",  # a failure's code is InvalidImage.FaceUnseen (not in the spec)
}


@dataclass
class Clock:
    now: float = 1_800_000_000.0

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


@dataclass
class _Task:
    model: str
    submitted: float
    fails: bool


@functools.cache
def result_mp4() -> bytes:
    return video_bytes(1.0, fps=10, size=(128, 160), picture=blank(128, 160))


@dataclass
class StandIn:
    clock: Clock
    drift: frozenset[str] = frozenset()
    base: str = "http://127.0.0.1"
    tasks: dict[str, _Task] = field(default_factory=dict)

    def __post_init__(self) -> None:
        unknown = self.drift - DRIFT.keys()
        assert not unknown, f"no such drift: {sorted(unknown)}"

    # ------------------------------------------------------------------ ASGI
    async def __call__(self, scope: Mapping[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            return
        body = b""
        while True:
            message = await receive()
            body += message.get("body", b"")
            if not message.get("more_body"):
                break
        headers = {name.decode().lower(): value.decode() for name, value in scope["headers"]}
        status, content_type, payload = self.answer(scope["method"], scope["path"], headers, body)
        request_id = str(uuid.uuid4())
        if content_type == "application/json" and isinstance(payload, dict):
            payload = {"request_id": request_id, **payload}
        raw = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
        out = [(b"content-type", content_type.encode()), (b"content-length", str(len(raw)).encode())]
        if content_type == "application/json":
            out.append((b"x-request-id", request_id.encode()))
        await send({"type": "http.response.start", "status": status, "headers": out})
        await send({"type": "http.response.body", "body": raw})

    def answer(self, method: str, path: str, headers: Mapping[str, str], body: bytes) -> tuple[int, str, Any]:
        if path.startswith("/result/"):
            return 200, "video/mp4", result_mp4()
        if path == "/oss" and method == "POST":
            return 204, "text/plain", b""
        if headers.get("authorization", "") != "Bearer sk-standin-valid" and not path.startswith("/result"):
            message = "Invalid API key." if "changed_message" in self.drift else "Invalid API-key provided."
            return 401, "application/json", {"code": "InvalidApiKey", "message": message}
        if path in (SUBMIT, SUBMIT.rstrip("/")) and method == "POST":
            return self.submit(headers, json.loads(body))
        if path.startswith("/api/v1/tasks/") and method == "GET":
            return self.query(path.rsplit("/", 1)[1])
        if path == "/api/v1/tasks" and method == "GET":
            if "html_500" in self.drift:
                return 500, "text/html", b"<html><body><h1>500 Internal Server Error</h1></body></html>"
            return 200, "application/json", {"total": 0, "total_page": 1, "page_no": 1, "page_size": 10, "data": []}
        if path == "/api/v1/uploads" and method == "GET":
            return 200, "application/json", {"data": self.policy()}
        return 404, "application/json", {"code": "NotFound", "message": "Not found!"}

    def submit(self, headers: Mapping[str, str], body: Mapping[str, Any]) -> tuple[int, str, Any]:
        if headers.get("x-dashscope-async") != "enable":
            return (
                403,
                "application/json",
                {
                    "code": "AccessDenied",
                    "message": "current user api does not support synchronous calls",
                },
            )
        urls: Iterable[Any] = list((body.get("input") or {}).values())
        if any(isinstance(url, str) and "unreachable" in url for url in urls):
            return (
                400,
                "application/json",
                {
                    "code": "InvalidParameter.DataInspection",
                    "message": "Unable to download the media resource during the data inspection process.",
                },
            )
        task_id = str(uuid.uuid4())
        fails = any(isinstance(url, str) and "noface" in url for url in urls)
        self.tasks[task_id] = _Task(str(body["model"]), self.clock(), fails)
        return 200, "application/json", {"output": {"task_id": task_id, "task_status": "PENDING"}}

    def status(self, task: _Task) -> str:
        age = self.clock() - task.submitted
        running_until = 40.0 if "slower" in self.drift else 3.0
        if age < 1.0:
            return "QUEUED" if "queued" in self.drift and age >= 0.5 else "PENDING"
        if age < running_until:
            return "RUNNING"
        return "FAILED" if task.fails else "SUCCEEDED"

    def query(self, task_id: str) -> tuple[int, str, Any]:
        task = self.tasks.get(task_id)
        if task is None:
            return 200, "application/json", {"output": {"task_id": task_id, "task_status": "UNKNOWN"}}
        status = self.status(task)
        output: dict[str, Any] = {
            "task_id": task_id,
            "task_status": status,
            "submit_time": "2027-01-15 08:00:00.000",
        }
        if status not in ("PENDING", "QUEUED"):
            output["scheduled_time"] = "2027-01-15 08:00:01.000"
        if "extra_field" in self.drift:
            output["trace_code"] = "x1"
        answer: dict[str, Any] = {"output": output}
        if status == "FAILED":
            output["end_time"] = "2027-01-15 08:00:03.000"
            if "new_code" in self.drift:
                output.update(code="InvalidImage.FaceUnseen", message="No face seen.")
            else:
                output.update(code="InvalidImage.NoHumanFace", message="No human face detected.")
        elif status == "SUCCEEDED":
            output["end_time"] = "2027-01-15 08:00:03.000"
            signed = "?Expires=1800086400&OSSAccessKeyId=LTAIstandin&Signature=c2lnbmF0dXJl"
            output["results"] = {"video_url": f"{self.base}/result/{task_id}.mp4{signed}"}
            if "no_usage" not in self.drift:
                answer["usage"] = {"video_duration": 1.0, "video_ratio": "standard"}
        return 200, "application/json", answer

    def policy(self) -> dict[str, Any]:
        return {
            "policy": "eyJleHBpcmF0aW9uIjoiMjAyNy0wMS0xNVQwODowNTowMC4wMDBaIn0=",
            "signature": "c3RhbmRpbi1zaWduYXR1cmU=",
            "upload_dir": "dashscope-instant/standin/2027-01-15/0001",
            "upload_host": f"{self.base}/oss",
            "expire_in_seconds": 300,
            "max_file_size_mb": 1024,
            "capacity_limit_mb": 999999999,
            "oss_access_key_id": "LTAIstandinKeyId",
            "x_oss_object_acl": "private",
            "x_oss_forbid_overwrite": "true",
        }
