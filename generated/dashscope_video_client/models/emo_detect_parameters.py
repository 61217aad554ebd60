from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar

from attrs import define as _attrs_define

from ..models.emo_detect_parameters_ratio import EmoDetectParametersRatio, check_emo_detect_parameters_ratio
from ..types import UNSET, Unset

T = TypeVar("T", bound="EmoDetectParameters")


@_attrs_define
class EmoDetectParameters:
    ratio: EmoDetectParametersRatio | Unset = "1:1"
    """ `1:1` head shot, `3:4` half body; the `ext_bbox` has this aspect ratio. """

    def to_dict(self) -> dict[str, Any]:
        ratio: str | Unset = UNSET
        if not isinstance(self.ratio, Unset):
            ratio = self.ratio

        field_dict: dict[str, Any] = {}

        field_dict.update({})
        if ratio is not UNSET:
            field_dict["ratio"] = ratio

        return field_dict

    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        d = dict(src_dict)
        _ratio = d.pop("ratio", UNSET)
        ratio: EmoDetectParametersRatio | Unset
        if isinstance(_ratio, Unset):
            ratio = UNSET
        else:
            ratio = check_emo_detect_parameters_ratio(_ratio)

        emo_detect_parameters = cls(
            ratio=ratio,
        )

        return emo_detect_parameters
