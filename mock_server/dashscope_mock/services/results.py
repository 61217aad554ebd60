"""Result links of succeeded tasks, as the service's OSS links: signed with the state's secret (``signing``),
expiring ``x-limits.result_url_validity_hours`` after the task's end, refused when tampered with; the control plane
(its token) fetches any result."""

from __future__ import annotations

import logging
from pathlib import Path

from ..domain.lifecycle import Snapshot
from ..domain.records import TaskRecord
from ..domain.signing import signed_result_url, valid_result_signature
from ..seam import PLACEHOLDER_MP4
from .tasks import TaskService

__all__ = ["ResultLinks"]

logger = logging.getLogger("dashscope_mock")


class ResultLinks:
    def __init__(self, tasks: TaskService) -> None:
        self.tasks = tasks
        self.store = tasks.store
        self.now = tasks.now
        self.validity_seconds = tasks.validity_seconds

    def snapshot(self, record: TaskRecord, now: float) -> Snapshot:
        return self.tasks.snapshot(record, now)

    def result_url(self, base_url: str, record: TaskRecord, snap: Snapshot) -> str:
        """The signed link of a succeeded task's result, valid ``result_url_validity_hours`` after its end; ``""``
        before."""
        if snap.status != "SUCCEEDED" or snap.end_at is None:
            return ""
        expires = int(snap.end_at + self.validity_seconds)
        return signed_result_url(base_url, self.store.secret(), record.task_id, expires)

    def result(
        self, task_id: str, expires: int | None, signature: str | None, *, trusted: bool = False
    ) -> tuple[bytes | Path | None, str | None]:
        """The result file of a task: ``(content or path, None)`` or ``(None, reason)``, reason one of
        ``x-oss-errors``: ``private`` (no signature, and not the control plane), ``signature`` (tampered),
        ``link_expired`` (past its ``Expires``) or ``missing``."""
        if not trusted:
            if expires is None or signature is None:
                return None, "private"
            if not valid_result_signature(self.store.secret(), task_id, expires, signature):
                return None, "signature"
            if self.now() > expires:
                return None, "link_expired"
        record = self.store.get_task(task_id)
        if record is None:
            return None, "missing"
        now = self.now()
        snap = self.snapshot(record, now)
        if snap.status != "SUCCEEDED" or snap.end_at is None:
            return None, "missing"
        if now - snap.end_at > self.validity_seconds:
            return None, "link_expired"
        if record.result_path:
            path = Path(record.result_path)
            if not path.is_file():  # rendered on another host, or its folder was removed
                logger.error("task %s: result file %s is not on this host", task_id, path)
                return None, "missing"
            return path, None
        return PLACEHOLDER_MP4, None
