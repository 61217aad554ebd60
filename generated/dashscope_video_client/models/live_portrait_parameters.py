from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar

from attrs import define as _attrs_define

from ..models.live_portrait_parameters_template_id import (
    LivePortraitParametersTemplateId,
    check_live_portrait_parameters_template_id,
)
from ..types import UNSET, Unset

T = TypeVar("T", bound="LivePortraitParameters")


@_attrs_define
class LivePortraitParameters:
    template_id: LivePortraitParametersTemplateId | Unset = "normal"
    """ Head-movement template — normal (moderate), calm (broadcasting), active (singing). """
    eye_move_freq: float | Unset = 0.5
    """ Blinks per second. """
    video_fps: int | Unset = 24
    """ Output frame rate. """
    mouth_move_strength: float | Unset = 1.0
    """ Mouth movement magnitude; 0 disables it. """
    paste_back: bool | Unset = True
    """ Paste the generated face back onto the original image; false returns the face only. """
    head_move_strength: float | Unset = 0.7
    """ Head movement magnitude. """

    def to_dict(self) -> dict[str, Any]:
        template_id: str | Unset = UNSET
        if not isinstance(self.template_id, Unset):
            template_id = self.template_id

        eye_move_freq = self.eye_move_freq

        video_fps = self.video_fps

        mouth_move_strength = self.mouth_move_strength

        paste_back = self.paste_back

        head_move_strength = self.head_move_strength

        field_dict: dict[str, Any] = {}

        field_dict.update({})
        if template_id is not UNSET:
            field_dict["template_id"] = template_id
        if eye_move_freq is not UNSET:
            field_dict["eye_move_freq"] = eye_move_freq
        if video_fps is not UNSET:
            field_dict["video_fps"] = video_fps
        if mouth_move_strength is not UNSET:
            field_dict["mouth_move_strength"] = mouth_move_strength
        if paste_back is not UNSET:
            field_dict["paste_back"] = paste_back
        if head_move_strength is not UNSET:
            field_dict["head_move_strength"] = head_move_strength

        return field_dict

    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        d = dict(src_dict)
        _template_id = d.pop("template_id", UNSET)
        template_id: LivePortraitParametersTemplateId | Unset
        if isinstance(_template_id, Unset):
            template_id = UNSET
        else:
            template_id = check_live_portrait_parameters_template_id(_template_id)

        eye_move_freq = d.pop("eye_move_freq", UNSET)

        video_fps = d.pop("video_fps", UNSET)

        mouth_move_strength = d.pop("mouth_move_strength", UNSET)

        paste_back = d.pop("paste_back", UNSET)

        head_move_strength = d.pop("head_move_strength", UNSET)

        live_portrait_parameters = cls(
            template_id=template_id,
            eye_move_freq=eye_move_freq,
            video_fps=video_fps,
            mouth_move_strength=mouth_move_strength,
            paste_back=paste_back,
            head_move_strength=head_move_strength,
        )

        return live_portrait_parameters
