"""The mock's state and behaviour, moto-style: one resettable ``Backend`` object; handlers only translate HTTP.

State: tasks and uploads (in a ``Store``: memory or SQLite), scenarios, faults, the request journal and the
per-key rate windows. Time: an injectable clock (``VirtualClock`` by default). Media: a ``MediaPipeline``
(``LifecycleOnlyMedia`` by default, see ``pipeline``).

Scheduling: a model with a concurrency limit (``x-limits.concurrency``, e.g. videoretalk: 1 per key) queues a
task behind the open tasks of the same key; its ``start_at`` (``scheduled_time``) is when a slot frees. Canceling
a PENDING task or an outcome that moves an end re-plans the tasks that have not started yet.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import json
import math
import shutil
import tempfile
from collections import deque
from collections.abc import Mapping
from datetime import datetime
from pathlib import Path
from typing import Any

from dashscope_openapi import CatalogueEntry, error_catalogue, limits

from .clock import Clock, RealClock, VirtualClock, format_service_time, service_timezone
from .config import MockConfig, ModelTiming
from .errors import ApiError, catalogue_error, entry, oss_error
from .ids import IdFactory
from .lifecycle import Snapshot, derive, planned_end
from .pipeline import LifecycleOnlyMedia, MediaJob, MediaOutcome, MediaPipeline
from .records import TaskRecord, UploadRecord
from .scripting import Faults, Journal, Scenario, Scenarios
from .store import SqliteStore, Store, open_store

__all__ = ["Backend", "load_media_pipeline"]

OSS_PREFIX = "oss://"
HOUR = 3600.0
RETRY_STATUSES = (429, 503)


def load_media_pipeline(config: MockConfig) -> MediaPipeline:
    """``LifecycleOnlyMedia`` unless media checks are on; then ``dashscope_mock.media.create_pipeline(config)``."""
    if not config.media_checks:
        return LifecycleOnlyMedia()
    try:
        from . import media
    except ImportError as exc:  # the media package is optional until it lands
        raise RuntimeError("--media-checks on needs the dashscope_mock.media package") from exc
    pipeline: MediaPipeline = media.create_pipeline(config)
    return pipeline


def _short_hash(text: str, length: int = 16) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:length]


def key_id(key: str) -> str:
    """A stable numeric id for a key (``api_key_id`` in the task list)."""
    return str(int(_short_hash(key, 12), 16) % 10**7).rjust(7, "0")


class Backend:
    """Everything the mock knows. ``reset()`` forgets it all and brings the clock back to real time."""

    def __init__(
        self,
        config: MockConfig | None = None,
        *,
        clock: Clock | None = None,
        media: MediaPipeline | None = None,
        store: Store | None = None,
    ) -> None:
        self.config = config or MockConfig()
        self.clock: Clock = clock if clock is not None else VirtualClock(frozen=self.config.frozen_clock)
        self.media: MediaPipeline = media if media is not None else load_media_pipeline(self.config)
        self.store: Store = store if store is not None else open_store(self.config.state)
        self.scenarios = Scenarios()
        self.faults = Faults()
        self.journal = Journal()
        self.ids = IdFactory(self.config.seed)
        self.tz = service_timezone(self.config.timezone_offset_hours)
        self._rate: dict[str, deque[float]] = {}
        self._media_tasks: set[asyncio.Task[None]] = set()
        self._secret = f"dashscope-mock:{self.config.seed}".encode()
        self._limits = limits()
        if self.config.upload_dir:
            self.files_dir = Path(self.config.upload_dir)
        elif isinstance(self.store, SqliteStore):
            self.files_dir = self.store.path.with_name(self.store.path.name + ".files")
        else:
            self.files_dir = Path(tempfile.mkdtemp(prefix="dashscope-mock-"))
        self.files_dir.mkdir(parents=True, exist_ok=True)
        self.sync_clock()

    # ------------------------------------------------------------------ time, ids, auth
    def now(self) -> float:
        return self.clock.now()

    def format_time(self, epoch: float) -> str:
        return format_service_time(epoch, self.tz)

    def sync_clock(self) -> None:
        """Adopt the shared clock offset (SQLite state: all workers see the same advanced time)."""
        if isinstance(self.clock, VirtualClock) and isinstance(self.store, SqliteStore):
            self.clock.set_offset(self.store.clock_offset())

    def advance(self, seconds: float) -> float:
        if not isinstance(self.clock, VirtualClock):
            raise TypeError("the clock cannot be advanced")
        now = self.clock.advance(seconds)
        self.store.set_clock_offset(self.clock.offset)
        return now

    def new_request_id(self) -> str:
        return self.ids.request_id()

    def key_allowed(self, key: str) -> bool:
        return self.config.key_allowed(key)

    def timing(self, model: str) -> ModelTiming:
        return self.config.timing(model)

    @property
    def timeout_seconds(self) -> float:
        return float(self._limits["task_timeout_hours"]) * HOUR

    # ------------------------------------------------------------------ reset
    def reset(self) -> None:
        for task in list(self._media_tasks):
            task.cancel()
        self._media_tasks.clear()
        self.store.clear()
        self.scenarios.clear()
        self.faults.clear()
        self.journal.clear()
        self._rate.clear()
        self.ids.reseed(self.config.seed)
        if isinstance(self.clock, VirtualClock | RealClock):
            self.clock.reset()
        shutil.rmtree(self.files_dir, ignore_errors=True)
        self.files_dir.mkdir(parents=True, exist_ok=True)

    def close(self) -> None:
        for task in list(self._media_tasks):
            task.cancel()
        self.store.close()

    # ------------------------------------------------------------------ scenarios
    def add_scenario(
        self,
        *,
        model: str,
        code: str | None = None,
        reason: str | None = None,
        times: int = 1,
        url_contains: str | None = None,
        extra_seconds: Mapping[str, float] | None = None,
        values: Mapping[str, Any] | None = None,
        operation: str | None = None,
    ) -> Scenario:
        """Script the next ``times`` requests of ``model``; raises ``ValueError`` for an unknown code."""
        found: CatalogueEntry | None = None
        if code is not None:
            found = error_catalogue().find(code, model=model, reason=reason)
            if found is None and model in self.detect_models():
                # A detector reports its model's check failures (liveportrait-detect: "No human face detected.").
                found = error_catalogue().find(code, reason=reason)
            if found is None:
                raise ValueError(f"x-error-catalogue has no code {code!r} for model {model!r} (reason {reason!r})")
        elif not extra_seconds:
            raise ValueError("a scenario needs a code, extra_seconds or both")
        detector = model in self.detect_models()
        if operation is None:
            stage = found.stage if found is not None else "task"
            operation = {"cancel": "cancel", "upload": "upload"}.get(stage, "detect" if detector else "submit")
        return self.scenarios.add(
            model=model,
            times=times,
            operation=operation,
            entry=found,
            url_contains=url_contains,
            extra_seconds=dict(extra_seconds or {}),
            values=dict(values or {}),
        )

    @staticmethod
    def config_models() -> tuple[str, ...]:
        """The video models of the submit operation."""
        from .config import video_models

        return video_models()

    @staticmethod
    def detect_models() -> tuple[str, ...]:
        from dashscope_openapi import load_spec

        mapping = load_spec()["components"]["schemas"]["FaceDetectRequest"]["discriminator"]["mapping"]
        return tuple(mapping)

    def _scenario_error(self, scenario: Scenario, **defaults: object) -> ApiError:
        assert scenario.entry is not None
        values = {**defaults, **scenario.values}
        headers = self.retry_headers(scenario.entry.status)
        return ApiError.from_entry(scenario.entry, **values).with_headers(headers)

    def retry_headers(self, status: int) -> dict[str, str]:
        if status in RETRY_STATUSES:
            return {"Retry-After": str(self.config.retry_after_seconds)}
        return {}

    # ------------------------------------------------------------------ submit
    def submit(self, key: str, body: Mapping[str, Any], *, oss_resolve: bool, request_id: str) -> TaskRecord:
        model = str(body["model"])
        inputs: Mapping[str, Any] = body.get("input") or {}
        parameters: Mapping[str, Any] = body.get("parameters") or {}
        urls = [v for v in inputs.values() if isinstance(v, str)]
        scenario = self.scenarios.take(model, "submit", urls)
        if scenario is not None and scenario.entry is not None and scenario.entry.stage in ("submit", "any"):
            raise self._scenario_error(scenario, url=urls[0] if urls else "", parameter="parameters")
        now = self.now()
        timing = self.timing(model)
        extra = dict(scenario.extra_seconds) if scenario is not None else {}
        durations = tuple(seconds + float(extra.get(name, 0.0)) for name, seconds in timing.phases)
        earliest = now + timing.pending + float(extra.get("PENDING", 0.0))
        with self.store.transaction():
            seq = self.store.next_seq()
            record = TaskRecord(
                task_id=self.ids.task_id(seq),
                key=key,
                model=model,
                seq=seq,
                submit_at=now,
                start_at=self._slot_start(key, model, earliest, now),
                durations=durations,
                inputs_json=json.dumps({"input": inputs, "parameters": parameters}, separators=(",", ":")),
                request_id=request_id,
                oss_resolve=oss_resolve,
            )
            failure = self._submit_failure(record, scenario, urls)
            if failure is not None:
                record.failure_code, record.failure_message = failure
                record.known_at = now
            self.store.add_task(record)
        if failure is None:
            self._start_media(record)
        if seq % 4096 == 0:
            self.purge()
        return record

    def _submit_failure(self, record: TaskRecord, scenario: Scenario | None, urls: list[str]) -> tuple[str, str] | None:
        if scenario is not None and scenario.entry is not None:
            values = {"url": urls[0] if urls else "", "parameter": "parameters", **scenario.values}
            return scenario.entry.code, scenario.entry.render(**values)
        for name, value in record.input.items():
            if (
                isinstance(value, str)
                and value.startswith(OSS_PREFIX)
                and self.resolve_url(value, record.model, record.key, oss_resolve=record.oss_resolve) is None
            ):
                found = self.download_failure(record.model, name)
                return found.code, found.render(url=value)
        return None

    @staticmethod
    def download_failure(model: str, field: str) -> CatalogueEntry:
        """The model's documented download-failure code for an input (``x-limits.models.<model>.<kind>.errors``).

        An ``oss://`` URL that cannot be resolved (no ``X-DashScope-OssResourceResolve: enable``, unknown, expired,
        of another model or key) is a download failure of that input, as the service reports it.
        """
        from dashscope_openapi import model_limits

        kind = field.removesuffix("_url")
        errors: Mapping[str, str] = model_limits(model).get(kind, {}).get("errors", {})
        code = errors.get("download", "InvalidURL")
        stages: list[Any] = ["task"]
        found = error_catalogue().find(code, model=model, stages=stages)
        if found is None:
            found = entry("InvalidURL", model=model, reason="generic", stages=stages)
        return found

    def _slot_start(self, key: str, model: str, earliest: float, now: float) -> float:
        limit = self.config.concurrency_for(model)
        if limit is None:
            return earliest
        statuses = self.timing(model).statuses
        ends: list[float] = []
        for other in self.store.queue(key, model):
            end = planned_end(other, statuses)
            if end <= now or (other.canceled_at is not None and other.canceled_at <= now):
                self.store.close_in_queue(other)
                continue
            ends.append(end)
        if len(ends) < limit:
            return earliest
        ends.sort()
        return max(earliest, ends[len(ends) - limit])

    def _replan(self, key: str, model: str) -> None:
        """Recompute the start of the queued tasks that have not started yet."""
        limit = self.config.concurrency_for(model)
        if limit is None:
            return
        now = self.now()
        statuses = self.timing(model).statuses
        timing = self.timing(model)
        with self.store.transaction():
            ends: list[float] = []
            for record in self.store.queue(key, model):
                if record.canceled_at is not None:
                    continue
                if record.start_at > now:
                    base = record.submit_at + timing.pending
                    active = sorted(e for e in ends if e > now)
                    start = base if len(active) < limit else max(base, active[len(active) - limit], now)
                    if start != record.start_at:
                        record.start_at = start
                        self.store.save_task(record)
                ends.append(planned_end(record, statuses))

    # ------------------------------------------------------------------ media
    def _job(self, record: TaskRecord) -> MediaJob:
        request = record.request  # parsed once (every submit comes here)
        resolved = {
            name: (self.resolve_url(value, record.model, record.key, oss_resolve=record.oss_resolve) or value)
            if isinstance(value, str) and value.startswith(OSS_PREFIX)
            else value
            for name, value in request.get("input", {}).items()
        }
        results = self.files_dir / "results"
        if not results.is_dir():  # a stat instead of a mkdir per submit
            results.mkdir(parents=True, exist_ok=True)
        return MediaJob(
            task_id=record.task_id,
            model=record.model,
            input=resolved,
            parameters=request.get("parameters") or {},
            results_dir=str(results),
            oss_resolve=record.oss_resolve,
        )

    def _start_media(self, record: TaskRecord) -> None:
        job = self._job(record)
        immediate = getattr(self.media, "prepare_now", None)
        if isinstance(self.media, LifecycleOnlyMedia) and immediate is None:
            # No I/O at all: run the coroutine to completion right here, so the outcome is known at submit.
            coroutine = self.media.prepare(job)
            try:
                coroutine.send(None)
            except StopIteration as done:
                self._record_outcome(record, done.value)
                return
            coroutine.close()
        loop = asyncio.get_running_loop()
        task = loop.create_task(self._run_media(record.task_id, job))
        self._media_tasks.add(task)
        task.add_done_callback(self._media_tasks.discard)

    async def _run_media(self, task_id: str, job: MediaJob) -> None:
        try:
            outcome = await self.media.prepare(job)
        except asyncio.CancelledError:
            raise
        except Exception:
            outcome = MediaOutcome.failed("InternalError.Algo")
        record = self.store.get_task(task_id)
        if record is not None:
            self._record_outcome(record, outcome)

    def _record_outcome(self, record: TaskRecord, outcome: MediaOutcome) -> None:
        record.known_at = self.now()
        if outcome.failure is not None:
            failure = outcome.failure
            found = error_catalogue().find(failure.code, model=record.model, reason=failure.reason, stages=["task"])
            if found is None:
                found = error_catalogue().find(failure.code, model=record.model, reason=failure.reason)
            record.failure_code = failure.code
            record.failure_message = found.render(**failure.values) if found is not None else failure.code
        else:
            record.video_duration = outcome.video_duration
            record.video_ratio = outcome.video_ratio
            record.result_path = outcome.result_path
        self.store.save_task(record)
        if self.config.concurrency_for(record.model) is not None:
            self._replan(record.key, record.model)

    async def drain(self) -> None:
        """Wait for the media work in flight (tests)."""
        while self._media_tasks:
            await asyncio.gather(*list(self._media_tasks), return_exceptions=True)

    # ------------------------------------------------------------------ tasks
    def snapshot(self, record: TaskRecord, now: float | None = None) -> Snapshot:
        return derive(
            record, self.timing(record.model).statuses, self.now() if now is None else now, self.timeout_seconds
        )

    def _expired(self, record: TaskRecord, now: float) -> bool:
        return now - record.submit_at > float(self._limits["task_retention_hours"]) * HOUR

    def find_task(self, key: str, task_id: str) -> TaskRecord | None:
        """The caller's task, or ``None`` (unknown, another key's, or past retention: the API says UNKNOWN)."""
        record = self.store.get_task(task_id)
        if record is None or record.key != key or self._expired(record, self.now()):
            return None
        return record

    def check_query_rate(self, key: str) -> None:
        """``x-limits.task_query_qps_per_account`` per key, on the mock clock; 429 above it."""
        if not self.config.rate_limit:
            return
        now = self.now()
        window = self._rate.setdefault(key, deque())
        while window and window[0] <= now - 1.0:
            window.popleft()
        if len(window) >= self.config.query_qps():
            raise catalogue_error("Throttling.RateQuota").with_headers(self.retry_headers(429))
        window.append(now)

    def result_url(self, record: TaskRecord, base_url: str) -> str:
        return f"{base_url.rstrip('/')}/_mock/results/{record.task_id}.mp4"

    def task_output(self, task_id: str, record: TaskRecord | None, base_url: str) -> dict[str, Any]:
        """``{"output": ..., "usage": ...}`` of ``GET /tasks/{id}``."""
        if record is None:
            return {"output": {"task_id": task_id, "task_status": "UNKNOWN"}}
        snap = self.snapshot(record)
        output: dict[str, Any] = {
            "task_id": record.task_id,
            "task_status": snap.status,
            "submit_time": self.format_time(record.submit_at),
        }
        if snap.scheduled_at is not None:
            output["scheduled_time"] = self.format_time(snap.scheduled_at)
        if snap.end_at is not None:
            output["end_time"] = self.format_time(snap.end_at)
        answer: dict[str, Any] = {"output": output}
        if snap.status == "FAILED":
            if snap.timed_out:
                found = entry("InternalError.Timeout", model=record.model)
                output.update(code=found.code, message=found.render())
            else:
                output.update(code=record.failure_code, message=record.failure_message)
        elif snap.status == "SUCCEEDED":
            url = self.result_url(record, base_url)
            if record.model == "videoretalk":
                output["video_url"] = url
            else:
                output["results"] = {"video_url": url}
            answer["usage"] = {"video_duration": record.video_duration, "video_ratio": record.video_ratio}
        return answer

    def cancel(self, key: str, task_id: str) -> None:
        record = self.find_task(key, task_id)
        if record is not None:
            scenario = self.scenarios.take(record.model, "cancel")
            if scenario is not None and scenario.entry is not None:
                raise self._scenario_error(scenario)
        if record is None or self.snapshot(record).status != "PENDING":
            raise catalogue_error("UnsupportedOperation", reason="cancel_not_pending")
        with self.store.transaction():
            record.canceled_at = self.now()
            self.store.save_task(record)
            self.store.close_in_queue(record)
        self._replan(record.key, record.model)

    def list_tasks(self, key: str, query: Mapping[str, Any]) -> dict[str, Any]:
        """The flat paginated list of the caller's tasks of the last ``task_retention_hours``, newest first."""
        now = self.now()
        start = self._parse_list_time(query.get("start_time"))
        end = self._parse_list_time(query.get("end_time"))
        wanted_status = query.get("status")
        items: list[dict[str, Any]] = []
        for record in reversed(self.store.tasks_of(key)):
            if self._expired(record, now):
                continue
            if query.get("model_name") and record.model != query["model_name"]:
                continue
            if query.get("task_id") and record.task_id != query["task_id"]:
                continue
            if query.get("api_key_id") and key_id(key) != query["api_key_id"]:
                continue
            if query.get("region") and self.config.region != query["region"]:
                continue
            if start is not None and record.submit_at < start:
                continue
            if end is not None and record.submit_at > end:
                continue
            snap = self.snapshot(record, now)
            if wanted_status and self._list_status(snap.status) != wanted_status:
                continue
            items.append(self._list_item(record, snap, key))
        page_no = int(query.get("page_no") or 1)
        page_size = int(query.get("page_size") or 10)
        total = len(items)
        first = (page_no - 1) * page_size
        return {
            "total": total,
            "total_page": math.ceil(total / page_size),
            "page_no": page_no,
            "page_size": page_size,
            "data": items[first : first + page_size],
        }

    @staticmethod
    def _list_status(status: str) -> str:
        """The list filter knows PENDING/RUNNING/SUCCEEDED/FAILED/CANCELED: emo-v1's phases count as RUNNING."""
        return "RUNNING" if status in ("PRE-PROCESSING", "POST-PROCESSING") else status

    def _parse_list_time(self, value: Any) -> float | None:
        if not value:
            return None
        try:
            return datetime.strptime(str(value), "%Y%m%d%H%M%S").replace(tzinfo=self.tz).timestamp()
        except ValueError:
            return None

    def _list_item(self, record: TaskRecord, snap: Snapshot, key: str) -> dict[str, Any]:
        item: dict[str, Any] = {
            "task_id": record.task_id,
            "status": snap.status,
            "model_name": record.model,
            "region": self.config.region,
            "request_id": record.request_id,
            "api_key_id": key_id(key),
            "caller_uid": key_id("uid:" + key),
            "caller_parent_id": key_id("uid:" + key),
            "gmt_create": int(record.submit_at * 1000),
            "user_api_unique_key": f"apikey:v1:{record.model}",
        }
        if snap.scheduled_at is not None:
            item["start_time"] = int(snap.scheduled_at * 1000)
        if snap.end_at is not None:
            item["end_time"] = int(snap.end_at * 1000)
        return item

    def purge(self) -> int:
        """Forget tasks past retention whose result link has expired too."""
        now = self.now()
        retention = float(self._limits["task_retention_hours"]) * HOUR
        validity = float(self._limits["result_url_validity_hours"]) * HOUR
        gone = []
        for record in self.store.all_tasks():
            if now - record.submit_at <= retention:
                continue
            snap = self.snapshot(record, now)
            if snap.end_at is None or now - snap.end_at > validity:
                gone.append(record.task_id)
        self.store.delete_tasks(gone)
        return len(gone)

    def all_tasks(self) -> list[dict[str, Any]]:
        """Every task of every key with its derived status (control plane)."""
        now = self.now()
        views = []
        for record in self.store.all_tasks():
            snap = self.snapshot(record, now)
            view: dict[str, Any] = {
                "task_id": record.task_id,
                "key": record.key,
                "model": record.model,
                "status": snap.status,
                "submit_time": self.format_time(record.submit_at),
                "start_at": record.start_at,
                "submit_at": record.submit_at,
                "expired": self._expired(record, now),
            }
            if snap.end_at is not None:
                view["end_at"] = snap.end_at
            if record.failure_code is not None:
                view["code"] = record.failure_code
            views.append(view)
        return views

    # ------------------------------------------------------------------ results
    def result(self, task_id: str) -> tuple[bytes | Path | None, str | None]:
        """The result file of a task: ``(content or path, None)`` or ``(None, reason)`` with reason
        ``expired`` (403, as an expired OSS link) or ``missing`` (404)."""
        record = self.store.get_task(task_id)
        if record is None:
            return None, "missing"
        now = self.now()
        snap = self.snapshot(record, now)
        if snap.status != "SUCCEEDED" or snap.end_at is None:
            return None, "missing"
        if now - snap.end_at > float(self._limits["result_url_validity_hours"]) * HOUR:
            return None, "expired"
        if record.result_path:
            return Path(record.result_path), None
        from .pipeline import PLACEHOLDER_MP4

        return PLACEHOLDER_MP4, None

    # ------------------------------------------------------------------ face-detect
    async def detect(self, key: str, body: Mapping[str, Any], *, oss_resolve: bool) -> dict[str, Any]:
        model = str(body["model"])
        image_url = str((body.get("input") or {}).get("image_url", ""))
        ratio = (body.get("parameters") or {}).get("ratio")
        scenario = self.scenarios.take(model, "detect", [image_url])
        if scenario is not None and scenario.entry is not None:
            found = scenario.entry
            if found.stage in ("detect", "task") and found.family in ("InvalidFile", "InvalidImage"):
                message = found.render(**{"url": image_url, **scenario.values})
                if model == "liveportrait-detect":
                    return {"output": {"pass": False, "message": message}}
                return {
                    "output": {"check_pass": False, "code": found.code, "message": message},
                    "usage": {"image_count": 1},
                }
            raise self._scenario_error(scenario, url=image_url, parameter="parameters")
        if image_url.startswith(OSS_PREFIX):
            resolved = self.resolve_url(image_url, model, key, oss_resolve=oss_resolve)
            if resolved is None:
                raise catalogue_error("InvalidURL", model=model, reason="detect_download")
            image_url = resolved
        return await self.media.detect(model, image_url, ratio, oss_resolve=oss_resolve)

    # ------------------------------------------------------------------ uploads
    def upload_policy(self, key: str, model: str, base_url: str) -> dict[str, Any]:
        if model not in self.config_models() and model not in self.detect_models():
            raise catalogue_error("ModelNotFound")
        now = self.now()
        uploads = self._limits["uploads"]
        expire_in = int(uploads["policy_expire_in_seconds"])
        day = datetime.fromtimestamp(now, self.tz).strftime("%Y-%m-%d")
        upload_dir = f"dashscope-instant/{_short_hash(key, 32)}/{day}/{self.ids.upload_id()}"
        document = {
            "expiration": datetime.fromtimestamp(now + expire_in, self.tz).isoformat(),
            "conditions": [["starts-with", "$key", upload_dir + "/"]],
            "x-mock": {"model": model, "owner": key_id(key), "upload_dir": upload_dir, "expires_at": now + expire_in},
        }
        policy = base64.b64encode(json.dumps(document, separators=(",", ":")).encode()).decode()
        return {
            "policy": policy,
            "signature": self._sign(policy),
            "upload_dir": upload_dir,
            "upload_host": f"{base_url.rstrip('/')}/_mock/oss",
            "expire_in_seconds": expire_in,
            "max_file_size_mb": int(uploads["max_file_size_mb"]),
            "capacity_limit_mb": 999999999,
            "oss_access_key_id": "LTAI5tMockAccessKeyId",
            "x_oss_object_acl": "private",
            "x_oss_forbid_overwrite": "true",
        }

    def _sign(self, policy: str) -> str:
        return base64.b64encode(hmac.new(self._secret, policy.encode(), hashlib.sha1).digest()).decode()

    def store_upload(self, fields: Mapping[str, str], content: bytes) -> UploadRecord:
        """The OSS form POST: check the signed policy, then keep the file as ``oss://<key>``."""
        policy = fields.get("policy", "")
        if not hmac.compare_digest(self._sign(policy).encode(), fields.get("Signature", "").encode()):
            raise oss_error("signature")
        try:
            document = json.loads(base64.b64decode(policy))
            meta = document["x-mock"]
        except (ValueError, KeyError, TypeError) as exc:
            raise oss_error("policy") from exc
        model = str(meta["model"])
        scenario = self.scenarios.take(model, "upload")
        if scenario is not None and scenario.entry is not None:
            raise self._scenario_error(scenario)
        now = self.now()
        if now > float(meta["expires_at"]):
            raise catalogue_error("AccessDenied", reason="policy_expired")
        object_key = fields.get("key", "")
        upload_dir = str(meta["upload_dir"])
        name = object_key[len(upload_dir) + 1 :] if object_key.startswith(upload_dir + "/") else ""
        if not name or "/" in name or name in (".", ".."):
            raise oss_error("key")
        if len(content) > int(self._limits["uploads"]["max_file_size_mb"]) * 1024 * 1024:
            raise oss_error("size")
        url = OSS_PREFIX + object_key
        if self.store.get_upload(url) is not None and fields.get("x-oss-forbid-overwrite", "false") == "true":
            raise oss_error("overwrite")
        path = self.files_dir / "uploads" / _short_hash(object_key, 32) / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(content)
        record = UploadRecord(
            url=url, model=model, owner=str(meta["owner"]), created_at=now, path=str(path), size=len(content)
        )
        self.store.add_upload(record)
        return record

    def resolve_url(self, url: str, model: str, key: str, *, oss_resolve: bool) -> str | None:
        """``file://`` URL of an ``oss://`` upload the caller may use, else ``None``.

        Resolved only with ``X-DashScope-OssResourceResolve: enable``, for the key that uploaded it, for the model
        the policy was issued for, within ``x-limits.uploads.retention_hours``.
        """
        if not oss_resolve:
            return None
        record = self.store.get_upload(url)
        if record is None or record.model != model or record.owner != key_id(key):
            return None
        if self.now() - record.created_at > float(self._limits["uploads"]["retention_hours"]) * HOUR:
            return None
        path = Path(record.path)
        return path.as_uri() if path.exists() else None

    # ------------------------------------------------------------------ misc
    def uploads(self) -> list[UploadRecord]:
        return self.store.all_uploads()
