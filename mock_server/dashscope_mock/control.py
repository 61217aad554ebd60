"""Handlers of the control plane (``openapi/mock-control.yaml``, mounted under ``/_mock``).

``POST /_mock/reset``; ``GET /_mock/clock``, ``POST /_mock/clock/advance``; ``/_mock/scenarios`` and
``/_mock/faults`` (GET, POST, DELETE); ``GET /_mock/tasks``; ``GET|DELETE /_mock/requests`` (the journal); and two
routes of the simulated service: ``GET /_mock/results/{task_id}.mp4`` and the OSS form ``POST /_mock/oss``.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from connexion.lifecycle import ConnexionResponse

from .backend import Backend
from .errors import ApiError, oss_error
from .validation import invalid_request

__all__ = ["ControlApi"]

Answer = tuple[Any, int] | tuple[Any, int, dict[str, str]]
OK = {"status": "ok"}


class ControlApi:
    def __init__(self, backend: Backend) -> None:
        self.backend = backend

    def handlers(self) -> dict[str, Callable[..., Any]]:
        return {
            "resetMock": self.reset,
            "getClock": self.get_clock,
            "advanceClock": self.advance_clock,
            "listScenarios": self.list_scenarios,
            "createScenario": self.create_scenario,
            "clearScenarios": self.clear_scenarios,
            "listFaults": self.list_faults,
            "createFault": self.create_fault,
            "clearFaults": self.clear_faults,
            "listMockTasks": self.list_tasks,
            "listRequests": self.list_requests,
            "clearRequests": self.clear_requests,
            "getResult": self.get_result,
            "postObject": self.post_object,
        }

    async def reset(self) -> Answer:
        self.backend.reset()
        return OK, 200

    def _clock(self) -> dict[str, Any]:
        clock = self.backend.clock
        now = self.backend.now()
        return {
            "now": now,
            "time": self.backend.format_time(now),
            "offset_seconds": float(getattr(clock, "offset", 0.0)),
            "frozen": bool(getattr(clock, "frozen", False)),
        }

    async def get_clock(self) -> Answer:
        return self._clock(), 200

    async def advance_clock(self, body: dict[str, Any]) -> Answer:
        try:
            self.backend.advance(float(body["seconds"]))
        except TypeError as exc:
            raise ApiError(409, "UnsupportedOperation", str(exc)) from exc
        return self._clock(), 200

    async def list_scenarios(self) -> Answer:
        return {"data": [s.as_dict() for s in self.backend.scenarios.list()]}, 200

    async def create_scenario(self, body: dict[str, Any]) -> Answer:
        model = body["model"]
        known = set(self.backend.detect_models()) | set(self.backend.config_models())
        if model not in known:
            raise ApiError(404, "ModelNotFound", f"Unknown model {model!r}.")
        try:
            scenario = self.backend.add_scenario(
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

    async def clear_scenarios(self) -> Answer:
        self.backend.scenarios.clear()
        return OK, 200

    async def list_faults(self) -> Answer:
        return {"data": [f.as_dict() for f in self.backend.faults.list()]}, 200

    async def create_fault(self, body: dict[str, Any]) -> Answer:
        fields = {k: v for k, v in body.items() if k != "times"}
        fault = self.backend.faults.add(times=body.get("times", 1), **fields)
        return fault.as_dict(), 201

    async def clear_faults(self) -> Answer:
        self.backend.faults.clear()
        return OK, 200

    async def list_tasks(self, key: str | None = None, model: str | None = None) -> Answer:
        tasks = [
            task
            for task in self.backend.all_tasks()
            if (key is None or task["key"] == key) and (model is None or task["model"] == model)
        ]
        return {"data": tasks}, 200

    async def list_requests(
        self, operation: str | None = None, key: str | None = None, path_contains: str | None = None
    ) -> Answer:
        entries = self.backend.journal.entries(operation=operation, key=key, path_contains=path_contains)
        return {"data": [entry.as_dict() for entry in entries]}, 200

    async def clear_requests(self) -> Answer:
        self.backend.journal.clear()
        return OK, 200

    async def get_result(self, file_name: str) -> Any:
        task_id = file_name.removesuffix(".mp4")
        content, problem = self.backend.result(task_id)
        if problem == "expired":
            raise oss_error("link_expired")
        if content is None:
            raise oss_error("missing")
        data = content.read_bytes() if isinstance(content, Path) else content
        return ConnexionResponse(status_code=200, mimetype="video/mp4", content_type="video/mp4", body=data)

    async def post_object(self, body: dict[str, Any] | None = None, file: Any = None, **_: Any) -> Answer:
        form = body or {}
        fields = {str(k): str(v) for k, v in form.items() if k != "file" and not hasattr(v, "read")}
        if file is None:
            file = form.get("file")
        if hasattr(file, "read"):
            content = await file.read()
        elif isinstance(file, str | bytes):  # a client that sent the file part without a filename
            content = file.encode() if isinstance(file, str) else file
        else:
            raise invalid_request()
        self.backend.store_upload(fields, bytes(content))
        if fields.get("success_action_status") == "200":
            return "", 200
        return "", 204
