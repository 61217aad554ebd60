from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar, cast

from attrs import define as _attrs_define

from ..models.task_status import TaskStatus, check_task_status

T = TypeVar("T", bound="SubmitResponseOutput")


@_attrs_define
class SubmitResponseOutput:
    task_id: str
    task_status: str | TaskStatus
    """ A `TaskStatus`, or a status added by the service later (treat it as not terminal). """

    def to_dict(self) -> dict[str, Any]:
        task_id = self.task_id

        task_status: str
        if isinstance(self.task_status, str):
            task_status = self.task_status
        else:
            task_status = self.task_status

        field_dict: dict[str, Any] = {}

        field_dict.update(
            {
                "task_id": task_id,
                "task_status": task_status,
            }
        )

        return field_dict

    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        d = dict(src_dict)
        task_id = d.pop("task_id")

        def _parse_task_status(data: object) -> str | TaskStatus:
            try:
                if not isinstance(data, str):
                    raise TypeError()
                componentsschemas_task_status_value_type_0 = check_task_status(data)

                return componentsschemas_task_status_value_type_0
            except (TypeError, ValueError, AttributeError, KeyError):
                pass
            return cast(str | TaskStatus, data)

        task_status = _parse_task_status(d.pop("task_status"))

        submit_response_output = cls(
            task_id=task_id,
            task_status=task_status,
        )

        return submit_response_output
