"""What ``wait`` reports, and how it reads a status.

Statuses come from the spec (``TaskStatus`` and its ``x-terminal`` list). The four terminal ones are named below as
values of the *generated* ``TaskStatus`` literal, so mypy checks them against the spec, and an import-time check makes
sure the spec's terminal set is exactly them. Any other value — ``PENDING``, ``RUNNING``, ``PRE-PROCESSING``,
``SUSPENDED`` or a status the service adds later — means "keep polling".
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Final, TypeAlias

from dashscope_openapi import terminal_statuses
from dashscope_video_client.models import TaskResponse, TaskStatus

from ._errors import APIError

__all__ = ["ProgressCallback", "WaitProgress"]

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
    task: TaskResponse | None
    polls: int
    elapsed: float
    next_poll_in: float
    error: APIError | None = None


ProgressCallback: TypeAlias = Callable[[WaitProgress], object]


def status_of(task: TaskResponse) -> str:
    return str(task.output.task_status)
