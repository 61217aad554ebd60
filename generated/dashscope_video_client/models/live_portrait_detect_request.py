from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, TypeVar

from attrs import define as _attrs_define

from ..models.live_portrait_detect_request_model import (
    LivePortraitDetectRequestModel,
    check_live_portrait_detect_request_model,
)

if TYPE_CHECKING:
    from ..models.detect_input import DetectInput


T = TypeVar("T", bound="LivePortraitDetectRequest")


@_attrs_define
class LivePortraitDetectRequest:
    """No `parameters`."""

    model: LivePortraitDetectRequestModel
    input_: DetectInput

    def to_dict(self) -> dict[str, Any]:
        model: str = self.model

        input_ = self.input_.to_dict()

        field_dict: dict[str, Any] = {}

        field_dict.update(
            {
                "model": model,
                "input": input_,
            }
        )

        return field_dict

    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        from ..models.detect_input import DetectInput  # noqa: PLC0415

        d = dict(src_dict)
        model = check_live_portrait_detect_request_model(d.pop("model"))

        input_ = DetectInput.from_dict(d.pop("input"))

        live_portrait_detect_request = cls(
            model=model,
            input_=input_,
        )

        return live_portrait_detect_request
