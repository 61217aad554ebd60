"""Tasks: submit, look up, cancel, list, forget past retention (result links: ``results``).

A task is a record of timestamps (``records``); its status is derived when asked (``lifecycle``). A submit only
stores the task with its queued media work (``Store.add_task``), plans its start (``scheduling``) and wakes the
work pool (``work_pool``), whose workers hand the work to ``task_work``. Every change of a stored task is a
compare-and-set (``store.update_task``): a terminal status (a timeout, a cancel, an outcome) is final.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Mapping
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from dashscope_openapi import CatalogueEntry, error_catalogue, limits, load_control_spec, model_limits

from ..config import MockConfig
from ..domain.errors import catalogue_error, entry
from ..domain.ids import IdFactory
from ..domain.lifecycle import Snapshot, derive, timeline
from ..domain.records import TaskRecord
from ..domain.scripting import Scenario
from ..plugins import ModelTiming
from ..realservice.replay import Replays, replayed_task
from ..seam import MediaJob, RecordedOutcome
from ..store import ScenarioKeeper, Store, WorkItem, task_scope, update_task
from .media_runner import Runner
from .scheduling import Scheduler
from .uploads import OSS_PREFIX, Resolution, UploadService, key_id

__all__ = ["TERMINAL", "TaskService", "apply_outcome", "download_failure"]

logger = logging.getLogger("dashscope_mock")

HOUR = 3600.0
TERMINAL = frozenset({"SUCCEEDED", "FAILED", "CANCELED"})


def apply_outcome(record: TaskRecord, outcome: RecordedOutcome, now: float) -> None:
    """Write a media outcome into a (draft) record: known from ``now`` on."""
    record.known_at = now
    record.failure_code = outcome.failure_code
    record.failure_message = outcome.failure_message
    record.video_duration = outcome.video_duration
    record.video_ratio = outcome.video_ratio
    record.result_path = outcome.result_path


def download_failure(model: str, field: str) -> CatalogueEntry:
    """The model's documented download-failure code for an input (``x-limits.models.<model>.<kind>.errors``).

    An ``oss://`` URL that cannot be resolved (no ``X-DashScope-OssResourceResolve: enable``, unknown, expired,
    gone, of another model or account) is a download failure of that input, as the service reports it.
    """
    kind = field.removesuffix("_url")
    errors: Mapping[str, str] = model_limits(model).get(kind, {}).get("errors", {})
    code = errors.get("download", "InvalidURL")
    found = error_catalogue().find(code, model=model, stages=["task"])
    if found is None:
        found = entry("InvalidURL", model=model, reason="generic", stages=["task"])
    return found


def _list_time(value: Any, tz: timezone) -> float | None:
    """A list filter's ``YYYYMMDDhhmmss`` in service time; ``None`` when absent or unreadable (no filter)."""
    if not value:
        return None
    try:
        return datetime.strptime(str(value), "%Y%m%d%H%M%S").replace(tzinfo=tz).timestamp()
    except ValueError:
        return None


class TaskService:
    def __init__(
        self,
        *,
        config: MockConfig,
        store: Store,
        ids: IdFactory,
        scenarios: ScenarioKeeper,
        scheduler: Scheduler,
        uploads: UploadService,
        runner: Runner,
        timing: Callable[[str], ModelTiming],
        now: Callable[[], float],
        tz: timezone,
        results_dir: Path,
        replays: Replays | None = None,
    ) -> None:
        self.config = config
        self.store = store
        self.ids = ids
        self.scenarios = scenarios
        self.scheduler = scheduler
        self.uploads = uploads
        self.runner = runner
        self.timing = timing
        self.now = now
        self.tz = tz
        self.kick: Callable[[], None] = lambda: None  # the work pool's, once it exists (it calls ``work``)
        self.queue_max = int(config.engine("queue_max"))
        self.results_dir = results_dir
        self.replays = replays
        self.timeout_seconds = float(limits()["task_timeout_hours"]) * HOUR
        self.retention_seconds = float(limits()["task_retention_hours"]) * HOUR
        self.validity_seconds = float(limits()["result_url_validity_hours"]) * HOUR

    # ------------------------------------------------------------------ submit
    def submit(
        self,
        key: str,
        body: Mapping[str, Any],
        *,
        oss_resolve: bool,
        request_id: str,
        note: Callable[[str], None] | None = None,
    ) -> TaskRecord:
        """Store the task and queue its work; ``note`` takes what the request's journal entry should say (an
        ``oss://`` input refused, and why, or resolved by a leniency)."""
        model = str(body["model"])
        inputs: Mapping[str, Any] = body.get("input") or {}
        parameters: Mapping[str, Any] = body.get("parameters") or {}
        plan = self.replays.take(model, body) if self.replays is not None else None
        if plan is not None:  # a recorded refusal raises; else the task shows the recorded statuses, no media work
            if note is not None:
                note(f"replayed from {plan.source}")
            with self.store.transaction(task_scope(key, model)):
                seq = self.store.next_seq()
                record = replayed_task(plan, self.ids.task_id(seq), seq, key, body, self.now(), request_id, oss_resolve)
                self.store.add_task(record, None)
            return record
        urls = [v for v in inputs.values() if isinstance(v, str)]
        scenario = self.scenarios.take(model, "submit", urls)
        if scenario is not None and scenario.entry is not None and scenario.entry.stage in ("submit", "any"):
            raise scenario.error(self.config.retry_after_seconds, url=urls[0] if urls else "", parameter="parameters")
        now = self.now()
        timing = self.timing(model)
        extra = dict(scenario.extra_seconds) if scenario is not None else {}
        durations = tuple(seconds + float(extra.get(name, 0.0)) for name, seconds in timing.phases)
        earliest = now + timing.pending + float(extra.get("PENDING", 0.0))
        with self.store.transaction(task_scope(key, model)):  # the key's tasks of the model, not every submit
            seq = self.store.next_seq()
            record = TaskRecord(
                task_id=self.ids.task_id(seq),
                key=key,
                model=model,
                seq=seq,
                submit_at=now,
                start_at=self.scheduler.slot_start(key, model, earliest, now),
                durations=durations,
                inputs_json=json.dumps({"input": inputs, "parameters": parameters}, separators=(",", ":")),
                request_id=request_id,
                oss_resolve=oss_resolve,
            )
            work = self._settle_at_submit(record, scenario, urls, note)
            if work is not None and len(self.store.work) >= self.queue_max:
                raise catalogue_error(load_control_spec()["x-task-engine"]["queue_full_code"])
            self.store.add_task(record, work)
        if work is not None:
            self.kick()
        if seq % 4096 == 0:
            self.purge()
        return record

    def _settle_at_submit(
        self, record: TaskRecord, scenario: Scenario | None, urls: list[str], note: Callable[[str], None] | None
    ) -> WorkItem | None:
        """Decide what can be decided at submit (a scripted or unresolvable-input failure; every outcome when the
        media does no I/O) and the work item to queue otherwise."""
        failure = self._submit_failure(record, scenario, urls, note)
        outcome: RecordedOutcome | None
        if failure is not None:
            outcome = RecordedOutcome(failure_code=failure[0], failure_message=failure[1])
        else:
            outcome = self.runner.immediate(self.job(record))
        if outcome is not None:
            record.claimed_at = record.submit_at
            apply_outcome(record, outcome, record.submit_at)
            return None
        limit = self.config.concurrency_for(record.model)
        if limit is None:
            return WorkItem()
        return WorkItem(lane=task_scope(record.key, record.model), limit=limit)

    def _submit_failure(
        self, record: TaskRecord, scenario: Scenario | None, urls: list[str], note: Callable[[str], None] | None
    ) -> tuple[str, str] | None:
        if scenario is not None and scenario.entry is not None:
            values = {"url": urls[0] if urls else "", "parameter": "parameters", **scenario.values}
            return scenario.entry.code, scenario.entry.render(**values)
        for name, value in record.input.items():
            if not (isinstance(value, str) and value.startswith(OSS_PREFIX)):
                continue
            resolution = self._resolve(record, value)
            said = resolution.note(f"input.{name}")
            if said is not None and note is not None:
                note(said)
            if resolution.file_url is None:
                found = download_failure(record.model, name)
                return found.code, found.render(url=value)
        return None

    def _resolve(self, record: TaskRecord, url: str) -> Resolution:
        strict = self.config.strict_fields
        return self.uploads.resolve(url, record.model, record.key, oss_resolve=record.oss_resolve, strict=strict)

    def job(self, record: TaskRecord) -> MediaJob:
        request = record.request  # parsed once (every submit comes here)
        resolved = {
            name: (self._resolve(record, value).file_url or value)
            if isinstance(value, str) and value.startswith(OSS_PREFIX)
            else value
            for name, value in request.get("input", {}).items()
        }
        results = self.results_dir
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

    # ------------------------------------------------------------------ queries
    def snapshot(self, record: TaskRecord, now: float | None = None) -> Snapshot:
        at = self.now() if now is None else now
        return derive(record, self.timing(record.model).statuses, at, self.timeout_seconds)

    def expired(self, record: TaskRecord, now: float) -> bool:
        return now - record.submit_at > self.retention_seconds

    def find(self, key: str, task_id: str) -> TaskRecord | None:
        """The caller's task, or ``None`` (unknown, another key's, or past retention: the API says UNKNOWN)."""
        record = self.store.get_task(task_id)
        if record is None or record.key != key or self.expired(record, self.now()):
            return None
        return record

    def cancel(self, key: str, task_id: str) -> None:
        record = self.find(key, task_id)
        if record is not None:
            scenario = self.scenarios.take(record.model, "cancel")
            if scenario is not None and scenario.entry is not None:
                raise scenario.error(self.config.retry_after_seconds)
        now = self.now()

        def change(draft: TaskRecord) -> bool:
            if self.snapshot(draft, now).status != "PENDING":
                return False
            draft.canceled_at = now
            return True

        written = update_task(self.store, task_id, change) if record is not None else None
        if written is None:
            raise catalogue_error("UnsupportedOperation", reason="cancel_not_pending")
        self.store.close_in_queue(written)
        self.store.work.finish(task_id)  # a worker that has it already: its result is dropped
        self.scheduler.replan(written.key, written.model)

    def listed(
        self, key: str, query: Mapping[str, Any], list_status: Callable[[str], str]
    ) -> list[tuple[TaskRecord, Snapshot]]:
        """The caller's tasks of the last ``task_retention_hours`` matching the list filters, newest first."""
        now = self.now()
        start = _list_time(query.get("start_time"), self.tz)
        end = _list_time(query.get("end_time"), self.tz)
        wanted_status = query.get("status")
        found: list[tuple[TaskRecord, Snapshot]] = []
        for record in reversed(self.store.tasks_of(key)):
            if self.expired(record, now):
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
            if wanted_status and list_status(snap.status) != wanted_status:
                continue
            found.append((record, snap))
        return found

    def everything(self) -> list[tuple[TaskRecord, Snapshot, bool]]:
        """Every task of every key with its snapshot and whether it is past retention (control plane)."""
        now = self.now()
        return [(record, self.snapshot(record, now), self.expired(record, now)) for record in self.store.all_tasks()]

    def recent(self, limit: int) -> list[tuple[TaskRecord, Snapshot, bool]]:
        """The ``limit`` newest tasks of every key, newest first, as ``everything`` gives them (the change feed)."""
        now = self.now()
        return [
            (record, self.snapshot(record, now), self.expired(record, now)) for record in self.store.recent_tasks(limit)
        ]

    def timeline(self, record: TaskRecord, now: float | None = None) -> list[tuple[str, float]]:
        """The statuses the task has reached, with the clock time each began (``lifecycle.timeline``)."""
        at = self.now() if now is None else now
        return timeline(record, self.timing(record.model).statuses, at, self.timeout_seconds)

    def purge(self) -> int:
        """Forget tasks past retention whose result link has expired too."""
        now = self.now()
        gone = []
        for record in self.store.all_tasks():
            if now - record.submit_at <= self.retention_seconds:
                continue
            snap = self.snapshot(record, now)
            if snap.end_at is None or now - snap.end_at > self.validity_seconds:
                gone.append(record.task_id)
        self.store.delete_tasks(gone)
        return len(gone)
