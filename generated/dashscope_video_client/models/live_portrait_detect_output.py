from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar

from attrs import define as _attrs_define

from ..types import UNSET, Unset

T = TypeVar("T", bound="LivePortraitDetectOutput")


@_attrs_define
class LivePortraitDetectOutput:
    pass_: bool
    """ `pass`, not `check_pass`. """
    message: str | Unset = UNSET

    def to_dict(self) -> dict[str, Any]:
        pass_ = self.pass_

        message = self.message

        field_dict: dict[str, Any] = {}

        field_dict.update(
            {
                "pass": pass_,
            }
        )
        if message is not UNSET:
            field_dict["message"] = message

        return field_dict

    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        d = dict(src_dict)
        pass_ = d.pop("pass")

        message = d.pop("message", UNSET)

        live_portrait_detect_output = cls(
            pass_=pass_,
            message=message,
        )

        return live_portrait_detect_output
