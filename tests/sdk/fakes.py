"""A small in-memory stand-in for DashScope behind ``httpx.MockTransport``, for the SDK's unit tests.

It is not the mock server (``dashscope_mock``, tested on its own and used by the end-to-end tests); it is just enough
service to exercise the SDK's retries, waiting, uploads and downloads with exact control over every answer:
``faults`` is a queue of callables that may answer a request before the fake does.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import httpx

BASE = "https://dashscope.test"
UPLOAD_HOST = "https://oss.test/upload"

Fault = Callable[[httpx.Request], httpx.Response | None]


@dataclass
class FakeClock:
    t: float = 1000.0
    sleeps: list[float] = field(default_factory=list)

    def monotonic(self) -> float:
        return self.t

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.t += seconds

    async def async_sleep(self, seconds: float) -> None:
        self.sleep(seconds)


@dataclass
class Entry:
    method: str
    path: str
    status: int
    at: float
    headers: dict[str, str]
    body: bytes


@dataclass
class FakeTask:
    task_id: str
    model: str
    body: dict[str, Any]
    submitted: float
    statuses: list[tuple[float, str]]  # (seconds after submit, status)
    fail: tuple[str, str] | None = None
    canceled: bool = False


class FakeDashScope:
    def __init__(self, clock: FakeClock | None = None) -> None:
        self.clock = clock or FakeClock()
        self.journal: list[Entry] = []
        self.tasks: dict[str, FakeTask] = {}
        self.faults: list[Fault] = []
        self.uploads: dict[str, bytes] = {}
        self.upload_forms: list[list[tuple[str, str]]] = []
        self.policies = 0
        self.policy_issued: dict[str, float] = {}
        self.policy_ttl = 300
        self.schedule = [(0.0, "PENDING"), (2.0, "RUNNING"), (5.0, "SUCCEEDED")]
        self.next_failure: tuple[str, str] | None = None
        self.results: dict[str, float] = {}  # result path -> expiry time
        self.video = b"\x00\x00\x00\x18ftypmp42" + b"x" * 5000

    # --- plumbing
    def transport(self) -> httpx.MockTransport:
        return httpx.MockTransport(self.handle)

    def handle(self, request: httpx.Request) -> httpx.Response:
        body = request.read()
        response: httpx.Response | None = None
        if self.faults:
            response = self.faults.pop(0)(request)
        if response is None:
            response = self.route(request, body)
        self.journal.append(
            Entry(request.method, request.url.path, response.status_code, self.clock.t, dict(request.headers), body)
        )
        return response

    def requests(self, method: str | None = None, prefix: str = "") -> list[Entry]:
        return [e for e in self.journal if (method is None or e.method == method) and e.path.startswith(prefix)]

    @staticmethod
    def error(status: int, code: str, message: str = "msg", headers: dict[str, str] | None = None) -> httpx.Response:
        rid = str(uuid.uuid4())
        return httpx.Response(
            status,
            json={"request_id": rid, "code": code, "message": message},
            headers={"X-Request-ID": rid, **(headers or {})},
        )

    def status_of(self, task: FakeTask) -> str:
        if task.canceled:
            return "CANCELED"
        age = self.clock.t - task.submitted
        current = "PENDING"
        for at, status in task.statuses:
            if age >= at:
                current = status
        if current == "SUCCEEDED" and task.fail is not None:
            return "FAILED"
        return current

    # --- routes
    def route(self, request: httpx.Request, body: bytes) -> httpx.Response:
        path = request.url.path
        if str(request.url).startswith(UPLOAD_HOST):
            return self.oss_upload(request, body)
        if path.startswith("/results/"):
            if self.clock.t > self.results.get(path, 0):
                return httpx.Response(
                    403, text="<Error><Code>AccessDenied</Code><Message>Request has expired.</Message></Error>"
                )
            return httpx.Response(200, content=self.video, headers={"Content-Type": "video/mp4"})
        if request.headers.get("Authorization") != "Bearer sk-test":
            return self.error(401, "InvalidApiKey", "Invalid API-key provided.")
        if path == "/api/v1/services/aigc/image2video/video-synthesis/":
            return self.submit(request, body)
        if path == "/api/v1/services/aigc/image2video/face-detect":
            data = json.loads(body)
            if data["model"] == "emo-detect-v1":
                return httpx.Response(
                    200,
                    json={
                        "output": {"check_pass": True, "face_bbox": [1, 2, 3, 4], "ext_bbox": [0, 0, 8, 8]},
                        "usage": {"image_count": 1},
                        "request_id": "r-detect",
                    },
                )
            return httpx.Response(200, json={"output": {"pass": True, "message": ""}, "request_id": "r-detect"})
        if path == "/api/v1/uploads":
            self.policies += 1
            self.policy_issued[f"policy-{self.policies}"] = self.clock.t
            return httpx.Response(
                200,
                json={
                    "request_id": "r-policy",
                    "data": {
                        "policy": f"policy-{self.policies}",
                        "signature": "sig",
                        "upload_dir": f"dashscope-instant/{request.url.params['model']}/{self.policies}",
                        "upload_host": UPLOAD_HOST,
                        "expire_in_seconds": self.policy_ttl,
                        "max_file_size_mb": 1,
                        "oss_access_key_id": "AK",
                        "x_oss_object_acl": "private",
                        "x_oss_forbid_overwrite": "true",
                    },
                },
            )
        if path == "/api/v1/tasks":
            items = [
                {"task_id": t.task_id, "status": self.status_of(t), "model_name": t.model} for t in self.tasks.values()
            ]
            size = int(request.url.params.get("page_size", 10))
            page = int(request.url.params.get("page_no", 1))
            chunk = items[(page - 1) * size : page * size]
            total_page = max(1, -(-len(items) // size))
            return httpx.Response(
                200,
                json={
                    "request_id": "r",
                    "total": len(items),
                    "total_page": total_page,
                    "page_no": page,
                    "page_size": size,
                    "data": chunk,
                },
            )
        if path.startswith("/api/v1/tasks/"):
            rest = path[len("/api/v1/tasks/") :]
            if rest.endswith("/cancel"):
                task = self.tasks.get(rest[: -len("/cancel")])
                if task is None or self.status_of(task) != "PENDING":
                    return self.error(400, "UnsupportedOperation", "Failed to cancel the task")
                task.canceled = True
                return httpx.Response(200, json={"request_id": "r-cancel"})
            return self.get(rest)
        return self.error(404, "NotFound", "Not found!")

    def submit(self, request: httpx.Request, body: bytes) -> httpx.Response:
        if request.headers.get("X-DashScope-Async") != "enable":
            return self.error(403, "AccessDenied", "current user api does not support synchronous calls")
        data = json.loads(body)
        task = FakeTask(str(uuid.uuid4()), data["model"], data, self.clock.t, list(self.schedule), self.next_failure)
        self.next_failure = None
        self.tasks[task.task_id] = task
        return httpx.Response(
            200, json={"request_id": "r-submit", "output": {"task_id": task.task_id, "task_status": "PENDING"}}
        )

    def get(self, task_id: str) -> httpx.Response:
        task = self.tasks.get(task_id)
        if task is None:
            return httpx.Response(
                200, json={"request_id": "r-get", "output": {"task_id": task_id, "task_status": "UNKNOWN"}}
            )
        status = self.status_of(task)
        output: dict[str, Any] = {"task_id": task_id, "task_status": status}
        if status == "FAILED" and task.fail is not None:
            output.update(code=task.fail[0], message=task.fail[1])
        if status == "SUCCEEDED":
            url = f"{BASE}/results/{task_id}.mp4"
            self.results.setdefault(f"/results/{task_id}.mp4", self.clock.t + 24 * 3600)
            if task.model == "videoretalk":
                output["video_url"] = url
            else:
                output["results"] = {"video_url": url}
        return httpx.Response(200, json={"request_id": "r-get", "output": output})

    def oss_upload(self, request: httpx.Request, body: bytes) -> httpx.Response:
        content_type = request.headers["Content-Type"]
        boundary = content_type.split("boundary=")[1].encode()
        fields: list[tuple[str, str]] = []
        data = b""
        for part in body.split(b"--" + boundary)[1:-1]:
            head, _, value = part.strip(b"\r\n").partition(b"\r\n\r\n")
            name = head.split(b'name="')[1].split(b'"')[0].decode()
            fields.append((name, value.decode(errors="replace") if name != "file" else "<file>"))
            if name == "file":
                data = value
        self.upload_forms.append(fields)
        form = dict(fields)
        if self.clock.t - self.policy_issued.get(form.get("policy", ""), float("-inf")) > self.policy_ttl:
            return httpx.Response(
                403,
                text="<Error><Code>AccessDenied</Code>"
                "<Message>Invalid according to Policy: Policy expired.</Message></Error>",
            )
        if form["key"] in self.uploads:
            return httpx.Response(409, text="<Error><Code>FileAlreadyExists</Code></Error>")
        self.uploads[form["key"]] = data
        return httpx.Response(200)


def after_forwarding(fake: FakeDashScope, error: type[httpx.TransportError]) -> Fault:
    """A fault that lets the fake handle the request, then loses the answer (as a read timeout would)."""

    def fault(request: httpx.Request) -> httpx.Response | None:
        fake.route(request, request.read())
        raise error("lost the answer", request=request)

    return fault


def before_forwarding(error: type[httpx.TransportError]) -> Fault:
    def fault(request: httpx.Request) -> httpx.Response | None:
        raise error("connection refused", request=request)

    return fault
