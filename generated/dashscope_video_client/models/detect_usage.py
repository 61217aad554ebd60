from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar

from attrs import define as _attrs_define

from ..types import UNSET, Unset

T = TypeVar("T", bound="DetectUsage")


@_attrs_define
class DetectUsage:
    image_count: int | Unset = UNSET

    def to_dict(self) -> dict[str, Any]:
        image_count = self.image_count

        field_dict: dict[str, Any] = {}

        field_dict.update({})
        if image_count is not UNSET:
            field_dict["image_count"] = image_count

        return field_dict

    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        d = dict(src_dict)
        image_count = d.pop("image_count", UNSET)

        detect_usage = cls(
            image_count=image_count,
        )

        return detect_usage
