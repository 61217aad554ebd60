"""Task status, derived lazily from a record's timestamps and the clock.

A task waits PENDING until ``start_at`` (a free slot of its key, see ``services.scheduling``) and until a media
worker has taken its work from the queue (``claimed_at``: the queue decides what can run, the clock when statuses
show); from the later of the two it walks the model's working
phases (``RUNNING``; emo-v1 ``PRE-PROCESSING`` → ``RUNNING`` → ``POST-PROCESSING``). The outcome gate sits at the end
of ``RUNNING``: a task whose outcome is not known yet (the media pipeline still works) stays RUNNING; a failure ends
the task FAILED at ``max(end of RUNNING, known_at)``; a success goes through the remaining phases from that point
to SUCCEEDED. A task whose outcome is still unknown ``x-limits.task_timeout_hours`` after it started ends FAILED
with ``InternalError.Timeout``, as the service does. Nothing runs in the background: 100,000 idle tasks cost only
their records. ``timeline`` lists the statuses a task has gone through, by the same rules. A replayed task
(``TaskRecord.replay``) shows its recording's statuses at their offsets from the submit instead.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

from dashscope_openapi import terminal_statuses

from .records import TaskRecord

__all__ = ["Snapshot", "derive", "replay_status", "timeline"]

GATE_STATUS = "RUNNING"
# Recorded offsets have millisecond resolution; clock readings near 1.8e9 s differ from their sum by ~1e-7 s.
REPLAY_SLACK = 1e-6


@dataclass(frozen=True, slots=True)
class Snapshot:
    status: str
    scheduled_at: float | None = None
    end_at: float | None = None
    timed_out: bool = False

    @property
    def failed(self) -> bool:
        return self.status == "FAILED"


def _walk(statuses: tuple[str, ...], durations: tuple[float, ...], start: float, now: float, stop: int) -> str:
    """The working status at ``now`` among phases ``[0, stop]``; clamps at phase ``stop``."""
    at = start
    for index in range(stop + 1):
        at += durations[index]
        if now < at:
            return statuses[index]
    return statuses[stop]


def gate_index(statuses: tuple[str, ...]) -> int:
    return statuses.index(GATE_STATUS) if GATE_STATUS in statuses else len(statuses) - 1


def begin_at(record: TaskRecord) -> float:
    """When the working phases start: ``start_at``, or later when the work was claimed later (or, not claimed yet,
    the earliest it can be)."""
    claimed = record.claimed_at
    return record.start_at if claimed is None or claimed <= record.start_at else claimed


def planned_end(record: TaskRecord, statuses: tuple[str, ...]) -> float:
    """When the task will end if nothing delays it (used to queue the next task of a slot)."""
    if record.replay is not None:
        return record.canceled_at if record.canceled_at is not None else record.submit_at
    if record.canceled_at is not None and record.canceled_at <= begin_at(record):
        return record.canceled_at
    gate = gate_index(statuses)
    running_end = begin_at(record) + sum(record.durations[: gate + 1])
    if record.known_at is not None:
        running_end = max(running_end, record.known_at)
    if record.failure_code is not None:
        return running_end
    return running_end + sum(record.durations[gate + 1 :])


def derive(record: TaskRecord, statuses: tuple[str, ...], now: float, timeout_seconds: float) -> Snapshot:
    if record.canceled_at is not None and now >= record.canceled_at:
        return Snapshot("CANCELED", None, record.canceled_at)
    if record.replay is not None:
        return _replayed(record, now)
    if record.claimed_at is None and record.known_at is None:
        return Snapshot("PENDING")  # queued: no worker has its work yet
    start = begin_at(record)
    if now < start:
        return Snapshot("PENDING")
    durations = record.durations
    gate = gate_index(statuses)
    running_end = start + sum(durations[: gate + 1])
    known = record.known_at
    if known is None:
        if now >= start + timeout_seconds:
            return Snapshot("FAILED", start, start + timeout_seconds, timed_out=True)
        return Snapshot(_walk(statuses, durations, start, now, gate), start)
    opened = max(running_end, known)
    if now < opened:
        return Snapshot(_walk(statuses, durations, start, now, gate), start)
    if record.failure_code is not None:
        return Snapshot("FAILED", start, opened)
    at = opened
    for index in range(gate + 1, len(statuses)):
        at += durations[index]
        if now < at:
            return Snapshot(statuses[index], start)
    return Snapshot("SUCCEEDED", start, at)


def replay_points(points_json: str) -> list[tuple[float, str]]:
    """``TaskRecord.replay``: (offset seconds from the submit, status), in order."""
    return [(float(offset), str(status)) for offset, status in json.loads(points_json)]


def replay_status(points_json: str, elapsed: float) -> tuple[str, float | None, float | None]:
    """The status ``elapsed`` seconds after the submit, when it was first scheduled (its first status past PENDING)
    and when it ended (a terminal status), as offsets."""
    status, started, ended = "PENDING", None, None
    for offset, name in replay_points(points_json):
        if offset > elapsed + REPLAY_SLACK:
            break
        status = name
        if started is None and status != "PENDING":
            started = offset
        if status in terminal_statuses():
            ended = offset
    return status, started, ended


def _replayed(record: TaskRecord, now: float) -> Snapshot:
    assert record.replay is not None
    status, started, ended = replay_status(record.replay, now - record.submit_at)
    at = record.submit_at
    return Snapshot(status, None if started is None else at + started, None if ended is None else at + ended)


def timeline(
    record: TaskRecord, statuses: tuple[str, ...], now: float, timeout_seconds: float
) -> list[tuple[str, float]]:
    """Each status the task has reached by ``now``, in order, with the clock time it began: PENDING at submit, then
    what ``derive`` answers at each instant where its answer can change (the phases' ends, the outcome gate, the
    timeout, the cancel), so that the timeline never says anything ``derive`` would not have said at that time. A
    phase of no length is never reached."""
    if record.replay is not None:
        points = [("PENDING", record.submit_at)]
        for offset, status in replay_points(record.replay):
            instant = record.submit_at + offset
            if record.canceled_at is not None and instant >= record.canceled_at:
                break
            if instant <= now + REPLAY_SLACK and status != points[-1][0]:
                points.append((status, instant))
        if record.canceled_at is not None and record.canceled_at <= now:
            points.append(("CANCELED", record.canceled_at))
        return points
    start = begin_at(record)
    gate = gate_index(statuses)
    durations = record.durations
    instants = [record.submit_at, start, start + timeout_seconds]
    at = start
    for seconds in durations[: gate + 1]:
        at += seconds
        instants.append(at)
    if record.known_at is not None:
        at = max(at, record.known_at)
        instants.append(at)
        for seconds in durations[gate + 1 :]:
            at += seconds
            instants.append(at)
    if record.canceled_at is not None:
        instants.append(record.canceled_at)
    points = [("PENDING", record.submit_at)]
    for instant in sorted({i for i in instants if record.submit_at <= i <= now}):
        status = derive(record, statuses, instant, timeout_seconds).status
        if status != points[-1][0]:
            points.append((status, instant))
    return points
