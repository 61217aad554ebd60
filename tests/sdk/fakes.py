"""A small in-memory stand-in for DashScope behind ``httpx.MockTransport``, for the SDK's unit tests.

It is not the mock server (``dashscope_mock``, tested on its own and used by the end-to-end tests); it is just enough
service to exercise the SDK's retries, waiting, uploads and downloads with exact control over every answer:
``faults`` is a queue of callables that may answer a request before the fake does.

Its task answers are shaped like the real service's (the spec's examples), written out here rather than read from
the spec's ``x-models`` so that the SDK's reading of the spec is checked against an independent source: liveportrait
and emo-v1 put the result URL in ``output.results.video_url``, videoretalk in ``output.video_url``; every SUCCEEDED
answer carries ``usage.video_duration`` and ``usage.video_ratio``. Task ids are deterministic (``uuid.UUID(int=n)``
for the n-th submit), so two fakes driven the same way give the same answers.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import httpx

BASE = "https://dashscope.test"
UPLOAD_HOST = "https://oss.test/upload"

Fault = Callable[[httpx.Request], httpx.Response | None]

USAGE: dict[str, dict[str, Any]] = {
    # what a SUCCEEDED answer's ``usage`` holds per model (distinct durations, so a mix-up would show)
    "liveportrait": {"video_duration": 2.79, "video_ratio": "standard"},
    "emo-v1": {"video_duration": 10.23, "video_ratio": "1:1"},
    "videoretalk": {"video_duration": 7.5, "video_ratio": "standard"},
}
TERMINAL = {"SUCCEEDED", "FAILED", "CANCELED"}


def stamp(t: float) -> str:
    """A time as the service writes it (``2025-12-26 11:33:03.146``)."""
    return datetime.fromtimestamp(t, UTC).strftime("%Y-%m-%d %H:%M:%S.%f")[:-3]


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
    params: dict[str, str] = field(default_factory=dict)


@dataclass
class FakeTask:
    task_id: str
    model: str
    body: dict[str, Any]
    submitted: float
    statuses: list[tuple[float, str]]  # (seconds after submit, status)
    fail: tuple[str, str] | None = None
    canceled: bool = False
    ended: float | None = None  # when a query first saw it finished


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
        self.error_count = 0
        self.without_result_url = False  # SUCCEEDED answers leave the result URL out (a service bug)
        self.video = b"\x00\x00\x00\x18ftypmp42" + b"x" * 5000

    # --- plumbing
    def transport(self) -> httpx.MockTransport:
        return httpx.MockTransport(self.handle)

    def handle(self, request: httpx.Request) -> httpx.Response:
        body = request.read()
        response: httpx.Response | None = None
        try:
            if self.faults:
                response = self.faults.pop(0)(request)
            if response is None:
                response = self.route(request, body)
        finally:  # a request that got no answer (a fault raised) is journaled with status 0
            entry = Entry(
                request.method,
                request.url.path,
                response.status_code if response is not None else 0,
                self.clock.t,
                dict(request.headers),
                body,
                dict(request.url.params),
            )
            self.journal.append(entry)
        return response

    def requests(self, method: str | None = None, prefix: str = "") -> list[Entry]:
        return [e for e in self.journal if (method is None or e.method == method) and e.path.startswith(prefix)]

    def error(
        self, status: int, code: str, message: str = "msg", headers: dict[str, str] | None = None
    ) -> httpx.Response:
        self.error_count += 1
        rid = str(uuid.UUID(int=(1 << 64) + self.error_count))  # deterministic, like the task ids
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
        task_id = str(uuid.UUID(int=len(self.tasks) + 1))
        task = FakeTask(task_id, data["model"], data, self.clock.t, list(self.schedule), self.next_failure)
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
        output: dict[str, Any] = {"task_id": task_id, "task_status": status, "submit_time": stamp(task.submitted)}
        answer: dict[str, Any] = {"request_id": "r-get", "output": output}
        if status in TERMINAL:
            task.ended = self.clock.t if task.ended is None else task.ended
            output["end_time"] = stamp(task.ended)
        if status == "FAILED" and task.fail is not None:
            output.update(code=task.fail[0], message=task.fail[1])
        if status == "SUCCEEDED":
            url: str | None = f"{BASE}/results/{task_id}.mp4"
            self.results.setdefault(f"/results/{task_id}.mp4", self.clock.t + 24 * 3600)
            if self.without_result_url:  # neither output.results nor output.video_url
                url = None
            if url is not None and task.model == "videoretalk":
                output["video_url"] = url  # videoretalk: directly under output
            elif url is not None:
                output["results"] = {"video_url": url}
            answer["usage"] = dict(USAGE[task.model])
        return httpx.Response(200, json=answer)

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
