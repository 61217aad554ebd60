from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar, cast

from attrs import define as _attrs_define

from ..types import UNSET, Unset

T = TypeVar("T", bound="EmoDetectOutput")


@_attrs_define
class EmoDetectOutput:
    check_pass: bool
    face_bbox: list[int] | Unset = UNSET
    """ `[x1, y1, x2, y2]` in pixels, as returned by emo-detect-v1. """
    ext_bbox: list[int] | Unset = UNSET
    """ `[x1, y1, x2, y2]` in pixels, as returned by emo-detect-v1. """
    code: str | Unset = UNSET
    """ When the check failed, why (e.g. `InvalidFile.NoHuman`). """
    message: str | Unset = UNSET

    def to_dict(self) -> dict[str, Any]:
        check_pass = self.check_pass

        face_bbox: list[int] | Unset = UNSET
        if not isinstance(self.face_bbox, Unset):
            face_bbox = self.face_bbox

        ext_bbox: list[int] | Unset = UNSET
        if not isinstance(self.ext_bbox, Unset):
            ext_bbox = self.ext_bbox

        code = self.code

        message = self.message

        field_dict: dict[str, Any] = {}

        field_dict.update(
            {
                "check_pass": check_pass,
            }
        )
        if face_bbox is not UNSET:
            field_dict["face_bbox"] = face_bbox
        if ext_bbox is not UNSET:
            field_dict["ext_bbox"] = ext_bbox
        if code is not UNSET:
            field_dict["code"] = code
        if message is not UNSET:
            field_dict["message"] = message

        return field_dict

    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        d = dict(src_dict)
        check_pass = d.pop("check_pass")

        face_bbox = cast(list[int], d.pop("face_bbox", UNSET))

        ext_bbox = cast(list[int], d.pop("ext_bbox", UNSET))

        code = d.pop("code", UNSET)

        message = d.pop("message", UNSET)

        emo_detect_output = cls(
            check_pass=check_pass,
            face_bbox=face_bbox,
            ext_bbox=ext_bbox,
            code=code,
            message=message,
        )

        return emo_detect_output
