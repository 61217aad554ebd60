"""Tasks: query, cancel, list, wait for and download the result of any task.

A task is given as a ``TaskHandle`` (from a submit: the result is typed for its model), a ``Task`` (from an earlier
query) or a bare task id (the result is a plain ``VideoResult``).
"""

from __future__ import annotations

import os
from collections.abc import AsyncIterator, Callable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Concatenate, ParamSpec, TypeAlias, cast

from .. import _effects as fx
from .._resource import (
    AsyncAPIResource,
    Plans,
    PlansT,
    SyncAPIResource,
    awaitable,
    blocking,
    named_after,
    run_async,
    run_sync,
)
from .._retry import PollPolicy
from .._wire import cancel_call, get_call, list_call
from ..lib import downloads, waiting
from ..lib.waiting import ProgressCallback
from ..types import R, SucceededTask, Task, TaskHandle, TaskStatus, TaskSummary, VideoResult

__all__ = ["AsyncTasks", "TaskPage", "TaskPlans", "TaskRef", "Tasks"]

TaskRef: TypeAlias = "str | TaskHandle[R] | Task[R]"
P = ParamSpec("P")


def _identify(task: str | TaskHandle[R] | Task[R]) -> tuple[str, type[R]]:
    if isinstance(task, str):
        return task, cast("type[R]", VideoResult)
    return task.task_id, task.result_type


@dataclass(frozen=True)
class TaskPage:
    """One page of ``tasks.list``; ``tasks.iter`` walks every page."""

    data: list[TaskSummary]
    total: int
    page_no: int
    page_size: int
    total_page: int
    request_id: str | None = None
    raw: Mapping[str, Any] = field(default_factory=dict, repr=False, compare=False)

    @property
    def next_page_no(self) -> int | None:
        return self.page_no + 1 if self.page_no < self.total_page and self.data else None


class TaskPlans(Plans):
    def get(self, task: str | TaskHandle[R] | Task[R]) -> fx.Plan[Task[R]]:
        """Query a task once (retried on 429/5xx/network; counts against the account's query rate)."""
        task_id, result_type = _identify(task)
        call = get_call(task_id)
        response = yield from self._client.send(lambda: self._client.build(call), idempotent=True, limited=True)
        return self._client.read_task(response, result_type)

    def cancel(self, task: str | TaskHandle[Any] | Task[Any]) -> fx.Plan[str | None]:
        """Cancel a PENDING task (any other status: ``BadRequestError[UnsupportedOperation]``); returns the
        request id."""
        task_id, _ = _identify(task)
        answer = yield from self._client.call(cancel_call(task_id), "cancel", idempotent=True, limited=True)
        request_id: str | None = answer.get("request_id")
        return request_id

    def list(
        self,
        *,
        status: TaskStatus | None = None,
        model_name: str | None = None,
        start_time: str | None = None,
        end_time: str | None = None,
        task_id: str | None = None,
        region: str | None = None,
        api_key_id: str | None = None,
        page_no: int = 1,
        page_size: int = 10,
    ) -> fx.Plan[TaskPage]:
        """One page of the account's tasks, newest first (times ``YYYYMMDDhhmmss``)."""
        filters = dict(locals())
        del filters["self"]
        answer = yield from self._client.call(list_call(filters), "list", idempotent=True, limited=True)
        return TaskPage(
            data=[TaskSummary._from_item(item) for item in answer["data"]],
            total=answer["total"],
            page_no=answer["page_no"],
            page_size=answer["page_size"],
            total_page=answer["total_page"],
            request_id=answer.get("request_id"),
            raw=answer,
        )

    def wait(
        self,
        task: str | TaskHandle[R] | Task[R],
        *,
        timeout: float | None = None,
        poll: PollPolicy | None = None,
        on_progress: ProgressCallback | None = None,
        cancel_on_timeout: bool = False,
    ) -> fx.Plan[SucceededTask[R]]:
        """Poll until the task ends; return it on SUCCEEDED.

        ``timeout``: overall deadline in seconds (default: the spec's ``task_timeout_hours``). Polls at once, then
        every ``poll.initial_interval`` (1 s) growing to ``poll.max_interval`` (8 s), jittered; honours
        ``Retry-After``; keeps polling through 429, 5xx and network errors; all waits of the process share the
        account's query-rate limit. Raises ``TaskFailed`` (FAILED), ``TaskCanceled``, ``TaskNotFound`` (UNKNOWN),
        ``WaitTimeout`` at the deadline (after canceling the task if ``cancel_on_timeout``), and ``APIStatusError``
        for a non-transient error answer (e.g. 401).
        """
        task_id, result_type = _identify(task)
        return (
            yield from waiting.wait(
                self._client,
                task_id,
                result_type,
                timeout=timeout,
                poll=poll,
                on_progress=on_progress,
                cancel_on_timeout=cancel_on_timeout,
            )
        )

    def download(self, task: str | TaskHandle[Any] | Task[Any], path: str | os.PathLike[str]) -> fx.Plan[Path]:
        """Stream a SUCCEEDED task's result video to ``path``: written to a temporary file in the same folder and
        renamed, so ``path`` is either complete or absent. ``task`` is what ``get`` takes (an id, a handle, a
        ``Task``) or a result URL (``http(s)://``). An id or handle is queried once, never waited on: a task that has
        not ended raises ``TaskNotFinished``, one that ended otherwise raises what ``wait`` would (``TaskFailed``,
        ``TaskCanceled``, ``TaskNotFound``). ``ResultExpired`` on 403; retried on 5xx and network errors."""
        source: Task[Any] | str
        if isinstance(task, Task):
            source = task
        elif isinstance(task, TaskHandle):
            source = yield from self.get(task)
        elif isinstance(task, str):
            source = downloads.as_result_url(task) or (yield from self.get(task))
        else:
            raise TypeError(f"download takes a task id, handle or Task, or a result URL, not {type(task).__name__}")
        return (yield from downloads.download(self._client, source, path))


def _pages_sync(
    plan: Callable[Concatenate[PlansT, P], fx.Plan[TaskPage]],
) -> Callable[Concatenate[SyncAPIResource[PlansT], P], Iterator[TaskSummary]]:
    def walk(self: SyncAPIResource[PlansT], /, *args: P.args, **kwargs: P.kwargs) -> Iterator[TaskSummary]:
        page_no: int | None = cast(int, kwargs.get("page_no", 1))
        while page_no is not None:
            kwargs["page_no"] = page_no
            page = run_sync(self._client, plan(self._plans, *args, **kwargs))
            yield from page.data
            page_no = page.next_page_no

    return named_after(walk, plan, "iter", "Every task over all pages (the filters of ``list``).")


def _pages_async(
    plan: Callable[Concatenate[PlansT, P], fx.Plan[TaskPage]],
) -> Callable[Concatenate[AsyncAPIResource[PlansT], P], AsyncIterator[TaskSummary]]:
    async def walk(self: AsyncAPIResource[PlansT], /, *args: P.args, **kwargs: P.kwargs) -> AsyncIterator[TaskSummary]:
        page_no: int | None = cast(int, kwargs.get("page_no", 1))
        while page_no is not None:
            kwargs["page_no"] = page_no
            page = await run_async(self._client, plan(self._plans, *args, **kwargs))
            for item in page.data:
                yield item
            page_no = page.next_page_no

    return named_after(walk, plan, "iter", "Every task over all pages (the filters of ``list``).")


class Tasks(SyncAPIResource[TaskPlans]):
    _plans_class = TaskPlans
    get = blocking(TaskPlans.get)
    cancel = blocking(TaskPlans.cancel)
    list = blocking(TaskPlans.list)
    iter = _pages_sync(TaskPlans.list)
    wait = blocking(TaskPlans.wait)
    download = blocking(TaskPlans.download)


class AsyncTasks(AsyncAPIResource[TaskPlans]):
    _plans_class = TaskPlans
    get = awaitable(TaskPlans.get)
    cancel = awaitable(TaskPlans.cancel)
    list = awaitable(TaskPlans.list)
    iter = _pages_async(TaskPlans.list)
    wait = awaitable(TaskPlans.wait)
    download = awaitable(TaskPlans.download)
