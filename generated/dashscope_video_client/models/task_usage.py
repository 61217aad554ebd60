from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar, cast

from attrs import define as _attrs_define

from ..models.video_ratio import VideoRatio, check_video_ratio
from ..types import UNSET, Unset

T = TypeVar("T", bound="TaskUsage")


@_attrs_define
class TaskUsage:
    video_duration: float | Unset = UNSET
    """ Seconds of generated video (billed). """
    video_ratio: str | Unset | VideoRatio = UNSET

    def to_dict(self) -> dict[str, Any]:
        video_duration = self.video_duration

        video_ratio: str | Unset
        if isinstance(self.video_ratio, Unset):
            video_ratio = UNSET
        elif isinstance(self.video_ratio, str):
            video_ratio = self.video_ratio
        else:
            video_ratio = self.video_ratio

        field_dict: dict[str, Any] = {}

        field_dict.update({})
        if video_duration is not UNSET:
            field_dict["video_duration"] = video_duration
        if video_ratio is not UNSET:
            field_dict["video_ratio"] = video_ratio

        return field_dict

    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        d = dict(src_dict)
        video_duration = d.pop("video_duration", UNSET)

        def _parse_video_ratio(data: object) -> str | Unset | VideoRatio:
            if isinstance(data, Unset):
                return data
            try:
                if not isinstance(data, str):
                    raise TypeError()
                componentsschemas_video_ratio_value_type_0 = check_video_ratio(data)

                return componentsschemas_video_ratio_value_type_0
            except (TypeError, ValueError, AttributeError, KeyError):
                pass
            return cast(str | Unset | VideoRatio, data)

        video_ratio = _parse_video_ratio(d.pop("video_ratio", UNSET))

        task_usage = cls(
            video_duration=video_duration,
            video_ratio=video_ratio,
        )

        return task_usage
