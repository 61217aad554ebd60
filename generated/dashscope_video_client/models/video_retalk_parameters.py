from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar

from attrs import define as _attrs_define

from ..types import UNSET, Unset

T = TypeVar("T", bound="VideoRetalkParameters")


@_attrs_define
class VideoRetalkParameters:
    video_extension: bool | Unset = False
    """ When the audio is longer than the video: true extends the video by alternating reversed and forward
    playback up to the audio's length; false keeps the shorter of the two.
     """

    def to_dict(self) -> dict[str, Any]:
        video_extension = self.video_extension

        field_dict: dict[str, Any] = {}

        field_dict.update({})
        if video_extension is not UNSET:
            field_dict["video_extension"] = video_extension

        return field_dict

    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        d = dict(src_dict)
        video_extension = d.pop("video_extension", UNSET)

        video_retalk_parameters = cls(
            video_extension=video_extension,
        )

        return video_retalk_parameters
