from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, TypeVar

from attrs import define as _attrs_define

from ..types import UNSET, Unset

if TYPE_CHECKING:
    from ..models.task_output import TaskOutput
    from ..models.task_usage import TaskUsage


T = TypeVar("T", bound="TaskResponse")


@_attrs_define
class TaskResponse:
    request_id: str
    output: TaskOutput
    """ One shape for every status. The result URL is model-specific, exactly as documented: liveportrait and
    emo-v1 put it in `results.video_url`, videoretalk in `video_url`. It stays valid 24 h after `end_time`.
     """
    usage: TaskUsage | Unset = UNSET

    def to_dict(self) -> dict[str, Any]:
        request_id = self.request_id

        output = self.output.to_dict()

        usage: dict[str, Any] | Unset = UNSET
        if not isinstance(self.usage, Unset):
            usage = self.usage.to_dict()

        field_dict: dict[str, Any] = {}

        field_dict.update(
            {
                "request_id": request_id,
                "output": output,
            }
        )
        if usage is not UNSET:
            field_dict["usage"] = usage

        return field_dict

    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        from ..models.task_output import TaskOutput  # noqa: PLC0415
        from ..models.task_usage import TaskUsage  # noqa: PLC0415

        d = dict(src_dict)
        request_id = d.pop("request_id")

        output = TaskOutput.from_dict(d.pop("output"))

        _usage = d.pop("usage", UNSET)
        usage: TaskUsage | Unset
        if isinstance(_usage, Unset):
            usage = UNSET
        else:
            usage = TaskUsage.from_dict(_usage)

        task_response = cls(
            request_id=request_id,
            output=output,
            usage=usage,
        )

        return task_response
