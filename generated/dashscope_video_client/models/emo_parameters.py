from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar

from attrs import define as _attrs_define

from ..models.emo_parameters_style_level import EmoParametersStyleLevel, check_emo_parameters_style_level
from ..types import UNSET, Unset

T = TypeVar("T", bound="EmoParameters")


@_attrs_define
class EmoParameters:
    style_level: EmoParametersStyleLevel | Unset = "normal"
    """ Motion style — moderate, calm or lively. """

    def to_dict(self) -> dict[str, Any]:
        style_level: str | Unset = UNSET
        if not isinstance(self.style_level, Unset):
            style_level = self.style_level

        field_dict: dict[str, Any] = {}

        field_dict.update({})
        if style_level is not UNSET:
            field_dict["style_level"] = style_level

        return field_dict

    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        d = dict(src_dict)
        _style_level = d.pop("style_level", UNSET)
        style_level: EmoParametersStyleLevel | Unset
        if isinstance(_style_level, Unset):
            style_level = UNSET
        else:
            style_level = check_emo_parameters_style_level(_style_level)

        emo_parameters = cls(
            style_level=style_level,
        )

        return emo_parameters
