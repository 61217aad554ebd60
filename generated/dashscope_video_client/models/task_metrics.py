from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar

from attrs import define as _attrs_define

from ..types import UNSET, Unset

T = TypeVar("T", bound="TaskMetrics")


@_attrs_define
class TaskMetrics:
    """Sub-task counts some task types report."""

    total: int | Unset = UNSET
    succeeded: int | Unset = UNSET
    failed: int | Unset = UNSET

    def to_dict(self) -> dict[str, Any]:
        total = self.total

        succeeded = self.succeeded

        failed = self.failed

        field_dict: dict[str, Any] = {}

        field_dict.update({})
        if total is not UNSET:
            field_dict["TOTAL"] = total
        if succeeded is not UNSET:
            field_dict["SUCCEEDED"] = succeeded
        if failed is not UNSET:
            field_dict["FAILED"] = failed

        return field_dict

    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        d = dict(src_dict)
        total = d.pop("TOTAL", UNSET)

        succeeded = d.pop("SUCCEEDED", UNSET)

        failed = d.pop("FAILED", UNSET)

        task_metrics = cls(
            total=total,
            succeeded=succeeded,
            failed=failed,
        )

        return task_metrics
