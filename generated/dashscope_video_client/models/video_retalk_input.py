from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar

from attrs import define as _attrs_define

from ..types import UNSET, Unset

T = TypeVar("T", bound="VideoRetalkInput")


@_attrs_define
class VideoRetalkInput:
    video_url: str
    """ An HTTP(S) URL the service can download, or an `oss://` URL of a temporary upload (then send
    `X-DashScope-OssResourceResolve: enable`). Local paths and other schemes are not supported.
     """
    audio_url: str
    """ An HTTP(S) URL the service can download, or an `oss://` URL of a temporary upload (then send
    `X-DashScope-OssResourceResolve: enable`). Local paths and other schemes are not supported.
     """
    ref_image_url: str | Unset = UNSET
    """ Optional reference face (jpeg/jpg/png/bmp/webp, ≤ 10 MB, aspect ≤ 2, longest side ≤ 4096) whose person
    must appear in the video. Empty (as in the official example) or absent: the largest face of the first
    frame with a face is used.
     """

    def to_dict(self) -> dict[str, Any]:
        video_url = self.video_url

        audio_url = self.audio_url

        ref_image_url = self.ref_image_url

        field_dict: dict[str, Any] = {}

        field_dict.update(
            {
                "video_url": video_url,
                "audio_url": audio_url,
            }
        )
        if ref_image_url is not UNSET:
            field_dict["ref_image_url"] = ref_image_url

        return field_dict

    @classmethod
    def from_dict(cls: type[T], src_dict: Mapping[str, Any]) -> T:
        d = dict(src_dict)
        video_url = d.pop("video_url")

        audio_url = d.pop("audio_url")

        ref_image_url = d.pop("ref_image_url", UNSET)

        video_retalk_input = cls(
            video_url=video_url,
            audio_url=audio_url,
            ref_image_url=ref_image_url,
        )

        return video_retalk_input
