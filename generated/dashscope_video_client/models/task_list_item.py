from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar, cast

from attrs import define as _attrs_define

from ..models.task_status import TaskStatus, check_task_status
from ..types import UNSET, Unset

T = TypeVar("T", bound="TaskListItem")


@_attrs_define
class TaskListItem:
    task_id: str
    status: str | TaskStatus
    """ A `TaskStatus`, or a status added by the service later (treat it as not terminal). """
    model_name: str | Unset = UNSET
    region: str | Unset = UNSET
    request_id: str | Unset = UNSET
    api_key_id: str | Unset = UNSET
    caller_uid: str | Unset = UNSET
    caller_parent_id: str | Unset = UNSET
    gmt_create: int | Unset = UNSET
    """ Epoch milliseconds. """
    start_time: int | Unset = UNSET
    end_time: int | Unset = UNSET
    user_api_unique_key: str | Unset = UNSET

    def to_dict(self) -> dict[str, Any]:
        task_id = self.task_id

        status: str
        if isinstance(self.status, str):
            status = self.status
        else:
            status = self.status

        model_name = self.model_name

        region = self.region

        request_id = self.request_id

        api_key_id = self.api_key_id

        caller_uid = self.caller_uid

        caller_parent_id = self.caller_parent_id

        gmt_create = self.gmt_create

        start_time = self.start_time

        end_time = self.end_time

        user_api_unique_key = self.user_api_unique_key

        field_dict: dict[str, Any] = {}

        field_dict.update(
            {
                "task_id": task_id,
                "status": status,
            }
        )
        if model_name is not UNSET:
            field_dict["model_name"] = model_name
        if region is not UNSET:
            field_dict["region"] = region
        if request_id is not UNSET:
            field_dict["request_id"] = request_id
        if api_key_id is not UNSET:
            field_dict["api_key_id"] = api_key_id
        if caller_uid is not UNSET:
            field_dict["caller_uid"] = caller_uid
        if caller_parent_id is not UNSET:
            field_dict["caller_parent_id"] = caller_parent_id
        if gmt_create is not UNSET:
            field_dict["gmt_create"] = gmt_create
        if start_time is not UNSET:
            field_dict["start_time"] = start_time
        if end_time is not UNSET:
            field_dict["end_time"] = end_time
        if user_api_unique_key is not UNSET:
            field_dict["user_api_unique_key"] = user_api_unique_key

        return field_dict

    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        d = dict(src_dict)
        task_id = d.pop("task_id")

        def _parse_status(data: object) -> str | TaskStatus:
            try:
                if not isinstance(data, str):
                    raise TypeError()
                componentsschemas_task_status_value_type_0 = check_task_status(data)

                return componentsschemas_task_status_value_type_0
            except (TypeError, ValueError, AttributeError, KeyError):
                pass
            return cast(str | TaskStatus, data)

        status = _parse_status(d.pop("status"))

        model_name = d.pop("model_name", UNSET)

        region = d.pop("region", UNSET)

        request_id = d.pop("request_id", UNSET)

        api_key_id = d.pop("api_key_id", UNSET)

        caller_uid = d.pop("caller_uid", UNSET)

        caller_parent_id = d.pop("caller_parent_id", UNSET)

        gmt_create = d.pop("gmt_create", UNSET)

        start_time = d.pop("start_time", UNSET)

        end_time = d.pop("end_time", UNSET)

        user_api_unique_key = d.pop("user_api_unique_key", UNSET)

        task_list_item = cls(
            task_id=task_id,
            status=status,
            model_name=model_name,
            region=region,
            request_id=request_id,
            api_key_id=api_key_id,
            caller_uid=caller_uid,
            caller_parent_id=caller_parent_id,
            gmt_create=gmt_create,
            start_time=start_time,
            end_time=end_time,
            user_api_unique_key=user_api_unique_key,
        )

        return task_list_item
