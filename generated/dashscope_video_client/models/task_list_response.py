from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, TypeVar

from attrs import define as _attrs_define

if TYPE_CHECKING:
    from ..models.task_list_item import TaskListItem


T = TypeVar("T", bound="TaskListResponse")


@_attrs_define
class TaskListResponse:
    request_id: str
    total: int
    total_page: int
    page_no: int
    page_size: int
    data: list[TaskListItem]

    def to_dict(self) -> dict[str, Any]:
        request_id = self.request_id

        total = self.total

        total_page = self.total_page

        page_no = self.page_no

        page_size = self.page_size

        data = []
        for data_item_data in self.data:
            data_item = data_item_data.to_dict()
            data.append(data_item)

        field_dict: dict[str, Any] = {}

        field_dict.update(
            {
                "request_id": request_id,
                "total": total,
                "total_page": total_page,
                "page_no": page_no,
                "page_size": page_size,
                "data": data,
            }
        )

        return field_dict

    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        from ..models.task_list_item import TaskListItem  # noqa: PLC0415

        d = dict(src_dict)
        request_id = d.pop("request_id")

        total = d.pop("total")

        total_page = d.pop("total_page")

        page_no = d.pop("page_no")

        page_size = d.pop("page_size")

        data = []
        _data = d.pop("data")
        for data_item_data in _data:
            data_item = TaskListItem.from_dict(data_item_data)

            data.append(data_item)

        task_list_response = cls(
            request_id=request_id,
            total=total,
            total_page=total_page,
            page_no=page_no,
            page_size=page_size,
            data=data,
        )

        return task_list_response
