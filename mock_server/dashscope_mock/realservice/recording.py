"""Recordings: what the proxy writes (``Recorder``) and what replay and the drift report read (``load_recordings``).

One JSON file per task (its submit, every poll with its offset from the submit, its end, its result's metadata) or
per single exchange, in the format of ``openapi/recording.yaml`` (versioned; a file of another version, or one that
breaks the schema, is refused with the file and the field named). Nothing written can call the service: the key is
shown as the mock shows keys (``sk-…abcd``), every URL of an answer loses its query string (signed links), the
upload policy's signature fields become ``<masked>``, and input URLs lose a signed query string (or, with
``hashed``, become ``sha256:<hex>``). A directory past its byte budget stops recording, says so once, and the proxy
goes on forwarding.
"""

from __future__ import annotations

import hashlib
import json
import logging
import re
import threading
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal
from urllib.parse import urlsplit, urlunsplit

from jsonschema import Draft4Validator

from dashscope_openapi import load_recording_schema, terminal_statuses

from ..domain.keys import masked
from .findings import Finding

__all__ = [
    "FORMAT",
    "VERSION",
    "Recorder",
    "Recording",
    "RecordingError",
    "defaults",
    "input_form",
    "load_recordings",
    "scrub_answer",
]

logger = logging.getLogger("dashscope_mock")

FORMAT = "dashscope-mock-recording"
VERSION = 1
InputForm = Literal["kept", "hashed"]

# Headers the service reads or answers that say something about the exchange; nothing else is written.
KEPT_HEADERS = frozenset(
    {"content-type", "x-dashscope-async", "x-dashscope-ossresourceresolve", "x-request-id", "retry-after"}
)
# Fields of an upload policy (and of an OSS form) that would let a reader upload as the caller.
SECRET_FIELDS = frozenset(
    {"signature", "policy", "oss_access_key_id", "ossaccesskeyid", "x_oss_security_token", "x-oss-security-token"}
)
SIGNED_QUERY = re.compile(r"(^|&)(signature|ossaccesskeyid|x-oss-signature|x-oss-credential|security-token)=", re.I)
MASK = "<masked>"


def defaults() -> Mapping[str, Any]:
    """``x-defaults`` of the recording schema: the byte budgets."""
    value: Mapping[str, Any] = load_recording_schema()["x-defaults"]
    return value


class RecordingError(ValueError):
    """A recording that cannot be read: the file and the field are in the message."""


# ---------------------------------------------------------------------------------------------------- scrubbing
def _without_query(url: str) -> str:
    parts = urlsplit(url)
    return urlunsplit((parts.scheme, parts.netloc, parts.path, "", ""))


def _is_url(value: str) -> bool:
    return value.startswith(("http://", "https://", "oss://"))


def scrub_answer(value: Any) -> Any:
    """An answer's JSON as it may be written: URLs without query strings, policy signatures masked."""
    if isinstance(value, dict):
        return {k: (MASK if str(k).lower() in SECRET_FIELDS else scrub_answer(v)) for k, v in value.items()}
    if isinstance(value, list):
        return [scrub_answer(item) for item in value]
    if isinstance(value, str) and _is_url(value) and "?" in value:
        return _without_query(value)
    return value


def input_form(value: str, form: InputForm) -> str:
    """An input URL as a recording keeps it (and as replay compares it): its signed query string stripped, then
    kept or hashed."""
    if not _is_url(value):
        return value
    query = urlsplit(value).query
    bare = _without_query(value) if (form == "hashed" or SIGNED_QUERY.search(query)) else value
    if form == "hashed":
        return "sha256:" + hashlib.sha256(bare.encode()).hexdigest()
    return bare


def scrub_request_body(body: Any, form: InputForm) -> Any:
    """A submit's (or face-detect's) body as written: its ``input`` URLs in ``form``, secrets masked."""
    if not isinstance(body, dict):
        return body
    scrubbed = {k: (MASK if str(k).lower() in SECRET_FIELDS else v) for k, v in body.items()}
    inputs = body.get("input")
    if isinstance(inputs, dict):
        scrubbed["input"] = {k: input_form(v, form) if isinstance(v, str) else v for k, v in inputs.items()}
    return scrubbed


def kept_headers(headers: Iterable[tuple[str, str]]) -> dict[str, str]:
    """The headers a recording keeps, lower-case; ``Authorization`` as the masked key."""
    kept: dict[str, str] = {}
    for name, value in headers:
        lower = name.lower()
        if lower == "authorization":
            scheme, _, credential = value.partition(" ")
            kept[lower] = f"{scheme} {masked(credential.strip())}" if credential else MASK
        elif lower in KEPT_HEADERS:
            kept[lower] = value
    return kept


# ---------------------------------------------------------------------------------------------------- reading
@dataclass(frozen=True)
class Recording:
    """One recording file, checked against ``openapi/recording.yaml``."""

    path: Path
    data: Mapping[str, Any]

    @property
    def kind(self) -> str:
        return str(self.data["kind"])

    @property
    def operation(self) -> str:
        return str(self.data["operation"])

    @property
    def request_body(self) -> Any:
        return self.data.get("request", {}).get("body")

    @property
    def inputs(self) -> InputForm:
        form: InputForm = self.data.get("inputs", "kept")
        return form

    @property
    def polls(self) -> list[Mapping[str, Any]]:
        return list(self.data.get("polls", []))

    @property
    def end(self) -> Mapping[str, Any] | None:
        end: Mapping[str, Any] | None = self.data.get("end")
        return end

    def findings(self) -> list[Finding]:
        return [Finding.from_dict(item) for item in self.data.get("findings", [])]


def _check(path: Path, data: Any) -> Recording:
    if not isinstance(data, dict):
        raise RecordingError(f"{path}: not a JSON object")
    if data.get("format") != FORMAT:
        raise RecordingError(f"{path}: format: {data.get('format')!r} is not {FORMAT!r}")
    if data.get("version") != VERSION:
        raise RecordingError(f"{path}: version: {data.get('version')!r} is not a version this mock reads ({VERSION})")
    error = next(iter(sorted(_validator().iter_errors(data), key=lambda e: list(e.absolute_path))), None)
    if error is not None:
        where = ".".join(str(part) for part in error.absolute_path) or "(top level)"
        raise RecordingError(f"{path}: {where}: {error.message}")
    return Recording(path, data)


def _validator() -> Draft4Validator:
    return Draft4Validator(dict(load_recording_schema()))


def load_recordings(directory: Path) -> list[Recording]:
    """Every ``*.json`` recording of ``directory``, oldest first (by ``recorded_at``, then name); the first file that
    cannot be read raises ``RecordingError`` naming it and its field."""
    if not directory.is_dir():
        raise RecordingError(f"{directory}: not a directory of recordings")
    found = []
    for path in sorted(directory.glob("*.json")):
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError, json.JSONDecodeError) as error:
            raise RecordingError(f"{path}: not JSON ({error})") from error
        found.append(_check(path, data))
    found.sort(key=lambda recording: (str(recording.data["recorded_at"]), recording.path.name))
    return found


# ---------------------------------------------------------------------------------------------------- writing
@dataclass
class _Task:
    path: Path
    data: dict[str, Any]
    kept_bodies: int = 0
    shapes: set[tuple[str, ...]] = field(default_factory=set)


def _shape(body: Any) -> tuple[str, ...]:
    if not isinstance(body, dict):
        return ()
    output = body.get("output")
    inner = sorted(output) if isinstance(output, dict) else []
    return (*sorted(body), *(f"output.{name}" for name in inner))


class Recorder:
    """Writes recordings into ``directory``: ``exchange`` for a single exchange, ``submitted`` / ``polled`` for a
    task's timeline (rewritten whole at each new status and at its end, so a stopped proxy leaves every file
    readable). Thread-safe; ``stopped`` once the directory's budget (``max_bytes``) is spent."""

    def __init__(
        self,
        directory: Path,
        *,
        upstream: str,
        inputs: InputForm = "kept",
        max_bytes: int | None = None,
        record_media: bool = False,
    ) -> None:
        self.directory = directory
        directory.mkdir(parents=True, exist_ok=True)
        self.upstream = upstream
        self.inputs: InputForm = inputs
        self.max_bytes = int(defaults()["record_max_bytes"]) if max_bytes is None else max_bytes
        self.record_media = record_media
        self.media_max_bytes = int(defaults()["media_max_bytes"])
        self.stopped = False
        self._lock = threading.Lock()
        self._tasks: dict[str, _Task] = {}
        self._sizes = {path.name: path.stat().st_size for path in directory.iterdir() if path.is_file()}
        self._used = sum(self._sizes.values())  # bytes in the directory: files before this run and those written
        self._count = 0

    # The caller's key is replaced wherever it appears, in case a body carried it.
    def _write(self, path: Path, data: Mapping[str, Any], key: str | None) -> bool:
        text = json.dumps(data, ensure_ascii=False, indent=1, sort_keys=False) + "\n"
        if key:
            text = text.replace(key, masked(key))
        size = len(text.encode())
        used = self._used - self._sizes.get(path.name, 0)
        if self.stopped or used + size > self.max_bytes:
            if not self.stopped:
                self.stopped = True
                logger.warning(
                    "recording stopped: %s would pass its budget of %d bytes; the proxy goes on forwarding",
                    self.directory,
                    self.max_bytes,
                )
            return False
        partial = path.with_suffix(".json.part")  # never a half-written recording under its name
        partial.write_text(text, encoding="utf-8")
        partial.replace(path)
        self._used = used + size
        self._sizes[path.name] = size
        return True

    def _name(self, at: float, label: str) -> Path:
        self._count += 1
        stamp = datetime.fromtimestamp(at, UTC).strftime("%Y%m%dT%H%M%S")
        safe = re.sub(r"[^A-Za-z0-9._-]", "_", label)[:60]
        return self.directory / f"{stamp}-{self._count:05d}-{safe}.json"

    def _head(
        self,
        kind: str,
        operation: str,
        at: float,
        key: str | None,
        request: Mapping[str, Any],
        response: Mapping[str, Any],
        findings: list[Finding],
    ) -> dict[str, Any]:
        """A recording's fields: what it is, when and where, the request and its answer, what the proxy found."""
        head: dict[str, Any] = {
            "format": FORMAT,
            "version": VERSION,
            "kind": kind,
            "recorded_at": datetime.fromtimestamp(at, UTC).isoformat(timespec="milliseconds"),
            "upstream": self.upstream,
            "operation": operation,
        }
        if key:
            head["key"] = masked(key)
        head.update(inputs=self.inputs, request=dict(request), response=dict(response))
        if findings:
            head["findings"] = [finding.as_dict() for finding in findings]
        return head

    def exchange(
        self,
        operation: str,
        at: float,
        key: str | None,
        request: Mapping[str, Any],
        response: Mapping[str, Any],
        findings: list[Finding],
    ) -> None:
        data = self._head("exchange", operation, at, key, request, response, findings)
        with self._lock:
            self._write(self._name(at, operation), data, key)

    def submitted(
        self,
        task_id: str,
        at: float,
        key: str | None,
        request: Mapping[str, Any],
        response: Mapping[str, Any],
        findings: list[Finding],
    ) -> None:
        data = self._head("task", "createVideoSynthesis", at, key, request, response, findings)
        data["polls"] = []
        model = request.get("body", {}).get("model", "task") if isinstance(request.get("body"), dict) else "task"
        with self._lock:
            task = _Task(self._name(at, f"{model}-{task_id[:8]}"), data)
            self._tasks[task_id] = task
            self._write(task.path, data, key)

    def knows(self, task_id: str) -> bool:
        with self._lock:
            return task_id in self._tasks

    def polled(
        self, task_id: str, offset: float, status: int, body: Any, findings: list[Finding], key: str | None
    ) -> bool:
        """A query of a recorded task; True when it is the task's end (its first terminal status)."""
        with self._lock:
            task = self._tasks.get(task_id)
            if task is None or "end" in task.data:
                return False
            task_status = _task_status(body)
            poll: dict[str, Any] = {"offset_seconds": round(max(offset, 0.0), 3), "status": status}
            if task_status is not None:
                poll["task_status"] = task_status
            polls: list[dict[str, Any]] = task.data["polls"]
            previous = polls[-1] if polls else None
            new_shape = _shape(body) not in task.shapes
            changed = previous is None or previous.get("task_status") != task_status or previous["status"] != status
            ended = task_status in terminal_statuses()
            if (new_shape or ended) and task.kept_bodies < int(defaults()["poll_bodies_kept"]):
                poll["body"] = body
                task.kept_bodies += 1
                task.shapes.add(_shape(body))
            polls.append(poll)
            if findings:
                known = task.data.setdefault("findings", [])
                for finding in findings:
                    if finding.as_dict() not in known:
                        known.append(finding.as_dict())
            if ended:
                task.data["end"] = {**poll, "body": body}
            if changed or ended or new_shape:
                self._write(task.path, task.data, key)
            return ended

    def result(self, task_id: str, metadata: Mapping[str, Any], content: bytes | None, key: str | None) -> None:
        """The result file of a recorded task: its metadata, and the file beside the recording with
        ``record_media`` (within ``media_max_bytes``)."""
        with self._lock:
            task = self._tasks.pop(task_id, None)
            if task is None:
                return
            described = dict(metadata)
            if self.record_media and content is not None and len(content) <= self.media_max_bytes:
                name = task.path.with_suffix(".mp4").name
                if not self.stopped and self._used + len(content) <= self.max_bytes:
                    (self.directory / name).write_bytes(content)
                    self._sizes[name] = len(content)
                    self._used += len(content)
                    described["file"] = name
            task.data["result"] = described
            self._write(task.path, task.data, key)

    def forget(self, task_id: str) -> None:
        """A task whose end was recorded and whose result needs no fetch."""
        with self._lock:
            self._tasks.pop(task_id, None)


def _task_status(body: Any) -> str | None:
    output = body.get("output") if isinstance(body, dict) else None
    status = output.get("task_status") if isinstance(output, dict) else None
    return status if isinstance(status, str) else None
