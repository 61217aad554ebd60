"""Waiting for a task: poll with a deadline until it ends; return it on SUCCEEDED, raise otherwise.

Statuses come from the spec (``TaskStatus`` and its ``x-terminal`` list). The four terminal ones are named below as
values of the generated ``TaskStatus`` literal, so mypy checks them against the spec, and an import-time check makes
sure the spec's terminal set is exactly them. Any other value — ``PENDING``, ``RUNNING``, ``PRE-PROCESSING``,
``SUSPENDED`` or a status the service adds later — means "keep polling".
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Final, TypeAlias

import httpx

from dashscope_openapi import limits, terminal_statuses

from .. import _effects as fx
from .._base_client import BaseClient, wrap_transport_error
from .._errors import (
    APIError,
    APIResponseValidationError,
    DashScopeError,
    TaskCanceled,
    TaskNotFound,
    WaitTimeout,
    from_response,
    task_failed,
)
from .._retry import PollPolicy, parse_retry_after, status_is_retryable
from .._wire import cancel_call, get_call
from ..types import R, SucceededTask, Task, TaskStatus

__all__ = ["ProgressCallback", "WaitProgress", "default_wait_timeout", "raise_if_finished", "wait"]

SUCCEEDED: Final[TaskStatus] = "SUCCEEDED"
FAILED: Final[TaskStatus] = "FAILED"
CANCELED: Final[TaskStatus] = "CANCELED"
UNKNOWN: Final[TaskStatus] = "UNKNOWN"

if terminal_statuses() != {SUCCEEDED, FAILED, CANCELED, UNKNOWN}:  # pragma: no cover - guards a spec change
    raise ImportError(f"the spec's terminal statuses {sorted(terminal_statuses())} are not the ones wait() handles")


@dataclass(frozen=True)
class WaitProgress:
    """Handed to ``on_progress`` after every poll.

    ``status`` is the last status seen (``None`` before the first successful poll); ``error`` is set when this poll
    failed transiently (429, 5xx, network) and the wait goes on; ``next_poll_in`` is the pause before the next poll.
    """

    task_id: str
    status: str | None
    task: Task[Any] | None
    polls: int
    elapsed: float
    next_poll_in: float
    error: APIError | None = None


ProgressCallback: TypeAlias = Callable[[WaitProgress], object]


def default_wait_timeout() -> float:
    """The default deadline of ``wait``: the service fails a task that has no result after ``task_timeout_hours``
    (``InternalError.Timeout``), so waiting longer cannot help."""
    return float(limits()["task_timeout_hours"]) * 3600.0


def wait(
    client: BaseClient[Any, Any],
    task_id: str,
    result_type: type[R],
    *,
    timeout: float | None,
    poll: PollPolicy | None,
    on_progress: ProgressCallback | None,
    cancel_on_timeout: bool,
) -> fx.Plan[SucceededTask[R]]:
    """The plan behind ``tasks.wait`` (see its docstring there)."""
    policy = poll or client.poll
    clock = client.clock
    total = default_wait_timeout() if timeout is None else float(timeout)
    start = clock.monotonic()
    deadline = start + total
    polls = 0
    last: Task[R] | None = None
    call = get_call(task_id)

    def report(pause: float, error: APIError | None) -> None:
        if on_progress is not None:
            status = last.status if last is not None else None
            on_progress(WaitProgress(task_id, status, last, polls, clock.monotonic() - start, pause, error))

    while True:
        yield from fx.sleep(min(client.limiter.reserve(), max(deadline - clock.monotonic(), 0.0)))
        remaining = deadline - clock.monotonic()
        request = client.build(call, timeout=min(client.timeout, max(remaining, 1.0)))
        error: APIError | None = None
        retry_after: float | None = None
        try:
            response = yield from fx.send(request)
        except httpx.TransportError as exc:
            error = wrap_transport_error(exc)
        else:
            if response.is_success:
                last = client.read_task(response, result_type)
                if isinstance(last, SucceededTask):
                    polls += 1
                    report(0.0, None)
                    return last
                if last.status == SUCCEEDED:  # reported, not waited on forever
                    raise APIResponseValidationError(f"task {task_id} SUCCEEDED without a result", response=response)
                raise_if_finished(last)
            elif status_is_retryable(response):
                error = from_response(response)
                retry_after = parse_retry_after(response)
            else:
                raise from_response(response)
        interval = policy.interval(polls, client.rng)
        polls += 1
        if retry_after is not None:
            interval = max(interval, min(retry_after, policy.max_retry_after))
        remaining = deadline - clock.monotonic()
        # A pause never overshoots the deadline; the poll after a pause that reaches it is the last one.
        pause = max(min(interval, remaining), 0.0)
        report(pause, error)
        if remaining <= 0:
            break
        yield from fx.sleep(pause)
    canceled = False
    if cancel_on_timeout:
        try:
            yield from client.call(cancel_call(task_id), "cancel", idempotent=True, limited=True)
            canceled = True
        except DashScopeError:
            canceled = False
    elapsed = clock.monotonic() - start
    last_status = last.status if last is not None else None
    raise WaitTimeout(
        f"task {task_id} still {last_status or 'unseen'} after {elapsed:.1f} s (deadline {total:g} s)"
        + ("; canceled" if canceled else ""),
        task_id=task_id,
        task=last,
        last_status=last_status,
        elapsed=elapsed,
        canceled=canceled,
    )


def raise_if_finished(task: Task[Any]) -> None:
    """Raise what a task that ended without success means: ``TaskFailed[...]``, ``TaskCanceled`` or ``TaskNotFound``."""
    if task.status == FAILED:
        raise task_failed(task)
    if task.status == CANCELED:
        raise TaskCanceled(f"task {task.task_id} was canceled", task_id=task.task_id, task=task)
    if task.status == UNKNOWN:
        raise TaskNotFound(
            f"task {task.task_id} reads UNKNOWN: no such task for this account, or older than the retention period",
            task_id=task.task_id,
            task=task,
        )
