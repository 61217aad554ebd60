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
    query_face_threshold: int | Unset = UNSET
    """ How closely a face of the video must match the reference face (`input.ref_image_url`) to be the face
    that is re-lip-synced: an integer from 120 to 200; the service uses 170 when it is not sent (no
    `default:` here on purpose: the figures are from third-party copies of the reference, so the SDK sends
    the field only when it is given). Out of range or not an integer: 400 `InvalidParameter`, as for any
    other invalid videoretalk parameter.
     """

    def to_dict(self) -> dict[str, Any]:
        video_extension = self.video_extension

        query_face_threshold = self.query_face_threshold

        field_dict: dict[str, Any] = {}

        field_dict.update({})
        if video_extension is not UNSET:
            field_dict["video_extension"] = video_extension
        if query_face_threshold is not UNSET:
            field_dict["query_face_threshold"] = query_face_threshold

        return field_dict

    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        d = dict(src_dict)
        video_extension = d.pop("video_extension", UNSET)

        query_face_threshold = d.pop("query_face_threshold", UNSET)

        video_retalk_parameters = cls(
            video_extension=video_extension,
            query_face_threshold=query_face_threshold,
        )

        return video_retalk_parameters
